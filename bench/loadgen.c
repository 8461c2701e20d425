/*
 * bench/loadgen.c: closed-loop load generators written on ringo itself.
 *
 *   ringo-bench echo [--host H] [--port P] [-c CONNS] [-d SECS] [--size B]
 *   ringo-bench http [URL] [--host H] [--port P] [--path /] [-c CONNS]
 *                    [-d SECS] [--pipeline N]
 *
 * One goroutine per connection. Each sends a request (echo: --size bytes;
 * http: --pipeline GETs in one write), waits for the whole answer, records
 * the latency of every request in a log-linear histogram (bench/hist.h,
 * within 0.8%) and starts over, until -d seconds have passed. A pipelined
 * request's latency runs from the write of its batch to the end of its own
 * response. Prints one line:
 *
 *   bench=http impl=ringo procs=P n=<requests> ns_op=<wall ns per request>
 *     rps=<requests/s> p50_us= p99_us= p999_us= errors=<n> conns=C ...
 *
 * errors counts failed dials, connections lost mid-request (which are
 * dialled again) and HTTP answers with status >= 400.
 *
 * The HTTP client understands what keep-alive needs: the status line,
 * Content-Length, Connection: close and HEAD-less GETs. Chunked or
 * length-less answers count as errors and the connection is dialled again.
 *
 * Shutdown: every connection gets read and write deadlines at the end of
 * the run plus a grace period, so no worker can hang on a dead server;
 * main waits for the workers by polling a counter with rg_sleep.
 */
#include "bench.h"
#include "hist.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LG_GRACE_NS 2000000000ull /* in-flight requests get this at the end */
#define LG_DIAL_NS 5000000000ull  /* dial timeout */
#define LG_RBUF 16384             /* per-connection receive buffer */
#define LG_SHARDS 64              /* histograms shared by the workers */

enum lg_kind { LG_ECHO, LG_HTTP };

struct lg {
    enum lg_kind kind;
    char host[256];
    int port;
    int conns;
    double secs;
    size_t size;  /* echo: bytes per message */
    int pipeline; /* http: requests per write */
    char path[1024];
    char *req; /* http: one batch of pipelined requests */
    size_t req_len;
    uint64_t t0, end; /* rg_now() at start; when to stop */
    uint64_t elapsed; /* ns from start until the workers were joined */
    int procs;        /* rg_procs() of the run */

    _Atomic int running;       /* workers not yet finished */
    _Atomic uint64_t requests; /* completed, all workers */
    _Atomic uint64_t errors;
    _Atomic uint64_t reconnects;
    struct hist *shards; /* LG_SHARDS histograms, hist_record_shared */
};

struct worker {
    struct lg *lg;
    int id;
    uint64_t requests, errors, reconnects;
};

/* ---- options ---- */

static void lg_usage(void)
{
    fprintf(stderr, "usage: ringo-bench echo [--host H] [--port P] [-c CONNS] "
                    "[-d SECS] [--size BYTES] [--procs P]\n"
                    "       ringo-bench http [http://H:P/PATH] [--host H] "
                    "[--port P] [--path /] [-c CONNS] [-d SECS] [--pipeline N] "
                    "[--procs P]\n");
}

/* Parse http://host[:port][/path] into lg. Returns 0 or -1. */
static int lg_parse_url(struct lg *lg, const char *url)
{
    if (strncmp(url, "http://", 7) != 0)
        return -1;
    const char *h = url + 7;
    const char *slash = strchr(h, '/');
    const char *end = slash ? slash : h + strlen(h);
    const char *colon = memchr(h, ':', (size_t)(end - h));
    const char *hend = colon ? colon : end;
    if (hend == h || (size_t)(hend - h) >= sizeof(lg->host))
        return -1;
    memcpy(lg->host, h, (size_t)(hend - h));
    lg->host[hend - h] = '\0';
    lg->port = colon ? atoi(colon + 1) : 80;
    snprintf(lg->path, sizeof(lg->path), "%s", slash ? slash : "/");
    return 0;
}

static int lg_parse(struct lg *lg, struct bench_opts *o)
{
    for (int i = 1; i < o->argc; i++) {
        const char *a = o->argv[i];
        const char *v = i + 1 < o->argc ? o->argv[i + 1] : NULL;
        if (!strncmp(a, "http://", 7)) {
            if (lg_parse_url(lg, a) < 0)
                return -1;
            continue;
        }
        if (!v)
            return -1;
        if (!strcmp(a, "--host"))
            snprintf(lg->host, sizeof(lg->host), "%s", v);
        else if (!strcmp(a, "--port"))
            lg->port = atoi(v);
        else if (!strcmp(a, "-c") || !strcmp(a, "--conns"))
            lg->conns = atoi(v);
        else if (!strcmp(a, "-d") || !strcmp(a, "--duration"))
            lg->secs = atof(v);
        else if (!strcmp(a, "--size"))
            lg->size = (size_t)atol(v);
        else if (!strcmp(a, "--pipeline"))
            lg->pipeline = atoi(v);
        else if (!strcmp(a, "--path"))
            snprintf(lg->path, sizeof(lg->path), "%s", v);
        else
            return -1;
        i++;
    }
    if (lg->port <= 0 || lg->port > 65535 || lg->conns <= 0 || lg->secs <= 0 ||
        lg->size == 0 || lg->pipeline <= 0 || lg->path[0] != '/')
        return -1;
    return 0;
}

/* Build one batch of pipelined GETs. */
static int lg_build_request(struct lg *lg)
{
    char one[1400];
    int n = snprintf(one, sizeof(one),
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\n"
                     "User-Agent: ringo-bench\r\n\r\n",
                     lg->path, lg->host, lg->port);
    if (n < 0 || (size_t)n >= sizeof(one))
        return -1;
    lg->req_len = (size_t)n * (size_t)lg->pipeline;
    lg->req = malloc(lg->req_len);
    if (!lg->req)
        return -1;
    for (int i = 0; i < lg->pipeline; i++)
        memcpy(lg->req + (size_t)i * (size_t)n, one, (size_t)n);
    return 0;
}

/* ---- connections ---- */

static void lg_record(struct worker *w, uint64_t t0)
{
    uint64_t lat = rg_now() - t0;
    hist_record_shared(&w->lg->shards[w->id % LG_SHARDS], lat);
    w->requests++;
}

/* Dial with deadlines at the end of the run; a few tries. -errno. */
static int lg_dial(struct lg *lg)
{
    int fd = -ETIMEDOUT;
    for (int tries = 0; tries < 3 && rg_now() < lg->end; tries++) {
        fd = rg_dial_tcp(lg->host, lg->port, LG_DIAL_NS);
        if (fd >= 0)
            break;
        rg_sleep(50 * 1000 * 1000);
    }
    if (fd < 0)
        return fd;
    rg_set_deadline(fd, RG_READ | RG_WRITE, lg->end + LG_GRACE_NS);
    return fd;
}

/* Read exactly n bytes. Returns 0, or -1 on EOF or error. */
static int lg_read_full(int fd, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = rg_read(fd, buf + got, n - got);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* One echo connection until the end of the run. Returns 0 or -1. */
static int echo_conn(struct worker *w, int fd, char *sbuf, char *rbuf)
{
    struct lg *lg = w->lg;
    while (rg_now() < lg->end) {
        uint64_t t0 = rg_now();
        if (rg_write_all(fd, sbuf, lg->size) < 0 ||
            lg_read_full(fd, rbuf, lg->size) < 0)
            return -1;
        if (memcmp(sbuf, rbuf, lg->size) != 0)
            return -1;
        lg_record(w, t0);
    }
    return 0;
}

/* ---- HTTP responses ---- */

/* An HTTP response being received. */
struct resp {
    int status;
    bool close;    /* Connection: close */
    bool bad;      /* no usable length */
    size_t head;   /* bytes of the status line and headers */
    size_t length; /* Content-Length */
};

/* Value of header name in head[0..n), or NULL; *vlen gets its length. */
static const char *hdr_find(const char *head, size_t n, const char *name,
                            size_t *vlen)
{
    size_t nl = strlen(name);
    const char *p = memchr(head, '\n', n);
    const char *end = head + n;
    while (p && p + 1 < end) {
        const char *line = p + 1;
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol)
            break;
        if ((size_t)(eol - line) > nl && line[nl] == ':' &&
            !strncasecmp(line, name, nl)) {
            const char *v = line + nl + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            const char *ve = eol;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' '))
                ve--;
            *vlen = (size_t)(ve - v);
            return v;
        }
        p = eol;
    }
    return NULL;
}

/* Parse the head in buf[0..n). Returns 1 when complete (r filled), 0 when
   more bytes are needed, -1 when malformed. */
static int resp_parse(const char *buf, size_t n, struct resp *r)
{
    const char *e = memmem(buf, n, "\r\n\r\n", 4);
    if (!e)
        return 0;
    memset(r, 0, sizeof(*r));
    r->head = (size_t)(e - buf) + 4;
    if (r->head < 12 || strncmp(buf, "HTTP/1.", 7) != 0)
        return -1;
    r->status = atoi(buf + 9);
    size_t vl;
    const char *v = hdr_find(buf, r->head, "Content-Length", &vl);
    if (v)
        r->length = (size_t)strtoull(v, NULL, 10);
    else if (r->status != 204 && r->status != 304)
        r->bad = true;
    v = hdr_find(buf, r->head, "Connection", &vl);
    if (v && vl == 5 && !strncasecmp(v, "close", 5))
        r->close = true;
    return 1;
}

/*
 * Receive lg->pipeline responses on fd into buf. Returns 0 when the
 * connection can be reused, 1 when the server asked to close it, -1 on
 * error. Bodies larger than the buffer are skipped as they arrive.
 */
static int http_recv(struct worker *w, int fd, char *buf, uint64_t t0)
{
    size_t len = 0, skip = 0;
    int done = 0, closing = 0;
    while (done < w->lg->pipeline) {
        if (len == LG_RBUF)
            return -1; /* a head larger than the buffer */
        ssize_t n = rg_read(fd, buf + len, LG_RBUF - len);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        size_t off = 0;
        for (;;) {
            if (skip) { /* the rest of a body */
                size_t k = skip < len - off ? skip : len - off;
                skip -= k;
                off += k;
                if (skip)
                    break;
                lg_record(w, t0);
                done++;
            }
            struct resp r;
            int pr = done < w->lg->pipeline
                         ? resp_parse(buf + off, len - off, &r)
                         : 0;
            if (pr < 0)
                return -1;
            if (pr == 0)
                break;
            if (r.bad)
                return -1;
            if (r.status >= 400)
                w->errors++;
            closing |= r.close;
            off += r.head;
            skip = r.length;
            if (!skip) {
                lg_record(w, t0);
                done++;
            }
        }
        memmove(buf, buf + off, len - off);
        len -= off;
    }
    return closing ? 1 : 0;
}

/* One HTTP connection until the end of the run. Returns 0, 1 (closed by
   the server: dial again) or -1. */
static int http_conn(struct worker *w, int fd, char *buf)
{
    struct lg *lg = w->lg;
    while (rg_now() < lg->end) {
        uint64_t t0 = rg_now();
        if (rg_write_all(fd, lg->req, lg->req_len) < 0)
            return -1;
        int rc = http_recv(w, fd, buf, t0);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- workers ---- */

static int worker_conn(struct worker *w, int fd, char *buf)
{
    struct lg *lg = w->lg;
    if (lg->kind == LG_HTTP)
        return http_conn(w, fd, buf);
    char *sbuf = malloc(lg->size);
    char *rbuf = malloc(lg->size);
    int rc = -1;
    if (sbuf && rbuf) {
        for (size_t i = 0; i < lg->size; i++)
            sbuf[i] = (char)('a' + (i + (size_t)w->id) % 26);
        rc = echo_conn(w, fd, sbuf, rbuf);
    }
    free(sbuf);
    free(rbuf);
    return rc;
}

static void worker_main(void *arg)
{
    struct worker *w = arg;
    struct lg *lg = w->lg;
    char buf[LG_RBUF]; /* pages are touched only as data arrives */
    while (rg_now() < lg->end) {
        int fd = lg_dial(lg);
        if (fd < 0) {
            w->errors++;
            rg_sleep(100 * 1000 * 1000);
            continue;
        }
        int rc = worker_conn(w, fd, buf);
        rg_close(fd);
        if (rc < 0 && rg_now() < lg->end)
            w->errors++;
        if (rc != 0)
            w->reconnects++;
    }
    lg->requests += w->requests;
    lg->errors += w->errors;
    lg->reconnects += w->reconnects;
    lg->running--; /* seq_cst: pairs with main's load in lg_wait */
}

/* Wait for the workers; give up a little after every deadline passed. */
static void lg_wait(struct lg *lg)
{
    uint64_t limit = lg->end + 2 * LG_GRACE_NS;
    while (lg->running > 0 && rg_now() < limit)
        rg_sleep(1000 * 1000);
    if (lg->running > 0)
        fprintf(stderr, "ringo-bench: %d connections still busy\n",
                (int)lg->running);
}

static void lg_main(void *arg)
{
    struct lg *lg = arg;
    struct worker *ws = calloc((size_t)lg->conns, sizeof(*ws));
    if (!ws) {
        fprintf(stderr, "ringo-bench: out of memory\n");
        return;
    }
    lg->procs = rg_procs();
    lg->t0 = rg_now();
    lg->end = lg->t0 + (uint64_t)(lg->secs * 1e9);
    for (int i = 0; i < lg->conns; i++) {
        ws[i].lg = lg;
        ws[i].id = i;
        lg->running++;
        int rc = rg_go(worker_main, &ws[i]);
        if (rc < 0) {
            lg->running--;
            lg->errors++;
        }
    }
    lg_wait(lg);
    lg->elapsed = rg_now() - lg->t0;
    if (lg->running == 0)
        free(ws); /* else leaked on purpose: a worker may still run */
}

static void lg_report(struct lg *lg, const char *name)
{
    struct hist *h = calloc(1, sizeof(*h));
    if (!h)
        return;
    for (int i = 0; i < LG_SHARDS; i++)
        hist_merge(h, &lg->shards[i]);
    uint64_t n = lg->requests, elapsed = lg->elapsed;
    double secs = (double)elapsed / 1e9;
    char extra[512];
    snprintf(extra, sizeof(extra),
             "rps=%.0f p50_us=%.1f p99_us=%.1f p999_us=%.1f errors=%lu "
             "conns=%d secs=%.2f reconnects=%lu %s=%zu",
             n ? (double)n / secs : 0.0, (double)hist_quantile(h, 0.50) / 1e3,
             (double)hist_quantile(h, 0.99) / 1e3,
             (double)hist_quantile(h, 0.999) / 1e3, (unsigned long)lg->errors,
             lg->conns, secs, (unsigned long)lg->reconnects,
             lg->kind == LG_HTTP ? "pipeline" : "size",
             lg->kind == LG_HTTP ? (size_t)lg->pipeline : lg->size);
    bench_result(name, lg->procs, (long)n,
                 n ? (double)elapsed / (double)n : 0.0, extra);
    free(h);
}

static int loadgen(struct bench_opts *o, enum lg_kind kind, const char *name)
{
    static struct lg lg; /* workers may outlive a failed wait */
    memset(&lg, 0, sizeof(lg));
    lg.kind = kind;
    snprintf(lg.host, sizeof(lg.host), "127.0.0.1");
    snprintf(lg.path, sizeof(lg.path), "/");
    lg.port = kind == LG_HTTP ? 8080 : 9000;
    lg.conns = kind == LG_HTTP ? 100 : 50;
    lg.secs = 5;
    lg.size = 64;
    lg.pipeline = 1;
    if (lg_parse(&lg, o) < 0) {
        lg_usage();
        return 2;
    }
    if (kind == LG_HTTP && lg_build_request(&lg) < 0) {
        fprintf(stderr, "ringo-bench: request too long\n");
        return 2;
    }
    lg.shards = calloc(LG_SHARDS, sizeof(struct hist));
    if (!lg.shards)
        return 1;
    signal(SIGPIPE, SIG_IGN); /* a reset peer is an error, not a death */
    bench_rg_run(lg_main, &lg, o->procs > 0 ? o->procs : 0);
    lg_report(&lg, name);
    return lg.requests ? 0 : 1;
}

int bench_echo(struct bench_opts *o)
{
    return loadgen(o, LG_ECHO, "echo");
}

int bench_http(struct bench_opts *o)
{
    return loadgen(o, LG_HTTP, "http");
}
