/*
 * runtime/select.c: select over several channel operations (Go's
 * select.go), with an optional timeout.
 *
 * rg_select runs in passes, as Go's selectgo:
 *   1. Poll the cases in a random order, each under its own channel's
 *      lock only, and only those whose channel looks ready without the
 *      lock (the hints of the non-blocking fast paths in chan.c); run the
 *      first that can proceed and return. Usually one lock is taken.
 *      Each such attempt is a complete channel operation, so a poll that
 *      finds nothing is as good an answer as Go's locked poll: every
 *      case was not ready at the instant its channel was looked at.
 *   2. None can, and the caller may wait: lock every case's channel, in
 *      address order, each once (repeated channels are locked once: "lock
 *      order" below), and poll again, in the same order, now with all
 *      locks held; run the first that can proceed, unlock, return.
 *   3. Still none: queue one sudog per case on its channel's send or
 *      receive queue, arm the timeout timer, park. The park commit
 *      unlocks the channels ("Parking in select").
 *   4. Woken by a channel operation, a close or the timer: lock every
 *      channel again, remove the sudogs that did not win from their
 *      queues, unlock, and report the winner.
 *
 * Invariants:
 *  1. Lock order: channel locks are taken in increasing address order and
 *     a select holds no other runtime lock meanwhile, so two selects (or
 *     a select and a plain operation, which takes one lock) never
 *     deadlock.
 *  2. Nil channels take no part: they are never polled, locked or queued.
 *  3. A G blocked in select number gen has selectdone == gen (even) until
 *     exactly one waker moves it to gen + 1; only that waker readies the
 *     G and writes g->param (the winning sudog, or NULL for the timer).
 *  4. When rg_select returns, none of its sudogs is in any queue, and its
 *     timeout callback, if it ran, has returned.
 *
 * Select wakeups
 * ==============
 * The problem: a G blocked in select sits in several queues, and several
 * wakers (operations on different channels, closes, the timeout timer)
 * may find it at once, on different Ms; exactly one may complete a case
 * and ready the G. And the timer callback may run on another M after the
 * G has resumed and even started its next select.
 *
 * Rejected: a flag on the select's stack frame: the timer callback could
 * touch it after rg_select returned. A per-select lock: the callback
 * would still need to find it after the G moved on.
 *
 * The approach: the "done" word lives in struct g (selectdone), which
 * stays valid for the whole run, and carries a generation: each blocking
 * select takes the next even value gen; every sudog records gen (selgen)
 * and the timer carries it as its seq. A waker claims the G with a CAS
 * from gen to gen + 1 (chan.c's waitq_dequeue; the timer callback), so a
 * waker from an earlier select, or a second waker, fails the CAS and
 * leaves the G alone. Channel wakers hold the sudog's channel lock while
 * they CAS, so the G (which needs that lock to dequeue its sudogs) cannot
 * be gone meanwhile. The timer callback holds no lock; it touches only
 * selectdone, param and selecttimerfin, all in struct g. Its last act is
 * to store gen to selecttimerfin: a G whose timer_del fails (the timer
 * fired) waits for that store before returning, so the timer (g->timer)
 * is never rearmed while its callback still runs.
 *
 * Parking in select
 * =================
 * The commit runs on g0 with every channel still locked. It first arms
 * the timer (so the timer can never fire before the G is parked), then
 * unlocks the channels in lock order, reading the next channel before
 * dropping the previous one. The G may be readied as soon as the first
 * lock drops, but it must take every lock again in pass 4, so it waits
 * for the commit's last unlock: until then the commit may still read the
 * cases and the lock order on the G's stack, and after it, nothing.
 *
 * Waking a select
 * ===============
 * A goroutine matched in a plain send or receive is readied into runnext
 * (Go's goready): its partner usually blocks right after, and the pair
 * then runs back to back on one P. A goroutine woken in a select goes to
 * the tail of the run queue instead (rg__chan_wakenext). A select usually
 * multiplexes several producers: the waker is one of them, and others
 * are often runnable already. Run next, the select would find them not
 * yet blocked in their sends and block again at once, paying a full
 * lock-queue-park-relock cycle per value; queued behind them, it finds
 * them all waiting and takes several values with one lock each (pass 1).
 *
 * Locking: see chan.c. g->selectdone is written by the G before it
 * queues its sudogs (published by the channel locks), then only by CAS.
 */
#include "chan.h"
#include "alloc.h"
#include "../include/ringo.h"

#include <errno.h>

#define SELECT_MAX 65536 /* case indices fit in uint16_t */
#define SELECT_STACK 8   /* selects this small use no heap */

/* ---- random poll order ---- */

/* A random 32-bit value: the M's generator, or a per-thread one on
   threads that are not Ms (non-blocking selects from anywhere). */
static uint32_t sel_rand(void)
{
    static __thread uint64_t x;
    struct g *gp = rg__anyg();
    if (gp && gp->m)
        return rg__fastrand(gp->m);
    if (!x)
        x = ((uint64_t)(uintptr_t)&x ^ (uint64_t)rg__nanotime()) | 1;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return (uint32_t)(x >> 32);
}

/* ---- lock order ---- */

static inline uintptr_t chkey(const struct rg_case *cases, uint16_t i)
{
    return (uintptr_t)cases[i].ch;
}

static void heap_sift(const struct rg_case *cases, uint16_t *a, int i, int n)
{
    uint16_t x = a[i];
    for (;;) {
        int k = 2 * i + 1;
        if (k >= n)
            break;
        if (k + 1 < n && chkey(cases, a[k + 1]) > chkey(cases, a[k]))
            k++;
        if (chkey(cases, a[k]) <= chkey(cases, x))
            break;
        a[i] = a[k];
        i = k;
    }
    a[i] = x;
}

/* Sort a[0..n) by channel address: insertion sort when short, else a
   heapsort (no recursion, no allocation; Go sorts lockorder the same). */
static void sort_by_chan(const struct rg_case *cases, uint16_t *a, int n)
{
    if (n <= 16) {
        for (int i = 1; i < n; i++) {
            uint16_t x = a[i];
            int j = i;
            for (; j > 0 && chkey(cases, a[j - 1]) > chkey(cases, x); j--)
                a[j] = a[j - 1];
            a[j] = x;
        }
        return;
    }
    for (int i = n / 2 - 1; i >= 0; i--)
        heap_sift(cases, a, i, n);
    for (int end = n - 1; end > 0; end--) {
        uint16_t t = a[0];
        a[0] = a[end];
        a[end] = t;
        heap_sift(cases, a, 0, end);
    }
}

/*
 * sel_pollorder: a uniformly random permutation of the cases that have a
 * channel (inside-out Fisher-Yates). Returns their number. Each index in
 * [0, k) is a multiply-shift of 16 random bits, so one draw serves two
 * swaps (bias below k / 2^16: invisible next to select's other noise);
 * past 256 cases, 32 bits per swap.
 */
static int sel_pollorder(const struct rg_case *cases, int n,
                         uint16_t *pollorder)
{
    int np = 0;
    uint32_t r = 0, bits = 0;
    for (int i = 0; i < n; i++) {
        if (!cases[i].ch)
            continue;
        uint32_t j;
        if (np > 255) {
            j = (uint32_t)(((uint64_t)sel_rand() * (uint32_t)(np + 1)) >> 32);
        } else {
            if (bits == 0) {
                r = sel_rand();
                bits = 2;
            }
            j = ((r & 0xffff) * (uint32_t)(np + 1)) >> 16;
            r >>= 16;
            bits--;
        }
        pollorder[np] = pollorder[j];
        pollorder[j] = (uint16_t)i;
        np++;
    }
    return np;
}

/* sel_lockorder: the polled cases by channel address. */
static void sel_lockorder(const struct rg_case *cases,
                          const uint16_t *pollorder, uint16_t *lockorder,
                          int np)
{
    for (int i = 0; i < np; i++)
        lockorder[i] = pollorder[i];
    sort_by_chan(cases, lockorder, np);
}

static void sel_lock(const struct rg_case *cases, const uint16_t *lockorder,
                     int nl)
{
    struct rg_chan *last = NULL;
    for (int i = 0; i < nl; i++) {
        struct rg_chan *c = cases[lockorder[i]].ch;
        if (c != last)
            rg__chan_lock(c);
        last = c;
    }
}

static void sel_unlock(const struct rg_case *cases, const uint16_t *lockorder,
                       int nl)
{
    for (int i = nl - 1; i >= 0; i--) {
        struct rg_chan *c = cases[lockorder[i]].ch;
        if (i > 0 && c == cases[lockorder[i - 1]].ch)
            continue;
        rg__chan_unlock(c);
    }
}

/* ---- passes 1 and 2: poll ---- */

/* Could case cs proceed? A hint, read without the lock (see chan.h):
   empty then closed, as chan.c's fast paths. */
static bool sel_ready_hint(const struct rg_case *cs)
{
    struct rg_chan *c = cs->ch;
    if (cs->dir == RG_RECV)
        return !rg__chan_empty(c) || rg__load_acq(&c->closed);
    return rg__load_acq(&c->closed) || !rg__chan_full(c);
}

/*
 * Run case k if it can proceed now. Channels locked. Returns true when it
 * ran (or found its send channel closed: *rc = -EPIPE), with *wake set to
 * a G to ready after unlocking.
 */
static bool sel_try(struct rg_case *cs, int k, int *rc, struct g **wake,
                    bool *next)
{
    struct rg_chan *c = cs->ch;
    struct sudog *sg;
    *rc = k;
    if (cs->dir == RG_RECV) {
        if ((sg = rg__waitq_dequeue(&c->sendq))) {
            *wake = rg__chan_recvfrom(c, sg, cs->elem);
            *next = rg__chan_wakenext(sg);
        } else if (rg__load_rlx(&c->qcount) > 0)
            rg__chan_bufrecv(c, cs->elem);
        else if (rg__load_rlx(&c->closed)) {
            if (cs->elem && c->elemsize)
                memset(cs->elem, 0, c->elemsize);
            return true; /* ok stays 0 */
        } else
            return false;
    } else {
        if (rg__load_rlx(&c->closed)) {
            *rc = -EPIPE;
            return true;
        }
        if ((sg = rg__waitq_dequeue(&c->recvq))) {
            *wake = rg__chan_sendto(c, sg, cs->elem);
            *next = rg__chan_wakenext(sg);
        } else if (rg__load_rlx(&c->qcount) < c->cap)
            rg__chan_bufsend(c, cs->elem);
        else
            return false;
    }
    cs->ok = 1;
    return true;
}

/* Pass 1: try the cases that look ready, one channel lock at a time.
   Returns the case that ran (or -EPIPE), or -EAGAIN. */
static int sel_poll_each(struct rg_case *cases, const uint16_t *pollorder,
                         int np)
{
    for (int i = 0; i < np; i++) {
        int k = pollorder[i], rc;
        struct g *wake = NULL;
        bool next = true;
        if (!sel_ready_hint(&cases[k]))
            continue;
        struct rg_chan *c = cases[k].ch;
        rg__chan_lock(c);
        bool done = sel_try(&cases[k], k, &rc, &wake, &next);
        rg__chan_unlock(c);
        if (!done)
            continue;
        if (wake)
            rg__goready(wake, next);
        return rc;
    }
    return -EAGAIN;
}

/* Pass 2: poll in pollorder with every channel locked; on success unlock
   and return the case (or -EPIPE). Returns -EAGAIN, channels still
   locked, when none can proceed. */
static int sel_poll(struct rg_case *cases, const uint16_t *pollorder,
                    const uint16_t *lockorder, int nl)
{
    for (int i = 0; i < nl; i++) {
        int rc;
        struct g *wake = NULL;
        bool next = true;
        if (!sel_try(&cases[pollorder[i]], pollorder[i], &rc, &wake, &next))
            continue;
        sel_unlock(cases, lockorder, nl);
        if (wake)
            rg__goready(wake, next);
        return rc;
    }
    return -EAGAIN;
}

/* ---- passes 3 and 4: block ---- */

struct selpark {
    struct rg_case *cases;
    const uint16_t *lockorder;
    int nl;
    int64_t when; /* timeout deadline, 0: none */
};

/* Timeout: claim the G for this select (seq is its gen), then say the
   callback is done. See "Select wakeups". */
static void select_timeout(void *arg, uintptr_t seq)
{
    struct g *gp = arg;
    uint64_t gen = seq;
    /* acq_rel: pairs with the channel wakers' CAS in waitq_dequeue */
    if (rg__cas_acqrel(&gp->selectdone, &gen, (uint64_t)seq + 1)) {
        gp->param = NULL;
        rg__ready(gp, false);
    }
    /* rel: pairs with the acq in wait_timer_fin; our last access */
    rg__store_rel(&gp->selecttimerfin, (uint64_t)seq);
}

/* Park commit: arm the timer, then unlock. See "Parking in select". */
static bool select_commit(struct g *gp, void *arg)
{
    struct selpark *sp = arg;
    struct rg_case *cases = sp->cases;
    const uint16_t *lockorder = sp->lockorder;
    int nl = sp->nl;
    if (sp->when)
        rg__timer_add(&gp->timer, sp->when);
    struct rg_chan *last = NULL;
    for (int i = 0; i < nl; i++) {
        struct rg_chan *c = cases[lockorder[i]].ch;
        if (c == last)
            continue;
        if (last)
            rg__chan_unlock(last);
        last = c;
    }
    if (last)
        rg__chan_unlock(last); /* nothing of sp is read after this */
    return true;
}

/* The timer fired (timer_del failed): wait until its callback returned,
   so that g->timer may be armed again. It runs on another M and is short. */
static void wait_timer_fin(struct g *gp, uint64_t gen)
{
    /* acq: pairs with the rel store in select_timeout */
    for (int i = 0; rg__load_acq(&gp->selecttimerfin) != gen; i++) {
        if (i < 100)
            rg__cpu_relax();
        else
            rg_yield();
    }
}

/* Queue one sudog per live case; channels locked. */
static void sel_enqueue(struct rg_case *cases, const uint16_t *lockorder,
                        int nl, struct sudog *sgs, struct g *gp, uint64_t gen)
{
    for (int i = 0; i < nl; i++) {
        int k = lockorder[i];
        struct rg_chan *c = cases[k].ch;
        struct sudog *sg = &sgs[k];
        sg->g = gp;
        sg->elem = cases[k].elem;
        sg->c = c;
        sg->selgen = gen;
        sg->caseidx = k;
        sg->success = false;
        sg->prev = sg->next = NULL;
        rg__waitq_enqueue(cases[k].dir == RG_SEND ? &c->sendq : &c->recvq, sg);
    }
}

/* Pass 4: drop every sudog but the winner from its queue. */
static void sel_dequeue(struct rg_case *cases, const uint16_t *lockorder,
                        int nl, struct sudog *sgs, struct sudog *win)
{
    sel_lock(cases, lockorder, nl);
    for (int i = 0; i < nl; i++) {
        int k = lockorder[i];
        struct rg_chan *c = cases[k].ch;
        if (&sgs[k] != win)
            rg__waitq_remove(cases[k].dir == RG_SEND ? &c->sendq : &c->recvq,
                             &sgs[k]);
    }
    sel_unlock(cases, lockorder, nl);
}

/* Passes 3 and 4. The nl channels are locked; timeout_ns != 0. */
static int sel_block(struct rg_case *cases, int n, const uint16_t *lockorder,
                     int nl, struct sudog *sgs, struct g *gp,
                     int64_t timeout_ns)
{
    uint64_t gen = (rg__load_rlx(&gp->selectdone) | 1) + 1;
    rg__store_rlx(&gp->selectdone, gen); /* published by the unlocks */
    gp->param = NULL;
    sel_enqueue(cases, lockorder, nl, sgs, gp, gen);

    struct selpark sp = {cases, lockorder, nl, 0};
    if (timeout_ns > 0) {
        if (timeout_ns > INT64_MAX / 2)
            timeout_ns = INT64_MAX / 2;
        sp.when = rg__nanotime() + timeout_ns;
        gp->timer.f = select_timeout;
        gp->timer.arg = gp;
        gp->timer.seq = (uintptr_t)gen;
        gp->timer.idx = -1;
    }
    const char *why = n == 0 ? RG_WAIT_SELECT_NOCASES : RG_WAIT_SELECT;
    rg__park(select_commit, &sp, why);

    /* acq: the winner's CAS; param and the sudog are ours now */
    (void)rg__load_acq(&gp->selectdone);
    struct sudog *win = gp->param;
    gp->param = NULL;
    if (nl > 0)
        sel_dequeue(cases, lockorder, nl, sgs, win);
    if (sp.when && !rg__timer_del(&gp->timer))
        wait_timer_fin(gp, gen);
    if (!win)
        return -ETIMEDOUT;
    int k = win->caseidx;
    if (cases[k].dir == RG_SEND && !win->success)
        return -EPIPE;
    cases[k].ok = win->success;
    return k;
}

static int selectgo(struct rg_case *cases, int n, int64_t timeout_ns,
                    struct g *gp, uint16_t *order, struct sudog *sgs)
{
    uint16_t *pollorder = order, *lockorder = order + n;
    int nl = sel_pollorder(cases, n, pollorder);
    int rc = sel_poll_each(cases, pollorder, nl);
    if (rc != -EAGAIN || timeout_ns == 0)
        return rc;
    if (nl > 0) {
        sel_lockorder(cases, pollorder, lockorder, nl);
        sel_lock(cases, lockorder, nl);
        rc = sel_poll(cases, pollorder, lockorder, nl);
        if (rc != -EAGAIN)
            return rc;
    }
    return sel_block(cases, n, lockorder, nl, sgs, gp, timeout_ns);
}

/* Validate the cases and clear their ok. */
static int sel_check(struct rg_case *cases, int n)
{
    if (n < 0 || n > SELECT_MAX || (n > 0 && !cases))
        return -EINVAL;
    for (int i = 0; i < n; i++) {
        struct rg_case *cs = &cases[i];
        if (cs->dir == RG_SEND) {
            if (cs->ch && !cs->elem && cs->ch->elemsize)
                return -EINVAL;
        } else if (cs->dir != RG_RECV) {
            return -EINVAL;
        }
        cs->ok = 0;
    }
    return 0;
}

int rg_select(struct rg_case *cases, int n, int64_t timeout_ns)
{
    int rc = sel_check(cases, n);
    if (rc < 0)
        return rc;
    struct g *gp = NULL;
    if (timeout_ns != 0 && !(gp = rg__userg()))
        return -EPERM;
    if (n <= SELECT_STACK) {
        uint16_t order[2 * SELECT_STACK];
        struct sudog sgs[SELECT_STACK];
        return selectgo(cases, n, timeout_ns, gp, order, sgs);
    }
    /* Large selects: scratch on the heap (leaked if the G blocks until
       the runtime stops). Sudogs first, for their alignment. */
    size_t un = (size_t)n;
    struct sudog *sgs =
        rg__malloc(un * sizeof(struct sudog) + 2 * un * sizeof(uint16_t));
    if (!sgs)
        return -ENOMEM;
    rc = selectgo(cases, n, timeout_ns, gp, (uint16_t *)(sgs + un), sgs);
    rg__free(sgs);
    return rc;
}
