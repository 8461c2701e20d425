/*
 * io/poll_uring.c: the io_uring poller backend (see io/poll.h).
 *
 * Ring discipline
 * ===============
 *  1. One ring per M, created on the M's thread and used for submission
 *     only by that thread (IORING_SETUP_SINGLE_ISSUER where the kernel has
 *     it). A G's SQE goes to the ring of the M it runs on; its completion
 *     may be reaped by that M or, when that M is busy, by the monitor.
 *  2. No DEFER_TASKRUN: with it, completions are posted only when the
 *     owner thread enters the kernel to wait, so an M running a long
 *     goroutine would strand them. COOP_TASKRUN (no IPI) still posts them
 *     at the owner's next kernel transition, including the return from a
 *     timer interrupt, so they reach the CQ within a scheduler tick even
 *     while the owner runs user code. TASKRUN_FLAG tells us when to enter
 *     the kernel to run pending task work.
 *  3. The CQ is consumed only under pm->cqlock: the owner and the monitor
 *     both reap (the monitor with a trylock, for busy Ms only).
 *  4. SQEs are queued while Gs run and submitted in batches: when the M
 *     has nothing else to run, every 8th schedule, when 32 are queued, or
 *     when the SQ is full. A full SQ is flushed at once; a submit refused
 *     with -EBUSY (CQ overflow backlog) reaps first and retries, so an
 *     operation that could wait never fails for lack of ring space.
 *  5. The CQ has 4x the SQ entries and FEAT_NODROP kernels keep overflowed
 *     CQEs; reaping flushes them.
 *  6. Every operation's op stays valid until its final CQE (the one
 *     without IORING_CQE_F_MORE); rg__poll_inflight counts them. At
 *     shutdown each M cancels what is left in its ring and waits for those
 *     final CQEs before stacks are unmapped.
 *  7. Waking an idle M: a message on its ring, IORING_OP_MSG_RING from the
 *     waker's own ring. Threads without a ring (the monitor), and kernels
 *     without MSG_RING, write the M's eventfd instead, which a multishot
 *     poll on the M's ring turns into a completion.
 */
#include "poll.h"
#include "../runtime/alloc.h"
#include "../runtime/internal.h"

#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define TAG_WAKE ((uint64_t)1)    /* a MSG_RING wakeup */
#define TAG_EVENTFD ((uint64_t)2) /* the eventfd poll */
#define TAG_IGNORE ((uint64_t)0)  /* a completion nobody waits for */
#define SUBMIT_BATCH 32

struct pollm {
    struct io_uring ring;
    rg_lock cqlock;
    int wakefd;       /* eventfd for wakeups from threads with no ring */
    bool efd_armed;   /* the eventfd multishot poll is live */
    _Atomic int64_t inflight; /* ops of this ring without a final CQE */
};

static struct {
    unsigned setup_flags; /* flags the kernel accepted */
    bool msg_ring;        /* IORING_OP_MSG_RING works */
    bool probed;
} uring;

static _Atomic int64_t ninflight;
/* rg_stats counters: operations submitted and completed, and calls into
   the kernel (io_uring_enter). Relaxed: they order nothing. */
static _Atomic uint64_t nsubmitted, ncompleted, nenters;

void rg__poll_stats(uint64_t *submitted, uint64_t *completed, uint64_t *enters)
{
    *submitted = rg__load_rlx(&nsubmitted);
    *completed = rg__load_rlx(&ncompleted);
    *enters = rg__load_rlx(&nenters);
}

int64_t rg__poll_inflight(void)
{
    return rg__load_rlx(&ninflight);
}

/* Try ring setups from the best flags down (Photon's probe-and-retry). */
static int ring_setup(struct io_uring *ring, unsigned entries, unsigned *flags)
{
    static const unsigned tries[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN |
            IORING_SETUP_TASKRUN_FLAG,
        IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
        0,
    };
    int rc = -EINVAL;
    for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
        if (uring.probed && (tries[i] & ~uring.setup_flags))
            continue;
        struct io_uring_params p;
        memset(&p, 0, sizeof(p));
        p.flags = tries[i] | IORING_SETUP_CQSIZE;
        p.cq_entries = entries * 4;
        rc = io_uring_queue_init_params(entries, ring, &p);
        if (rc == 0) {
            *flags = tries[i];
            return 0;
        }
        if (rc != -EINVAL)
            return rc;
    }
    return rc;
}

int rg__poll_init(void)
{
    struct io_uring ring;
    unsigned flags = 0;
    uring.probed = false;
    int rc = ring_setup(&ring, 8, &flags);
    if (rc < 0) {
        fprintf(stderr, "ringo: io_uring setup failed: %s%s\n", strerror(-rc),
                rc == -EPERM ? " (io_uring disabled by "
                               "/proc/sys/kernel/io_uring_disabled or seccomp)"
                             : "");
        return rc;
    }
    uring.setup_flags = flags;
    uring.probed = true;
    struct io_uring_probe *probe = io_uring_get_probe_ring(&ring);
    uring.msg_ring =
        probe && io_uring_opcode_supported(probe, IORING_OP_MSG_RING);
    if (probe)
        io_uring_free_probe(probe);
    if (getenv("RINGO_NO_MSG_RING"))
        uring.msg_ring = false;
    io_uring_queue_exit(&ring);
    rg__store_rlx(&ninflight, 0);
    return 0;
}

void rg__poll_fini(void)
{
    uring.probed = false;
}

static void arm_eventfd(struct pollm *pm)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&pm->ring);
    if (!sqe) {
        io_uring_submit(&pm->ring);
        sqe = io_uring_get_sqe(&pm->ring);
    }
    io_uring_prep_poll_multishot(sqe, pm->wakefd, POLLIN);
    io_uring_sqe_set_data64(sqe, TAG_EVENTFD);
    pm->efd_armed = true;
}

int rg__poll_open_m(struct m *mp)
{
    struct pollm *pm = rg__calloc(1, sizeof(*pm));
    if (!pm)
        return -ENOMEM;
    unsigned flags;
    int rc = ring_setup(&pm->ring, rg__sched.ring_entries, &flags);
    if (rc < 0) {
        rg__free(pm);
        return rc;
    }
    pm->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (pm->wakefd < 0) {
        rc = -errno;
        io_uring_queue_exit(&pm->ring);
        rg__free(pm);
        return rc;
    }
    io_uring_ring_dontfork(&pm->ring);
    arm_eventfd(pm);
    io_uring_submit(&pm->ring);
    mp->poll = pm;
    return 0;
}

/* Run one CQE. cqlock held. */
static void dispatch(struct pollm *pm, struct io_uring_cqe *cqe,
                     struct gq *ready)
{
    uint64_t tag = cqe->user_data;
    if (tag == TAG_WAKE || tag == TAG_IGNORE)
        return;
    if (tag == TAG_EVENTFD) {
        uint64_t v;
        if (read(pm->wakefd, &v, sizeof(v)) < 0) {
            /* EAGAIN: drained by an earlier CQE */
        }
        if (!(cqe->flags & IORING_CQE_F_MORE))
            pm->efd_armed = false;
        return;
    }
    struct rg__pollop *op = (struct rg__pollop *)(uintptr_t)tag;
    if (!(cqe->flags & IORING_CQE_F_MORE)) {
        rg__sub_seq(&pm->inflight, 1);
        rg__sub_seq(&ninflight, 1);
        rg__add_rlx(&ncompleted, 1);
    }
    if (op->complete)
        op->complete(op, cqe->res, cqe->flags, ready);
    else
        rg__pollop_complete(op, cqe->res, cqe->flags, ready);
}

/*
 * Consume the CQEs present. cqlock held. A thief (the monitor) stops at the
 * first wakeup CQE and leaves it in place: the owner may be about to wait
 * on its ring for exactly that CQE (an idle M that was just handed a P),
 * and consuming it would leave the owner asleep forever.
 */
static int reap_cq(struct pollm *pm, struct gq *ready, bool thief)
{
    struct io_uring_cqe *cqe;
    unsigned head, n = 0;
    int before = ready->n;
    io_uring_for_each_cqe(&pm->ring, head, cqe)
    {
        if (thief && (cqe->user_data == TAG_WAKE ||
                      cqe->user_data == TAG_EVENTFD))
            break;
        dispatch(pm, cqe, ready);
        n++;
    }
    io_uring_cq_advance(&pm->ring, n);
    return ready->n - before;
}

static int reap(struct pollm *pm, struct gq *ready)
{
    return reap_cq(pm, ready, false);
}

/* Submit queued SQEs; on -EBUSY (CQ backlog) reap and retry. Owner. */
static void submit(struct pollm *pm, struct gq *ready)
{
    for (;;) {
        rg__add_rlx(&nenters, 1);
        int rc = io_uring_submit(&pm->ring);
        if (rc >= 0 || rc == -EINTR)
            return;
        if (rc == -EBUSY || rc == -EAGAIN) {
            rg__lock(&pm->cqlock);
            reap(pm, ready);
            rg__unlock(&pm->cqlock);
            if (rc == -EAGAIN)
                sched_yield();
            continue;
        }
        rg__throw("io_uring_submit failed");
    }
}

int rg__poll_ready(struct m *mp)
{
    struct pollm *pm = mp->poll;
    if (io_uring_cq_ready(&pm->ring))
        return RG_POLL_NOW;
    if (IO_URING_READ_ONCE(*pm->ring.sq.kflags) &
        (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW))
        return RG_POLL_NOW;
    unsigned pend = io_uring_sq_ready(&pm->ring);
    if (!pend)
        return RG_POLL_IDLE;
    return pend >= SUBMIT_BATCH ? RG_POLL_NOW : RG_POLL_QUEUED;
}

int rg__poll(struct m *mp, int64_t ns, struct gq *ready)
{
    struct pollm *pm = mp->poll;
    int n = 0;
    if (!pm->efd_armed)
        arm_eventfd(pm);
    if (ns == 0) {
        if (io_uring_sq_ready(&pm->ring))
            submit(pm, ready);
        else if (IO_URING_READ_ONCE(*pm->ring.sq.kflags) &
                 (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW))
        {
            rg__add_rlx(&nenters, 1);
            io_uring_get_events(&pm->ring);
        }
    } else {
        struct io_uring_cqe *cqe;
        struct __kernel_timespec ts = {.tv_sec = ns / 1000000000,
                                       .tv_nsec = ns % 1000000000};
        rg__add_rlx(&nenters, 1);
        int rc = io_uring_submit_and_wait_timeout(&pm->ring, &cqe, 1,
                                                  ns > 0 ? &ts : NULL, NULL);
        if (rc == -EBUSY) {
            /* CQ backlog: reap below, then the caller loops */
        }
    }
    if (io_uring_cq_ready(&pm->ring)) {
        rg__lock(&pm->cqlock);
        n = reap(pm, ready);
        rg__unlock(&pm->cqlock);
    }
    return n;
}

int rg__poll_steal(struct m *mp, struct gq *ready)
{
    struct pollm *pm = mp->poll;
    if (!pm || !io_uring_cq_ready(&pm->ring) || !rg__trylock(&pm->cqlock))
        return 0;
    int n = reap_cq(pm, ready, true);
    rg__unlock(&pm->cqlock);
    return n;
}

void rg__poll_break(struct m *target)
{
    struct pollm *tp = target->poll;
    struct m *self = getm();
    if (!tp)
        return;
    if (uring.msg_ring && self && self->poll && self != target) {
        struct pollm *pm = self->poll;
        struct io_uring_sqe *sqe = io_uring_get_sqe(&pm->ring);
        if (!sqe) {
            struct gq q = {0};
            submit(pm, &q);
            rg__inject_glist(&q);
            sqe = io_uring_get_sqe(&pm->ring);
        }
        if (sqe) {
            io_uring_prep_msg_ring(sqe, tp->ring.ring_fd, 0, TAG_WAKE, 0);
            io_uring_sqe_set_data64(sqe, TAG_IGNORE);
            sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
            io_uring_submit(&pm->ring);
            return;
        }
    }
    uint64_t one = 1;
    if (write(tp->wakefd, &one, sizeof(one)) < 0) {
        /* EAGAIN: the counter is saturated, a wakeup is pending anyway */
    }
}

struct io_uring_sqe *rg__poll_sqe_nowait(void)
{
    struct m *mp = getm();
    struct pollm *pm = mp->poll;
    struct io_uring_sqe *sqe;
    while (!(sqe = io_uring_get_sqe(&pm->ring))) {
        struct gq q = {0};
        submit(pm, &q);
        rg__inject_glist(&q);
    }
    io_uring_sqe_set_data64(sqe, TAG_IGNORE);
    return sqe;
}

struct io_uring_sqe *rg__poll_sqe(struct rg__pollop *op)
{
    struct io_uring_sqe *sqe = rg__poll_sqe_nowait();
    struct pollm *pm = getm()->poll;
    io_uring_sqe_set_data(sqe, op);
    rg__store_rlx(&op->state, OP_PENDING);
    op->g = getg();
    rg__add_rlx(&pm->inflight, 1);
    rg__add_seq(&ninflight, 1);
    rg__add_rlx(&nsubmitted, 1);
    return sqe;
}

void rg__pollop_complete(struct rg__pollop *op, int32_t res, uint32_t flags,
                         struct gq *ready)
{
    op->res = res;
    op->cqe_flags = flags;
    /* acq_rel: publishes res to the G; pairs with the CAS in op_commit */
    if (rg__xchg_acqrel(&op->state, OP_DONE) == OP_PARKED)
        gq_push(ready, op->g);
}

static bool op_commit(struct g *gp, void *arg)
{
    (void)gp;
    struct rg__pollop *op = arg;
    int expect = OP_PENDING;
    return rg__cas_acqrel(&op->state, &expect, OP_PARKED);
}

int32_t rg__pollop_wait(struct rg__pollop *op, const char *reason, int fd)
{
    struct g *gp = getg();
    gp->waitfd = fd;
    rg__park(op_commit, op, reason);
    gp = getg();
    gp->waitfd = -1;
    /* acq: pairs with the exchange in the completion */
    if (rg__load_acq(&op->state) != OP_DONE)
        rg__throw("pollop_wait: woken before completion");
    return op->res;
}

void rg__poll_close_m(struct m *mp)
{
    struct pollm *pm = mp->poll;
    if (!pm)
        return;
    struct gq q = {0};
    struct io_uring_sqe *sqe = io_uring_get_sqe(&pm->ring);
    if (!sqe) {
        submit(pm, &q);
        sqe = io_uring_get_sqe(&pm->ring);
    }
    if (sqe) {
        io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
        io_uring_sqe_set_data64(sqe, TAG_IGNORE);
    }
    submit(pm, &q);
    int64_t deadline = rg__nanotime() + 2000000000;
    while (rg__load_rlx(&pm->inflight) > 0 && rg__nanotime() < deadline) {
        struct io_uring_cqe *cqe;
        struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = 50000000};
        io_uring_submit_and_wait_timeout(&pm->ring, &cqe, 1, &ts, NULL);
        rg__lock(&pm->cqlock);
        reap(pm, &q);
        rg__unlock(&pm->cqlock);
    }
    int64_t left = rg__load_rlx(&pm->inflight);
    if (left > 0)
        fprintf(stderr, "ringo: %lld I/O operations still in flight at exit\n",
                (long long)left);
    io_uring_queue_exit(&pm->ring);
    close(pm->wakefd);
    rg__sub_seq(&ninflight, left);
    rg__free(pm);
    mp->poll = NULL;
}
