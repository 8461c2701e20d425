/*
 * io/file.c: the fd-generic calls (read, write, readv, writev, pread,
 * pwrite, write_all) and the file-only ones (open, fsync).
 *
 * Invariants:
 *  1. No M ever blocks on a file: regular files, pipes and devices are
 *     read and written with IORING_OP_READ/WRITE[V], opened with OPENAT,
 *     synced with FSYNC and closed with CLOSE (rg_close in fd.c). The
 *     kernel completes cached reads inline at submit and hands the rest to
 *     its own workers. (The epoll backend cannot: there, file calls run
 *     inside rg_blocking, so a thread blocks but its P moves on; see
 *     "Files" in ready.c.)
 *  2. rg_read and rg_write on a socket behave exactly as rg_recv and
 *     rg_send with no flags (the fast path of net.c, and no SIGPIPE).
 *     What an fd is comes from one fstat on its first use, cached in
 *     fdstate.kind until rg_close; the fds ringo creates are marked when
 *     created. pread/pwrite on a pipe or socket fail with -ESPIPE as the
 *     syscalls do (the ring would ignore the offset of a stream).
 *  3. A file opened O_NONBLOCK (a pipe, a tty) makes the ring's read or
 *     write fail with -EAGAIN instead of waiting; such a call then waits
 *     for readiness with IORING_OP_POLL_ADD and retries.
 *
 * Locking: none; the ops register through fd.c.
 */
#include "internal.h"
#include "../include/ringo.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <string.h>

#define MAX_RW (1 << 30) /* larger reads and writes are cut (Go's maxRW) */

/* Wait until fd is ready for dir (poll(2) semantics). 0 or -errno. */
static int poll_wait(int fd, int dir)
{
    struct iodesc d = {
        .opcode = IORING_OP_POLL_ADD,
        .dir = (uint8_t)dir,
        .fd = fd,
        .flags = dir == IO_DIR_READ ? POLLIN : POLLOUT,
        .reason = RG_WAIT_IO_POLL,
    };
    ssize_t r = rg__io_do(&d);
    return r < 0 ? (int)r : 0;
}

/*
 * file_rw: one read/write-family op through the ring: opcode with addr,
 * len and off as io_uring_prep_rw takes them (off -1: the file position).
 */
static ssize_t file_rw(uint8_t opcode, int fd, const void *addr, size_t len,
                       uint64_t off, int dir)
{
    struct fdstate *fs = rg__fd_get(fd);
    int rc = rg__fd_check(fs, dir);
    if (rc < 0)
        return rc;
    struct iodesc d = {
        .opcode = opcode,
        .dir = (uint8_t)dir,
        .fd = fd,
        .addr = addr,
        .len = (uint32_t)(len > MAX_RW ? MAX_RW : len),
        .off = off,
        .reason = dir == IO_DIR_READ ? RG_WAIT_IO_READ : RG_WAIT_IO_WRITE,
    };
    for (;;) {
        ssize_t r = rg__io_do(&d);
        if (r != -EAGAIN)
            return r;
        r = poll_wait(fd, dir);
        if (r < 0)
            return r;
    }
}

ssize_t rg_read(int fd, void *buf, size_t n)
{
    if (!rg__io_in_goroutine())
        return -EPERM;
    struct fdstate *fs = rg__fd_get(fd);
    int kind = rg__fd_kind(fs, fd);
    if (kind < 0)
        return kind;
    if (kind == FD_KIND_SOCKET)
        return rg__sock_recv(fs, fd, buf, n, 0);
    return file_rw(IORING_OP_READ, fd, buf, n, (uint64_t)-1, IO_DIR_READ);
}

ssize_t rg_write(int fd, const void *buf, size_t n)
{
    if (!rg__io_in_goroutine())
        return -EPERM;
    struct fdstate *fs = rg__fd_get(fd);
    int kind = rg__fd_kind(fs, fd);
    if (kind < 0)
        return kind;
    if (kind == FD_KIND_SOCKET)
        return rg__sock_send(fs, fd, buf, n, 0);
    return file_rw(IORING_OP_WRITE, fd, buf, n, (uint64_t)-1, IO_DIR_WRITE);
}

static ssize_t rw_vec(int fd, const struct iovec *iov, int cnt, bool out)
{
    if (!rg__io_in_goroutine())
        return -EPERM;
    if (cnt < 0 || (cnt > 0 && !iov))
        return -EINVAL;
    int kind = rg__fd_kind(rg__fd_get(fd), fd);
    if (kind < 0)
        return kind;
    if (kind == FD_KIND_SOCKET) {
        struct msghdr msg;
        memset(&msg, 0, sizeof(msg));
        msg.msg_iov = (struct iovec *)iov;
        msg.msg_iovlen = (size_t)cnt;
        return out ? rg_sendmsg(fd, &msg, 0) : rg_recvmsg(fd, &msg, 0);
    }
    return file_rw(out ? IORING_OP_WRITEV : IORING_OP_READV, fd, iov,
                   (size_t)cnt, (uint64_t)-1, out ? IO_DIR_WRITE : IO_DIR_READ);
}

ssize_t rg_readv(int fd, const struct iovec *iov, int cnt)
{
    return rw_vec(fd, iov, cnt, false);
}

ssize_t rg_writev(int fd, const struct iovec *iov, int cnt)
{
    return rw_vec(fd, iov, cnt, true);
}

/* pread/pwrite need a seekable fd: -ESPIPE for pipes and sockets. */
static int check_seekable(int fd, off_t off)
{
    if (off < 0)
        return -EINVAL;
    int kind = rg__fd_kind(rg__fd_get(fd), fd);
    if (kind < 0)
        return kind;
    return kind == FD_KIND_PIPE || kind == FD_KIND_SOCKET ? -ESPIPE : 0;
}

ssize_t rg_pread(int fd, void *buf, size_t n, off_t off)
{
    if (!rg__io_in_goroutine())
        return -EPERM;
    int rc = check_seekable(fd, off);
    if (rc < 0)
        return rc;
    return file_rw(IORING_OP_READ, fd, buf, n, (uint64_t)off, IO_DIR_READ);
}

ssize_t rg_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    if (!rg__io_in_goroutine())
        return -EPERM;
    int rc = check_seekable(fd, off);
    if (rc < 0)
        return rc;
    return file_rw(IORING_OP_WRITE, fd, buf, n, (uint64_t)off, IO_DIR_WRITE);
}

ssize_t rg_write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    size_t left = n;
    while (left > 0) {
        ssize_t r = rg_write(fd, p, left);
        if (r < 0)
            return r;
        if (r == 0)
            return -EIO; /* no progress: never loop forever */
        p += r;
        left -= (size_t)r;
    }
    return rg__io_in_goroutine() ? (ssize_t)n : -EPERM;
}

int rg_open(const char *path, int flags, mode_t mode)
{
    if (!rg__io_in_goroutine())
        return -EPERM;
    if (!path)
        return -EFAULT;
    struct iodesc d = {
        .opcode = IORING_OP_OPENAT,
        .noreg = true,
        .fd = AT_FDCWD,
        .addr = path,
        .len = mode,
        .flags = (uint32_t)flags,
        .reason = RG_WAIT_IO_FILE,
    };
    int fd = (int)rg__io_do(&d);
    if (fd >= 0)
        rg__fd_fresh(fd, FD_KIND_UNKNOWN); /* a FIFO, a file: fstat tells */
    return fd;
}

int rg_fsync(int fd)
{
    if (!rg__io_in_goroutine())
        return -EPERM;
    struct iodesc d = {
        .opcode = IORING_OP_FSYNC,
        .fd = fd,
        .reason = RG_WAIT_IO_FILE,
    };
    return (int)rg__io_do(&d);
}
