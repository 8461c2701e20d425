/*
 * io/net.c: sockets: recv/send (and the msghdr forms), connect, and the
 * TCP helpers rg_listen_tcp and rg_dial_tcp with their name resolver.
 * rg_accept and its multishot queue are in accept.c.
 *
 * Invariants:
 *  1. A call that can complete without waiting does so without the ring:
 *     recv and send first try the syscall with MSG_DONTWAIT ("Trying
 *     first", below); only -EAGAIN goes to the ring, as IORING_OP_RECV /
 *     SEND with IORING_RECVSEND_POLL_FIRST (the kernel arms its poll
 *     without a second attempt that would fail the same way). Under the
 *     epoll backend every call goes straight to rg__io_do, which always
 *     tries first (ready.c), and the adaptive rule below is unused.
 *  2. Sockets never raise SIGPIPE: sends carry MSG_NOSIGNAL, so writing
 *     to a reset connection returns -EPIPE.
 *  3. No M ever blocks in a socket call: socket, setsockopt, bind and
 *     listen do not wait; accept and connect go through the ring; a host
 *     name is resolved by getaddrinfo on a helper pthread while the
 *     goroutine waits on the ring ("Resolving names").
 *
 * Locking: none of its own; the ops register through fd.c.
 *
 * Trying first
 * ============
 * A recv on a connection with data already queued (a pipelined request,
 * the rest of a large message) costs one syscall with MSG_DONTWAIT; through
 * the ring it costs a park, a submit and a reap (the kernel completes it
 * inline at submit, but the goroutine has already given up its M): 40%
 * more per 1 KiB chunk of a stream. A miss costs one failed syscall
 * (~0.2 us) before the ring, 7% of a 1-byte ping-pong where every recv
 * misses. So recv adapts per fd (fdstate.rmiss): after two misses in a
 * row it stops trying and leaves the attempt to the kernel's inline try at
 * submit, probing with a real try every 16th call; a hit starts trying
 * again. A send almost never waits (the socket buffer has room), so it is
 * always tried first. Numbers: "Trying first" in docs/design.md;
 * rg__io_tune switches each choice off for the benchmarks that compare
 * them.
 *
 * Resolving names
 * ===============
 * rg_dial_tcp and rg_listen_tcp take numeric addresses (IPv4, IPv6) at
 * once. Any other name goes to getaddrinfo on a detached helper pthread:
 * the goroutine creates an eventfd, starts the helper, and waits with an
 * IORING_OP_READ on the eventfd, which the helper writes when it is done.
 * So the wait is an ordinary ring op: it counts as I/O in flight for the
 * deadlock check, it honours the dial timeout (a linked timeout), and the
 * wakeup needs nothing from the helper but a write. The goroutine frees
 * the request (eventfd included) when it got the answer, so nothing of
 * the lookup outlives the call; a goroutine that timed out leaves that to
 * the helper (struct lookup). (glibc's getaddrinfo_a
 * would do the same with its own thread pool and a signal or thread
 * callback; the helper is simpler to reason about.)
 */
#include "internal.h"
#include "../include/ringo.h"
#include "../runtime/alloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>

#define MAX_RW (1 << 30) /* larger reads and writes are cut (Go's maxRW) */
#define MAX_ADDRS 8      /* addresses tried per dial */

struct rg__io_tune rg__io_tune = {
    .recv_try = true,
    .recv_adapt = true,
    .send_try = true,
    .accept_multishot = true,
};

/* ---- recv / send ---- */

#define RMISS_SKIP 2   /* misses in a row that stop the tries */
#define RMISS_PROBE 15 /* then try when (rmiss & RMISS_PROBE) == 0 */

/* Should this recv try the syscall first? See "Trying first". */
static bool recv_try(struct fdstate *fs)
{
    if (!fs || !rg__io_tune.recv_adapt)
        return true;
    uint8_t m = rg__load_rlx(&fs->rmiss);
    if (m < RMISS_SKIP)
        return true;
    m = m == UINT8_MAX ? RMISS_SKIP : m + 1;
    rg__store_rlx(&fs->rmiss, m);
    return (m & RMISS_PROBE) == 0;
}

static void recv_tried(struct fdstate *fs, ssize_t r)
{
    if (!fs)
        return;
    uint8_t m = rg__load_rlx(&fs->rmiss);
    if (r != -EAGAIN)
        m = 0;
    else if (m < RMISS_SKIP)
        m++;
    rg__store_rlx(&fs->rmiss, m);
}

/*
 * rg__sock_recv: recv on a socket (fs may be NULL): try first, then the
 * ring. From a goroutine.
 */
ssize_t rg__sock_recv(struct fdstate *fs, int fd, void *buf, size_t n,
                      int flags)
{
    int rc = rg__fd_check(fs, IO_DIR_READ);
    if (rc < 0)
        return rc;
    if (n > MAX_RW)
        n = MAX_RW;
    uint16_t prio = 0;
    /* MSG_WAITALL must not return the part a non-blocking try finds. The
       epoll backend tries first itself (ready.c). */
    if (!rg__poll_readiness() &&
        ((rg__io_tune.recv_try && !(flags & MSG_WAITALL) && recv_try(fs)) ||
         (flags & MSG_DONTWAIT))) {
        ssize_t r = rg__sys_recv(fd, buf, n, flags | MSG_DONTWAIT);
        recv_tried(fs, r);
        if (r != -EAGAIN || (flags & MSG_DONTWAIT))
            return r;
        prio = IORING_RECVSEND_POLL_FIRST;
    }
    struct iodesc d = {
        .opcode = IORING_OP_RECV,
        .dir = IO_DIR_READ,
        .ioprio = prio,
        .fd = fd,
        .addr = buf,
        .len = (uint32_t)n,
        .flags = (uint32_t)flags,
        .reason = RG_WAIT_IO_READ,
    };
    return rg__io_do(&d);
}

/* rg__sock_send: send on a socket, without SIGPIPE. From a goroutine. */
ssize_t rg__sock_send(struct fdstate *fs, int fd, const void *buf, size_t n,
                      int flags)
{
    int rc = rg__fd_check(fs, IO_DIR_WRITE);
    if (rc < 0)
        return rc;
    if (n > MAX_RW)
        n = MAX_RW;
    flags |= MSG_NOSIGNAL;
    uint16_t prio = 0;
    if (!rg__poll_readiness() &&
        ((rg__io_tune.send_try && !(flags & MSG_WAITALL)) ||
         (flags & MSG_DONTWAIT))) {
        ssize_t r = rg__sys_send(fd, buf, n, flags | MSG_DONTWAIT);
        if (r != -EAGAIN || (flags & MSG_DONTWAIT))
            return r;
        prio = IORING_RECVSEND_POLL_FIRST;
    }
    struct iodesc d = {
        .opcode = IORING_OP_SEND,
        .dir = IO_DIR_WRITE,
        .ioprio = prio,
        .fd = fd,
        .addr = buf,
        .len = (uint32_t)n,
        .flags = (uint32_t)flags,
        .reason = RG_WAIT_IO_WRITE,
    };
    return rg__io_do(&d);
}

ssize_t rg_recv(int fd, void *buf, size_t n, int flags)
{
    if (!rg__io_in_goroutine())
        return -EPERM;
    return rg__sock_recv(rg__fd_get(fd), fd, buf, n, flags);
}

ssize_t rg_send(int fd, const void *buf, size_t n, int flags)
{
    if (!rg__io_in_goroutine())
        return -EPERM;
    return rg__sock_send(rg__fd_get(fd), fd, buf, n, flags);
}

/* recvmsg/sendmsg: the same two steps; the kernel copies msg at submit. */
static ssize_t sock_msg(int fd, struct msghdr *msg, int flags, bool out)
{
    if (!rg__io_in_goroutine())
        return -EPERM;
    struct fdstate *fs = rg__fd_get(fd);
    int dir = out ? IO_DIR_WRITE : IO_DIR_READ;
    int rc = rg__fd_check(fs, dir);
    if (rc < 0)
        return rc;
    if (out)
        flags |= MSG_NOSIGNAL;
    bool try = out ? rg__io_tune.send_try : rg__io_tune.recv_try;
    uint16_t prio = 0;
    if (!rg__poll_readiness() &&
        ((try && !(flags & MSG_WAITALL)) || (flags & MSG_DONTWAIT))) {
        ssize_t r = out ? rg__sys_sendmsg(fd, msg, flags | MSG_DONTWAIT)
                        : rg__sys_recvmsg(fd, msg, flags | MSG_DONTWAIT);
        if (r != -EAGAIN || (flags & MSG_DONTWAIT))
            return r;
        prio = IORING_RECVSEND_POLL_FIRST;
    }
    struct iodesc d = {
        .opcode = out ? IORING_OP_SENDMSG : IORING_OP_RECVMSG,
        .dir = (uint8_t)dir,
        .ioprio = prio,
        .fd = fd,
        .addr = msg,
        .len = 1,
        .flags = (uint32_t)flags,
        .reason = out ? RG_WAIT_IO_WRITE : RG_WAIT_IO_READ,
    };
    return rg__io_do(&d);
}

ssize_t rg_recvmsg(int fd, struct msghdr *msg, int flags)
{
    return sock_msg(fd, msg, flags, false);
}

ssize_t rg_sendmsg(int fd, const struct msghdr *msg, int flags)
{
    return sock_msg(fd, (struct msghdr *)msg, flags, true);
}

/* ---- connect ---- */

static int connect_dl(int fd, const struct sockaddr *sa, socklen_t len,
                      int64_t deadline)
{
    struct iodesc d = {
        .opcode = IORING_OP_CONNECT,
        .dir = IO_DIR_WRITE,
        .fd = fd,
        .addr = sa,
        .off = len,
        .deadline = deadline,
        .reason = RG_WAIT_IO_CONNECT,
    };
    return (int)rg__io_do(&d);
}

int rg_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
    if (!rg__io_in_goroutine())
        return -EPERM;
    if (!sa)
        return -EINVAL;
    return connect_dl(fd, sa, len, 0);
}

/* ---- addresses and names ---- */

/* Numeric host to sockaddr: 1 if it was numeric, 0 if not. */
static int parse_numeric(const char *host, int port,
                         struct sockaddr_storage *ss, socklen_t *len)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    memset(ss, 0, sizeof(*ss));
    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        *len = sizeof(*sin);
        return 1;
    }
    if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*sin6);
        return 1;
    }
    return 0;
}

/*
 * A lookup shared by the waiting goroutine and the helper thread. Who
 * frees it: the goroutine when it got the answer (after the helper's last
 * store, LK_DONE), the helper when the goroutine gave up (LK_ABANDONED).
 */
enum { LK_WAITING, LK_DONE, LK_ABANDONED };

struct lookup {
    _Atomic int state; /* LK_* */
    int efd;           /* written by the helper when done */
    int rc;            /* getaddrinfo's result (-errno) */
    struct addrinfo *res;
    char host[];
};

static void lookup_free(struct lookup *lk)
{
    if (lk->res)
        freeaddrinfo(lk->res);
    rg__fd_close_raw(lk->efd);
    rg__free(lk);
}

static void *lookup_thread(void *arg)
{
    struct lookup *lk = arg;
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    lk->rc = rg__sys_getaddrinfo(lk->host, NULL, &hints, &lk->res);
    uint64_t one = 1;
    rg__sys_write(lk->efd, &one, sizeof(one));
    /* acq_rel: publishes rc and res (rel), pairs with the goroutine's
       exchange or load (acq). Nothing touches lk after this unless the
       goroutine has given up. */
    if (rg__xchg_acqrel(&lk->state, LK_DONE) == LK_ABANDONED)
        lookup_free(lk);
    return NULL;
}

/*
 * resolve: the TCP addresses of host (at most max), with port set, in
 * getaddrinfo's order. Returns how many, or -errno (-ETIMEDOUT past
 * deadline). From a goroutine.
 */
static int resolve(const char *host, int port, struct sockaddr_storage *out,
                   socklen_t *lens, int max, int64_t deadline)
{
    size_t hl = strlen(host);
    struct lookup *lk = rg__calloc(1, sizeof(*lk) + hl + 1);
    if (!lk)
        return -ENOMEM;
    memcpy(lk->host, host, hl + 1);
    lk->efd = rg__sys_eventfd(0, EFD_CLOEXEC); /* blocking: read waits */
    if (lk->efd < 0) {
        int rc = lk->efd;
        rg__free(lk);
        return rc;
    }
    rg__fd_fresh(lk->efd, FD_KIND_OTHER);
    rg__store_rlx(&lk->state, LK_WAITING);
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int prc = pthread_create(&th, &attr, lookup_thread, lk);
    pthread_attr_destroy(&attr);
    if (prc != 0) {
        lookup_free(lk);
        return -prc;
    }
    uint64_t v;
    struct iodesc d = {
        .opcode = IORING_OP_READ,
        .fd = lk->efd,
        .addr = &v,
        .len = sizeof(v),
        .off = (uint64_t)-1,
        .deadline = deadline,
        .reason = RG_WAIT_IO_RESOLVE,
    };
    ssize_t r = rg__io_do(&d);
    if (r != sizeof(v)) {
        /* Timed out (or failed): leave the lookup to the helper, unless it
           has finished meanwhile. acq: pairs with its exchange. */
        if (rg__xchg_acqrel(&lk->state, LK_ABANDONED) == LK_DONE)
            lookup_free(lk);
        return r < 0 ? (int)r : -EIO;
    }
    /* The helper wrote; its last store is a few instructions away. */
    while (rg__load_acq(&lk->state) != LK_DONE) /* acq: pairs with it */
        rg_yield();
    int n = lk->rc;
    if (n == 0) {
        for (struct addrinfo *ai = lk->res; ai && n < max; ai = ai->ai_next) {
            if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
                continue;
            memcpy(&out[n], ai->ai_addr, ai->ai_addrlen);
            lens[n] = ai->ai_addrlen;
            ((struct sockaddr_in *)&out[n])->sin_port = htons((uint16_t)port);
            n++;
        }
        if (n == 0)
            n = -ENOENT;
    }
    lookup_free(lk);
    return n;
}

/* Addresses for host: numeric at once, else resolved. */
static int host_addrs(const char *host, int port, struct sockaddr_storage *out,
                      socklen_t *lens, int max, int64_t deadline)
{
    if (parse_numeric(host, port, &out[0], &lens[0]))
        return 1;
    return resolve(host, port, out, lens, max, deadline);
}

/* ---- rg_listen_tcp ---- */

static int set_int(int fd, int level, int name, int v)
{
    return rg__sys_setsockopt(fd, level, name, &v, sizeof(v));
}

/* Socket, options, bind, listen for one address. */
static int listen_addr(const struct sockaddr_storage *ss, socklen_t len,
                       int backlog, int flags, bool dualstack)
{
    int fd = rg__sys_socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fd;
    int rc = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    if (rc == 0 && (flags & RG_REUSEPORT))
        rc = set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1);
    if (rc == 0 && dualstack)
        rc = set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0);
    if (rc == 0)
        rc = rg__sys_bind(fd, (const struct sockaddr *)ss, len);
    if (rc == 0)
        rc = rg__sys_listen(fd, backlog);
    if (rc < 0) {
        rg__fd_close_raw(fd);
        return rc;
    }
    rg__fd_fresh(fd, FD_KIND_SOCKET);
    return fd;
}

int rg_listen_tcp(const char *host, int port, int backlog, int flags)
{
    if (!rg__io_in_goroutine())
        return -EPERM;
    if (port < 0 || port > 65535 || (flags & ~RG_REUSEPORT))
        return -EINVAL;
    if (backlog <= 0)
        backlog = SOMAXCONN;
    struct sockaddr_storage ss[MAX_ADDRS];
    socklen_t lens[MAX_ADDRS];
    if (!host || !*host) {
        /* Every address: IPv6 dual-stack, or IPv4 where IPv6 is absent. */
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss[0];
        memset(sin6, 0, sizeof(*sin6));
        sin6->sin6_family = AF_INET6;
        sin6->sin6_addr = in6addr_any;
        sin6->sin6_port = htons((uint16_t)port);
        int fd = listen_addr(&ss[0], sizeof(*sin6), backlog, flags, true);
        if (fd != -EAFNOSUPPORT)
            return fd;
        host = "0.0.0.0";
    }
    int n = host_addrs(host, port, ss, lens, MAX_ADDRS, 0);
    if (n < 0)
        return n;
    /* A name listens on its first IPv4 address if it has one, as Go does
       for "localhost". */
    int pick = 0;
    for (int i = 0; i < n; i++)
        if (ss[i].ss_family == AF_INET) {
            pick = i;
            break;
        }
    return listen_addr(&ss[pick], lens[pick], backlog, flags, false);
}

/* ---- rg_dial_tcp ---- */

/* Connect a new socket to one address; the fd, or -errno. */
static int dial_addr(const struct sockaddr_storage *ss, socklen_t len,
                     int64_t deadline)
{
    int fd = rg__sys_socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fd;
    rg__fd_fresh(fd, FD_KIND_SOCKET);
    int rc = connect_dl(fd, (const struct sockaddr *)ss, len, deadline);
    if (rc < 0) {
        rg_close(fd);
        return rc;
    }
    set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1); /* as Go: no Nagle */
    return fd;
}

int rg_dial_tcp(const char *host, int port, uint64_t timeout_ns)
{
    if (!rg__io_in_goroutine())
        return -EPERM;
    if (!host || port <= 0 || port > 65535)
        return -EINVAL;
    int64_t deadline = 0;
    if (timeout_ns) {
        uint64_t t = timeout_ns > (uint64_t)INT64_MAX / 2
                         ? (uint64_t)INT64_MAX / 2
                         : timeout_ns;
        deadline = rg__nanotime() + (int64_t)t;
    }
    struct sockaddr_storage ss[MAX_ADDRS];
    socklen_t lens[MAX_ADDRS];
    int n = host_addrs(*host ? host : "localhost", port, ss, lens, MAX_ADDRS,
                       deadline);
    if (n < 0)
        return n;
    /* Try each address in turn (Go's dialSerial); report the first error. */
    int first = 0;
    for (int i = 0; i < n; i++) {
        int fd = dial_addr(&ss[i], lens[i], deadline);
        if (fd >= 0)
            return fd;
        if (!first)
            first = fd;
        if (fd == -ETIMEDOUT)
            break;
    }
    return first;
}
