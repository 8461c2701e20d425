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
 *  3. No wrapper blocks for long: sockets are called with MSG_DONTWAIT or
 *     are non-blocking by construction; anything that can wait goes
 *     through the ring instead (fd.c). The exceptions are named: getaddrinfo
 *     runs on a helper thread (net.c), never on an M.
 *
 * No locking: the wrappers keep no state.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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

ssize_t rg__sys_recv(int fd, void *buf, size_t n, int flags)
{
    SYSCALL(ssize_t, recv(fd, buf, n, flags));
}

ssize_t rg__sys_send(int fd, const void *buf, size_t n, int flags)
{
    SYSCALL(ssize_t, send(fd, buf, n, flags));
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
