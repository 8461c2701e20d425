/*
 * tests/lg_server.c: a small HTTP/1.1 server that counts, for
 * tests/test_loadgen.sh. Plain C and threads, no ringo, so the load
 * generator is checked against a server that shares none of its code.
 *
 *   lg_server [--port P] [--stall-after N --stall-ms MS]
 *
 * Prints "listening on 127.0.0.1:PORT" on stdout once it accepts. On
 * SIGTERM or SIGINT it prints one line and exits 0:
 *
 *   requests=N header=H body=B post=P
 *
 * N counts the responses written in full; H the requests that carried an
 * X-Test header; B the request body bytes received; P the POSTs.
 *
 * Paths (any method; a body with Content-Length is read and counted):
 *   /          200 "hello\n"
 *   /404 /500  that status
 *   /chunked   200, a chunked body in two chunks, with a trailer
 *   /close     200, Connection: close, then the connection is closed
 *   /eof       200 without length: the body ends when the server closes
 *   /http10    an HTTP/1.0 answer with a length: closed after it
 *   /big       200 with a 300000-byte body
 *   /continue  100 Continue, then 200
 *   /slow      answers after 1 s
 * --stall-after N: when the Nth request arrives, every connection stops
 * answering for MS milliseconds (one stall, from that moment).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static atomic_ulong answered, with_header, body_bytes, posts, received;
static atomic_ullong stall_until;
static unsigned long stall_after;
static unsigned long stall_ms;

static unsigned long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull +
           (unsigned long long)ts.tv_nsec;
}

static void sleep_ns(unsigned long long ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000ull),
                          (long)(ns % 1000000000ull)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Answer one request for path; returns 1 to close afterwards, -1 on a
   write error. */
static int answer(int fd, const char *path)
{
    static char big[300000];
    char head[256];
    const char *body = "hello\n";
    int code = 200, close_after = 0;
    if (!strcmp(path, "/404"))
        code = 404;
    else if (!strcmp(path, "/500"))
        code = 500;
    else if (!strcmp(path, "/slow"))
        sleep_ns(1000000000ull);
    if (!strcmp(path, "/chunked")) {
        const char *r = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "3\r\nhel\r\n3;x=y\r\nlo\n\r\n0\r\nX-T: 1\r\n\r\n";
        return write_all(fd, r, strlen(r));
    }
    if (!strcmp(path, "/eof")) {
        const char *r = "HTTP/1.1 200 OK\r\n\r\nbye\n";
        return write_all(fd, r, strlen(r)) < 0 ? -1 : 1;
    }
    if (!strcmp(path, "/http10")) {
        const char *r = "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n";
        return write_all(fd, r, strlen(r)) < 0 ? -1 : 1;
    }
    if (!strcmp(path, "/continue") &&
        write_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0)
        return -1;
    if (!strcmp(path, "/close"))
        close_after = 1;
    size_t blen = strlen(body);
    if (!strcmp(path, "/big")) {
        memset(big, 'b', sizeof(big));
        body = big;
        blen = sizeof(big);
    }
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s\r\n", code,
                     blen, close_after ? "Connection: close\r\n" : "");
    if (write_all(fd, head, (size_t)n) < 0 || write_all(fd, body, blen) < 0)
        return -1;
    return close_after;
}

/* Wait out a stall, starting it if this is the Nth request. */
static void maybe_stall(void)
{
    unsigned long n = ++received;
    if (stall_after && n == stall_after)
        stall_until = now_ns() + stall_ms * 1000000ull;
    unsigned long long t = now_ns(), until = stall_until;
    if (t < until)
        sleep_ns(until - t);
}

/* Parse the head in buf[0..hl); fills path, returns the body length. */
static long parse_head(const char *buf, size_t hl, char *path, size_t plen)
{
    long clen = 0;
    const char *sp = memchr(buf, ' ', hl);
    const char *sp2 =
        sp ? memchr(sp + 1, ' ', hl - (size_t)(sp + 1 - buf)) : NULL;
    size_t n = sp2 ? (size_t)(sp2 - sp - 1) : 0;
    if (n >= plen)
        n = plen - 1;
    memcpy(path, sp ? sp + 1 : "", n);
    path[n] = '\0';
    if (!strncmp(buf, "POST ", 5))
        posts++;
    for (const char *l = memchr(buf, '\n', hl); l && l < buf + hl;
         l = memchr(l + 1, '\n', hl - (size_t)(l + 1 - buf))) {
        if (!strncasecmp(l + 1, "content-length:", 15))
            clen = atol(l + 16);
        else if (!strncasecmp(l + 1, "x-test:", 7))
            with_header++;
    }
    return clen;
}

static void *conn(void *arg)
{
    int fd = (int)(long)arg;
    static __thread char buf[65536];
    size_t len = 0;
    for (;;) {
        char *e = memmem(buf, len, "\r\n\r\n", 4);
        if (!e) {
            if (len == sizeof(buf))
                break;
            ssize_t r = recv(fd, buf + len, sizeof(buf) - len, 0);
            if (r <= 0)
                break;
            len += (size_t)r;
            continue;
        }
        size_t hl = (size_t)(e - buf) + 4;
        char path[256];
        long clen = parse_head(buf, hl, path, sizeof(path));
        memmove(buf, buf + hl, len - hl);
        len -= hl;
        while (clen > 0) { /* the body: count and drop it */
            if (len == 0) {
                ssize_t r = recv(fd, buf, sizeof(buf), 0);
                if (r <= 0)
                    goto out;
                len = (size_t)r;
            }
            size_t k = (size_t)clen < len ? (size_t)clen : len;
            body_bytes += k;
            clen -= (long)k;
            memmove(buf, buf + k, len - k);
            len -= k;
        }
        maybe_stall();
        int rc = answer(fd, path);
        if (rc < 0)
            break;
        answered++;
        if (rc > 0)
            break;
    }
out:
    close(fd);
    return NULL;
}

static void *acceptor(void *arg)
{
    int lfd = (int)(long)arg;
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
                continue;
            break;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&at, 256 << 10);
        if (pthread_create(&t, &at, conn, (void *)(long)fd) != 0)
            close(fd);
        pthread_attr_destroy(&at);
    }
    return NULL;
}

static int listen_on(int port)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in sa = {0};
    socklen_t sl = sizeof(sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(lfd, 1024) < 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0) {
        perror("lg_server: listen");
        exit(1);
    }
    printf("listening on 127.0.0.1:%d\n", ntohs(sa.sin_port));
    fflush(stdout);
    return lfd;
}

int main(int argc, char **argv)
{
    int port = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port"))
            port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--stall-after"))
            stall_after = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--stall-ms"))
            stall_ms = strtoul(argv[i + 1], NULL, 10);
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* inherited by every thread */
    signal(SIGPIPE, SIG_IGN);
    int lfd = listen_on(port);
    pthread_t t;
    if (pthread_create(&t, NULL, acceptor, (void *)(long)lfd) != 0)
        return 1;
    int sig;
    sigwait(&set, &sig);
    printf("requests=%lu header=%lu body=%lu post=%lu\n",
           (unsigned long)answered, (unsigned long)with_header,
           (unsigned long)body_bytes, (unsigned long)posts);
    fflush(stdout);
    _exit(0);
}
