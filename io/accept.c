/*
 * io/accept.c: rg_accept, and the per-listener queue that a multishot
 * accept fills. Under the epoll backend rg_accept takes the single-shot
 * path only (accept4 when the listener is ready, ready.c).
 *
 * Invariants:
 *  1. A listener has at most one multishot accept in flight (acceptq.armed),
 *     registered on its fd like any op (without a direction: deadlines
 *     belong to the calls, not to it), so rg_close cancels it and waits for
 *     its final CQE before freeing the queue.
 *  2. Every connection the kernel accepted is either handed to exactly one
 *     parked rg_accept, queued, or (out of memory only) closed: none is
 *     lost or handed out twice.
 *  3. A parked rg_accept is woken exactly once (awaiter.state, the same
 *     state machine as poll.h's), with an fd, an error, or AQ_RETRY.
 *
 * Locking: the listener's fdstate.lock protects its acceptq and the
 * awaiters on it; accept_complete takes it from the completion path (any
 * thread, maybe no P), so nothing here calls into the ring with it held.
 *
 * Accept
 * ======
 * A listener gets one IORING_OP_ACCEPT with IORING_ACCEPT_MULTISHOT,
 * armed by the first rg_accept that finds nothing to take. Each
 * connection the kernel accepts posts a CQE (with IORING_CQE_F_MORE while
 * the accept stays armed); accept_complete hands the fd to the oldest
 * parked rg_accept, or queues it in the listener's acceptq when nobody
 * waits. rg_accept takes a queued fd with no syscall at all.
 *
 * acceptq lives in the listener's fdstate, protected by fdstate.lock; its
 * op is registered on the fd like any other, so rg_close cancels it and
 * waits for its final CQE. When the final CQE comes (an error, a cancel,
 * the kernel giving up), armed drops, and the parked callers are woken to
 * retry (one of them re-arms) or, when the listener is closing, with
 * -ECANCELED. A queue that grows past AQ_HIGH with nobody accepting stops
 * the multishot (a cancel through the op's ring), so a process that stops
 * accepting leaves connections in the kernel's backlog, not as fds.
 *
 * A listener with a read deadline uses single-shot accepts instead, which
 * its deadline timer cancels like any op (a deadline belongs to the calls,
 * not to the shared multishot), after taking from the queue. Setting a
 * read deadline sends the parked callers back to rg_accept to switch
 * (rg__acceptq_requeue_locked), and so does its expiry.
 *
 * Measured (docs/design.md, "Accept"): with connections already queued,
 * 1.36 us per rg_accept with the multishot against 4.76 us with a
 * single-shot accept each (medians, ringo-bench accept --burst 1).
 */
#include "internal.h"
#include "../include/ringo.h"
#include "../runtime/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <sys/socket.h>

#define AQ_RETRY (-100000) /* awaiter.res: retry, the multishot ended */
#define AQ_HIGH 128        /* queued fds that stop the multishot */

/* An rg_accept parked until the multishot hands it a connection. */
struct awaiter {
    struct awaiter *next;
    struct g *g;
    _Atomic int state; /* OP_PENDING, OP_PARKED, OP_DONE as in poll.h */
    int res;           /* an fd, -errno, or AQ_RETRY */
};

struct acceptq {
    struct ioop op; /* the multishot accept */
    int fd;         /* the listener */
    int flags;      /* accept4 flags it was armed with */
    bool armed;     /* op is in flight */
    int err;        /* error of a final CQE, for the next caller */
    int *q;         /* accepted fds, a ring of cap */
    unsigned head, n, cap;
    struct awaiter *wait, **wtail; /* parked callers, oldest first */
};

static void aq_wake(struct awaiter *w, int res, struct gq *ready)
{
    struct g *gp = w->g;
    w->res = res;
    /* acq_rel: publishes res; pairs with the CAS in awaiter_commit. After
       this w may be gone (its caller returns). */
    if (rg__xchg_acqrel(&w->state, OP_DONE) == OP_PARKED)
        gq_push(ready, gp);
}

static struct awaiter *aq_pop_waiter(struct acceptq *aq)
{
    struct awaiter *w = aq->wait;
    if (w) {
        aq->wait = w->next;
        if (!aq->wait)
            aq->wtail = &aq->wait;
    }
    return w;
}

/* Queue an accepted fd. lock held. false: out of memory. */
static bool aq_push(struct acceptq *aq, int fd)
{
    if (aq->n == aq->cap) {
        unsigned cap = aq->cap ? aq->cap * 2 : 16;
        int *q = rg__malloc(cap * sizeof(int));
        if (!q)
            return false;
        for (unsigned i = 0; i < aq->n; i++)
            q[i] = aq->q[(aq->head + i) % aq->cap];
        rg__free(aq->q);
        aq->q = q;
        aq->head = 0;
        aq->cap = cap;
    }
    aq->q[(aq->head + aq->n++) % aq->cap] = fd;
    return true;
}

static int aq_pop(struct acceptq *aq)
{
    int fd = aq->q[aq->head];
    aq->head = (aq->head + 1) % aq->cap;
    aq->n--;
    return fd;
}

/*
 * accept_complete: one CQE of the multishot accept. Any thread, maybe
 * without a P (see rg__pollop.complete): records, queues, collects Gs.
 */
static void accept_complete(struct rg__pollop *pop, int32_t res, uint32_t flags,
                            struct gq *ready)
{
    struct acceptq *aq = (struct acceptq *)pop;
    struct fdstate *fs = rg__fd_get(aq->fd);
    struct g *closer = NULL;
    struct m *stop = NULL;
    rg__lock(&fs->lock);
    if (res >= 0) {
        struct awaiter *w = aq_pop_waiter(aq);
        if (w)
            aq_wake(w, res, ready);
        else if (!aq_push(aq, res))
            rg__fd_close_raw(res); /* out of memory: drop the connection */
        if (aq->n > AQ_HIGH && !aq->op.cancel && (flags & IORING_CQE_F_MORE))
            stop = rg__fd_cancel_locked(fs, &aq->op, CANCEL_STOP);
    }
    if (!(flags & IORING_CQE_F_MORE)) {
        bool closing = aq->op.cancel == CANCEL_CLOSE;
        aq->armed = false;
        closer = rg__fd_unlink_locked(fs, &aq->op);
        if (res < 0 && res != -ECANCELED && !closing)
            aq->err = res; /* e.g. -EMFILE: the next caller reports it */
        struct awaiter *w;
        while ((w = aq_pop_waiter(aq)))
            aq_wake(w, closing ? -ECANCELED : AQ_RETRY, ready);
    }
    rg__unlock(&fs->lock);
    if (closer)
        gq_push(ready, closer);
    if (stop)
        rg__poll_break(stop);
}

static bool awaiter_commit(struct g *gp, void *arg)
{
    (void)gp;
    struct awaiter *w = arg;
    int expect = OP_PENDING;
    return rg__cas_acqrel(&w->state, &expect, OP_PARKED);
}

/* Give a queued fd the caller's flags if it was accepted with others. */
static void fix_flags(int fd, int have, int want)
{
    if ((have ^ want) & SOCK_NONBLOCK) {
        int fl = rg__sys_fcntl(fd, F_GETFL, 0);
        if (fl >= 0)
            rg__sys_fcntl(fd, F_SETFL,
                          want & SOCK_NONBLOCK ? fl | O_NONBLOCK
                                               : fl & ~O_NONBLOCK);
    }
    if ((have ^ want) & SOCK_CLOEXEC)
        rg__sys_fcntl(fd, F_SETFD, want & SOCK_CLOEXEC ? FD_CLOEXEC : 0);
}

/* A connection's fd goes out: its entry, its flags, its address. */
static int accept_out(int fd, int have, int want, struct sockaddr *sa,
                      socklen_t *salen)
{
    rg__fd_fresh(fd, FD_KIND_SOCKET);
    fix_flags(fd, have, want);
    if (sa)
        rg__sys_getpeername(fd, sa, salen);
    return fd;
}

/* Arm the multishot accept: queue its SQE. lock dropped; no yield since
   the op was linked. */
static void aq_arm(struct acceptq *aq)
{
    aq->op.pop.complete = accept_complete;
    struct io_uring_sqe *sqe = rg__poll_sqe(&aq->op.pop);
    io_uring_prep_multishot_accept(sqe, aq->fd, NULL, NULL, aq->flags);
    rg__poll_sq_done();
}

/*
 * The multishot path of rg_accept: take a queued connection, or park for
 * one (arming the multishot if needed). Returns an fd or -errno.
 */
static int accept_multishot(struct fdstate *fs, int fd, struct sockaddr *sa,
                            socklen_t *salen, int flags)
{
    for (;;) {
        struct awaiter w = {.g = getg()};
        rg__lock(&fs->lock);
        if (rg__load_rlx(&fs->closing)) {
            rg__unlock(&fs->lock);
            return -ECANCELED;
        }
        struct acceptq *aq = fs->acceptq;
        if (!aq) {
            aq = fs->acceptq = rg__calloc(1, sizeof(*aq));
            if (!aq) {
                rg__unlock(&fs->lock);
                return -ENOMEM;
            }
            aq->fd = fd;
            aq->wtail = &aq->wait;
        }
        if (aq->n > 0) {
            int c = aq_pop(aq), have = aq->flags;
            rg__unlock(&fs->lock);
            return accept_out(c, have, flags, sa, salen);
        }
        if (aq->err) {
            int e = aq->err;
            aq->err = 0;
            rg__unlock(&fs->lock);
            return e;
        }
        bool arm = !aq->armed;
        if (arm) {
            aq->armed = true;
            aq->flags = flags;
            /* No direction: deadlines belong to callers, not to it. */
            rg__fd_link_locked(fs, &aq->op, 0);
        }
        rg__store_rlx(&w.state, OP_PENDING);
        *aq->wtail = &w;
        aq->wtail = &w.next;
        int have = aq->flags;
        rg__unlock(&fs->lock);
        if (arm)
            aq_arm(aq);
        rg__park(awaiter_commit, &w, RG_WAIT_IO_ACCEPT);
        /* acq: pairs with the exchange in aq_wake */
        if (rg__load_acq(&w.state) != OP_DONE)
            rg__throw("accept: woken before a result");
        if (w.res >= 0)
            return accept_out(w.res, have, flags, sa, salen);
        return w.res; /* -errno, or AQ_RETRY for rg_accept */
    }
}

/*
 * rg__acceptq_requeue_locked: send fs's parked multishot accepts back to
 * rg_accept (AQ_RETRY) to check the read deadline, which they do not see
 * while parked. fs->lock held; the Gs go to woken.
 */
void rg__acceptq_requeue_locked(struct fdstate *fs, struct gq *woken)
{
    struct acceptq *aq = fs->acceptq;
    struct awaiter *w;
    while (aq && (w = aq_pop_waiter(aq)))
        aq_wake(w, AQ_RETRY, woken);
}

/* A queued connection if there is one, else -EAGAIN. */
static int accept_queued(struct fdstate *fs, struct sockaddr *sa,
                         socklen_t *salen, int flags)
{
    rg__lock(&fs->lock);
    struct acceptq *aq = fs->acceptq;
    if (!aq || aq->n == 0) {
        rg__unlock(&fs->lock);
        return -EAGAIN;
    }
    int c = aq_pop(aq), have = aq->flags;
    rg__unlock(&fs->lock);
    return accept_out(c, have, flags, sa, salen);
}

/* One accept through the ring (IORING_OP_ACCEPT), honouring the fd's read
   deadline. */
static int accept_once(int fd, struct sockaddr *sa, socklen_t *salen, int flags)
{
    struct iodesc d = {
        .opcode = IORING_OP_ACCEPT,
        .dir = IO_DIR_READ,
        .fd = fd,
        .addr = sa,
        .off = (uint64_t)(uintptr_t)salen,
        .flags = (uint32_t)flags,
        .reason = RG_WAIT_IO_ACCEPT,
    };
    int c = (int)rg__io_do(&d);
    if (c >= 0)
        rg__fd_fresh(c, FD_KIND_SOCKET);
    return c;
}

int rg_accept(int fd, struct sockaddr *sa, socklen_t *salen, int flags)
{
    if (!rg__io_in_goroutine())
        return -EPERM;
    if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK))
        return -EINVAL;
    if (sa && !salen)
        return -EINVAL;
    struct fdstate *fs = rg__fd_get(fd);
    for (;;) {
        int rc = rg__fd_check(fs, IO_DIR_READ);
        if (rc < 0)
            return rc;
        if (!fs)
            return accept_once(fd, sa, salen, flags);
        if (rg__io_tune.accept_multishot && !rg__poll_readiness() &&
            !rg__fd_deadline(fs, IO_DIR_READ)) {
            rc = accept_multishot(fs, fd, sa, salen, flags);
            if (rc != AQ_RETRY)
                return rc;
            continue;
        }
        rc = accept_queued(fs, sa, salen, flags);
        return rc != -EAGAIN ? rc : accept_once(fd, sa, salen, flags);
    }
}

/*
 * rg__acceptq_close: free fs's accept queue, closing the connections
 * nobody took. The multishot is no longer in flight (rg_close drained
 * it; at shutdown every ring was drained). Not under fs->lock.
 */
void rg__acceptq_close(struct fdstate *fs)
{
    rg__lock(&fs->lock);
    struct acceptq *aq = fs->acceptq;
    fs->acceptq = NULL;
    rg__unlock(&fs->lock);
    if (!aq)
        return;
    while (aq->n > 0)
        rg__fd_close_raw(aq_pop(aq));
    rg__free(aq->q);
    rg__free(aq);
}
