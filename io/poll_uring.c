/*
 * io/poll_uring.c: the io_uring poller backend (see io/poll.h).
 *
 * Ring discipline
 * ===============
 *  1. One ring per M, created on the M's thread and used for submission
 *     only by that thread (IORING_SETUP_SINGLE_ISSUER where the kernel has
 *     it). A G's SQE goes to the ring of the M it runs on; its completion
 *     may be reaped by that M or, when that M is busy, by the monitor.
 *     Nothing else ever submits to a ring: other threads post requests to
 *     its owner (8) or make the owner submit (9).
 *  2. Task work. By default COOP_TASKRUN (no IPI): completions are posted
 *     at the owner's next kernel transition, including the return from a
 *     timer interrupt and the wakeup of a thread asleep in a blocking
 *     call, so they reach the CQ within a scheduler tick whatever the
 *     owner does. With RG_CONFIG_DEFER_TASKRUN the rings use
 *     DEFER_TASKRUN instead: completions are posted only when the owner
 *     enters the kernel for them (io_uring_enter with GETEVENTS), in one
 *     batch under one lock, 5-10% less CPU per request on a busy server
 *     (bench/recv-modes.sh). An owner running goroutines enters at its
 *     batching points (4), and one stuck in a goroutine is kicked (9);
 *     an owner inside rg_blocking cannot be (a signal would cut the
 *     user's sleep or poll short with EINTR), so its completions wait for
 *     the call to return: the price the flag's documentation states.
 *     TASKRUN_FLAG tells us, in either mode, that task work is pending.
 *  3. The CQ is consumed only under pm->cqlock: the owner and the monitor
 *     both reap (the monitor with a trylock, for busy Ms only).
 *     Thieves and wakeups: a wakeup CQE (7) is meant for an owner that is
 *     asleep on its ring or about to be. A thief that consumed one could
 *     leave that owner asleep, so it stops at the first wakeup CQE when the
 *     owner is not running a goroutine (m->curg NULL: it is on g0, maybe
 *     just handed a P). When the owner runs a goroutine (stuck), stopping
 *     there would strand every completion queued behind a stale wakeup
 *     (a cross-ring request's wakeup, 8, lands on busy Ms), so the thief
 *     takes them all, and writes the owner's eventfd if the owner has gone
 *     to g0 meanwhile. And the owner never waits without a timeout (the
 *     "forever" wait is ~68 years): with one, liburing returns after a
 *     single wait even if the CQE that woke it has been taken.
 *  4. SQEs are queued while Gs run and submitted in batches: when the M
 *     has nothing else to run, every 8th schedule, when 32 are queued, or
 *     when the SQ is full. Pending task work (IORING_SQ_TASKRUN) waits
 *     for the same points, while completions already in the CQ are reaped
 *     at every schedule without a syscall (RG_POLL_REAP): entering the
 *     kernel whenever the flag was up cost an io_uring_enter per message
 *     on a busy echo server (0.7 per message, against 0.1 for the same
 *     loop written on raw liburing) and 12% more CPU per message. A full SQ is flushed at once; a submit refused
 *     with -EBUSY (CQ overflow backlog) reaps first and retries, so an
 *     operation that could wait never fails for lack of ring space. A
 *     linked pair (op + timeout) reserves both SQEs first
 *     (rg__poll_reserve), so a flush never splits the chain.
 *  5. The CQ has 4x the SQ entries and FEAT_NODROP kernels keep overflowed
 *     CQEs; reaping flushes them (rg__poll_ready sees the overflow flag).
 *  6. Every operation's op stays valid until its final CQE (the one
 *     without IORING_CQE_F_MORE); rg__poll_inflight counts them. At
 *     shutdown each M cancels what is left in its ring and waits for those
 *     final CQEs before stacks are unmapped.
 *  7. Waking an idle M: a message on its ring, IORING_OP_MSG_RING from the
 *     waker's own ring. Threads without a ring (the monitor), and kernels
 *     without MSG_RING, write the M's eventfd instead, which a multishot
 *     poll on the M's ring turns into a completion.
 *  8. Cross-ring requests. Cancelling an op (rg_close, a deadline) must
 *     happen on the ring that holds it, which only its owner may submit
 *     to. The canceller posts a request (struct rg__pollreq) on the
 *     owner's lock-free list (pm->reqs) and wakes it (7); the owner runs
 *     its requests at the start of its next rg__poll, before it submits,
 *     so the ASYNC_CANCELs go out in the same submit. rg__poll_ready
 *     reports pending requests as work to do now.
 *  9. Stuck submissions. (4) lets a few SQEs wait for the next scheduling
 *     round, and (8) waits for the owner's next rg__poll; an M that then
 *     runs one goroutine for seconds would hold them, and with them the
 *     completions and cancels other goroutines wait for. The monitor
 *     cannot submit for it (1), so it kicks it: rg__poll_steal, called for
 *     Ms stuck over 1 ms, sends the owner thread KICK_SIG (SIGURG, as Go's
 *     preemption) when it holds a P and its SQ or request list is not
 *     empty, or, under DEFER_TASKRUN, task work is pending (2). (An M in a blocking call holds no P and flushed its SQ before
 *     the call; it is not kicked, so the call never sees EINTR from us.)
 *     The handler, on the owner's own thread, first runs deferred task
 *     work if the ring has any (io_uring_get_events: submits nothing, so
 *     it is safe at any point), then runs the requests that can
 *     run there (pollreq.sigfn: try-locks only, no flush, no free) and
 *     submits the SQ. It does nothing while pm->sq_busy says the owner is
 *     between taking an SQE and finishing it (rg__poll_sqe* ..
 *     rg__pollop_wait or rg__poll_sq_done, and all of rg__poll and
 *     rg__poll_break), since a submit then would send a half-written SQE;
 *     the next kick retries.
 *     The completion then lands in the stuck M's CQ, where (2) and (3)
 *     take over. SA_RESTART keeps the hog's own syscalls going; a SIGURG
 *     that is not ours goes to the handler that was there before.
 */
#include "poll.h"
#include "internal.h"
#include "../runtime/alloc.h"

#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define TAG_WAKE ((uint64_t)1)    /* a MSG_RING wakeup */
#define TAG_EVENTFD ((uint64_t)2) /* the eventfd poll */
#define TAG_IGNORE ((uint64_t)0)  /* a completion nobody waits for */
#define SUBMIT_BATCH 32
#define KICK_SIG SIGURG /* see "Stuck submissions" */

bool rg__uring_defer;


struct pollm {
    struct io_uring ring;
    rg_lock cqlock;
    int wakefd;       /* eventfd for wakeups from threads with no ring */
    bool efd_armed;   /* the eventfd multishot poll is live */
    _Atomic int64_t inflight; /* ops of this ring without a final CQE */
    /* Requests for the owner (see "Cross-ring requests"): a Treiber
       stack, pushed by anyone, taken whole by the owner. */
    struct rg__pollreq *_Atomic reqs;
    /* See "Stuck submissions". sq_busy: the owner holds SQEs it has not
       finished preparing; written by the owner, read by its own signal
       handler. tid: the owner's thread, for the monitor's kick. */
    volatile sig_atomic_t sq_busy;
    int tid;
    /* Requests the signal handler ran, freed by the owner in rg__poll:
       the handler may not free. Owner thread only. */
    struct rg__pollreq *reqs_done;
};

/*
 * The owner marks the spans where it holds SQEs not yet fully prepared.
 * Only the owner's own signal handler reads the flag, on the same thread,
 * so compiler ordering (a signal fence) is all that is needed.
 */
static inline int sq_enter(struct pollm *pm)
{
    int was = pm->sq_busy;
    pm->sq_busy = 1;
    atomic_signal_fence(memory_order_seq_cst);
    return was;
}

static inline void sq_leave(struct pollm *pm, int was)
{
    atomic_signal_fence(memory_order_seq_cst);
    pm->sq_busy = was;
}

/*
 * CQEs waiting, read without cqlock (io_uring_cq_ready, but with an
 * atomic load of the head, which the other reaper may be advancing).
 */
static inline unsigned cq_ready(struct pollm *pm)
{
    /* acq: pairs with the kernel's release of the tail */
    return __atomic_load_n(pm->ring.cq.ktail, __ATOMIC_ACQUIRE) -
           __atomic_load_n(pm->ring.cq.khead, __ATOMIC_RELAXED);
}

/*
 * Rings are mapped and unmapped by liburing with raw system calls that
 * the thread sanitizer does not see; a new ring at an old one's address
 * would look like memory shared without synchronisation. Unmapping
 * releases ring_sync and setting up acquires it (see debug.h).
 */
static char ring_sync;

static void ring_exit(struct io_uring *ring)
{
    rg__san_release(&ring_sync);
    io_uring_queue_exit(ring);
}

static struct {
    unsigned setup_flags; /* flags the kernel accepted */
    bool msg_ring;        /* IORING_OP_MSG_RING works */
    bool probed;
    bool kick;            /* the KICK_SIG handler is installed */
    int pid;
    struct sigaction oldkick; /* the handler it replaced, restored at fini */
} uring;

/* Try ring setups from the best flags down (Photon's probe-and-retry). */
static int ring_setup(struct io_uring *ring, unsigned entries, unsigned *flags)
{
    static const unsigned tries[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
            IORING_SETUP_TASKRUN_FLAG,
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN |
            IORING_SETUP_TASKRUN_FLAG,
        IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
        0,
    };
    int rc = -EINVAL;
    for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
        if (uring.probed && (tries[i] & ~uring.setup_flags))
            continue;
        if (!rg__uring_defer && (tries[i] & IORING_SETUP_DEFER_TASKRUN))
            continue;
        struct io_uring_params p;
        memset(&p, 0, sizeof(p));
        p.flags = tries[i] | IORING_SETUP_CQSIZE;
        p.cq_entries = entries * 4;
        rc = io_uring_queue_init_params(entries, ring, &p);
        if (rc == 0) {
            rg__san_acquire(&ring_sync);
            *flags = tries[i];
            return 0;
        }
        if (rc != -EINVAL)
            return rc;
    }
    return rc;
}

static void run_reqs_insig(struct pollm *pm);

/*
 * The monitor's kick (see "Stuck submissions"): on the owner's thread,
 * submit the queued SQEs unless the owner is preparing one. Everything
 * here is async-signal-safe: liburing 2.3 issues io_uring_enter itself,
 * without libc or errno. A KICK_SIG that is not ours goes to the handler
 * that was there before.
 */
static void kick_handler(int sig, siginfo_t *si, void *uc)
{
    if (si->si_code == SI_TKILL && si->si_pid == uring.pid) {
        struct m *mp = getm();
        struct pollm *pm = mp ? mp->poll : NULL;
        if (!pm)
            return;
        /* Deferred task work (DEFER_TASKRUN): post the completions it
           holds. Submits nothing, so a half-written SQE does not matter. */
        if (IO_URING_READ_ONCE(*pm->ring.sq.kflags) & IORING_SQ_TASKRUN) {
            rg__add_rlx(&rg__poll_nenters, 1);
            io_uring_get_events(&pm->ring);
        }
        if (pm->sq_busy)
            return;
        if (rg__load_rlx(&pm->reqs))
            run_reqs_insig(pm);
        if (io_uring_sq_ready(&pm->ring)) {
            rg__add_rlx(&rg__poll_nenters, 1);
            io_uring_submit(&pm->ring);
        }
        return;
    }
    if (uring.oldkick.sa_flags & SA_SIGINFO)
        uring.oldkick.sa_sigaction(sig, si, uc);
    else if (uring.oldkick.sa_handler != SIG_DFL &&
             uring.oldkick.sa_handler != SIG_IGN)
        uring.oldkick.sa_handler(sig);
}

static void kick_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = kick_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    uring.pid = getpid();
    uring.kick = sigaction(KICK_SIG, &sa, &uring.oldkick) == 0;
}

/* Probe the kernel with a small ring; -errno if io_uring cannot be set
   up here (poll.c then falls back to epoll). */
static int uring_init(void)
{
    struct io_uring ring;
    unsigned flags = 0;
    uring.probed = false;
    int rc = ring_setup(&ring, 8, &flags);
    if (rc < 0)
        return rc;
    uring.setup_flags = flags;
    uring.probed = true;
    struct io_uring_probe *probe = io_uring_get_probe_ring(&ring);
    uring.msg_ring =
        probe && io_uring_opcode_supported(probe, IORING_OP_MSG_RING);
    if (probe)
        io_uring_free_probe(probe);
    if (getenv("RINGO_NO_MSG_RING"))
        uring.msg_ring = false;
    ring_exit(&ring);
    kick_install();
    return 0;
}

static void uring_fini(void)
{
    if (uring.kick)
        sigaction(KICK_SIG, &uring.oldkick, NULL);
    uring.kick = false;
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

static int uring_open_m(struct m *mp)
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
    pm->tid = rg__sys_gettid();
    pm->wakefd = rg__sys_eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (pm->wakefd < 0) {
        rc = pm->wakefd;
        ring_exit(&pm->ring);
        rg__free(pm);
        return rc;
    }
    io_uring_ring_dontfork(&pm->ring);
    int was = sq_enter(pm);
    arm_eventfd(pm);
    io_uring_submit(&pm->ring);
    sq_leave(pm, was);
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
        rg__sys_read(pm->wakefd, &v, sizeof(v)); /* EAGAIN: drained by an
                                                     earlier CQE */
        if (!(cqe->flags & IORING_CQE_F_MORE))
            pm->efd_armed = false;
        return;
    }
    struct rg__pollop *op = (struct rg__pollop *)(uintptr_t)tag;
    if (!(cqe->flags & IORING_CQE_F_MORE)) {
        rg__sub_seq(&pm->inflight, 1);
        ready->held++; /* rg__poll_ninflight drops in rg__poll_retire */
        rg__add_rlx(&rg__poll_ncompleted, 1);
    }
    rg__san_acquire(op); /* see rg__poll_sqe */
    if (op->complete)
        op->complete(op, cqe->res, cqe->flags, ready);
    else
        rg__pollop_complete(op, cqe->res, cqe->flags, ready);
}

/*
 * Consume the CQEs present. cqlock held. With stop_at_wake (a thief, the
 * monitor, reaping an M that is not running a goroutine), stop at the
 * first wakeup CQE and leave it in place: the owner may be about to wait
 * on its ring for exactly that CQE (an idle M that was just handed a P),
 * and consuming it would leave the owner asleep. *woke says whether a
 * wakeup CQE was consumed.
 */
static int reap_cq(struct pollm *pm, struct gq *ready, bool stop_at_wake,
                   bool *woke)
{
    struct io_uring_cqe *cqe;
    unsigned head, n = 0;
    int before = ready->n;
    io_uring_for_each_cqe(&pm->ring, head, cqe)
    {
        uint64_t tag = cqe->user_data;
        bool wake = tag == TAG_WAKE || tag == TAG_EVENTFD;
        if (wake && stop_at_wake)
            break;
        *woke |= wake;
        dispatch(pm, cqe, ready);
        n++;
    }
    io_uring_cq_advance(&pm->ring, n);
    return ready->n - before;
}

/* The owner's reap: everything the CQ holds, under the CQ lock (the
   monitor may be reaping it). */
static int reap(struct pollm *pm, struct gq *ready)
{
    bool woke = false;
    rg__lock(&pm->cqlock);
    int n = reap_cq(pm, ready, false, &woke);
    rg__unlock(&pm->cqlock);
    return n;
}

/* Submit queued SQEs; on -EBUSY (CQ backlog) reap and retry. Owner. */
static void submit(struct pollm *pm, struct gq *ready)
{
    for (;;) {
        rg__add_rlx(&rg__poll_nenters, 1);
        int rc = io_uring_submit(&pm->ring);
        if (rc >= 0 || rc == -EINTR)
            return;
        if (rc == -EBUSY || rc == -EAGAIN) {
            reap(pm, ready);
            if (rc == -EAGAIN)
                sched_yield();
            continue;
        }
        rg__throw("io_uring_submit failed");
    }
}

static void post_req(struct pollm *pm, struct rg__pollreq *r);

void rg__poll_post(struct m *mp, struct rg__pollreq *r)
{
    post_req(mp->poll, r);
}

static void post_req(struct pollm *pm, struct rg__pollreq *r)
{
    struct rg__pollreq *head = rg__load_rlx(&pm->reqs);
    do
        r->next = head;
    /* rel: publishes *r; pairs with the acq exchange in run_reqs */
    while (!atomic_compare_exchange_weak_explicit(
        &pm->reqs, &head, r, memory_order_release, memory_order_relaxed));
}

/* Run the requests posted to this ring, oldest first. Owner, on g0. */
static void run_reqs(struct pollm *pm)
{
    /* acq: pairs with the rel CAS in rg__poll_post */
    struct rg__pollreq *r = rg__xchg_acqrel(&pm->reqs, NULL), *rev = NULL;
    while (r) {
        struct rg__pollreq *next = r->next;
        r->next = rev;
        rev = r;
        r = next;
    }
    while (rev) {
        struct rg__pollreq *next = rev->next;
        rev->fn(rev);
        rg__free(rev);
        rev = next;
    }
    while ((r = pm->reqs_done)) {
        pm->reqs_done = r->next;
        rg__free(r);
    }
}

/*
 * The signal handler's share of the requests (see "Stuck submissions"):
 * run those that can run there, put the others back. Owner thread, in the
 * handler, with sq_busy clear.
 */
static void run_reqs_insig(struct pollm *pm)
{
    /* acq: pairs with the rel CAS in rg__poll_post */
    struct rg__pollreq *r = rg__xchg_acqrel(&pm->reqs, NULL), *keep = NULL;
    while (r) {
        struct rg__pollreq *next = r->next;
        if (r->sigfn && r->sigfn(r)) {
            r->next = pm->reqs_done;
            pm->reqs_done = r;
        } else {
            r->next = keep;
            keep = r;
        }
        r = next;
    }
    while (keep) {
        struct rg__pollreq *next = keep->next;
        post_req(pm, keep);
        keep = next;
    }
}

static int uring_ready(struct m *mp)
{
    struct pollm *pm = mp->poll;
    if (rg__load_rlx(&pm->reqs))
        return RG_POLL_NOW;
    unsigned kf = IO_URING_READ_ONCE(*pm->ring.sq.kflags);
    if (kf & IORING_SQ_CQ_OVERFLOW)
        return RG_POLL_NOW;
    unsigned pend = io_uring_sq_ready(&pm->ring);
    if (pend >= SUBMIT_BATCH)
        return RG_POLL_NOW;
    if (cq_ready(pm))
        return RG_POLL_REAP;
    return pend || (kf & IORING_SQ_TASKRUN) ? RG_POLL_QUEUED : RG_POLL_IDLE;
}

static int uring_poll(struct m *mp, int64_t ns, struct gq *ready)
{
    struct pollm *pm = mp->poll;
    int n = 0;
    int was = sq_enter(pm);
    if (!pm->efd_armed)
        arm_eventfd(pm);
    if (rg__load_rlx(&pm->reqs) || pm->reqs_done)
        run_reqs(pm);
    if (ns == 0) {
        if (io_uring_sq_ready(&pm->ring))
            submit(pm, ready);
        else if (IO_URING_READ_ONCE(*pm->ring.sq.kflags) &
                 (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW))
        {
            rg__add_rlx(&rg__poll_nenters, 1);
            io_uring_get_events(&pm->ring);
        }
    } else {
        /* Always a finite timeout, "forever" being ~68 years: with one,
           liburing returns after a single wait even if the CQE that woke
           us is gone when it looks (the monitor may steal it, wakeup
           included, from an M that was just handed a P); without one it
           would wait again, and that wakeup would be lost. The caller
           rechecks why it slept. */
        struct io_uring_cqe *cqe;
        struct __kernel_timespec ts = {.tv_sec = ns / 1000000000,
                                       .tv_nsec = ns % 1000000000};
        if (ns < 0)
            ts = (struct __kernel_timespec){.tv_sec = INT32_MAX};
        rg__add_rlx(&rg__poll_nenters, 1);
        /* -EBUSY (a CQ backlog) is reaped below; the caller loops. */
        io_uring_submit_and_wait_timeout(&pm->ring, &cqe, 1, &ts, NULL);
    }
    sq_leave(pm, was);
    if (cq_ready(pm))
        n = reap(pm, ready);
    if (ns == 0)
        rg__poll_retire(ready);
    return n;
}

/* Reap what the CQ holds; no syscall (ring discipline 4). Owner. */
static int uring_reap(struct m *mp, struct gq *ready)
{
    struct pollm *pm = mp->poll;
    int n = 0;
    int was = sq_enter(pm);
    if (cq_ready(pm))
        n = reap(pm, ready);
    sq_leave(pm, was);
    rg__poll_retire(ready);
    return n;
}

static int uring_steal(struct m *mp, struct gq *ready)
{
    struct pollm *pm = mp->poll;
    if (!pm)
        return 0;
    /* Racy read of the owner's SQ tail (liburing stores it plainly): a
       stale value costs one needless kick or delays one by a monitor
       period. */
    unsigned tail = rg__racy_load_u32(&pm->ring.sq.sqe_tail);
    unsigned head = IO_URING_READ_ONCE(*pm->ring.sq.khead);
    /* Only an M running goroutines (holding a P) is kicked: one in a
       blocking call (rg_blocking, no P) flushed its SQ before it, and a
       signal could make that call fail with EINTR. */
    bool deferred = (uring.setup_flags & IORING_SETUP_DEFER_TASKRUN) &&
                    (IO_URING_READ_ONCE(*pm->ring.sq.kflags) &
                     IORING_SQ_TASKRUN);
    if (uring.kick && __atomic_load_n(&mp->p, __ATOMIC_RELAXED) &&
        (tail != head || deferred || rg__load_rlx(&pm->reqs)))
        rg__sys_tgkill(uring.pid, pm->tid, KICK_SIG);
    if (!cq_ready(pm) || !rg__trylock(&pm->cqlock))
        return 0;
    /* See "Thieves and wakeups". Racy reads of curg: the M is on g0 (maybe
       going to sleep on its ring) when it is NULL. */
    bool running = __atomic_load_n(&mp->curg, __ATOMIC_ACQUIRE) != NULL;
    bool woke = false;
    int n = reap_cq(pm, ready, !running, &woke);
    rg__unlock(&pm->cqlock);
    if (woke && !__atomic_load_n(&mp->curg, __ATOMIC_ACQUIRE)) {
        uint64_t one = 1; /* it went to g0 meanwhile: wake it again */
        rg__sys_write(pm->wakefd, &one, sizeof(one));
    }
    return n;
}

static void uring_wake(struct m *target)
{
    struct pollm *tp = target->poll;
    struct m *self = getm();
    if (!tp)
        return;
    if (uring.msg_ring && self && self->poll && self != target) {
        struct pollm *pm = self->poll;
        int was = sq_enter(pm);
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
            sq_leave(pm, was);
            return;
        }
        sq_leave(pm, was);
    }
    uint64_t one = 1;
    /* EAGAIN: the counter is saturated, a wakeup is pending anyway */
    rg__sys_write(tp->wakefd, &one, sizeof(one));
}

struct io_uring_sqe *rg__poll_sqe_nowait(void)
{
    struct m *mp = getm();
    struct pollm *pm = mp->poll;
    struct io_uring_sqe *sqe;
    sq_enter(pm); /* until rg__pollop_wait or the end of rg__poll */
    while (!(sqe = io_uring_get_sqe(&pm->ring))) {
        struct gq q = {0};
        submit(pm, &q);
        rg__inject_glist(&q);
    }
    io_uring_sqe_set_data64(sqe, TAG_IGNORE);
    return sqe;
}

struct io_uring_sqe *rg__poll_sqe_try(void)
{
    struct pollm *pm = getm()->poll;
    struct io_uring_sqe *sqe = io_uring_get_sqe(&pm->ring);
    if (sqe)
        io_uring_sqe_set_data64(sqe, TAG_IGNORE);
    return sqe;
}

unsigned rg__poll_sq_room(void)
{
    return io_uring_sq_space_left(&((struct pollm *)getm()->poll)->ring);
}

void rg__poll_reserve(unsigned n)
{
    struct pollm *pm = getm()->poll;
    sq_enter(pm);
    while (io_uring_sq_space_left(&pm->ring) < n) {
        struct gq q = {0};
        submit(pm, &q);
        rg__inject_glist(&q);
    }
}

struct io_uring_sqe *rg__poll_sqe(struct rg__pollop *op)
{
    struct io_uring_sqe *sqe = rg__poll_sqe_nowait();
    struct pollm *pm = getm()->poll;
    io_uring_sqe_set_data(sqe, op);
    rg__store_rlx(&op->state, OP_PENDING);
    op->g = getg();
    /* The reaper (maybe the monitor, on another thread) reads op after
       the kernel completes it: an order the thread sanitizer cannot see
       (see debug.h); dispatch acquires. */
    rg__san_release(op);
    rg__add_rlx(&pm->inflight, 1);
    rg__add_seq(&rg__poll_ninflight, 1);
    rg__add_rlx(&rg__poll_nsubmitted, 1);
    return sqe;
}

void rg__poll_sq_done(void)
{
    sq_leave(getm()->poll, 0);
}

int32_t rg__pollop_wait(struct rg__pollop *op, const char *reason, int fd)
{
    struct g *gp = getg();
    rg__poll_sq_done(); /* the caller has prepared its SQEs */
    gp->waitfd = fd;
    rg__park(rg__pollop_commit, op, reason);
    gp = getg();
    gp->waitfd = -1;
    /* acq: pairs with the exchange in the completion */
    if (rg__load_acq(&op->state) != OP_DONE)
        rg__throw("pollop_wait: woken before completion");
    return op->res;
}

static void uring_close_m(struct m *mp)
{
    struct pollm *pm = mp->poll;
    if (!pm)
        return;
    struct gq q = {0};
    run_reqs(pm);
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
        reap(pm, &q);
    }
    int64_t left = rg__load_rlx(&pm->inflight);
    if (left > 0)
        fprintf(stderr, "ringo: %lld I/O operations still in flight at exit\n",
                (long long)left);
    rg__poll_retire(&q); /* shutdown: those Gs will never run */
    ring_exit(&pm->ring);
    rg__sys_close(pm->wakefd);
    rg__sub_seq(&rg__poll_ninflight, left);
    rg__free(pm);
    mp->poll = NULL;
}

const struct rg__poll_backend rg__poll_uring_backend = {
    .name = "io_uring",
    .readiness = false,
    .init = uring_init,
    .fini = uring_fini,
    .open_m = uring_open_m,
    .close_m = uring_close_m,
    .poll = uring_poll,
    .ready = uring_ready,
    .reap = uring_reap,
    .wake = uring_wake,
    .steal = uring_steal,
};
