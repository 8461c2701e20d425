/*
 * runtime/timer.c: per-P timer heaps (Go's time.go, simplified).
 *
 * Invariants:
 *  1. A timer is in at most one heap: t->pp says which (NULL: none), and
 *     t->idx its slot there. Both change only under that P's timerlock.
 *  2. pp->timer0when is the when of pp's heap root, or 0 for an empty heap;
 *     written under timerlock, read without it by anyone looking for the
 *     next deadline (schedule, the idle M choosing its sleep, the monitor).
 *  3. Expired timers are popped under timerlock and their functions run
 *     after it is dropped, on g0 of an M that holds a P (any P: an M that
 *     finds another P's timers expired runs them, which is how timers of
 *     an idle or busy P are "stolen" and never stranded).
 *  4. rg__timer_del returns true only if it removed the timer before it
 *     was popped; after false, f has run or is about to run.
 *
 * Who waits for the earliest timer: see "Idle Ms" in sched.c.
 */
#include "internal.h"

#include "alloc.h"

#define HEAP_ARITY 4

static void heap_set(struct p *pp, int i, struct rg_timer *t)
{
    pp->timers[i] = t;
    t->idx = i;
}

static void sift_up(struct p *pp, int i)
{
    struct rg_timer *t = pp->timers[i];
    while (i > 0) {
        int parent = (i - 1) / HEAP_ARITY;
        if (pp->timers[parent]->when <= t->when)
            break;
        heap_set(pp, i, pp->timers[parent]);
        i = parent;
    }
    heap_set(pp, i, t);
}

static void sift_down(struct p *pp, int i)
{
    struct rg_timer *t = pp->timers[i];
    int n = pp->ntimers;
    for (;;) {
        int c = i * HEAP_ARITY + 1;
        if (c >= n)
            break;
        int best = c;
        for (int k = c + 1; k < c + HEAP_ARITY && k < n; k++)
            if (pp->timers[k]->when < pp->timers[best]->when)
                best = k;
        if (pp->timers[best]->when >= t->when)
            break;
        heap_set(pp, i, pp->timers[best]);
        i = best;
    }
    heap_set(pp, i, t);
}

static void update_timer0(struct p *pp)
{
    rg__store_rel(&pp->timer0when, pp->ntimers ? pp->timers[0]->when : 0);
}

/* Remove the timer at slot i. timerlock held. */
static void heap_remove(struct p *pp, int i)
{
    struct rg_timer *t = pp->timers[i];
    int last = --pp->ntimers;
    if (i != last) {
        struct rg_timer *moved = pp->timers[last];
        heap_set(pp, i, moved);
        sift_down(pp, i);
        sift_up(pp, moved->idx);
    }
    t->idx = -1;
    rg__store_rlx(&t->pp, NULL);
}

/*
 * timer_add: arm t to fire at when, in the heap of the caller's P. The
 * caller holds a P and t is not armed. If the new timer is earlier than
 * what the sleeping timer M waits for, that M (or a new one) is woken so
 * it can shorten its sleep (Go's wakeNetPoller).
 */
void rg__timer_add(struct rg_timer *t, int64_t when)
{
    struct p *pp = getm()->p;
    rg__lock(&pp->timerlock);
    if (pp->ntimers == pp->captimers) {
        int cap = pp->captimers ? pp->captimers * 2 : 64;
        struct rg_timer **nt = rg__realloc(pp->timers, cap * sizeof(*nt));
        if (!nt)
            rg__throw("timer_add: out of memory");
        pp->timers = nt;
        pp->captimers = cap;
    }
    t->when = when;
    heap_set(pp, pp->ntimers++, t);
    sift_up(pp, t->idx);
    rg__store_rlx(&t->pp, pp);
    bool first = pp->timers[0] == t;
    if (first)
        update_timer0(pp);
    rg__unlock(&pp->timerlock);
    if (first)
        rg__timer_wake(when);
}

bool rg__timer_del(struct rg_timer *t)
{
    for (;;) {
        struct p *pp = rg__load_acq(&t->pp);
        if (!pp)
            return false;
        rg__lock(&pp->timerlock);
        if (rg__load_rlx(&t->pp) != pp) { /* moved or fired meanwhile */
            rg__unlock(&pp->timerlock);
            continue;
        }
        heap_remove(pp, t->idx);
        update_timer0(pp);
        rg__unlock(&pp->timerlock);
        return true;
    }
}

/*
 * timer_check: run pp's timers that expired at now. Returns the when of
 * the next timer (0: none). The caller holds a P (maybe not pp).
 */
int64_t rg__timer_check(struct p *pp, int64_t now, bool *ran)
{
    int64_t next = rg__load_acq(&pp->timer0when);
    if (next == 0 || next > now)
        return next;
    for (;;) {
        rg__lock(&pp->timerlock);
        if (pp->ntimers == 0 || pp->timers[0]->when > now) {
            next = pp->ntimers ? pp->timers[0]->when : 0;
            rg__unlock(&pp->timerlock);
            return next;
        }
        struct rg_timer *t = pp->timers[0];
        /* Copy the callback while the timer is still ours: once the lock
           is dropped its owner may re-arm or reuse it. */
        void (*f)(void *, uintptr_t) = t->f;
        void *arg = t->arg;
        uintptr_t seq = t->seq;
        heap_remove(pp, 0);
        update_timer0(pp);
        rg__unlock(&pp->timerlock);
        if (ran)
            *ran = true;
        f(arg, seq);
    }
}

/* Earliest timer over all Ps, 0 if none. Lock-free, may be stale. */
int64_t rg__timer_earliest(void)
{
    int64_t best = 0;
    for (int i = 0; i < rg__sched.nprocs; i++) {
        int64_t w = rg__load_acq(&rg__sched.allp[i].timer0when);
        if (w && (best == 0 || w < best))
            best = w;
    }
    return best;
}

/* Drop every timer of pp (runtime shutdown). */
void rg__timer_free(struct p *pp)
{
    for (int i = 0; i < pp->ntimers; i++) {
        pp->timers[i]->idx = -1;
        rg__store_rlx(&pp->timers[i]->pp, NULL);
    }
    rg__free(pp->timers);
    pp->timers = NULL;
    pp->ntimers = pp->captimers = 0;
    rg__store_rlx(&pp->timer0when, 0);
}
