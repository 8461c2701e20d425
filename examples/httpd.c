/*
 * examples/httpd.c: an HTTP/1.1 server, one goroutine per connection.
 *
 *   httpd [--host 0.0.0.0] [--port 8080] [--procs N] [--root DIR]
 *
 * Without --root, GET / answers 200 "Hello, World!" (text/plain) and any
 * other path 404. With --root, files under DIR are served (httpd_files.c).
 * The structure, the parser choice and the limits are described in
 * docs/httpd.md; in short:
 *
 * Invariants:
 *  1. A connection's memory is bounded: RBUF_SIZE bytes of requests,
 *     WBUF_SIZE bytes of responses, one file chunk; a request body is
 *     skipped as it arrives, never stored.
 *  2. Responses leave in request order: each is appended to wbuf, and a
 *     handler that writes directly (a large file) flushes wbuf first.
 *  3. The responses to everything one read brought in go out in one write
 *     (unless they overflow wbuf), so pipelined requests cost one write.
 *  4. After a response that closes the connection (an error, Connection:
 *     close, HTTP/1.0, shutdown), nothing more is parsed.
 *
 * The request loop
 * ================
 * read into rbuf -> parse every complete request head with picohttpparser
 * (phr_parse_request, zero-copy: pointers into rbuf) -> answer each into
 * wbuf, skipping any body -> write wbuf -> move the incomplete tail to the
 * front of rbuf -> read again. A head still incomplete beyond
 * MAX_HEADER_BYTES gets 431; a malformed one 400; both close the
 * connection after draining what the client already sent (so the error
 * reaches it instead of a reset).
 *
 * Idle connections time out after IDLE_NS: the read and write deadlines
 * are pushed forward only when they come within DEADLINE_SLACK_NS of now,
 * so keep-alive traffic costs one rg_set_deadline call every few seconds,
 * not one per request; the idle timeout is thus between IDLE_NS -
 * DEADLINE_SLACK_NS and IDLE_NS.
 */
#include "httpd.h"
#include "phr.h"
#include "server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define MAX_HEADERS 64                  /* more lines in a head: 400 */
#define MAX_BODY (1 << 20)              /* larger request bodies: 413 */
#define IDLE_NS 60000000000ull          /* keep-alive idle timeout: 60 s */
#define DEADLINE_SLACK_NS 5000000000ull /* see "The request loop" */
#define LINGER_NS 1000000000ull         /* drain before an error close */
#define LINGER_BYTES (256 << 10)        /* ... at most this much */

static const char hello[] = "Hello, World!";

/* ---- writing ---- */

int conn_flush(struct conn *c)
{
    if (c->wlen == 0 || c->broken) {
        c->wlen = 0;
        return c->broken ? -EPIPE : 0;
    }
    ssize_t n = rg_write_all(c->fd, c->wbuf, c->wlen);
    c->wlen = 0;
    if (n < 0) {
        c->broken = true;
        return (int)n;
    }
    return 0;
}

void wb_put(struct conn *c, const void *p, size_t n)
{
    const char *s = p;
    while (n > 0 && !c->broken) {
        if (c->wlen == WBUF_SIZE)
            conn_flush(c);
        size_t k = WBUF_SIZE - c->wlen;
        if (k > n)
            k = n;
        memcpy(c->wbuf + c->wlen, s, k);
        c->wlen += k;
        s += k;
        n -= k;
    }
}

static void wb_str(struct conn *c, const char *s)
{
    wb_put(c, s, strlen(s));
}

static void wb_uint(struct conn *c, uint64_t v)
{
    char tmp[24];
    int i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    wb_put(c, tmp + i, sizeof(tmp) - (size_t)i);
}

/* "Date: <IMF-fixdate>\r\n", formatted once a second per thread (the
   cache is read and written with no blocking call in between, so a
   goroutine moving to another thread cannot tear it). */
static void wb_date(struct conn *c)
{
    static __thread time_t cached_sec = -1;
    static __thread char cached[48];
    static __thread size_t cached_len;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    if (ts.tv_sec != cached_sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        cached_len = strftime(cached, sizeof(cached),
                              "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
        cached_sec = ts.tv_sec;
    }
    wb_put(c, cached, cached_len);
}

static const char *status_line(int status)
{
    switch (status) {
    case 200:
        return "HTTP/1.1 200 OK\r\n";
    case 301:
        return "HTTP/1.1 301 Moved Permanently\r\n";
    case 400:
        return "HTTP/1.1 400 Bad Request\r\n";
    case 403:
        return "HTTP/1.1 403 Forbidden\r\n";
    case 404:
        return "HTTP/1.1 404 Not Found\r\n";
    case 405:
        return "HTTP/1.1 405 Method Not Allowed\r\n";
    case 413:
        return "HTTP/1.1 413 Content Too Large\r\n";
    case 431:
        return "HTTP/1.1 431 Request Header Fields Too Large\r\n";
    case 501:
        return "HTTP/1.1 501 Not Implemented\r\n";
    default:
        return "HTTP/1.1 500 Internal Server Error\r\n";
    }
}

void resp_head(struct conn *c, const struct req *rq, int status,
               const char *ctype, uint64_t length, const char *extra)
{
    wb_str(c, status_line(status));
    wb_str(c, "Server: ringo\r\n");
    wb_date(c);
    if (ctype) {
        wb_str(c, "Content-Type: ");
        wb_str(c, ctype);
        wb_str(c, "\r\n");
    }
    wb_str(c, "Content-Length: ");
    wb_uint(c, length);
    wb_str(c, "\r\n");
    if (!rq || !rq->keepalive) {
        wb_str(c, "Connection: close\r\n");
        c->close = true;
    } else if (rq->minor == 0) {
        wb_str(c, "Connection: keep-alive\r\n");
    }
    if (extra)
        wb_str(c, extra);
    wb_str(c, "\r\n");
}

void resp_text(struct conn *c, const struct req *rq, int status,
               const char *body, const char *extra)
{
    size_t n = strlen(body);
    resp_head(c, rq, status, "text/plain", n, extra);
    if (!rq || !rq->head)
        wb_put(c, body, n);
}

/* An error that ends the connection: no request to speak of. */
static void resp_fatal(struct conn *c, int status, const char *body)
{
    resp_text(c, NULL, status, body, NULL);
    c->linger = true;
}

/* ---- requests ---- */

/* What the headers say about the message framing and the connection. */
struct hdrs {
    bool has_length;
    uint64_t length; /* Content-Length */
    bool te;         /* any Transfer-Encoding */
    bool host;       /* a Host header */
    bool conn_close; /* Connection: close */
    bool conn_keep;  /* Connection: keep-alive */
};

static bool name_is(const struct phr_header *h, const char *name)
{
    size_t n = strlen(name);
    return h->name && h->name_len == n && !strncasecmp(h->name, name, n);
}

/* Does the comma-separated list v[0..n) hold token t (any case)? */
static bool has_token(const char *v, size_t n, const char *t)
{
    size_t tl = strlen(t);
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - s == tl && !strncasecmp(v + s, t, tl))
            return true;
    }
    return false;
}

/* Parse a Content-Length value; -1 if it is not a plain number. */
static int parse_length(const char *v, size_t n, uint64_t *out)
{
    uint64_t x = 0;
    if (n == 0 || n > 18)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    *out = x;
    return 0;
}

/* Returns 0, or -1 when the headers are contradictory or malformed. */
static int scan_headers(const struct phr_header *hs, size_t nh, struct hdrs *h)
{
    memset(h, 0, sizeof(*h));
    for (size_t i = 0; i < nh; i++) {
        const struct phr_header *x = &hs[i];
        if (name_is(x, "Content-Length")) {
            uint64_t len;
            if (parse_length(x->value, x->value_len, &len) < 0 ||
                (h->has_length && len != h->length))
                return -1;
            h->has_length = true;
            h->length = len;
        } else if (name_is(x, "Transfer-Encoding")) {
            h->te = true;
        } else if (name_is(x, "Host")) {
            h->host = true;
        } else if (name_is(x, "Connection")) {
            h->conn_close |= has_token(x->value, x->value_len, "close");
            h->conn_keep |= has_token(x->value, x->value_len, "keep-alive");
        }
    }
    /* Both framings at once is how requests get smuggled: refuse. */
    return h->te && h->has_length ? -1 : 0;
}

static bool method_is(const struct req *rq, const char *m)
{
    size_t n = strlen(m);
    return rq->method_len == n && !memcmp(rq->method, m, n);
}

/* Answer one well-formed request. */
static void dispatch(struct conn *c, const struct req *rq)
{
    if (!method_is(rq, "GET") && !rq->head) {
        resp_text(c, rq, 405, "method not allowed\n", "Allow: GET, HEAD\r\n");
        return;
    }
    if (files_enabled()) {
        files_serve(c, rq);
        return;
    }
    size_t plen = rq->path_len;
    const char *q = memchr(rq->path, '?', plen);
    if (q)
        plen = (size_t)(q - rq->path);
    if (plen == 1 && rq->path[0] == '/') {
        resp_head(c, rq, 200, "text/plain", sizeof(hello) - 1, NULL);
        if (!rq->head)
            wb_put(c, hello, sizeof(hello) - 1);
        return;
    }
    resp_text(c, rq, 404, "not found\n", NULL);
}

/*
 * Parse and answer the request at p[0..n). Returns the bytes of its head
 * (its body, if any, is left in c->discard), 0 when the head is not
 * complete yet, or -1 after an error response that closes the connection.
 */
static long serve_one(struct conn *c, const char *p, size_t n)
{
    struct phr_header hs[MAX_HEADERS];
    size_t nh = MAX_HEADERS;
    struct req rq = {0};
    struct hdrs h;
    int r = phr_parse_request(p, n, &rq.method, &rq.method_len, &rq.path,
                              &rq.path_len, &rq.minor, hs, &nh, 0);
    if (r == -2 && n <= MAX_HEADER_BYTES)
        return 0;
    if (r == -2 || r > MAX_HEADER_BYTES) {
        resp_fatal(c, 431, "request header too large\n");
        return -1;
    }
    if (r < 0 || scan_headers(hs, nh, &h) < 0 || rq.path[0] != '/' ||
        (rq.minor == 1 && !h.host)) {
        resp_fatal(c, 400, "bad request\n");
        return -1;
    }
    if (h.te || h.length > MAX_BODY) {
        resp_fatal(c, h.te ? 501 : 413, "request body not accepted\n");
        return -1;
    }
    rq.head = method_is(&rq, "HEAD");
    rq.keepalive = rq.minor >= 1 ? !h.conn_close : h.conn_keep;
    if (srv_stopping())
        rq.keepalive = false; /* tell the client this is the last one */
    dispatch(c, &rq);
    c->discard = h.length;
    return r;
}

/* Answer every complete request in rbuf; keep the incomplete tail. */
static void serve_buffer(struct conn *c)
{
    size_t off = 0;
    while (!c->close) {
        size_t k = c->discard < c->rlen - off ? c->discard : c->rlen - off;
        c->discard -= k;
        off += k;
        if (c->discard > 0 || off == c->rlen)
            break;
        long r = serve_one(c, c->rbuf + off, c->rlen - off);
        if (r <= 0)
            break;
        off += (size_t)r;
    }
    memmove(c->rbuf, c->rbuf + off, c->rlen - off);
    c->rlen -= off;
}

/* ---- connections ---- */

/* Push the idle deadline forward when it gets close (see "The request
   loop"). */
static void refresh_deadline(struct conn *c)
{
    uint64_t now = rg_now();
    if (c->deadline > now + DEADLINE_SLACK_NS)
        return;
    c->deadline = now + IDLE_NS;
    rg_set_deadline(c->fd, RG_READ | RG_WRITE, c->deadline);
}

/* After an error response: stop sending, read (and drop) what the client
   sent for a moment, so that closing does not reset the connection
   before the client has read the response. */
static void linger(struct conn *c)
{
    char buf[4096];
    size_t total = 0;
    shutdown(c->fd, SHUT_WR);
    rg_set_deadline(c->fd, RG_READ, rg_now() + LINGER_NS);
    while (total < LINGER_BYTES) {
        ssize_t n = rg_read(c->fd, buf, sizeof(buf));
        if (n <= 0)
            break;
        total += (size_t)n;
    }
}

static void http_conn(void *arg)
{
    /* On the goroutine's stack; not zeroed as a whole, so the buffers'
       pages become resident only as they are used. */
    struct conn conn, *c = &conn;
    int fd = (int)(intptr_t)arg;
    c->fd = fd;
    c->close = c->linger = c->broken = false;
    c->deadline = 0;
    c->discard = c->rlen = c->wlen = 0;
    while (!c->close && !c->broken) {
        if (c->rlen == 0 && c->discard == 0 && srv_conn_idle(fd))
            break;
        refresh_deadline(c);
        ssize_t n = rg_read(fd, c->rbuf + c->rlen, RBUF_SIZE - c->rlen);
        if (n <= 0)
            break; /* end of file, reset, idle timeout or shutdown */
        srv_conn_busy(fd);
        c->rlen += (size_t)n;
        serve_buffer(c);
        conn_flush(c);
    }
    if (c->linger && !c->broken)
        linger(c);
    srv_conn_end(fd);
}

/* ---- main ---- */

static void server_main(void *arg)
{
    int *rc = arg;
    *rc = srv_serve(http_conn);
}

int main(int argc, char **argv)
{
    struct srv_opts o = {"httpd", "0.0.0.0", 8080, 0};
    const char *root = NULL;
    int bad = srv_parse_args(&o, &argc, argv) < 0;
    for (int i = 1; i < argc && !bad; i++) {
        if (!strcmp(argv[i], "--root") && i + 1 < argc)
            root = argv[++i];
        else
            bad = 1;
    }
    if (bad) {
        fprintf(stderr, "usage: httpd [--host H] [--port P] [--procs N] "
                        "[--root DIR]\n");
        return 2;
    }
    if (root && files_init(root) < 0)
        return 1;
    if (srv_init(&o) < 0) {
        fprintf(stderr, "httpd: setup failed\n");
        return 1;
    }
    struct rg_config cfg = {0};
    cfg.procs = o.procs;
    int rc = 0;
    int rrc = rg_run(server_main, &rc, &cfg);
    if (rrc < 0) {
        fprintf(stderr, "httpd: rg_run: %d\n", rrc);
        return 1;
    }
    return rc < 0 ? 1 : 0;
}
