/*
 * examples/httpd.c: an HTTP/1.1 server, one goroutine per connection.
 *
 *   httpd [--host 0.0.0.0] [--port 8080] [--procs N] [--root DIR]
 *         [--idle-timeout SECS] [--header-timeout SECS]
 *
 * Without --root, GET / answers 200 "Hello, World!" (text/plain) and any
 * other path 404. With --root, files under DIR are served (httpd_files.c).
 * The structure, the parser choice and the limits are described in
 * docs/httpd.md. This file holds the connections: reading, deadlines,
 * closing; httpd_proto.c parses the requests and formats the responses.
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
 *  5. A connection's time is bounded too: idle, it is closed after the
 *     idle timeout; with a request under way, each request head (and each
 *     body) must arrive within the header timeout, however slowly and
 *     steadily its bytes trickle in.
 *
 * The request loop
 * ================
 * read into rbuf -> httpd_serve(): parse every complete request head,
 * answer each into wbuf, skip any body, move the incomplete tail to the
 * front of rbuf -> write wbuf -> read again. A head still incomplete
 * beyond MAX_HEADER_BYTES gets 431; a malformed one 400; both close the
 * connection after draining what the client already sent (so the error
 * reaches it instead of a reset).
 *
 * Timeouts
 * ========
 * One read/write deadline per connection (rg_set_deadline), in one of two
 * modes:
 *  - idle (nothing buffered, no body to skip): now + idle_ns, pushed
 *    forward only when it comes within slack_ns (idle_ns / 12) of now, so
 *    keep-alive traffic costs one rg_set_deadline call every few seconds,
 *    not one per request; an idle connection is closed between idle_ns -
 *    slack_ns and idle_ns after its last request;
 *  - request (bytes of a request head buffered, or a body being skipped):
 *    req_deadline, set once when the request starts (the first read that
 *    leaves part of it buffered) to now + header_ns, and reset at each
 *    request boundary (httpd_serve returns > 0). A slowloris client that
 *    sends a header byte a second thus gets "408 Request Timeout" and a
 *    close after header_ns, not a fresh idle timeout with every byte.
 */
#include "httpd.h"
#include "server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define IDLE_NS 60000000000ull   /* default keep-alive idle timeout: 60 s */
#define HEADER_NS 10000000000ull /* default request timeout: 10 s */
#define LINGER_NS 1000000000ull  /* drain before an error close */
#define LINGER_BYTES (256 << 10) /* ... at most this much */

static uint64_t idle_ns = IDLE_NS;       /* --idle-timeout */
static uint64_t header_ns = HEADER_NS;   /* --header-timeout */
static uint64_t slack_ns = IDLE_NS / 12; /* see "Timeouts" */

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

/* ---- connections ---- */

/* rg_now() (CLOCK_MONOTONIC) as of the kernel's last tick: a few ms
   behind at most and much cheaper to read, which is all the idle timeout
   needs (it is read before every request). */
static uint64_t coarse_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Set the deadline the connection's state calls for (see "Timeouts"). */
static void refresh_deadline(struct conn *c)
{
    if (c->req_deadline) {
        if (c->short_dl && c->deadline == c->req_deadline)
            return;
        c->short_dl = true;
        c->deadline = c->req_deadline;
    } else {
        uint64_t now = coarse_now();
        if (!c->short_dl && c->deadline > now + slack_ns)
            return;
        c->short_dl = false;
        c->deadline = now + idle_ns;
    }
    rg_set_deadline(c->fd, RG_READ | RG_WRITE, c->deadline);
}

/* The request under way did not arrive in time: say so, then close. The
   write gets a deadline of its own (the old one has passed). */
static void request_timeout(struct conn *c)
{
    rg_set_deadline(c->fd, RG_WRITE, rg_now() + LINGER_NS);
    resp_fatal(c, 408, "request timeout\n");
    conn_flush(c);
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
    c->close = c->linger = c->broken = c->short_dl = false;
    c->deadline = c->req_deadline = 0;
    c->discard = c->rlen = c->wlen = 0;
    while (!c->close && !c->broken) {
        if (c->rlen == 0 && c->discard == 0) {
            c->req_deadline = 0;
            if (srv_conn_idle(fd))
                break;
        } else if (c->req_deadline == 0) {
            c->req_deadline = rg_now() + header_ns;
        }
        refresh_deadline(c);
        ssize_t n = rg_read(fd, c->rbuf + c->rlen, RBUF_SIZE - c->rlen);
        if (n == -ETIMEDOUT && c->req_deadline)
            request_timeout(c);
        if (n <= 0)
            break; /* end of file, reset, timeout or shutdown */
        srv_conn_busy(fd);
        c->rlen += (size_t)n;
        if (httpd_serve(c) > 0)
            c->req_deadline = 0; /* the next request's clock starts now */
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
    struct srv_opts o = {"httpd", "0.0.0.0", 8080, 0, 0};
    const char *root = NULL;
    int bad = srv_parse_args(&o, &argc, argv) < 0;
    for (int i = 1; i < argc && !bad; i++) {
        if (!strcmp(argv[i], "--root") && i + 1 < argc)
            root = argv[++i];
        else if (!strcmp(argv[i], "--header-timeout") && i + 1 < argc)
            bad = srv_parse_secs(argv[++i], &header_ns) < 0;
        else
            bad = 1;
    }
    if (bad) {
        fprintf(stderr, "usage: httpd [--host H] [--port P] [--procs N] "
                        "[--root DIR] [--idle-timeout S] "
                        "[--header-timeout S]\n");
        return 2;
    }
    if (o.idle_ns)
        idle_ns = o.idle_ns;
    slack_ns = idle_ns / 12;
    if (root && files_init(root) < 0)
        return 1;
    if (srv_init(&o) < 0) {
        fprintf(stderr, "httpd: setup failed\n");
        return 1;
    }
    struct rg_config cfg = {0};
    /* No blocking calls here (see RG_CONFIG_DEFER_TASKRUN). */
    cfg.flags = RG_CONFIG_DEFER_TASKRUN;
    cfg.procs = o.procs;
    int rc = 0;
    int rrc = rg_run(server_main, &rc, &cfg);
    if (rrc < 0) {
        fprintf(stderr, "httpd: rg_run: %d\n", rrc);
        return 1;
    }
    return rc < 0 ? 1 : 0;
}
