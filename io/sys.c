/*
 * io/sys.c: the raw syscall wrappers of io/, and the only place in ringo
 * that reads errno.
 *
 * Invariants:
 *  1. Every wrapper returns the syscall's result, or -errno on failure
 *     (liburing's convention), and leaves the caller's errno as it found
 *     it: the public calls promise never to touch errno.
 *  2. errno is read right after the syscall, before anything that could
 *     switch goroutines. A goroutine may resume on another thread after any
 *     park, and errno is thread-local: a value read later would be another
 *     thread's.
 *  3. No wrapper blocks for long on an M running goroutines: sockets are
 *     called with MSG_DONTWAIT or are non-blocking by construction;
 *     anything that can wait goes through the poller instead (fd.c,
 *     ready.c). The exceptions are named: getaddrinfo runs on a helper
 *     thread (net.c); the file calls of the epoll backend (read, pread,
 *     openat, fsync, ...) run inside rg_blocking, which hands the P on
 *     (ready.c); epoll_wait and the futex wait park idle Ms
 *     (poll_epoll.c).
 *
 * No locking: the wrappers keep no state.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <netdb.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* Run the call, convert a failure to -errno, restore errno. */
#define SYSCALL(type, call)                                                    \
    do {                                                                       \
        int saved_ = errno;                                                    \
        type r_ = (call);                                                      \
        if (r_ < 0)                                                            \
            r_ = -errno;                                                       \
        errno = saved_;                                                        \
        return r_;                                                             \
    } while (0)

/*
 * recv and send go to the kernel through syscall(2), not libc's recv and
 * send: those are cancellation points, which save and restore the
 * thread's cancel state around every call (0.7% of an HTTP server's CPU),
 * and ringo never cancels its threads. Under TSan they stay libc calls:
 * its interceptors model the happens-before that data sent over a socket
 * carries from sender to receiver.
 */
ssize_t rg__sys_recv(int fd, void *buf, size_t n, int flags)
{
#ifdef RG_TSAN
    SYSCALL(ssize_t, recv(fd, buf, n, flags));
#else
    SYSCALL(ssize_t, syscall(SYS_recvfrom, fd, buf, n, flags, NULL, NULL));
#endif
}

ssize_t rg__sys_send(int fd, const void *buf, size_t n, int flags)
{
#ifdef RG_TSAN
    SYSCALL(ssize_t, send(fd, buf, n, flags));
#else
    SYSCALL(ssize_t, syscall(SYS_sendto, fd, buf, n, flags, NULL, 0));
#endif
}

ssize_t rg__sys_recvmsg(int fd, struct msghdr *msg, int flags)
{
    SYSCALL(ssize_t, recvmsg(fd, msg, flags));
}

ssize_t rg__sys_sendmsg(int fd, const struct msghdr *msg, int flags)
{
    SYSCALL(ssize_t, sendmsg(fd, msg, flags));
}

int rg__sys_socket(int domain, int type, int proto)
{
    SYSCALL(int, socket(domain, type, proto));
}

int rg__sys_setsockopt(int fd, int level, int name, const void *v,
                       socklen_t len)
{
    SYSCALL(int, setsockopt(fd, level, name, v, len));
}

int rg__sys_bind(int fd, const struct sockaddr *sa, socklen_t len)
{
    SYSCALL(int, bind(fd, sa, len));
}

int rg__sys_listen(int fd, int backlog)
{
    SYSCALL(int, listen(fd, backlog));
}

int rg__sys_getpeername(int fd, struct sockaddr *sa, socklen_t *len)
{
    SYSCALL(int, getpeername(fd, sa, len));
}

/* close(2) of an fd no operation uses (never blocks on sockets without
   SO_LINGER; used for fds ringo created and never handed out). */
int rg__sys_close(int fd)
{
    SYSCALL(int, close(fd));
}

int rg__sys_fcntl(int fd, int cmd, int arg)
{
    SYSCALL(int, fcntl(fd, cmd, arg));
}

int rg__sys_eventfd(unsigned initval, int flags)
{
    SYSCALL(int, eventfd(initval, flags));
}

ssize_t rg__sys_read(int fd, void *buf, size_t n)
{
    SYSCALL(ssize_t, read(fd, buf, n));
}

ssize_t rg__sys_write(int fd, const void *buf, size_t n)
{
    SYSCALL(ssize_t, write(fd, buf, n));
}

/* fd's FD_KIND_*, or -errno. */
int rg__sys_fstat_kind(int fd)
{
    struct stat st;
    int saved = errno;
    int r = fstat(fd, &st);
    if (r < 0)
        r = -errno;
    errno = saved;
    if (r < 0)
        return r;
    if (S_ISSOCK(st.st_mode))
        return FD_KIND_SOCKET;
    if (S_ISFIFO(st.st_mode))
        return FD_KIND_PIPE;
    return FD_KIND_OTHER;
}

int rg__sys_accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
    SYSCALL(int, accept4(fd, sa, len, flags));
}

int rg__sys_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
    SYSCALL(int, connect(fd, sa, len));
}

/* getsockopt(SOL_SOCKET, SO_ERROR): the socket's pending error (0: none),
   or -errno if getsockopt itself failed. */
int rg__sys_sockerr(int fd)
{
    int err = 0;
    socklen_t len = sizeof(err);
    int saved = errno;
    int r = getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (r < 0)
        err = -errno;
    errno = saved;
    return r < 0 ? err : -err;
}

ssize_t rg__sys_readv(int fd, const struct iovec *iov, int cnt)
{
    SYSCALL(ssize_t, readv(fd, iov, cnt));
}

ssize_t rg__sys_writev(int fd, const struct iovec *iov, int cnt)
{
    SYSCALL(ssize_t, writev(fd, iov, cnt));
}

ssize_t rg__sys_pread(int fd, void *buf, size_t n, off_t off)
{
    SYSCALL(ssize_t, pread(fd, buf, n, off));
}

ssize_t rg__sys_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    SYSCALL(ssize_t, pwrite(fd, buf, n, off));
}

ssize_t rg__sys_preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
    SYSCALL(ssize_t, preadv(fd, iov, cnt, off));
}

ssize_t rg__sys_pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    SYSCALL(ssize_t, pwritev(fd, iov, cnt, off));
}

int rg__sys_openat(int dirfd, const char *path, int flags, mode_t mode)
{
    SYSCALL(int, openat(dirfd, path, flags, mode));
}

int rg__sys_fsync(int fd)
{
    SYSCALL(int, fsync(fd));
}

/* poll(2) of one fd: its revents (0 on timeout), or -errno. */
int rg__sys_poll1(int fd, short events, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = events};
    int saved = errno;
    int r = poll(&pfd, 1, timeout_ms);
    if (r < 0)
        r = -errno;
    errno = saved;
    return r < 0 ? r : r == 0 ? 0 : pfd.revents;
}

int rg__sys_epoll_create(void)
{
    SYSCALL(int, epoll_create1(EPOLL_CLOEXEC));
}

int rg__sys_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    SYSCALL(int, epoll_ctl(epfd, op, fd, ev));
}

/*
 * Wait on epfd for at most ns nanoseconds (ns < 0: no limit, 0: do not
 * block). With ns_timeout, epoll_pwait2 (Linux 5.11) takes the timeout to
 * the nanosecond; without it, epoll_wait takes whole milliseconds, rounded
 * up so that a wait never ends before ns (Go's netpoll does the same).
 * Returns the events stored, or -errno (-EINTR included).
 */
int rg__sys_epoll_wait(int epfd, struct epoll_event *evs, int n, int64_t ns,
                       bool ns_timeout)
{
    int saved = errno, r;
#ifdef SYS_epoll_pwait2
    if (ns_timeout && ns > 0) {
        struct timespec ts = {.tv_sec = ns / 1000000000,
                              .tv_nsec = ns % 1000000000};
        r = (int)syscall(SYS_epoll_pwait2, epfd, evs, n, &ts, NULL, 0);
        goto out;
    }
#else
    (void)ns_timeout;
#endif
    int ms = -1;
    if (ns >= 0) {
        int64_t t = (ns + 999999) / 1000000;
        ms = t > INT32_MAX ? INT32_MAX : (int)t;
    }
    r = epoll_wait(epfd, evs, n, ms);
#ifdef SYS_epoll_pwait2
out:
#endif
    if (r < 0)
        r = -errno;
    errno = saved;
    return r;
}

/* Does epoll_pwait2 work here (Linux 5.11+; an emulator may lack it)? A
   call that does not wait answers; epfd must have nothing registered
   yet, so that no event is consumed. */
bool rg__sys_epoll_pwait2_works(int epfd)
{
#ifdef SYS_epoll_pwait2
    struct epoll_event ev;
    struct timespec ts = {0, 0};
    int saved = errno;
    long r = syscall(SYS_epoll_pwait2, epfd, &ev, 1, &ts, NULL, 0);
    int err = errno;
    errno = saved;
    return r >= 0 || err != ENOSYS;
#else
    (void)epfd;
    return false;
#endif
}

/* Sleep while *addr == val, at most ns (ns < 0: no limit). Spurious
   returns are possible; the caller rechecks. */
void rg__sys_futex_wait(_Atomic uint32_t *addr, uint32_t val, int64_t ns)
{
    struct timespec ts = {.tv_sec = ns / 1000000000,
                          .tv_nsec = ns % 1000000000};
    int saved = errno;
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, ns < 0 ? NULL : &ts, NULL,
            0);
    errno = saved;
}

void rg__sys_futex_wake(_Atomic uint32_t *addr, int n)
{
    int saved = errno;
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
    errno = saved;
}

int rg__sys_gettid(void)
{
    SYSCALL(int, (int)syscall(SYS_gettid));
}

/* Send sig to one thread of this process. Async-signal-safe. */
int rg__sys_tgkill(int pid, int tid, int sig)
{
    SYSCALL(int, (int)syscall(SYS_tgkill, pid, tid, sig));
}

/*
 * getaddrinfo reports EAI_* codes, not errno: map them to the closest
 * errno. A name that does not exist is -ENOENT (Go's "no such host"), a
 * temporary resolver failure -EAGAIN. Blocks: helper threads only.
 */
int rg__sys_getaddrinfo(const char *host, const char *serv,
                        const struct addrinfo *hints, struct addrinfo **res)
{
    int saved = errno;
    int rc = getaddrinfo(host, serv, hints, res);
    int err = errno;
    errno = saved;
    switch (rc) {
    case 0:
        return 0;
    case EAI_NONAME:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
#endif
        return -ENOENT;
    case EAI_AGAIN:
        return -EAGAIN;
    case EAI_MEMORY:
        return -ENOMEM;
    case EAI_FAMILY:
        return -EAFNOSUPPORT;
    case EAI_SYSTEM:
        return err ? -err : -EIO;
    default:
        return -EINVAL;
    }
}
