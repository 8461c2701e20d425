/*
 * io/fd.c: per-fd state (deadlines, the operations in flight), the one
 * path by which every blocking I/O call waits (rg__io_do), and the calls
 * that act on other goroutines' operations: rg_close and rg_set_deadline.
 *
 * Invariants:
 *  1. An operation that may park is registered on its fd (struct ioop on
 *     fdstate.ops) from before its SQE is queued until after its final CQE
 *     arrived. So whoever holds fdstate.lock and finds an op on the list
 *     knows its memory is alive (the G cannot return before it
 *     unregisters, which needs the lock).
 *  2. Only the M that queued an op (ioop.m) ever submits a cancel for it
 *     (rings are single-issuer): other threads mark the op (ioop.cancel)
 *     and post a request to that M ("Cross-ring requests" in
 *     poll_uring.c), which submits IORING_OP_ASYNC_CANCEL by user_data.
 *     Under the epoll backend nothing is in the kernel while an op waits:
 *     the canceller completes it at once ("Deadlines and close" in
 *     ready.c).
 *  3. A cancelled op still waits for its own final CQE before its G goes
 *     on: the state machine in poll.h never resumes a G earlier.
 *  4. While fdstate.closing is set, no new op registers on the fd (calls
 *     wait for the close to end, see "Close"), and the fd number stays
 *     open in the kernel until the last registered op has unregistered.
 *     So the number cannot be reused while any op or cancel request still
 *     refers to it.
 *
 * Locking: fdstate.lock (an rg_lock) protects the op list, the closer, the
 * accept queue and every write of closing and the deadlines. It is held
 * only for list and flag updates: never across ring calls (a full SQ
 * flushes and reaps, and completion callbacks take fd locks), never while
 * parking, and Gs are readied only after it is dropped. fdstate.tlock
 * guards the deadline timer (see "Deadlines").
 *
 * The fd table
 * ============
 * Every I/O call looks up its fd's state, so the lookup is two dependent
 * loads and no lock: a fixed top-level array of TOP_SIZE pointers to
 * chunks of CHUNK_SIZE entries. A chunk is allocated on first use and
 * published with a CAS; chunks never move and are never freed while the
 * runtime runs (entries are reset, not freed, when their fd is closed),
 * so a pointer to an entry stays valid. Fds of 2^24 and above have no
 * state: their operations work but cannot be cancelled by rg_close and
 * ignore deadlines.
 *
 * Deadlines
 * =========
 * (Go's SetDeadline, with Go's design: a timer per fd, not per operation.)
 * An fd has a read and a write deadline on the rg_now() clock, and one
 * runtime timer (fdstate.timer) armed for the earlier of them that is
 * still ahead. A call checks its deadline when it starts: one already
 * past fails at once with -ETIMEDOUT, even if data is ready. When the
 * timer fires (deadline_fire, on whichever M runs that P's timers), the
 * ops blocked in a direction whose deadline has passed are marked
 * CANCEL_DEADLINE and cancelled through their rings; each wakes with
 * -ECANCELED, finds the deadline passed and returns -ETIMEDOUT. Moving a
 * deadline never touches the blocked ops: a later one leaves the timer
 * where it is (it fires early, finds nothing expired and re-arms, so the
 * idle-timeout pattern costs no timer operation per call), an earlier one
 * re-arms it, and one already past cancels them at once (rg_set_deadline
 * does it itself).
 *
 * Rejected: a linked timeout on every op that parks (IOSQE_IO_LINK +
 * IORING_OP_LINK_TIMEOUT, absolute). Its expiry needs no other thread,
 * but it costs every blocking op a second SQE and CQE and a kernel hrtimer
 * armed and cancelled: ~400 ns per blocking op measured, a 20-30% slower
 * 1-byte round trip, where the fd timer costs nothing per op and ~70 ns
 * per rg_set_deadline ("Deadlines" in docs/design.md). Its one
 * advantage, expiry that does not wait for a busy ring owner, the
 * monitor's kick gives this design too ("Stuck submissions" in
 * poll_uring.c). Linked timeouts remain for a single call's own timeout
 * (rg_dial_tcp's timeout_ns, iodesc.deadline).
 *
 * fdstate.tlock serializes arming the timer (deadline_arm). It is never
 * held with fdstate.lock: arming a timer can wake an M through the ring,
 * and a ring call can run completion callbacks that take fdstate.lock.
 *
 * Close
 * =====
 * rg_close(fd) sets closing, marks every registered op CANCEL_CLOSE and
 * posts a cancel to each ring holding one, then parks until the list is
 * empty: each op completes (-ECANCELED, or its real result if it won the
 * race), unregisters, and returns -ECANCELED to its G; the last one to
 * leave readies the closer. Only then is the fd closed (IORING_OP_CLOSE),
 * and the entry is reset for the next fd with that number.
 *
 * Between the kernel's close and the reset, the number may already belong
 * to a new fd: one from socket(2) or pipe(2) in another thread, or from a
 * ringo call (those reset the entry themselves, rg__fd_fresh). So a call
 * that finds closing set does not fail: it waits on fdstate.closewait
 * until the close is over and then starts afresh, which gives exactly the
 * raw fd's semantics: -EBADF from the kernel if the number is still free,
 * the new fd's behaviour if it was reused. Rejected: failing such calls
 * with -EBADF (Go's "use of closed network connection"); the numbers of
 * a C program's fds are reused at once, and a fresh connection would
 * then fail for a few microseconds after every close of another one.
 */
#include "internal.h"
#include "../include/ringo.h"
#include "../runtime/alloc.h"

#include <errno.h>
#include <liburing.h>

#define CHUNK_SHIFT 10
#define CHUNK_SIZE (1 << CHUNK_SHIFT) /* ~160 KiB of entries per chunk */
/* 2^24 fds in all: above the default fs.nr_open (2^20). */
#define TOP_SIZE (1 << 14)
#define NS_PER_SEC 1000000000LL
#define MSET_MAX 16 /* distinct Ms tracked per call */
#define CANCEL_BATCH 16

static struct fdstate *_Atomic fdtab[TOP_SIZE];

static void deadline_fire(void *arg, uintptr_t seq);

static struct fdstate *chunk_alloc(int idx)
{
    struct fdstate *c = rg__calloc(CHUNK_SIZE, sizeof(*c));
    if (!c)
        return NULL;
    for (int i = 0; i < CHUNK_SIZE; i++) {
        c[i].fd = idx * CHUNK_SIZE + i;
        c[i].timer.f = deadline_fire;
        c[i].timer.arg = &c[i];
        c[i].timer.idx = -1;
    }
    struct fdstate *expect = NULL;
    /* rel: publishes the zeroed chunk; pairs with the acq in rg__fd_get */
    if (!rg__cas_rel(&fdtab[idx], &expect, c)) {
        rg__free(c);
        return rg__load_acq(&fdtab[idx]);
    }
    return c;
}

/*
 * rg__fd_get: fd's state, allocating its chunk on first use. NULL for a
 * negative fd, an fd beyond the table, or when out of memory. Any thread.
 */
struct fdstate *rg__fd_get(int fd)
{
    if (fd < 0 || fd >= TOP_SIZE * CHUNK_SIZE)
        return NULL;
    /* acq: pairs with the rel CAS in chunk_alloc */
    struct fdstate *c = rg__load_acq(&fdtab[fd >> CHUNK_SHIFT]);
    if (__builtin_expect(!c, 0))
        c = chunk_alloc(fd >> CHUNK_SHIFT);
    return c ? &c[fd & (CHUNK_SIZE - 1)] : NULL;
}

/* fd's state if its chunk exists, else NULL; never allocates (signal
   handlers, timer callbacks). */
static struct fdstate *fd_peek(int fd)
{
    if (fd < 0 || fd >= TOP_SIZE * CHUNK_SIZE)
        return NULL;
    /* acq: pairs with the rel CAS in chunk_alloc */
    struct fdstate *c = rg__load_acq(&fdtab[fd >> CHUNK_SHIFT]);
    return c ? &c[fd & (CHUNK_SIZE - 1)] : NULL;
}

bool rg__io_in_goroutine(void)
{
    struct g *gp = getg();
    return gp && gp->m && gp != gp->m->g0;
}

/*
 * Forget what the entry knew about its fd, and move the calls that waited
 * for the close to *woken, to be readied after the unlock. lock held.
 */
static void fd_reset_locked(struct fdstate *fs, struct gq *woken)
{
    rg__store_rlx(&fs->closing, 0);
    rg__store_rlx(&fs->kind, FD_KIND_UNKNOWN);
    rg__store_rlx(&fs->ep, 0);
    rg__store_rlx(&fs->rmiss, 0);
    rg__store_rlx(&fs->deadline[0], 0);
    rg__store_rlx(&fs->deadline[1], 0);
    fs->gen++;
    *woken = fs->closewait;
    fs->closewait = (struct gq){0};
}

static void deadline_arm(struct fdstate *fs, int64_t now);

/* park commit: wait for the close to end, unless it has. */
static bool closewait_commit(struct g *gp, void *arg)
{
    struct fdstate *fs = arg;
    rg__lock(&fs->lock);
    bool wait = rg__load_rlx(&fs->closing);
    if (wait)
        gq_push(&fs->closewait, gp);
    rg__unlock(&fs->lock);
    return wait;
}

/* Park until fs's rg_close is over (see "Close"). From a goroutine. */
static void fd_wait_closed(struct fdstate *fs)
{
    rg__park(closewait_commit, fs, RG_WAIT_IO_CLOSING);
}

/*
 * rg__fd_fresh: fd was just created by a ringo call; clear whatever a
 * previous fd with that number left (see "Close") and record its kind.
 */
void rg__fd_fresh(int fd, int kind)
{
    struct fdstate *fs = rg__fd_get(fd);
    if (!fs)
        return;
    if (rg__load_rlx(&fs->closing) || rg__load_rlx(&fs->deadline[0]) ||
        rg__load_rlx(&fs->deadline[1])) {
        struct gq woken;
        rg__lock(&fs->lock);
        fd_reset_locked(fs, &woken);
        rg__unlock(&fs->lock);
        deadline_arm(fs, 0);
        rg__ready_list(&woken);
    }
    rg__store_rlx(&fs->ep, 0);
    rg__store_rlx(&fs->kind, kind);
}

/*
 * rg__fd_kind: what fd is (FD_KIND_*), by fstat on first use, cached in
 * the entry until the fd is closed; -errno if fstat fails (-EBADF). fs
 * may be NULL (no cache).
 */
int rg__fd_kind(struct fdstate *fs, int fd)
{
    int kind = fs ? rg__load_rlx(&fs->kind) : FD_KIND_UNKNOWN;
    if (kind != FD_KIND_UNKNOWN)
        return kind;
    kind = rg__sys_fstat_kind(fd);
    if (kind > 0 && fs)
        rg__store_rlx(&fs->kind, (uint8_t)kind);
    return kind;
}

/*
 * rg__fd_close_raw: close an fd ringo made and never handed out, or one
 * with no op in flight, with close(2) (it cannot block: no SO_LINGER), and
 * forget its kind so a new fd with that number starts clean. Any thread.
 */
void rg__fd_close_raw(int fd)
{
    struct fdstate *fs = fd_peek(fd);
    if (fs) {
        rg__store_rlx(&fs->kind, FD_KIND_UNKNOWN);
        rg__store_rlx(&fs->ep, 0);
    }
    rg__sys_close(fd);
}

/* The deadline for dir (IO_DIR_READ or IO_DIR_WRITE), 0: none. */
int64_t rg__fd_deadline(struct fdstate *fs, int dir)
{
    return rg__load_rlx(&fs->deadline[dir == IO_DIR_WRITE]);
}

/*
 * rg__fd_check: may a call in direction dir start on fs now? 0, or
 * -ETIMEDOUT past its deadline; while the fd is being closed, it first
 * waits for the close to end. The fast paths call it before trying the
 * syscall (Go checks deadlines before the read, too). fs may be NULL.
 * From a goroutine.
 */
int rg__fd_check(struct fdstate *fs, int dir)
{
    if (!fs)
        return 0;
    while (rg__load_rlx(&fs->closing))
        fd_wait_closed(fs);
    int64_t dl = dir ? rg__fd_deadline(fs, dir) : 0;
    if (dl && !rg__before(dl))
        return -ETIMEDOUT;
    return 0;
}

/* ---- registration ---- */

static int64_t min_deadline(int64_t a, int64_t b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    return a < b ? a : b;
}

/*
 * rg__fd_register: put op on fs's list before its SQE is queued.
 * -ETIMEDOUT if the fd's deadline for dir, or the call's own deadline
 * (*deadline, 0: none; on return, the linked timeout to submit with) has
 * passed. While the fd is being closed, it waits for the close to end
 * first. From a goroutine; no yield between its return and queueing the
 * SQE (op->m is the M whose ring gets it).
 */
int rg__fd_register(struct fdstate *fs, struct ioop *op, int dir,
                    int64_t *deadline)
{
    rg__lock(&fs->lock);
    while (rg__load_rlx(&fs->closing)) {
        rg__unlock(&fs->lock);
        fd_wait_closed(fs);
        rg__lock(&fs->lock);
    }
    int64_t dl = min_deadline(*deadline, dir ? rg__fd_deadline(fs, dir) : 0);
    if (dl && !rg__before(dl)) {
        rg__unlock(&fs->lock);
        return -ETIMEDOUT;
    }
    rg__fd_link_locked(fs, op, dir);
    if (rg__io_tune.deadline_link)
        *deadline = dl;
    op->deadline = *deadline;
    rg__unlock(&fs->lock);
    return 0;
}

/*
 * rg__fd_unregister: take op off fs's list after its final CQE. The last
 * op to leave a closing fd readies the closer: into ready if given (a
 * completion callback, maybe without a P), else with rg__ready.
 */
void rg__fd_unregister(struct fdstate *fs, struct ioop *op, struct gq *ready)
{
    rg__lock(&fs->lock);
    struct g *closer = rg__fd_unlink_locked(fs, op);
    rg__unlock(&fs->lock);
    if (closer) {
        if (ready)
            gq_push(ready, closer);
        else
            rg__ready(closer, false);
    }
}

/* ---- cross-ring cancel ---- */

/* The distinct Ms a call posted requests to, woken after the unlock. */
struct mset {
    struct m *m[MSET_MAX];
    int n;
    bool overflow;
};

static bool mset_add(struct mset *s, struct m *mp)
{
    for (int i = 0; i < s->n; i++)
        if (s->m[i] == mp)
            return false;
    if (s->n < MSET_MAX)
        s->m[s->n++] = mp;
    else
        s->overflow = true;
    return true;
}

/* Wake the Ms that got requests (the caller's own M polls its list at its
   next scheduling round). No fd lock held. */
static void mset_break(struct mset *s)
{
    struct m *self = getm();
    if (s->overflow) {
        /* Ms are never freed while the runtime runs; new ones are linked
           at the head, so the walk is safe without sched.lock. */
        rg__lock(&rg__sched.lock);
        struct m *first = rg__sched.allm;
        rg__unlock(&rg__sched.lock);
        for (struct m *mp = first; mp; mp = mp->alllink)
            if (mp != self)
                rg__poll_break(mp);
        return;
    }
    for (int i = 0; i < s->n; i++)
        if (s->m[i] != self)
            rg__poll_break(s->m[i]);
}

struct cancelreq {
    struct rg__pollreq r;
    int fd;
};

/*
 * cancel_scan: the work of a request posted by post_cancel_locked, run by
 * the ring's owner: queue an ASYNC_CANCEL (by user_data) for each of the
 * fd's ops on this ring that is marked and not yet cancelled. The
 * user_data values are collected under the lock and the SQEs queued after
 * it (queueing may flush and reap, and callbacks take fd locks); they are
 * submitted before any G runs on this M again, so a user_data cannot
 * meanwhile be reused by a new op on this ring.
 *
 * From a signal handler (insig, see "Stuck submissions" in poll_uring.c)
 * it must not wait or flush: it only try-locks, takes no more ops than the
 * SQ has room for, and returns false to be retried later.
 */
static bool cancel_scan(struct cancelreq *cr, bool insig)
{
    struct fdstate *fs = fd_peek(cr->fd);
    struct m *self = getm();
    if (!fs)
        return true;
    bool more;
    do {
        uint64_t ud[CANCEL_BATCH];
        unsigned n = 0, room = insig ? rg__poll_sq_room() : CANCEL_BATCH;
        if (room > CANCEL_BATCH)
            room = CANCEL_BATCH;
        more = false;
        if (!insig)
            rg__lock(&fs->lock);
        else if (!rg__trylock(&fs->lock))
            return false;
        for (struct ioop *op = fs->ops; op; op = op->next) {
            if (op->m != self || !op->cancel || op->cancel_sent)
                continue;
            if (n == room) {
                more = true;
                break;
            }
            op->cancel_sent = true;
            ud[n++] = (uint64_t)(uintptr_t)&op->pop;
        }
        rg__unlock(&fs->lock);
        for (unsigned i = 0; i < n; i++)
            io_uring_prep_cancel64(
                insig ? rg__poll_sqe_try() : rg__poll_sqe_nowait(), ud[i], 0);
        if (more && insig)
            return false;
    } while (more);
    return true;
}

static void cancel_run(struct rg__pollreq *r)
{
    cancel_scan((struct cancelreq *)r, false);
}

static bool cancel_try(struct rg__pollreq *r)
{
    return cancel_scan((struct cancelreq *)r, true);
}

/*
 * Mark op for cancelling (why) and post a request to its ring's owner,
 * once per M per call. fs->lock held; ms collects the Ms to wake. Under
 * the epoll backend the op is cancelled at once, its G going to woken.
 */
static void post_cancel_locked(struct fdstate *fs, struct ioop *op, int why,
                               struct mset *ms, struct gq *woken)
{
    int fd = fs->fd;
    if (rg__poll_readiness()) {
        rg__ep_cancel_locked(fs, op, why, woken);
        return;
    }
    op->cancel = (uint8_t)why;
    if (op->cancel_sent || !mset_add(ms, op->m))
        return;
    struct cancelreq *cr = rg__malloc(sizeof(*cr));
    if (!cr)
        rg__throw("post_cancel: out of memory");
    cr->r.fn = cancel_run;
    cr->r.sigfn = cancel_try;
    cr->fd = fd;
    rg__poll_post(op->m, &cr->r);
}

/*
 * rg__fd_cancel_locked: ask op's ring owner to cancel op (why), for ops
 * that are not waited on by rg__io_do (the multishot accept; io_uring
 * only). fs->lock held. Returns the M to wake with rg__poll_break after
 * the unlock, or NULL if no request was needed.
 */
struct m *rg__fd_cancel_locked(struct fdstate *fs, struct ioop *op, int why)
{
    struct mset ms = {0};
    post_cancel_locked(fs, op, why, &ms, NULL);
    return ms.n ? ms.m[0] : NULL;
}

/*
 * rg__fd_link_locked / rg__fd_unlink_locked: the list operations of
 * register/unregister for a caller that holds fs->lock already (the
 * multishot accept, armed and retired under it). unlink returns the
 * closer to wake, if op was the last one.
 */
void rg__fd_link_locked(struct fdstate *fs, struct ioop *op, int dir)
{
    op->cancel = CANCEL_NONE;
    op->cancel_sent = false;
    op->dir = (uint8_t)dir;
    op->deadline = 0;
    op->m = getm();
    op->prev = NULL;
    op->next = fs->ops;
    if (fs->ops)
        fs->ops->prev = op;
    fs->ops = op;
}

struct g *rg__fd_unlink_locked(struct fdstate *fs, struct ioop *op)
{
    struct g *closer = NULL;
    if (op->prev)
        op->prev->next = op->next;
    else
        fs->ops = op->next;
    if (op->next)
        op->next->prev = op->prev;
    if (!fs->ops && fs->closer) {
        closer = fs->closer;
        fs->closer = NULL;
    }
    return closer;
}

/* ---- the blocking path ---- */

/* Queue op's SQE (and its linked timeout) on this M's ring. */
static void io_queue(const struct iodesc *d, struct ioop *op, int64_t dl)
{
    op->pop.complete = NULL;
    if (dl)
        rg__poll_reserve(2);
    struct io_uring_sqe *sqe = rg__poll_sqe(&op->pop);
    io_uring_prep_rw(d->opcode, sqe, d->fd, d->addr, d->len, d->off);
    sqe->rw_flags = d->flags;
    sqe->ioprio = d->ioprio;
    if (dl) {
        sqe->flags |= IOSQE_IO_LINK;
        op->ts.tv_sec = dl / NS_PER_SEC;
        op->ts.tv_nsec = dl % NS_PER_SEC;
        /* The kernel reads ts when it prepares the SQE, at submit; op
           outlives that. Its CQE (-ETIME or -ECANCELED) is ignored. */
        io_uring_prep_link_timeout(rg__poll_sqe_nowait(), &op->ts,
                                   IORING_TIMEOUT_ABS);
    }
}

/*
 * rg__io_do: submit the operation d on this M's ring, park until its final
 * completion, and return its result. Applies the fd's deadline for d->dir
 * (see "Deadlines") and d->deadline (a linked timeout): -ETIMEDOUT once
 * either passes. An op interrupted by
 * rg_close returns -ECANCELED; one started while the fd is closing waits
 * for the close to end first (see "Close"). From a goroutine.
 */
ssize_t rg__io_do(const struct iodesc *d)
{
    if (rg__poll_readiness())
        return rg__ep_io_do(d);
    struct fdstate *fs = d->noreg ? NULL : rg__fd_get(d->fd);
    struct ioop op;
    for (;;) {
        int64_t dl = d->deadline;
        if (fs) {
            int rc = rg__fd_register(fs, &op, d->dir, &dl);
            if (rc < 0)
                return rc;
        } else if (dl && rg__nanotime() >= dl) {
            return -ETIMEDOUT;
        }
        io_queue(d, &op, dl);
        int32_t res = rg__pollop_wait(&op.pop, d->reason, d->fd);
        int why = CANCEL_NONE;
        if (fs) {
            why = op.cancel;
            rg__fd_unregister(fs, &op, NULL);
        }
        if (res != -ECANCELED && res != -EINTR)
            return res;
        if (why == CANCEL_CLOSE)
            return -ECANCELED;
        if (why == CANCEL_NONE && !dl)
            return res;
        /* The fd's deadline or the call's own timeout passed (or the
           deadline moved again since): the next round decides. */
    }
}

/* ---- deadlines ---- */

/*
 * deadline_cancel: cancel the ops of fs blocked in a direction whose
 * deadline has passed at now, and send parked multishot accepts back to
 * check theirs. Any context with a P; no fd lock held.
 */
static void deadline_cancel(struct fdstate *fs, int64_t now)
{
    struct mset ms = {0};
    struct gq woken = {0};
    int expired = 0;
    rg__lock(&fs->lock);
    for (int dir = IO_DIR_READ; dir <= IO_DIR_WRITE; dir++) {
        int64_t dl = rg__fd_deadline(fs, dir);
        if (dl && now >= dl)
            expired |= dir;
    }
    for (struct ioop *op = fs->ops; expired && op; op = op->next)
        if ((op->dir & expired) && !op->cancel)
            post_cancel_locked(fs, op, CANCEL_DEADLINE, &ms, &woken);
    if (expired & IO_DIR_READ)
        rg__acceptq_requeue_locked(fs, &woken);
    rg__unlock(&fs->lock);
    mset_break(&ms);
    rg__ready_list(&woken);
}

/*
 * deadline_arm: make fs's timer fire no later than the earliest deadline
 * after now (0: whatever is set). A deadline moved later leaves the timer
 * where it is (Go's "modified later"): it fires early, finds nothing
 * expired and re-arms, so pushing a deadline forward before every call
 * (the idle-timeout pattern) costs no timer operation. An earlier one
 * re-arms it; none left disarms it. Under tlock, never with fs->lock (see
 * "Deadlines"). From a goroutine or g0, holding a P.
 */
static void deadline_arm(struct fdstate *fs, int64_t now)
{
    rg__lock(&fs->tlock);
    /* acq: pairs with the store of pp in the timer heap; NULL once it
       fired (or is firing): it is ours to re-arm. */
    if (fs->twhen && !rg__load_acq(&fs->timer.pp))
        fs->twhen = 0;
    int64_t next = 0;
    for (int dir = IO_DIR_READ; dir <= IO_DIR_WRITE; dir++) {
        int64_t dl = rg__fd_deadline(fs, dir);
        if (dl > now)
            next = min_deadline(next, dl);
    }
    if (!fs->twhen || !next || next < fs->twhen) {
        if (fs->twhen)
            rg__timer_del(&fs->timer); /* false: it is firing; it finds
                                          nothing to do, or what we do */
        fs->twhen = next;
        if (next)
            rg__timer_add(&fs->timer, next);
    }
    rg__unlock(&fs->tlock);
}

/* fs's timer: a deadline passed. Runs on g0 of an M holding a P. */
static void deadline_fire(void *arg, uintptr_t seq)
{
    (void)seq;
    struct fdstate *fs = arg;
    int64_t now = rg__nanotime();
    deadline_cancel(fs, now);
    deadline_arm(fs, now);
}

int rg_set_deadline(int fd, int which, uint64_t abs_ns)
{
    if (!rg__io_in_goroutine())
        return -EPERM;
    if (fd < 0)
        return -EBADF;
    if (!which || (which & ~(RG_READ | RG_WRITE)))
        return -EINVAL;
    struct fdstate *fs = rg__fd_get(fd);
    if (!fs)
        return -ENOMEM;
    int64_t dl = abs_ns > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)abs_ns;
    struct gq woken = {0};
    rg__lock(&fs->lock);
    while (rg__load_rlx(&fs->closing)) {
        rg__unlock(&fs->lock);
        fd_wait_closed(fs);
        rg__lock(&fs->lock);
    }
    if (which & RG_READ)
        rg__store_rlx(&fs->deadline[0], dl);
    if (which & RG_WRITE)
        rg__store_rlx(&fs->deadline[1], dl);
    /* Parked multishot accepts do not see deadlines: send them back to
       rg_accept, which takes the single-shot path under one. */
    if ((which & RG_READ) && dl)
        rg__acceptq_requeue_locked(fs, &woken);
    rg__unlock(&fs->lock);
    rg__ready_list(&woken);
    int64_t now = rg__nanotime();
    if (dl && dl <= now)
        deadline_cancel(fs, now);
    deadline_arm(fs, now);
    return 0;
}

/* ---- rg_close ---- */

/* Start closing fs: 1 if ops must drain first, 0 if none, -EBADF if
   another rg_close is under way. */
static int close_begin(struct fdstate *fs, uint32_t *gen)
{
    struct mset ms = {0};
    struct gq woken = {0};
    rg__lock(&fs->lock);
    if (rg__load_rlx(&fs->closing)) {
        rg__unlock(&fs->lock);
        return -EBADF;
    }
    rg__store_rlx(&fs->closing, 1);
    *gen = fs->gen;
    for (struct ioop *op = fs->ops; op; op = op->next)
        post_cancel_locked(fs, op, CANCEL_CLOSE, &ms, &woken);
    int busy = fs->ops != NULL;
    rg__unlock(&fs->lock);
    mset_break(&ms);
    rg__ready_list(&woken);
    return busy;
}

/* park commit: sleep until the last op unregisters, unless it did. */
static bool drain_commit(struct g *gp, void *arg)
{
    struct fdstate *fs = arg;
    rg__lock(&fs->lock);
    bool wait = fs->ops != NULL;
    if (wait)
        fs->closer = gp;
    rg__unlock(&fs->lock);
    return wait;
}

int rg_close(int fd)
{
    if (!rg__io_in_goroutine())
        return -EPERM;
    if (fd < 0)
        return -EBADF;
    struct fdstate *fs = rg__fd_get(fd);
    uint32_t gen = 0;
    if (fs) {
        int rc = close_begin(fs, &gen);
        if (rc < 0)
            return rc;
        if (rc > 0)
            rg__park(drain_commit, fs, RG_WAIT_IO_DRAIN);
        rg__acceptq_close(fs);
    }
    struct iodesc d = {
        .opcode = IORING_OP_CLOSE,
        .noreg = true,
        .fd = fd,
        .reason = RG_WAIT_IO_CLOSE,
    };
    ssize_t res = rg__io_do(&d);
    if (fs) {
        struct gq woken = {0};
        rg__lock(&fs->lock);
        bool reset = fs->gen == gen; /* else rg__fd_fresh did it */
        if (reset)
            fd_reset_locked(fs, &woken);
        rg__unlock(&fs->lock);
        if (reset)
            deadline_arm(fs, 0);
        rg__ready_list(&woken);
    }
    return (int)res;
}

/* ---- runtime shutdown ---- */

/* Free the table. The runtime is stopped: no op is in flight. */
void rg__io_fini(void)
{
    for (int i = 0; i < TOP_SIZE; i++) {
        struct fdstate *c = rg__load_rlx(&fdtab[i]);
        if (!c)
            continue;
        for (int j = 0; j < CHUNK_SIZE; j++)
            if (c[j].acceptq)
                rg__acceptq_close(&c[j]);
        rg__free(c);
        rg__store_rlx(&fdtab[i], NULL);
    }
}
