/*
 * examples/server.c: listening, accepting and shutting down, for the
 * example servers (see server.h).
 *
 * Invariants:
 *  1. conns[fd] is CONN_NONE unless fd is a connection between its
 *     srv_conn_begin() and srv_conn_end(); active counts those fds.
 *  2. Once stopping is set it stays set, and the acceptor accepts nothing
 *     more than the connection it may be holding.
 *  3. srv_serve() returns only when active is 0 (or after the hard limit
 *     below, when some connection refuses to finish).
 *
 * Graceful shutdown
 * =================
 * SIGINT and SIGTERM are blocked in every thread (srv_init() runs before
 * the runtime starts its threads, which inherit the mask) and read from a
 * non-blocking signalfd by the watcher goroutine through rg_read(), i.e.
 * through the io_uring poller like any other descriptor. Should the
 * signalfd be refused, the watcher polls the pending set with
 * sigtimedwait(0) every SIG_POLL_NS instead.
 *
 * On a signal the watcher:
 *  1. sets stopping;
 *  2. closes the listening socket with rg_close, which wakes the pending
 *     rg_accept (-ECANCELED); the acceptor sees stopping and waits for
 *     the connections (whichever of the watcher and a failing acceptor
 *     comes first closes the socket, once: lclosed);
 *  3. waits DRAIN_NS, then shuts down the reading side of every
 *     connection still idle: its pending read returns 0 (end of file)
 *     after any bytes already received, so the connection goroutine ends
 *     as if the client had left. The wait is for requests already on the
 *     wire: a client's write can reach the socket's receive queue only
 *     after the signal (loopback delivery runs in softirq context, which a
 *     loaded CPU defers), and a read that saw the shutdown first would
 *     drop such a request (seen in ~1 run in 50 of tests/test_examples.sh
 *     under ASan). A connection that gets a request meanwhile is busy and
 *     goes on to 4;
 *  4. lets busy connections finish the request they are serving: they
 *     call srv_conn_idle() before reading the next one, see stopping and
 *     close;
 *  5. after GRACE_NS, shuts down both sides of whatever is left (a client
 *     that sends half a request, or does not read its response, cannot
 *     hold the server up).
 *
 * Steps 1 and 3 race with a connection going idle: the connection stores
 * CONN_IDLE then loads stopping, the watcher stores stopping then loads
 * conns[fd], all sequentially consistent, so at least one of them sees
 * the other's store: either the connection closes by itself or it gets
 * shut down (or both; shutdown(2) on an fd that was closed meanwhile
 * fails harmlessly, or hits another connection being shut down anyway).
 */
#include "server.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BACKLOG 4096                /* the kernel caps it at somaxconn */
#define GRACE_NS 5000000000ull      /* busy connections get 5 s to finish */
#define SIG_POLL_NS 50000000ull     /* fallback signal polling: 50 ms */
#define DRAIN_NS 100000000ull       /* requests on the wire: 100 ms */
#define ACCEPT_BACKOFF_NS 10000000u /* e.g. out of fds: retry in 10 ms */
#define MAX_CONN_TABLE (1 << 22)    /* fds tracked at most */

enum { CONN_NONE = 0, CONN_BUSY, CONN_IDLE };

static struct {
    struct srv_opts o;
    int lfd;            /* listening socket */
    atomic_int lclosed; /* lfd closed (by whoever swapped this to 1) */
    int sigfd;          /* signalfd, or -1 */
    sigset_t sigs;      /* SIGINT, SIGTERM */
    atomic_int stopping;
    atomic_long active;
    atomic_uchar *conns; /* CONN_* by fd, nconns entries */
    int nconns;
} srv;

/* ---- options ---- */

int srv_parse_secs(const char *s, uint64_t *ns)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !(v > 0 && v <= 86400))
        return -1;
    *ns = (uint64_t)(v * 1e9);
    return 0;
}

int srv_parse_args(struct srv_opts *o, int *argc, char **argv)
{
    int out = 1, bad = 0;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < *argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--host") && v)
            o->host = v;
        else if (!strcmp(a, "--port") && v)
            o->port = atoi(v);
        else if (!strcmp(a, "--procs") && v)
            o->procs = atoi(v);
        else if (!strcmp(a, "--idle-timeout") && v)
            bad |= srv_parse_secs(v, &o->idle_ns) < 0;
        else {
            argv[out++] = argv[i];
            continue;
        }
        i++;
    }
    *argc = out;
    argv[out] = NULL;
    if (bad || o->port < 0 || o->port > 65535 || o->procs < 0)
        return -1;
    return 0;
}

/* ---- setup ---- */

/* Raise the soft fd limit to the hard one (as Go does) and size the
   connection table to it. */
static int conns_alloc(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    long n = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (long)rl.rlim_cur : 1024;
    if (n > MAX_CONN_TABLE || n < 0)
        n = MAX_CONN_TABLE;
    srv.conns = calloc((size_t)n, sizeof(*srv.conns));
    if (!srv.conns)
        return -ENOMEM;
    srv.nconns = (int)n;
    return 0;
}

int srv_init(const struct srv_opts *o)
{
    srv.o = *o;
    srv.lfd = -1;
    sigemptyset(&srv.sigs);
    sigaddset(&srv.sigs, SIGINT);
    sigaddset(&srv.sigs, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &srv.sigs, NULL) < 0)
        return -errno;
    signal(SIGPIPE, SIG_IGN); /* a peer's reset must fail a write, not kill */
    srv.sigfd = signalfd(-1, &srv.sigs, SFD_NONBLOCK | SFD_CLOEXEC);
    return conns_alloc();
}

/* ---- the watcher ---- */

/* Close the listening socket unless that was done already. */
static void close_listener(void)
{
    if (!atomic_exchange(&srv.lclosed, 1))
        rg_close(srv.lfd);
}

/* Block until SIGINT or SIGTERM is pending; returns the signal. */
static int wait_signal(void)
{
    while (srv.sigfd >= 0) {
        struct signalfd_siginfo si;
        ssize_t n = rg_read(srv.sigfd, &si, sizeof(si));
        if (n == (ssize_t)sizeof(si))
            return (int)si.ssi_signo;
        if (n == -EINTR || n == -EAGAIN)
            continue;
        fprintf(stderr, "%s: signalfd read: %s; polling for signals\n",
                srv.o.name, strerror((int)-n));
        rg_close(srv.sigfd);
        srv.sigfd = -1;
    }
    struct timespec zero = {0, 0};
    for (;;) {
        int sig = sigtimedwait(&srv.sigs, NULL, &zero);
        if (sig > 0)
            return sig;
        rg_sleep(SIG_POLL_NS);
    }
}

/* shutdown(2) every registered connection whose state is in mask. */
static void sweep(unsigned mask, int how)
{
    for (int fd = 0; fd < srv.nconns; fd++) {
        unsigned st = atomic_load(&srv.conns[fd]); /* see essay, step 3 */
        if (st != CONN_NONE && (mask & (1u << st)))
            shutdown(fd, how);
    }
}

static void watcher(void *arg)
{
    (void)arg;
    int sig = wait_signal();
    fprintf(stderr, "%s: %s: shutting down\n", srv.o.name,
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    atomic_store(&srv.stopping, 1); /* see essay, step 1 */
    close_listener();
    rg_sleep(DRAIN_NS);
    sweep(1u << CONN_IDLE, SHUT_RD);
    uint64_t limit = rg_now() + GRACE_NS;
    while (atomic_load(&srv.active) > 0 && rg_now() < limit)
        rg_sleep(10 * 1000 * 1000);
    if (atomic_load(&srv.active) > 0) {
        fprintf(stderr, "%s: closing %ld connections still busy\n", srv.o.name,
                (long)atomic_load(&srv.active));
        sweep((1u << CONN_IDLE) | (1u << CONN_BUSY), SHUT_RDWR);
    }
}

/* ---- accepting ---- */

static void print_listening(int lfd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int port = srv.o.port;
    if (getsockname(lfd, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET)
            port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    printf("%s: listening on %s:%d\n", srv.o.name, srv.o.host, port);
    fflush(stdout);
}

/* Accept until stopping. Errors that concern one connection are
   skipped; others (out of fds or memory) are retried after a pause, so
   the loop never spins. */
static void accept_loop(void (*conn)(void *))
{
    while (!atomic_load(&srv.stopping)) {
        int fd = rg_accept(srv.lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd == -ECANCELED || fd == -EBADF)
            break; /* closed by the watcher */
        if (fd == -ECONNABORTED || fd == -EINTR || fd == -EAGAIN ||
            fd == -EPROTO || fd == -EPERM)
            continue; /* that connection is gone; the next one may not be */
        if (fd < 0) {
            rg_sleep(ACCEPT_BACKOFF_NS);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        srv_conn_begin(fd);
        if (rg_go(conn, (void *)(intptr_t)fd) < 0)
            srv_conn_end(fd);
    }
    if (!atomic_load(&srv.stopping))
        fprintf(stderr, "%s: accept failed; stopping\n", srv.o.name);
}

int srv_serve(void (*conn)(void *))
{
    int lfd = rg_listen_tcp(srv.o.host, srv.o.port, BACKLOG, 0);
    if (lfd < 0) {
        fprintf(stderr, "%s: listen on %s:%d: %s\n", srv.o.name, srv.o.host,
                srv.o.port, strerror(-lfd));
        return lfd;
    }
    srv.lfd = lfd;
    print_listening(lfd);
    if (rg_go(watcher, NULL) < 0) {
        close_listener();
        return -ENOMEM;
    }
    accept_loop(conn);
    close_listener();
    /* The watcher's own limit (GRACE_NS) ends every connection; wait for
       that, plus a margin for the last ones to notice. */
    uint64_t limit = rg_now() + 2 * GRACE_NS;
    while (atomic_load(&srv.active) > 0 && rg_now() < limit)
        rg_sleep(10 * 1000 * 1000);
    return 0;
}

/* ---- connections ---- */

void srv_conn_begin(int fd)
{
    atomic_fetch_add(&srv.active, 1);
    if (fd < srv.nconns)
        atomic_store(&srv.conns[fd], CONN_BUSY);
}

bool srv_conn_idle(int fd)
{
    if (fd < srv.nconns)
        atomic_store(&srv.conns[fd], CONN_IDLE); /* see essay, step 3 */
    return atomic_load(&srv.stopping);
}

void srv_conn_busy(int fd)
{
    if (fd < srv.nconns)
        atomic_store_explicit(&srv.conns[fd], CONN_BUSY, memory_order_relaxed);
}

void srv_conn_end(int fd)
{
    if (fd < srv.nconns)
        atomic_store(&srv.conns[fd], CONN_NONE);
    rg_close(fd);
    atomic_fetch_sub(&srv.active, 1); /* pairs with the loads in srv_serve */
}

bool srv_stopping(void)
{
    return atomic_load(&srv.stopping);
}
