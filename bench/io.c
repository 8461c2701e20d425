/*
 * bench/io.c: I/O micro-benchmarks that choose between io/'s paths:
 *
 *   iort      1-byte round trip between two goroutines over a socketpair
 *             (or --tcp loopback). --try adapt|always|never: how recv tries
 *             the syscall before the ring; --send-try 0 sends through the
 *             ring. --deadline
 *             fd sets a far read deadline before every recv (one fd timer
 *             re-arm per call: the chosen design); --deadline link sets
 *             far deadlines once and makes every blocking op carry them as
 *             a linked timeout (the rejected design).
 *   iostream  one goroutine writes --size byte chunks, another reads them
 *             with a 16 KiB buffer: the regime where data is usually
 *             there already. --try as above.
 *   accept    -c goroutines dial, a server accepts and closes (RST, no
 *             TIME_WAIT): connections per second. --multishot 0|1.
 *             --burst 1: n (<= 2000) connections are queued first, then
 *             only the server's accepts are timed.
 *
 * Each prints the usual result line (bench/bench.h).
 */
#include "bench.h"
#include "../io/internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HOUR_NS (3600ull * 1000000000ull)

/* --name value pairs after the benchmark name. */
static const char *opt(struct bench_opts *o, const char *name, const char *def)
{
    for (int i = 1; i + 1 < o->argc; i++)
        if (!strcmp(o->argv[i], name))
            return o->argv[i + 1];
    return def;
}

static long optl(struct bench_opts *o, const char *name, long def)
{
    const char *v = opt(o, name, NULL);
    return v ? atol(v) : def;
}

static void die(const char *what, long rc)
{
    fprintf(stderr, "ringo-bench: %s: %ld (%s)\n", what, rc,
            strerror((int)-rc));
    exit(1);
}

/*
 * --try adapt|always|never: how recv tries the syscall before the ring
 * ("Trying first" in io/net.c); --send-try 0 sends through the ring.
 */
static const char *set_try(struct bench_opts *o)
{
    const char *t = opt(o, "--try", "adapt");
    rg__io_tune.recv_try = strcmp(t, "never") != 0;
    rg__io_tune.recv_adapt = strcmp(t, "adapt") == 0;
    rg__io_tune.send_try = optl(o, "--send-try", 1) != 0;
    return t;
}

/* A connected pair: socketpair, or TCP over loopback. */
static void make_pair(bool tcp, int sv[2])
{
    if (!tcp) {
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
            die("socketpair", -errno);
        return;
    }
    int lfd = rg_listen_tcp("127.0.0.1", 0, 1, 0);
    if (lfd < 0)
        die("listen", lfd);
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    getsockname(lfd, (struct sockaddr *)&sin, &len);
    sv[0] = rg_dial_tcp("127.0.0.1", ntohs(sin.sin_port), 0);
    if (sv[0] < 0)
        die("dial", sv[0]);
    sv[1] = rg_accept(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (sv[1] < 0)
        die("accept", sv[1]);
    rg_close(lfd);
}

/* ---- iort ---- */

enum { DL_NONE, DL_FD, DL_LINK };

static struct {
    long n;
    bool tcp;
    int dl;
    double ns;
    _Atomic int done;
} rt;

/* recv, with --deadline fd re-setting the read deadline before each call
   (the usual "idle timeout" pattern: one timer re-arm per call). */
static ssize_t recv_timed(int fd, void *b, size_t n)
{
    if (rt.dl == DL_FD)
        rg_set_deadline(fd, RG_READ, rg_now() + HOUR_NS);
    return rg_recv(fd, b, n, 0);
}

static void rt_echo(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char b;
    for (long i = 0; i < rt.n; i++) {
        if (recv_timed(fd, &b, 1) != 1 || rg_send(fd, &b, 1, 0) != 1)
            die("echo", -EIO);
    }
    rt.done = 1;
}

static void rt_main(void *arg)
{
    (void)arg;
    int sv[2];
    make_pair(rt.tcp, sv);
    if (rt.dl != DL_NONE) {
        uint64_t far = rg_now() + HOUR_NS;
        rg_set_deadline(sv[0], RG_READ | RG_WRITE, far);
        rg_set_deadline(sv[1], RG_READ | RG_WRITE, far);
    }
    rt.done = 0;
    rg_go(rt_echo, (void *)(intptr_t)sv[1]);
    char b = 'x';
    uint64_t t0 = rg_now();
    for (long i = 0; i < rt.n; i++)
        if (rg_send(sv[0], &b, 1, 0) != 1 || recv_timed(sv[0], &b, 1) != 1)
            die("round trip", -EIO);
    rt.ns = (double)(rg_now() - t0) / (double)rt.n;
    while (!rt.done)
        rg_yield();
    rg_close(sv[0]);
    rg_close(sv[1]);
}

int bench_iort(struct bench_opts *o)
{
    int procs = o->procs > 0 ? o->procs : 1;
    rt.n = o->n ? o->n : 200000;
    rt.tcp = optl(o, "--tcp", 0) != 0;
    const char *dl = opt(o, "--deadline", "none");
    rt.dl = !strcmp(dl, "link") ? DL_LINK : !strcmp(dl, "fd") ? DL_FD : DL_NONE;
    rg__io_tune.deadline_link = rt.dl == DL_LINK;
    const char *try = set_try(o);
    bench_rg_run(rt_main, NULL, procs);
    char extra[128];
    snprintf(extra, sizeof(extra), "unit=ns/roundtrip %s try=%s deadline=%s",
             rt.tcp ? "net=tcp" : "net=unix", try, dl);
    bench_result("iort", procs, rt.n, rt.ns, extra);
    return 0;
}

/* ---- iostream ---- */

static struct {
    long n;      /* chunks */
    size_t size; /* bytes per chunk */
    double ns;   /* per chunk */
    long reads;
    _Atomic int done;
} st;

static void st_writer(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char *buf = calloc(1, st.size);
    for (long i = 0; i < st.n; i++)
        if (rg_write_all(fd, buf, st.size) != (ssize_t)st.size)
            die("stream write", -EIO);
    free(buf);
    st.done = 1;
}

static void st_main(void *arg)
{
    (void)arg;
    int sv[2];
    make_pair(false, sv);
    st.done = 0;
    st.reads = 0;
    uint64_t t0 = rg_now();
    rg_go(st_writer, (void *)(intptr_t)sv[0]);
    size_t want = st.size * (size_t)st.n, got = 0;
    static char buf[16384];
    while (got < want) {
        ssize_t r = rg_recv(sv[1], buf, sizeof(buf), 0);
        if (r <= 0)
            die("stream read", r);
        got += (size_t)r;
        st.reads++;
    }
    st.ns = (double)(rg_now() - t0) / (double)st.n;
    while (!st.done)
        rg_yield();
    rg_close(sv[0]);
    rg_close(sv[1]);
}

int bench_iostream(struct bench_opts *o)
{
    int procs = o->procs > 0 ? o->procs : 1;
    st.n = o->n ? o->n : 20000;
    st.size = (size_t)optl(o, "--size", 65536);
    const char *try = set_try(o);
    bench_rg_run(st_main, NULL, procs);
    char extra[160];
    snprintf(extra, sizeof(extra),
             "unit=ns/chunk size=%zu try=%s MBps=%.0f reads_per_chunk=%.2f",
             st.size, try, (double)st.size / st.ns * 1e3,
             (double)st.reads / (double)st.n);
    bench_result("iostream", procs, st.n, st.ns, extra);
    return 0;
}

/* ---- accept ---- */

static struct {
    long n;
    int conc;
    int port;
    bool burst;
    double ns;
    _Atomic long dialed;
    _Atomic int dialers;
    int *held;
} ac;

/* --burst: dial n connections and hold them; accepts are timed after. */
static void ac_burst_dialer(void *arg)
{
    (void)arg;
    for (long i = 0; i < ac.n; i++) {
        ac.held[i] = rg_dial_tcp("127.0.0.1", ac.port, 0);
        if (ac.held[i] < 0)
            die("dial", ac.held[i]);
        ac.dialed++;
    }
}

static void ac_burst(int lfd)
{
    ac.held = calloc((size_t)ac.n, sizeof(int));
    ac.dialed = 0;
    /* Arm the listener (the multishot starts with the first accept) and
       let the dialer fill the backlog. */
    rg_go(ac_burst_dialer, NULL);
    int *acc = calloc((size_t)ac.n, sizeof(int));
    acc[0] = rg_accept(lfd, NULL, NULL, SOCK_CLOEXEC);
    while (ac.dialed < ac.n)
        rg_sleep(1000000);
    rg_sleep(20000000);
    uint64_t t0 = rg_now();
    for (long i = 1; i < ac.n; i++)
        if ((acc[i] = rg_accept(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
            die("accept", acc[i]);
    ac.ns = (double)(rg_now() - t0) / (double)(ac.n - 1);
    for (long i = 0; i < ac.n; i++) {
        rg_close(acc[i]);
        rg_close(ac.held[i]);
    }
    free(acc);
    free(ac.held);
}

static void ac_dialer(void *arg)
{
    long each = (long)(intptr_t)arg;
    char b;
    for (long i = 0; i < each; i++) {
        int fd = rg_dial_tcp("127.0.0.1", ac.port, 0);
        if (fd == -ECONNRESET)
            continue; /* accepted and reset before connect returned */
        if (fd < 0)
            die("dial", fd);
        rg_read(fd, &b, 1); /* EOF or reset when the server closes */
        rg_close(fd);
    }
    ac.dialers--;
}

static void ac_main(void *arg)
{
    (void)arg;
    int lfd = rg_listen_tcp("127.0.0.1", 0, 4096, 0);
    if (lfd < 0)
        die("listen", lfd);
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    getsockname(lfd, (struct sockaddr *)&sin, &len);
    ac.port = ntohs(sin.sin_port);
    if (ac.burst) {
        ac_burst(lfd);
        rg_close(lfd);
        return;
    }
    ac.dialers = ac.conc;
    uint64_t t0 = rg_now();
    for (int i = 0; i < ac.conc; i++)
        rg_go(ac_dialer, (void *)(intptr_t)(ac.n / ac.conc));
    long total = ac.n / ac.conc * ac.conc;
    struct linger lg = {1, 0};
    for (long i = 0; i < total; i++) {
        int c = rg_accept(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            die("accept", c);
        setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        rg_close(c);
    }
    ac.ns = (double)(rg_now() - t0) / (double)total;
    while (ac.dialers > 0)
        rg_yield();
    rg_close(lfd);
}

int bench_accept(struct bench_opts *o)
{
    int procs = o->procs > 0 ? o->procs : 1;
    ac.n = o->n ? o->n : 20000;
    ac.conc = (int)optl(o, "-c", 16);
    ac.burst = optl(o, "--burst", 0) != 0;
    if (ac.burst && ac.n > 2000)
        ac.n = 2000; /* within the listener's backlog */
    long ms = optl(o, "--multishot", 1);
    rg__io_tune.accept_multishot = ms != 0;
    bench_rg_run(ac_main, NULL, procs);
    char extra[128];
    snprintf(extra, sizeof(extra),
             "unit=ns/conn mode=%s conc=%d multishot=%ld conn_s=%.0f",
             ac.burst ? "burst" : "churn", ac.conc, ms, 1e9 / ac.ns);
    bench_result("accept", procs, ac.n, ac.ns, extra);
    return 0;
}
