/*
 * tests/abuse_client.c: misbehaving clients for tests/test_abuse.sh. Every
 * mode talks only to 127.0.0.1:PORT, bounds each loop, gives up on any
 * wait after a few seconds, and dies by SIGALRM after TIMEOUT_S whatever
 * happens, so a hung server fails the test instead of hanging it. Each
 * mode prints one summary line "MODE: key=value ..." and exits 0 when the
 * server behaved, 1 when it did not (the reason on stderr).
 *
 *   get PORT                  one GET /: 200 "Hello, World!"
 *   slowloris PORT N MIN MAX  N connections trickle a request head, one
 *                             byte per second per connection; meanwhile a
 *                             normal GET / every 200 ms must be answered
 *                             within 2 s. Every slow connection must be
 *                             cut off (408 or a plain close) between MIN
 *                             and MAX seconds after it started.
 *   idle PORT N MIN MAX       N connections that send nothing must be
 *                             closed between MIN and MAX seconds.
 *   noread PORT MAX [http|echo]  send (pipelined GETs, or bytes to echo)
 *                             without ever reading: the server must give
 *                             up on the connection within MAX s.
 *   flood PORT N SECS         hold N connections open for SECS seconds
 *                             (more than the server has descriptors for),
 *                             close them; then a normal request must work.
 *   bigheader PORT SIZE       a header line of SIZE bytes: a 431 and a
 *                             close (beyond 256 KiB a close alone also
 *                             passes: the server stops draining then).
 *   smuggle PORT              request smuggling and framing attacks, all
 *                             at once on separate connections: each must
 *                             get exactly its expected answers and a close.
 *   reset PORT N [http|echo]  N connections reset (SO_LINGER 0) in the
 *                             middle of a request, a body, or unread
 *                             answers; then a normal request must work.
 *   churn PORT N [http|echo]  N connect/close cycles, four kinds in turn:
 *                             close at once, reset at once, close after
 *                             half a request, and one full round trip.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_S 120 /* the whole process */
#define IO_TIMEOUT_MS 5000
#define GOOD_TIMEOUT_MS 2000
#define MAX_CONNS 4096

static int port;

/* ---- helpers ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(const char *mode, const char *why)
{
    fprintf(stderr, "%s: FAIL: %s\n", mode, why);
    return 1;
}

/* A blocking connection to 127.0.0.1:port with send/receive timeouts of
   ms; -1 on failure. */
static int dial(int ms)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Close with a reset instead of a FIN (SO_LINGER with a zero timeout). */
static void reset_close(int fd)
{
    struct linger l = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    close(fd);
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int send_str(int fd, const char *s)
{
    return send_all(fd, s, strlen(s));
}

/* Read until the peer closes, buf fills or the receive timeout passes.
   Returns the bytes read; *closed tells whether the peer closed (end of
   file or reset). */
static size_t read_all(int fd, char *buf, size_t cap, bool *closed)
{
    size_t len = 0;
    *closed = false;
    while (len < cap) {
        ssize_t n = recv(fd, buf + len, cap - len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE))) {
            *closed = true;
            break;
        }
        if (n < 0)
            break; /* timeout */
        len += (size_t)n;
    }
    return len;
}

/* The length of the response head at p[0..n) through its blank line;
   0 if it is not all there. */
static size_t head_len(const char *p, size_t n)
{
    for (size_t i = 3; i < n; i++)
        if (p[i] == '\n' && p[i - 1] == '\r' && p[i - 2] == '\n' &&
            p[i - 3] == '\r')
            return i + 1;
    return 0;
}

/*
 * Parse the HTTP responses in buf[0..n) (Content-Length framing, no HEAD
 * answers). Stores up to max status codes in codes; returns how many
 * responses there were, or -1 if the bytes are not a sequence of whole
 * responses. *all_close: every error answer (>= 400 but not 404/405)
 * carried Connection: close.
 */
static int parse_responses(const char *buf, size_t n, int *codes, int max,
                           bool *errors_close)
{
    size_t pos = 0;
    int count = 0;
    *errors_close = true;
    while (pos < n) {
        const char *r = buf + pos;
        size_t left = n - pos;
        if (left < 12 || strncmp(r, "HTTP/1.1 ", 9) != 0)
            return -1;
        size_t hlen = head_len(r, left);
        if (hlen == 0)
            return -1;
        int code = atoi(r + 9);
        const char *cl = memmem(r, hlen, "\r\nContent-Length: ", 18);
        long blen = cl ? strtol(cl + 18, NULL, 10) : -1;
        if (blen < 0 || (size_t)blen > left - hlen)
            return -1;
        if (code >= 400 && code != 404 && code != 405 &&
            !memmem(r, hlen, "\r\nConnection: close\r\n", 21))
            *errors_close = false;
        if (count < max)
            codes[count] = code;
        count++;
        pos += hlen + (size_t)blen;
    }
    return count;
}

static const char get_req[] = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
static const char get_close[] =
    "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";

/* One GET / with Connection: close on a fresh connection; true on a 200
   with the expected body within ms. */
static bool good_get(int ms)
{
    int fd = dial(ms);
    if (fd < 0)
        return false;
    char buf[4096];
    bool closed;
    bool ok = false;
    if (send_str(fd, get_close) == 0) {
        size_t n = read_all(fd, buf, sizeof(buf), &closed);
        int code = 0;
        bool ec;
        ok = closed && parse_responses(buf, n, &code, 1, &ec) == 1 &&
             code == 200 && memmem(buf, n, "Hello, World!", 13);
    }
    close(fd);
    return ok;
}

/* One echo round trip of a few bytes on a fresh connection. */
static bool good_echo(int ms)
{
    int fd = dial(ms);
    if (fd < 0)
        return false;
    char buf[16];
    bool ok = send_str(fd, "ping-ping") == 0 &&
              recv(fd, buf, 9, MSG_WAITALL) == 9 &&
              !memcmp(buf, "ping-ping", 9);
    close(fd);
    return ok;
}

/* ---- get ---- */

static int mode_get(void)
{
    bool ok = good_get(IO_TIMEOUT_MS);
    printf("get: ok=%d\n", ok);
    return ok ? 0 : fail("get", "GET / was not answered 200");
}

/* ---- slowloris and idle ---- */

struct slow {
    int fd;
    double start, end; /* end: when the server cut it off, 0: not yet */
    bool got408;
};

/*
 * Open n connections; if trickle, each sends the start of a head and then
 * a byte a second. Poll until every one was cut off or max_s passed,
 * checking a normal request every 200 ms. Returns 0 when all were cut
 * within [min_s, max_s] and every normal request passed.
 */
static int slow_conns(const char *mode, int n, double min_s, double max_s,
                      bool trickle, bool http)
{
    static struct slow s[MAX_CONNS];
    static struct pollfd pf[MAX_CONNS];
    if (n > MAX_CONNS)
        n = MAX_CONNS;
    int opened = 0;
    for (int i = 0; i < n; i++) {
        s[i].fd = dial(IO_TIMEOUT_MS);
        s[i].start = now_s();
        s[i].end = 0;
        s[i].got408 = false;
        if (s[i].fd < 0)
            return fail(mode, "connect failed");
        if (trickle &&
            send_str(s[i].fd, "GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ") < 0)
            return fail(mode, "first send failed");
        opened++;
    }
    double t0 = now_s(), next_byte = t0 + 1, next_good = t0 + 0.2;
    int cut = 0, good = 0, good_fail = 0, got408 = 0;
    while (cut < opened && now_s() - t0 < max_s + 2) {
        for (int i = 0; i < opened; i++) {
            pf[i].fd = s[i].end ? -1 : s[i].fd;
            pf[i].events = POLLIN;
            pf[i].revents = 0;
        }
        poll(pf, (nfds_t)opened, 50);
        double t = now_s();
        for (int i = 0; i < opened; i++) {
            if (!pf[i].revents)
                continue;
            char buf[1024];
            ssize_t k = recv(s[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (k > 0 && k >= 12 && !memcmp(buf, "HTTP/1.1 408", 12))
                s[i].got408 = true;
            if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
                s[i].end = t;
                cut++;
                got408 += s[i].got408;
                close(s[i].fd);
            }
        }
        if (trickle && t >= next_byte) {
            for (int i = 0; i < opened; i++)
                if (!s[i].end)
                    send(s[i].fd, "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            next_byte += 1;
        }
        if (t >= next_good) {
            bool ok =
                http ? good_get(GOOD_TIMEOUT_MS) : good_echo(GOOD_TIMEOUT_MS);
            good++;
            good_fail += !ok;
            next_good = now_s() + 0.2;
        }
    }
    double lo = 1e9, hi = 0;
    for (int i = 0; i < opened; i++) {
        if (!s[i].end) {
            close(s[i].fd);
            continue;
        }
        double d = s[i].end - s[i].start;
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    printf("%s: conns=%d cut=%d got408=%d min_s=%.2f max_s=%.2f "
           "good=%d good_fail=%d\n",
           mode, opened, cut, got408, cut ? lo : 0.0, hi, good, good_fail);
    if (cut < opened)
        return fail(mode, "some connections were never cut off");
    if (lo < min_s || hi > max_s)
        return fail(mode, "connections cut off outside [MIN, MAX] s");
    if (good_fail)
        return fail(mode, "normal requests failed meanwhile");
    if (trickle && http && got408 == 0)
        return fail(mode, "no connection got a 408");
    return 0;
}

/* ---- noread (echo) ---- */

static int mode_noread(double max_s, bool http)
{
    int fd = dial(IO_TIMEOUT_MS);
    if (fd < 0)
        return fail("noread", "connect failed");
    static char chunk[65536];
    size_t ql = strlen(get_req);
    if (http)
        for (size_t i = 0; i + ql <= sizeof(chunk); i += ql)
            memcpy(chunk + i, get_req, ql);
    else
        memset(chunk, 'x', sizeof(chunk));
    size_t clen = http ? sizeof(chunk) / ql * ql : sizeof(chunk);
    double t0 = now_s();
    size_t sent = 0;
    bool closed = false;
    /* Send until the server stops taking bytes (its reply fills both
       socket buffers, its write blocks), then wait for it to give up. */
    while (now_s() - t0 < max_s + 2) {
        struct pollfd p = {fd, POLLOUT, 0};
        poll(&p, 1, 100);
        if (p.revents & (POLLERR | POLLHUP)) {
            closed = true;
            break;
        }
        if (p.revents & POLLOUT) {
            ssize_t k = send(fd, chunk, clen, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (k < 0 && errno != EAGAIN) {
                closed = true;
                break;
            }
            if (k > 0)
                sent += (size_t)k;
        }
    }
    double d = now_s() - t0;
    printf("noread: sent=%zu closed=%d after_s=%.2f\n", sent, closed, d);
    close(fd);
    if (!closed || d > max_s)
        return fail("noread", "a client that never reads was not cut off");
    return 0;
}

/* ---- flood ---- */

static int mode_flood(int n, double secs, bool http)
{
    static int fds[MAX_CONNS];
    if (n > MAX_CONNS)
        n = MAX_CONNS;
    int opened = 0;
    for (int i = 0; i < n; i++) {
        fds[i] = dial(IO_TIMEOUT_MS);
        opened += fds[i] >= 0;
    }
    usleep((useconds_t)(secs * 1e6));
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    /* The server may still be backing off from running out of fds, and
       has the backlog to get through: a few tries. */
    bool ok = false;
    for (int i = 0; i < 10 && !ok; i++) {
        ok = http ? good_get(IO_TIMEOUT_MS) : good_echo(IO_TIMEOUT_MS);
        if (!ok)
            usleep(200000);
    }
    printf("flood: conns=%d opened=%d serving_after=%d\n", n, opened, ok);
    return ok ? 0 : fail("flood", "not serving after the flood");
}

/* ---- bigheader ---- */

static int mode_bigheader(size_t size)
{
    int fd = dial(IO_TIMEOUT_MS);
    if (fd < 0)
        return fail("bigheader", "connect failed");
    const char *head = "GET / HTTP/1.1\r\nHost: t\r\nX-Big: ";
    size_t hl = strlen(head), total = hl + size + 4;
    char *req = malloc(total);
    memcpy(req, head, hl);
    memset(req + hl, 'a', size);
    memcpy(req + hl + size, "\r\n\r\n", 4);
    char resp[4096];
    size_t sent = 0, got = 0;
    bool closed = false, reset = false;
    double t0 = now_s();
    while (!closed && now_s() - t0 < IO_TIMEOUT_MS / 1000.0) {
        struct pollfd p = {fd, POLLIN | (sent < total ? POLLOUT : 0), 0};
        poll(&p, 1, 100);
        if ((p.revents & POLLOUT) && sent < total) {
            ssize_t k =
                send(fd, req + sent, total - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (k > 0)
                sent += (size_t)k;
            else if (k < 0 && errno != EAGAIN)
                sent = total; /* the server closed; read what it said */
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t k =
                recv(fd, resp + got, sizeof(resp) - 1 - got, MSG_DONTWAIT);
            if (k > 0)
                got += (size_t)k;
            else if (k == 0 || errno != EAGAIN) {
                closed = true;
                reset = k < 0;
            }
        }
    }
    resp[got] = '\0';
    close(fd);
    free(req);
    bool got431 = got >= 12 && !memcmp(resp, "HTTP/1.1 431", 12);
    printf("bigheader: size=%zu sent=%zu status=%.12s closed=%d reset=%d\n",
           size, sent, got ? resp : "-", closed, reset);
    if (!closed)
        return fail("bigheader", "connection not closed");
    if (!got431 && (got > 0 || size <= (256u << 10)))
        return fail("bigheader", "no 431");
    return 0;
}

/* ---- smuggle ---- */

#define SMUG "GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n"
#define END "GET /end HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
#define POST "POST / HTTP/1.1\r\nHost: t\r\n"

/* A request, and the answers it must get: a desynchronized pipeline
   would answer /smuggled (404) or /end differently. */
struct smug_case {
    const char *name;
    const char *req;
    size_t len; /* 0: strlen(req) */
    const char *expect;
};

/* clang-format off */
#define CASE(name, req, expect) {name, req, 0, expect}
static const struct smug_case smug_cases[] = {
    CASE("cl+te", POST "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n"
                       "\r\n0\r\n\r\nG" SMUG, "400"),
    CASE("te+cl", POST "Transfer-Encoding: chunked\r\nContent-Length: 6\r\n"
                       "\r\n0\r\n\r\nG" SMUG, "400"),
    CASE("cl cl differ", POST "Content-Length: 5\r\nContent-Length: 6\r\n"
                              "\r\nxxxxxx" SMUG, "400"),
    CASE("cl cl same", POST "Content-Length: 5\r\nContent-Length: 5\r\n"
                            "\r\nxxxxx" END, "405 404"),
    CASE("cl list", POST "Content-Length: 5, 5\r\n\r\nxxxxx" SMUG, "400"),
    CASE("cl leading ws", POST "Content-Length:    5\r\n\r\nxxxxx" END,
         "405 404"),
    CASE("cl trailing ws", POST "Content-Length: 5 \t \r\n\r\nxxxxx" END,
         "405 404"),
    CASE("cl plus", POST "Content-Length: +5\r\n\r\nxxxxx" SMUG, "400"),
    CASE("cl minus", POST "Content-Length: -5\r\n\r\nxxxxx" SMUG, "400"),
    CASE("cl hex", POST "Content-Length: 0x5\r\n\r\nxxxxx" SMUG, "400"),
    CASE("cl suffix", POST "Content-Length: 5x\r\n\r\nxxxxx" SMUG, "400"),
    CASE("cl inner space", POST "Content-Length: 5 0\r\n\r\nxxxxx" SMUG,
         "400"),
    CASE("cl empty", POST "Content-Length: \r\n\r\n" SMUG, "400"),
    CASE("cl overflow", POST "Content-Length: 18446744073709551621\r\n\r\n"
                             "xxxxx" SMUG, "400"),
    CASE("cl too large", POST "Content-Length: 1048577\r\n\r\nxxxxx" SMUG,
         "413"),
    CASE("cl space before colon", POST "Content-Length : 5\r\n\r\nxxxxx" SMUG,
         "400"),
    CASE("te chunked", POST "Transfer-Encoding: chunked\r\n\r\n"
                            "0\r\n\r\n" SMUG, "501"),
    CASE("te xchunked", POST "Transfer-Encoding: xchunked\r\n\r\n"
                             "0\r\n\r\n" SMUG, "501"),
    CASE("te list", POST "Transfer-Encoding: chunked, identity\r\n\r\n"
                         "0\r\n\r\n" SMUG, "501"),
    CASE("te tab", POST "Transfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n" SMUG,
         "501"),
    CASE("te case", POST "transfer-encoding: CHUNKED\r\n\r\n0\r\n\r\n" SMUG,
         "501"),
    CASE("te identity + cl", POST "Transfer-Encoding: identity\r\n"
                                  "Content-Length: 5\r\n\r\nxxxxx" SMUG,
         "400"),
    CASE("te space before colon", POST "Transfer-Encoding : chunked\r\n"
                                       "Content-Length: 5\r\n\r\nxxxxx" SMUG,
         "400"),
    CASE("te no colon", POST "Transfer-Encoding chunked\r\n\r\n0\r\n\r\n" SMUG,
         "400"),
    CASE("te underscore", POST "Transfer_Encoding: chunked\r\n"
                               "Content-Length: 5\r\n\r\nxxxxx" END,
         "405 404"),
    CASE("obs-fold cl", POST "Content-Length: 5\r\n 0\r\n\r\nxxxxx" SMUG,
         "400"),
    CASE("obs-fold te", POST "X-A: b\r\n\tTransfer-Encoding: chunked\r\n"
                             "Content-Length: 5\r\n\r\nxxxxx" SMUG, "400"),
    CASE("http/1.0 te", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n"
                        "\r\n0\r\n\r\n" SMUG, "501"),
    CASE("two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" SMUG,
         "400"),
    CASE("bare cr", "GET / HTTP/1.1\r\nHost: t\rX: y\r\n\r\n" SMUG, "400"),
    CASE("del in value", "GET / HTTP/1.1\r\nHost: t\x7f\r\n\r\n" SMUG, "400"),
    CASE("no method", " / HTTP/1.1\r\nHost: t\r\n\r\n" SMUG, "400"),
    CASE("no path", "GET  HTTP/1.1\r\nHost: t\r\n\r\n" SMUG, "400"),
    CASE("absolute form", "GET http://t/ HTTP/1.1\r\nHost: t\r\n\r\n" SMUG,
         "400"),
    CASE("http/2.0", "GET / HTTP/2.0\r\nHost: t\r\n\r\n" SMUG, "400"),
    CASE("http/0.9", "GET /\r\n\r\n" SMUG, "400"),
    CASE("body hides request", "GET / HTTP/1.1\r\nHost: t\r\n"
                               "Content-Length: 35\r\n\r\n" SMUG END,
         "200 404"),
    CASE("close stops pipeline", "GET / HTTP/1.1\r\nHost: t\r\n"
                                 "Connection: close\r\n\r\n" SMUG, "200"),
    CASE("bare lf", "GET / HTTP/1.1\nHost: t\n\n" END, "200 404"),
    CASE("leading crlf", "\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n" END,
         "200 404"),
    {"nul in value", "GET / HTTP/1.1\r\nHost: t\0x\r\n\r\n" SMUG,
     sizeof("GET / HTTP/1.1\r\nHost: t\0x\r\n\r\n" SMUG) - 1, "400"},
};
/* clang-format on */
#define NCASES (sizeof(smug_cases) / sizeof(smug_cases[0]))

static int mode_smuggle(void)
{
    int fds[NCASES];
    static char bufs[NCASES][8192];
    size_t lens[NCASES];
    bool done[NCASES];
    for (size_t i = 0; i < NCASES; i++) {
        const struct smug_case *k = &smug_cases[i];
        size_t n = k->len ? k->len : strlen(k->req);
        fds[i] = dial(IO_TIMEOUT_MS);
        lens[i] = 0;
        done[i] = false;
        if (fds[i] < 0 || send_all(fds[i], k->req, n) < 0)
            return fail("smuggle", "connect or send failed");
    }
    /* Every case ends in a close by the server: an error closes, and the
       cases that are answered end with Connection: close. */
    double t0 = now_s();
    size_t left = NCASES;
    while (left > 0 && now_s() - t0 < IO_TIMEOUT_MS / 1000.0) {
        struct pollfd pf[NCASES];
        for (size_t i = 0; i < NCASES; i++)
            pf[i] = (struct pollfd){done[i] ? -1 : fds[i], POLLIN, 0};
        poll(pf, NCASES, 100);
        for (size_t i = 0; i < NCASES; i++) {
            if (!pf[i].revents)
                continue;
            ssize_t k = recv(fds[i], bufs[i] + lens[i],
                             sizeof(bufs[i]) - lens[i], MSG_DONTWAIT);
            if (k > 0) {
                lens[i] += (size_t)k;
            } else if (k == 0 || errno != EAGAIN) {
                done[i] = true;
                left--;
            }
        }
    }
    int bad = 0;
    for (size_t i = 0; i < NCASES; i++) {
        int codes[8];
        bool ec;
        int n = parse_responses(bufs[i], lens[i], codes, 8, &ec);
        char got[64] = "";
        for (int j = 0; j < n && j < 8; j++)
            snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%d",
                     j ? " " : "", codes[j]);
        if (n < 0)
            snprintf(got, sizeof(got), "(unparsable)");
        bool ok = done[i] && n >= 0 && ec && !strcmp(got, smug_cases[i].expect);
        if (!ok) {
            bad++;
            fprintf(stderr, "smuggle: %-22s want [%s] got [%s]%s%s\n",
                    smug_cases[i].name, smug_cases[i].expect, got,
                    done[i] ? "" : " (not closed)",
                    ec ? "" : " (error without Connection: close)");
        }
        close(fds[i]);
    }
    printf("smuggle: cases=%zu bad=%d\n", NCASES, bad);
    return bad ? fail("smuggle", "some cases were answered wrongly") : 0;
}

/* ---- reset ---- */

/* One connection of kind k, reset mid-way. */
static int reset_one(int k, bool http)
{
    int fd = dial(IO_TIMEOUT_MS);
    if (fd < 0)
        return -1;
    static char junk[256 << 10];
    if (!http) {
        /* Echo: reset with echoed bytes unread, or while the server is
           blocked writing to us. */
        memset(junk, 'e', sizeof(junk));
        send_all(fd, junk, k % 2 ? 100 : 32 << 10);
        usleep(k % 2 ? 0 : 1000);
        reset_close(fd);
        return 0;
    }
    switch (k % 4) {
    case 0: /* half a head */
        send_str(fd, "GET / HTTP/1.1\r\nHost: t\r\nX-Half: ");
        break;
    case 1: /* a body half sent */
        send_str(fd, POST "Content-Length: 100000\r\n\r\n");
        memset(junk, 'b', 5000);
        send_all(fd, junk, 5000);
        break;
    case 2: /* 50 pipelined requests whose answers are never read */
        for (int i = 0; i < 50; i++)
            send_str(fd, get_req);
        break;
    default: /* a head too large: reset while the server drains it */
        send_str(fd, "GET / HTTP/1.1\r\nHost: t\r\nX-Big: ");
        memset(junk, 'a', sizeof(junk));
        send_all(fd, junk, 32 << 10);
        break;
    }
    usleep(200); /* let the server be in the middle of it */
    reset_close(fd);
    return 0;
}

static int mode_reset(int n, bool http)
{
    int failed = 0;
    for (int i = 0; i < n; i++)
        failed += reset_one(i, http) < 0;
    bool ok = http ? good_get(IO_TIMEOUT_MS) : good_echo(IO_TIMEOUT_MS);
    printf("reset: conns=%d connect_failed=%d serving_after=%d\n", n, failed,
           ok);
    if (failed)
        return fail("reset", "connections refused");
    return ok ? 0 : fail("reset", "not serving afterwards");
}

/* ---- churn ---- */

static int churn_one(int i, bool http)
{
    int fd = dial(IO_TIMEOUT_MS);
    if (fd < 0)
        return -1;
    int rc = 0;
    switch (i % 4) {
    case 0:
        close(fd);
        return 0;
    case 1:
        reset_close(fd);
        return 0;
    case 2:
        send_str(fd, http ? "GET / HTTP/1.1\r\nHo" : "half");
        break;
    default: {
        char buf[1024];
        if (http) {
            bool closed;
            send_str(fd, get_close);
            size_t n = read_all(fd, buf, sizeof(buf), &closed);
            rc = closed && memmem(buf, n, "Hello, World!", 13) ? 0 : -2;
        } else {
            send_str(fd, "ping");
            rc = recv(fd, buf, 4, MSG_WAITALL) == 4 ? 0 : -2;
        }
        break;
    }
    }
    close(fd);
    return rc;
}

static int mode_churn(int n, bool http)
{
    int refused = 0, wrong = 0;
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        int r = churn_one(i, http);
        refused += r == -1;
        wrong += r == -2;
    }
    double d = now_s() - t0;
    printf("churn: cycles=%d refused=%d wrong=%d secs=%.2f per_s=%.0f\n", n,
           refused, wrong, d, n / d);
    if (refused || wrong)
        return fail("churn", "connections refused or answered wrongly");
    bool ok = http ? good_get(IO_TIMEOUT_MS) : good_echo(IO_TIMEOUT_MS);
    return ok ? 0 : fail("churn", "not serving afterwards");
}

/* ---- main ---- */

int main(int argc, char **argv)
{
    alarm(TIMEOUT_S); /* default action: the process dies, the test fails */
    if (argc < 3)
        goto usage;
    const char *m = argv[1];
    port = atoi(argv[2]);
    bool http = argc < 5 || strcmp(argv[argc - 1], "echo") != 0;
    if (!strcmp(m, "get") && argc == 3)
        return mode_get();
    if (!strcmp(m, "slowloris") && argc == 6)
        return slow_conns(m, atoi(argv[3]), atof(argv[4]), atof(argv[5]), true,
                          true);
    if (!strcmp(m, "idle") && argc >= 6)
        return slow_conns(m, atoi(argv[3]), atof(argv[4]), atof(argv[5]), false,
                          http);
    if (!strcmp(m, "noread") && argc >= 4)
        return mode_noread(atof(argv[3]), http);
    if (!strcmp(m, "flood") && argc >= 5)
        return mode_flood(atoi(argv[3]), atof(argv[4]), http);
    if (!strcmp(m, "bigheader") && argc == 4)
        return mode_bigheader((size_t)atol(argv[3]));
    if (!strcmp(m, "smuggle") && argc == 3)
        return mode_smuggle();
    if (!strcmp(m, "reset") && argc >= 4)
        return mode_reset(atoi(argv[3]), http);
    if (!strcmp(m, "churn") && argc >= 4)
        return mode_churn(atoi(argv[3]), http);
usage:
    fprintf(stderr, "usage: abuse_client get|slowloris|idle|noread|flood|"
                    "bigheader|smuggle|reset|churn PORT [args] (see the "
                    "source)\n");
    return 2;
}
