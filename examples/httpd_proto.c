/*
 * examples/httpd_proto.c: HTTP/1.1 on one connection's buffers: parsing
 * the requests in c->rbuf and answering them into c->wbuf.
 *
 * Nothing here touches a socket or a clock other than the Date header's:
 * bytes come in through c->rbuf (filled by httpd.c's connection loop) and
 * leave through conn_flush(), which httpd.c defines with rg_write_all and
 * tests/fuzz/fuzz_http.c with a memory buffer. So the fuzzer runs exactly
 * the code that parses what clients send.
 *
 * Invariants:
 *  1. Message framing is decided by Content-Length alone. A request that
 *     leaves any doubt about where it ends (Transfer-Encoding with
 *     Content-Length, Content-Length values that differ or are not plain
 *     digits, a folded header line that might continue one of them) is
 *     answered 400 and ends the connection: nothing after it is parsed,
 *     so nothing can be smuggled into the pipeline behind it.
 *  2. Whatever the bytes, httpd_serve leaves c->rlen <= MAX_HEADER_BYTES
 *     unless it set c->close (a longer incomplete head gets 431).
 *  3. The answers do not depend on how the bytes were split across reads
 *     (tests/fuzz/fuzz_http.c checks this).
 *
 * Re-parsing
 * ==========
 * A head that arrives in pieces is parsed again from its first byte on
 * each read, and only its first MAX_HEADER_BYTES are ever given to the
 * parser. That is what makes invariant 3 hold: picohttpparser answers
 * "incomplete" for a prefix of a head or the same as for the whole head,
 * so a malformed line is found at the first read that holds it, and a
 * head too long is 431 whatever follows its first MAX_HEADER_BYTES.
 * (picohttpparser's last_len shortcut, which only looks for the blank line
 * in the new bytes, would answer 431 for a malformed head that trickles in
 * and 400 for the same bytes in one read.) The price is re-parsing: a
 * client that trickles a head a byte per read costs a parse of up to
 * MAX_HEADER_BYTES per read (~3 us), about as much as the read itself,
 * and the header timeout bounds how long it can go on.
 */
#include "httpd.h"
#include "phr.h"
#include "server.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_HEADERS 64     /* more lines in a head: 400 */
#define MAX_BODY (1 << 20) /* larger request bodies: 413 */

static const char hello[] = "Hello, World!";

/* ---- writing ---- */

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
    case 408:
        return "HTTP/1.1 408 Request Timeout\r\n";
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

void resp_fatal(struct conn *c, int status, const char *body)
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
    int host;        /* Host headers seen */
    bool conn_close; /* Connection: close */
    bool conn_keep;  /* Connection: keep-alive */
};

/* Is the header named name (any case)? */
static bool name_is(const struct phr_header *h, const char *name)
{
    size_t n = strlen(name);
    return h->name_len == n && !strncasecmp(h->name, name, n);
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

/* The length of v[0..n) without trailing blanks (the parser strips the
   leading ones; RFC 9110 5.5: neither belongs to the value). */
static size_t trim_len(const char *v, size_t n)
{
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    return n;
}

/* Returns 0, or -1 when the headers are contradictory or malformed. */
static int scan_headers(const struct phr_header *hs, size_t nh, struct hdrs *h)
{
    memset(h, 0, sizeof(*h));
    for (size_t i = 0; i < nh; i++) {
        const struct phr_header *x = &hs[i];
        if (!x->name)
            return -1; /* obs-fold: RFC 9112 5.2 lets a server refuse it */
        size_t vlen = trim_len(x->value, x->value_len);
        if (name_is(x, "Content-Length")) {
            uint64_t len;
            if (parse_length(x->value, vlen, &len) < 0 ||
                (h->has_length && len != h->length))
                return -1;
            h->has_length = true;
            h->length = len;
        } else if (name_is(x, "Transfer-Encoding")) {
            h->te = true;
        } else if (name_is(x, "Host")) {
            h->host++;
        } else if (name_is(x, "Connection")) {
            h->conn_close |= has_token(x->value, vlen, "close");
            h->conn_keep |= has_token(x->value, vlen, "keep-alive");
        }
    }
    /* Both framings at once is how requests get smuggled: refuse. Two
       Hosts: RFC 9112 3.2 says 400. */
    return (h->te && h->has_length) || h->host > 1 ? -1 : 0;
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

/* Is the request line usable: a method, and a path in origin form? */
static bool line_ok(const struct req *rq)
{
    return rq->method_len > 0 && rq->path_len > 0 && rq->path[0] == '/';
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
    size_t pn = n < MAX_HEADER_BYTES ? n : MAX_HEADER_BYTES;
    int r = phr_parse_request(p, pn, &rq.method, &rq.method_len, &rq.path,
                              &rq.path_len, &rq.minor, hs, &nh, 0);
    if (r == -2 && n <= MAX_HEADER_BYTES)
        return 0;
    if (r == -2) {
        resp_fatal(c, 431, "request header too large\n");
        return -1;
    }
    if (r < 0 || !line_ok(&rq) || scan_headers(hs, nh, &h) < 0 ||
        (rq.minor >= 1 && !h.host)) {
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

int httpd_serve(struct conn *c)
{
    size_t off = 0;
    int done = 0;
    while (!c->close) {
        size_t k = c->discard < c->rlen - off ? c->discard : c->rlen - off;
        c->discard -= k;
        off += k;
        if (k > 0 && c->discard == 0)
            done++; /* a body ends */
        if (c->discard > 0 || off == c->rlen)
            break;
        long r = serve_one(c, c->rbuf + off, c->rlen - off);
        if (r <= 0)
            break;
        off += (size_t)r;
        done++; /* a head ends */
    }
    memmove(c->rbuf, c->rbuf + off, c->rlen - off);
    c->rlen -= off;
    return done;
}
