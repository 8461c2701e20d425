/*
 * io/ready.c: the I/O calls on a readiness poller (the epoll backend,
 * poll_epoll.c): Go's netpoller model. rg__io_do (fd.c) hands every
 * operation here when rg__poll_readiness(); the operation is described by
 * the same struct iodesc (an IORING_OP_* opcode and its arguments) that
 * the io_uring backend submits.
 *
 * Invariants:
 *  1. A call tries its syscall without waiting first. Only on EAGAIN does
 *     it register an op on the fd (fdstate.ops, as in fd.c) and wait; it
 *     stays registered until it returns, so rg_close and the deadlines
 *     find it, and the fd number stays open until it has left.
 *  2. An op waits armed (ioop.armed: the direction) for a readiness edge
 *     later than the snapshot of fdstate.rdseq it took before its last
 *     try ("Readiness"). Exactly one of the poller, rg_close, a deadline
 *     and its own timeout disarms it and completes its wait slot (poll.h's
 *     state machine), under fdstate.lock; the armed count is in
 *     rg__poll_ninflight until then.
 *  3. An fd is registered in the epoll instance once, for both directions,
 *     edge-triggered, when a call first has to wait on it (a socket) or
 *     first uses it (another fd, to learn whether epoll takes it); the
 *     registration lasts until the fd is closed.
 *  4. No M blocks in a syscall outside rg_blocking: sockets are tried with
 *     MSG_DONTWAIT; accept and connect, which take no such flag, set
 *     O_NONBLOCK on the listening or connecting socket; regular files,
 *     open, fsync and close run inside rg_blocking, which hands the P on
 *     (Go's files).
 *
 * Locking: fdstate.lock, as in fd.c. The poller takes it (rg__ep_ready,
 * any thread, maybe without a P) only for a direction with armed ops.
 *
 * Readiness
 * =========
 * Edge-triggered epoll reports a change once. A waiter that looks at the
 * fd, finds nothing and then sleeps would miss an edge in between. So each
 * fd counts the edges it has seen per direction (rdseq, bumped by the
 * poller; Go's pdReady token, as a counter so that any number of waiters
 * can share it):
 *
 *   waiter:  s = rdseq; try the syscall; on EAGAIN: lock; nwait++;
 *            if rdseq != s: nwait--, unlock, try again;
 *            else arm, unlock, park.
 *   poller:  rdseq++; if nwait: lock; disarm and complete every op armed
 *            for that direction; unlock.
 *
 * The waiter's nwait++ then load of rdseq, and the poller's rdseq++ then
 * load of nwait, are sequentially consistent: either the poller sees the
 * waiter and wakes it, or the waiter sees the edge and tries again. An
 * edge wakes every waiter of its direction (two goroutines reading one
 * socket both retry; one gets the data, the other waits again), which
 * needs no per-direction owner as Go's one reader per pollDesc does, and
 * costs nothing in the usual case of one waiter. A late event for an fd
 * that was closed and reused wakes the new fd's waiters for nothing:
 * they retry and wait again.
 *
 * Files
 * =====
 * epoll refuses regular files (EPERM); their calls run the syscall inside
 * rg_blocking. Pipes, FIFOs, ttys, eventfds and other pollable fds in
 * non-blocking mode take the socket path. In blocking mode (a pipe(2)
 * made without O_NONBLOCK) the call waits until poll(2) says the fd is
 * ready and then runs the syscall inside rg_blocking: ringo does not set
 * O_NONBLOCK on such an fd, whose open file may be shared with other
 * processes (a tty, a shell's pipe). A blocking-mode read that lost the
 * data to another reader meanwhile blocks its thread, not its P.
 *
 * Deadlines and close
 * ===================
 * Nothing is in the kernel while an op waits, so cancelling it needs no
 * ring owner: rg_close, the fd's deadline timer (fd.c) and the op's own
 * timeout (a dial's timeout_ns, on the G's timer) disarm it and complete
 * its wait slot at once, under the fd's lock (rg__ep_cancel_locked). The
 * woken call returns -ECANCELED (close), -ETIMEDOUT (a deadline that has
 * passed), or waits again (a deadline moved later meanwhile).
 */
#include "internal.h"
#include "../include/ringo.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h> /* IORING_OP_*: the opcodes of struct iodesc */
#include <poll.h>

#define EP_BLOCK (-100001) /* a try's answer: ready, run the blocking call */

typedef ssize_t (*try_fn)(const struct iodesc *d, void *ctx);

static _Atomic uintptr_t tokgen; /* tokens of own timeouts */

/* The readiness direction d waits for. */
static int op_rdir(const struct iodesc *d)
{
    switch (d->opcode) {
    case IORING_OP_SEND:
    case IORING_OP_SENDMSG:
    case IORING_OP_CONNECT:
    case IORING_OP_WRITE:
    case IORING_OP_WRITEV:
        return IO_DIR_WRITE;
    case IORING_OP_POLL_ADD:
        return d->flags & POLLOUT ? IO_DIR_WRITE : IO_DIR_READ;
    default:
        return IO_DIR_READ;
    }
}

/* ---- the poller's side ---- */

/* fs's op stops waiting; lock held. */
static void disarm_locked(struct fdstate *fs, struct ioop *op)
{
    rg__sub_seq(&fs->nwait[op->armed == IO_DIR_WRITE], 1);
    op->armed = 0;
}

/*
 * rg__ep_ready: the poller saw fs ready for dir: count the edge, and
 * complete the ops armed for it into ready (their in-flight count held,
 * see rg__poll_retire). Any thread, maybe without a P; no lock held.
 */
void rg__ep_ready(struct fdstate *fs, int dir, struct gq *ready)
{
    int i = dir == IO_DIR_WRITE;
    rg__san_acquire(fs); /* see ep_reg */
    /* seq_cst: see "Readiness" */
    rg__add_seq(&fs->rdseq[i], 1);
    if (rg__load_seq(&fs->nwait[i]) == 0)
        return;
    rg__lock(&fs->lock);
    for (struct ioop *op = fs->ops; op; op = op->next) {
        if (op->armed != dir)
            continue;
        disarm_locked(fs, op);
        ready->held++;
        rg__add_rlx(&rg__poll_ncompleted, 1);
        rg__pollop_complete(&op->pop, 0, 0, ready);
    }
    rg__unlock(&fs->lock);
}

/*
 * rg__ep_cancel_locked: mark op cancelled (why; a close is never
 * overridden) and, if it waits, complete it with -ECANCELED into woken,
 * to be readied after the unlock. fs->lock held.
 */
void rg__ep_cancel_locked(struct fdstate *fs, struct ioop *op, int why,
                          struct gq *woken)
{
    if (op->cancel != CANCEL_CLOSE)
        op->cancel = (uint8_t)why;
    if (!op->armed)
        return;
    disarm_locked(fs, op);
    rg__sub_seq(&rg__poll_ninflight, 1);
    rg__pollop_complete(&op->pop, -ECANCELED, 0, woken);
}

/* An op's own timeout (g->timer): cancel the op holding token tok. Runs
   on g0 of an M holding a P. */
static void own_timeout(void *arg, uintptr_t tok)
{
    struct fdstate *fs = arg;
    struct gq woken = {0};
    rg__lock(&fs->lock);
    for (struct ioop *op = fs->ops; op; op = op->next)
        if (op->tok == tok) {
            rg__ep_cancel_locked(fs, op, CANCEL_DEADLINE, &woken);
            break;
        }
    rg__unlock(&fs->lock);
    rg__ready_list(&woken);
}

/* ---- registration ---- */

/* Register fd in the epoll instance once (invariant 3). 0, -EPERM if epoll
   refuses it (remembered), or -errno. */
static int ep_reg(struct fdstate *fs, int fd)
{
    /* acq: pairs with the acq_rel or below */
    uint8_t b = rg__load_acq(&fs->ep);
    if (b & EP_REG)
        return 0;
    if (b & EP_NOPOLL)
        return -EPERM;
    /* The poller reaches fs through the kernel (the event's data): an
       ordering the thread sanitizer cannot see (rg__ep_ready acquires). */
    rg__san_release(fs);
    int rc = rg__ep_add(fd, fs);
    if (rc == 0 || rc == -EEXIST) {
        rg__or_acqrel(&fs->ep, EP_REG);
        return 0;
    }
    if (rc == -EPERM)
        rg__or_acqrel(&fs->ep, EP_NOPOLL);
    return rc;
}

/* Set O_NONBLOCK for accept and connect (invariant 4). 0 or -errno. */
static int ensure_nonblock(struct fdstate *fs, int fd)
{
    if (rg__load_acq(&fs->ep) & EP_NONBLOCK) /* acq: the or below */
        return 0;
    int fl = rg__sys_fcntl(fd, F_GETFL, 0);
    if (fl >= 0 && !(fl & O_NONBLOCK))
        fl = rg__sys_fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    if (fl < 0)
        return fl;
    rg__or_acqrel(&fs->ep, EP_FLKNOWN | EP_NONBLOCK);
    return 0;
}

/*
 * What the read/write calls do with a non-socket fd: EP_NOPOLL (blocking
 * calls), EP_NONBLOCK (try and wait, as a socket), or 0 (pollable in
 * blocking mode: wait until ready, then a blocking call); or -errno.
 */
static int ep_classify(struct fdstate *fs, int fd)
{
    uint8_t b = rg__load_acq(&fs->ep); /* acq: the ors */
    if (!(b & EP_FLKNOWN)) {
        int fl = rg__sys_fcntl(fd, F_GETFL, 0);
        if (fl < 0)
            return fl;
        rg__or_acqrel(&fs->ep,
                      EP_FLKNOWN | (fl & O_NONBLOCK ? EP_NONBLOCK : 0));
    }
    int rc = ep_reg(fs, fd);
    if (rc < 0 && rc != -EPERM)
        return rc;
    return rg__load_acq(&fs->ep) & (EP_NOPOLL | EP_NONBLOCK);
}

/* ---- the syscalls ---- */

/* d's syscall as it is (blocking unless the fd or flags say otherwise). */
static ssize_t ep_syscall(const struct iodesc *d)
{
    void *buf = (void *)d->addr;
    bool pos = d->off == (uint64_t)-1; /* the file position */
    off_t off = (off_t)d->off;
    int fl = (int)d->flags;
    switch (d->opcode) {
    case IORING_OP_READ:
        return pos ? rg__sys_read(d->fd, buf, d->len)
                   : rg__sys_pread(d->fd, buf, d->len, off);
    case IORING_OP_WRITE:
        return pos ? rg__sys_write(d->fd, buf, d->len)
                   : rg__sys_pwrite(d->fd, buf, d->len, off);
    case IORING_OP_READV:
        return pos ? rg__sys_readv(d->fd, buf, (int)d->len)
                   : rg__sys_preadv(d->fd, buf, (int)d->len, off);
    case IORING_OP_WRITEV:
        return pos ? rg__sys_writev(d->fd, buf, (int)d->len)
                   : rg__sys_pwritev(d->fd, buf, (int)d->len, off);
    case IORING_OP_RECV:
        return rg__sys_recv(d->fd, buf, d->len, fl);
    case IORING_OP_SEND:
        return rg__sys_send(d->fd, buf, d->len, fl);
    case IORING_OP_RECVMSG:
        return rg__sys_recvmsg(d->fd, buf, fl);
    case IORING_OP_SENDMSG:
        return rg__sys_sendmsg(d->fd, buf, fl);
    case IORING_OP_ACCEPT:
        return rg__sys_accept4(d->fd, buf, (socklen_t *)(uintptr_t)d->off, fl);
    case IORING_OP_CONNECT:
        return rg__sys_connect(d->fd, buf, (socklen_t)d->off);
    case IORING_OP_POLL_ADD: {
        int r = rg__sys_poll1(d->fd, (short)fl, -1);
        return r < 0 ? r : 0;
    }
    case IORING_OP_OPENAT:
        return rg__sys_openat(d->fd, buf, fl, (mode_t)d->len);
    case IORING_OP_FSYNC:
        return rg__sys_fsync(d->fd);
    case IORING_OP_CLOSE:
        return rg__sys_close(d->fd);
    default:
        return -EINVAL;
    }
}

struct blk {
    const struct iodesc *d;
    ssize_t res;
};

static void blk_run(void *arg)
{
    struct blk *b = arg;
    b->res = ep_syscall(b->d);
}

/*
 * Run d's syscall as a blocking call (Go's files). A cached read returns
 * at once and keeps the P, so the call then yields if other goroutines
 * wait for the P: a file call stays a scheduling point, as it is on
 * io_uring, where it parks (a loop of reads would otherwise starve its
 * P's queue). From a goroutine.
 */
static ssize_t ep_blocking(const struct iodesc *d)
{
    struct blk b = {.d = d};
    int rc = rg_blocking(blk_run, &b);
    struct m *mp = getm();
    if (mp->p && !rg__runq_empty(mp->p))
        rg_yield();
    return rc < 0 ? rc : b.res;
}

/* recv, send and their msghdr forms, without waiting. MSG_WAITALL
   (recv, send) gathers the count in ctx until all of it is there. */
static ssize_t try_sock(const struct iodesc *d, void *ctx)
{
    int fl = (int)d->flags | MSG_DONTWAIT;
    bool in = d->opcode == IORING_OP_RECV;
    if (!(fl & MSG_WAITALL) || (!in && d->opcode != IORING_OP_SEND)) {
        struct iodesc t = *d;
        t.flags = (uint32_t)fl;
        return ep_syscall(&t);
    }
    size_t *got = ctx;
    char *p = (char *)d->addr;
    fl &= ~MSG_WAITALL;
    while (*got < d->len) {
        ssize_t r = in ? rg__sys_recv(d->fd, p + *got, d->len - *got, fl)
                       : rg__sys_send(d->fd, p + *got, d->len - *got, fl);
        if (r == 0)
            break; /* end of stream */
        if (r == -EAGAIN)
            return r;
        if (r < 0)
            return *got ? (ssize_t)*got : r;
        *got += (size_t)r;
    }
    return (ssize_t)*got;
}

static ssize_t try_accept(const struct iodesc *d, void *ctx)
{
    (void)ctx;
    ssize_t c;
    do /* a connection reset while queued: take the next one, as Go */
        c = ep_syscall(d);
    while (c == -ECONNABORTED);
    return c;
}

/* connect: start it once (ctx: started), then wait until the socket is
   writable and ask it how it went (Go's connect). */
static ssize_t try_connect(const struct iodesc *d, void *ctx)
{
    bool *started = ctx;
    if (!*started) {
        ssize_t r = ep_syscall(d);
        if (r != -EINPROGRESS && r != -EINTR)
            return r; /* 0, -EAGAIN (a unix listener's full backlog:
                         wait and connect again), or an error */
        *started = true;
        return -EAGAIN;
    }
    int err = rg__sys_sockerr(d->fd);
    if (err == -EINPROGRESS || err == -EALREADY || err == -EINTR)
        return -EAGAIN;
    if (err < 0)
        return err;
    /* No error yet: connected, or a wakeup before the end. */
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int r = rg__sys_getpeername(d->fd, (struct sockaddr *)&ss, &len);
    return r == -ENOTCONN ? -EAGAIN : r;
}

/* Non-socket fds in non-blocking mode. */
static ssize_t try_rw(const struct iodesc *d, void *ctx)
{
    (void)ctx;
    return ep_syscall(d);
}

/* Blocking-mode pollable fds (ctx: NULL) and POLL_ADD (ctx: non-NULL):
   ready yet? */
static ssize_t try_ready(const struct iodesc *d, void *ctx)
{
    short ev = op_rdir(d) == IO_DIR_WRITE ? POLLOUT : POLLIN;
    int r = rg__sys_poll1(d->fd, ev, 0);
    if (r <= 0)
        return r == 0 ? -EAGAIN : r;
    return ctx ? 0 : EP_BLOCK;
}

/* ---- waiting ---- */

static int64_t min_deadline(int64_t a, int64_t b)
{
    if (!a || !b)
        return a ? a : b;
    return a < b ? a : b;
}

/* Start op's own timeout on the G's timer, which is free while the G
   waits for I/O (sleep and select use it only while parked in them). */
static void own_timeout_start(struct fdstate *fs, struct ioop *op)
{
    struct g *gp = getg();
    gp->timer.f = own_timeout;
    gp->timer.arg = fs;
    gp->timer.seq = op->tok;
    gp->timer.idx = -1;
    rg__timer_add(&gp->timer, op->deadline);
}

static void op_park(struct ioop *op, const char *reason, int fd)
{
    struct g *gp = getg();
    gp->waitfd = fd;
    rg__park(rg__pollop_commit, &op->pop, reason);
    gp = getg();
    gp->waitfd = -1;
    /* acq: pairs with the exchange in rg__pollop_complete */
    if (rg__load_acq(&op->pop.state) != OP_DONE)
        rg__throw("ep_park: woken before completion");
}

/*
 * Arm op for direction rdir unless an edge came after the snapshot s.
 * false: it came (try again). fs->lock held.
 */
static bool arm_locked(struct fdstate *fs, struct ioop *op, int rdir,
                       uint32_t s)
{
    int i = rdir == IO_DIR_WRITE;
    op->armed = (uint8_t)rdir;
    op->pop.g = getg();
    op->pop.res = 0;
    rg__store_rlx(&op->pop.state, OP_PENDING);
    /* seq_cst, both: see "Readiness" */
    rg__add_seq(&fs->nwait[i], 1);
    if (rg__load_seq(&fs->rdseq[i]) != s) {
        disarm_locked(fs, op);
        return false;
    }
    rg__add_seq(&rg__poll_ninflight, 1);
    rg__add_rlx(&rg__poll_nsubmitted, 1);
    return true;
}

/*
 * ep_park: wait until fs is ready for op's direction after the snapshot
 * s. 0: try again; -ECANCELED: rg_close; -ETIMEDOUT: the fd's deadline for
 * d->dir or the op's own one passed. From a goroutine; op registered.
 */
static int ep_park(struct fdstate *fs, struct ioop *op, const struct iodesc *d,
                   uint32_t s)
{
    int rdir = op_rdir(d);
    for (;;) {
        rg__lock(&fs->lock);
        if (op->cancel == CANCEL_CLOSE) {
            rg__unlock(&fs->lock);
            return -ECANCELED;
        }
        int64_t dl = min_deadline(op->deadline,
                                  d->dir ? rg__fd_deadline(fs, d->dir) : 0);
        if (dl && rg__nanotime() >= dl) {
            rg__unlock(&fs->lock);
            return -ETIMEDOUT;
        }
        op->cancel = CANCEL_NONE; /* a deadline that moved later */
        bool first = op->deadline && !op->tok;
        if (first)
            op->tok = rg__add_rlx(&tokgen, 1) + 1;
        bool armed = arm_locked(fs, op, rdir, s);
        rg__unlock(&fs->lock);
        if (first)
            own_timeout_start(fs, op);
        if (!armed)
            return 0;
        op_park(op, d->reason, d->fd);
        if (op->pop.res == 0)
            return 0;
        /* Cancelled: closed, or a deadline (perhaps moved since). */
    }
}

/*
 * ep_wait: the loop of a call that may wait: try; on EAGAIN register and
 * wait for readiness, and try again (see "Readiness"). Returns try's
 * result, -ECANCELED or -ETIMEDOUT. From a goroutine.
 */
static ssize_t ep_wait(struct fdstate *fs, const struct iodesc *d, try_fn try,
                       void *ctx)
{
    int i = op_rdir(d) == IO_DIR_WRITE;
    uint32_t s = rg__load_seq(&fs->rdseq[i]);
    ssize_t r = try(d, ctx);
    if (r != -EAGAIN)
        return r;
    struct ioop op;
    op.armed = 0;
    op.tok = 0;
    int64_t own = d->deadline;
    int rc = rg__fd_register(fs, &op, d->dir, &own);
    if (rc < 0)
        return rc;
    /* After registering: if that waited for an rg_close, the number may
       be a new fd now, registered afresh (its ready state comes as an
       edge at registration). */
    rc = ep_reg(fs, d->fd);
    while (rc == 0) {
        rc = ep_park(fs, &op, d, s);
        if (rc < 0)
            break;
        s = rg__load_seq(&fs->rdseq[i]);
        r = try(d, ctx);
        if (r != -EAGAIN)
            break;
    }
    if (rc < 0)
        r = rc;
    if (op.tok)
        rg__timer_del(&getg()->timer); /* false: it ran, found nothing */
    rg__fd_unregister(fs, &op, NULL);
    return r;
}

/* read, write, readv, writev and poll on a non-socket fd. */
static ssize_t ep_file(struct fdstate *fs, const struct iodesc *d)
{
    bool poll = d->opcode == IORING_OP_POLL_ADD;
    if (!poll && d->off != (uint64_t)-1)
        return ep_blocking(d); /* pread and friends: a seekable file */
    int cls = ep_classify(fs, d->fd);
    if (cls < 0)
        return cls;
    if (cls & EP_NOPOLL)
        return poll ? 0 : ep_blocking(d); /* a regular file: always ready */
    if (poll)
        return ep_wait(fs, d, try_ready, &cls);
    if (cls & EP_NONBLOCK)
        return ep_wait(fs, d, try_rw, NULL);
    ssize_t r = ep_wait(fs, d, try_ready, NULL);
    return r == EP_BLOCK ? ep_blocking(d) : r;
}

/*
 * rg__ep_io_do: rg__io_do for the epoll backend: run d, waiting for
 * readiness where the syscall would block. Same results as the io_uring
 * path: -ETIMEDOUT past a deadline, -ECANCELED when rg_close interrupts
 * the wait. From a goroutine.
 */
ssize_t rg__ep_io_do(const struct iodesc *d)
{
    if (d->noreg || d->opcode == IORING_OP_FSYNC)
        return ep_blocking(d); /* open, close, fsync */
    struct fdstate *fs = rg__fd_get(d->fd);
    if (!fs)
        return ep_blocking(d); /* a bad fd, or one beyond the table */
    int rc = rg__fd_check(fs, d->dir);
    if (rc < 0)
        return rc;
    size_t got = 0;
    bool started = false;
    switch (d->opcode) {
    case IORING_OP_RECV:
    case IORING_OP_SEND:
    case IORING_OP_RECVMSG:
    case IORING_OP_SENDMSG:
        if (d->flags & MSG_DONTWAIT)
            return try_sock(d, &got);
        return ep_wait(fs, d, try_sock, &got);
    case IORING_OP_ACCEPT:
        rc = ensure_nonblock(fs, d->fd);
        return rc < 0 ? rc : ep_wait(fs, d, try_accept, NULL);
    case IORING_OP_CONNECT:
        rc = ensure_nonblock(fs, d->fd);
        return rc < 0 ? rc : ep_wait(fs, d, try_connect, &started);
    default:
        return ep_file(fs, d);
    }
}
