/*
 * runtime/sync.c: goroutine-level synchronization (Go's package sync):
 * mutex, reader/writer mutex, condition variable, wait group, once and
 * counting semaphore. Each is a few words (include/ringo.h); goroutines
 * that must wait sleep in the semaphore table (sema.c) under the address
 * of one of those words, so parking never blocks the M.
 *
 * Mutex fairness
 * ==============
 * (Go's sync.Mutex, with its state word: LOCKED, WOKEN, STARVING bits and
 * the waiter count above them.) In normal mode waiters queue FIFO, but a
 * woken waiter does not own the mutex: it competes with goroutines that
 * just arrived and are already running, which usually win; the loser
 * queues again at the front. Barging is what makes a mutex fast: one
 * goroutine can take it many times in a row while others wait. A waiter
 * that fails to get the mutex for over 1 ms (STARVATION_NS) switches it
 * to starvation mode: unlock hands the mutex directly to the first waiter
 * (the LOCKED bit stays clear until the waiter takes it) and yields to
 * it; arrivals neither take it nor spin, but queue at the tail. The
 * waiter that receives it switches back to normal mode if it is the last
 * waiter or waited less than 1 ms.
 *
 * Before queueing, a locker spins briefly (4 x 30 pauses) when that can
 * pay off: more than one P, another P running (the holder is probably
 * running), and nothing else runnable on our P. WOKEN tells unlock that a
 * spinner or a woken waiter is active, so it need not wake another.
 *
 * Invariants:
 *  1. Mutex: waiters (state >> WAITER_SHIFT) counts goroutines in or
 *     entering semacquire on m->sema; STARVING implies waiters > 0.
 *  2. RWMutex: readercount is the number of readers inside or waiting,
 *     minus RW_MAX_READERS while a writer holds or waits for the lock;
 *     readerwait is the number of readers the pending writer waits for.
 *  3. WaitGroup: state is counter << 32 | waiters; waiters is non-zero
 *     only while counter is (or was, until the last add resets state).
 *  4. Once: done is set (release) after fn returned, under o->m.
 *
 * Locking: these types have no lock of their own but the words' atomics;
 * the semaphore table's bucket locks protect the wait queues (sema.c).
 *
 * The public structs declare plain int32_t/uint32_t/uint64_t words (so
 * ringo.h is also valid C++); here they are accessed as the _Atomic types
 * of the same size and alignment, which are lock-free on every target.
 */
#include "sema.h"

#include "../include/ringo.h"

#include <errno.h>

#define MUTEX_LOCKED 1
#define MUTEX_WOKEN 2
#define MUTEX_STARVING 4
#define MUTEX_WAITER_SHIFT 3
/* 1 ms, as Go: long enough to keep normal mode's speed, short enough to
   bound a waiter's latency. */
#define STARVATION_NS 1000000
#define SPIN_ITERS 4   /* spins before queueing (Go's active_spin) */
#define SPIN_PAUSES 30 /* pauses per spin (Go's active_spin_cnt) */

#define RW_MAX_READERS (1 << 30)

#define A32(p) ((_Atomic int32_t *)(p))
#define AU32(p) ((_Atomic uint32_t *)(p))
#define AU64(p) ((_Atomic uint64_t *)(p))

_Static_assert(sizeof(_Atomic int32_t) == sizeof(int32_t) &&
                   _Alignof(_Atomic int32_t) == _Alignof(int32_t) &&
                   sizeof(_Atomic uint64_t) == sizeof(uint64_t) &&
                   _Alignof(_Atomic uint64_t) == _Alignof(uint64_t),
               "sync words must have the layout of their atomic types");

/* ---- mutex ---- */

/* Spinning pays off only while the holder is likely running. */
static bool can_spin(int iter)
{
    if (iter >= SPIN_ITERS)
        return false;
    int np = rg__sched.nprocs;
    if (np <= 1 || np <= rg__load_rlx(&rg__sched.npidle) +
                             rg__load_rlx(&rg__sched.nmspinning) + 1)
        return false;
    return rg__runq_empty(getg()->m->p);
}

static void do_spin(void)
{
    for (int i = 0; i < SPIN_PAUSES; i++)
        rg__cpu_relax();
}

/* After a waiter got the mutex handed over in starvation mode. */
static void mutex_take_handoff(_Atomic int32_t *st, int32_t old, bool starving)
{
    if ((old & (MUTEX_LOCKED | MUTEX_WOKEN)) ||
        (old >> MUTEX_WAITER_SHIFT) == 0)
        rg__throw("sync: inconsistent mutex state");
    int32_t delta = MUTEX_LOCKED - (1 << MUTEX_WAITER_SHIFT);
    if (!starving || (old >> MUTEX_WAITER_SHIFT) == 1)
        delta -= MUTEX_STARVING; /* back to normal mode */
    rg__add_acqrel(st, delta);
}

/* Go's lockSlow: spin, then queue on m->sema. See "Mutex fairness". */
static void mutex_lock_slow(rg_mutex *m, const char *reason)
{
    _Atomic int32_t *st = A32(&m->state);
    int64_t waitstart = 0;
    bool starving = false, awoke = false;
    int iter = 0;
    int32_t old = rg__load_rlx(st);
    for (;;) {
        if ((old & (MUTEX_LOCKED | MUTEX_STARVING)) == MUTEX_LOCKED &&
            can_spin(iter)) {
            /* Tell unlock not to wake anyone: we are about to take it. */
            if (!awoke && !(old & MUTEX_WOKEN) &&
                (old >> MUTEX_WAITER_SHIFT) != 0 &&
                rg__cas_acqrel(st, &old, old | MUTEX_WOKEN))
                awoke = true;
            do_spin();
            iter++;
            old = rg__load_rlx(st);
            continue;
        }
        int32_t nst = old;
        if (!(old & MUTEX_STARVING))
            nst |= MUTEX_LOCKED; /* arrivals never take a starving mutex */
        if (old & (MUTEX_LOCKED | MUTEX_STARVING))
            nst += 1 << MUTEX_WAITER_SHIFT;
        if (starving && (old & MUTEX_LOCKED))
            nst |= MUTEX_STARVING;
        if (awoke) {
            if (!(nst & MUTEX_WOKEN))
                rg__throw("sync: inconsistent mutex state");
            nst &= ~MUTEX_WOKEN;
        }
        /* acq_rel: acquires the mutex when LOCKED was clear */
        if (!rg__cas_acqrel(st, &old, nst))
            continue; /* old was reloaded */
        if (!(old & (MUTEX_LOCKED | MUTEX_STARVING)))
            return; /* locked it with the CAS */
        bool lifo = waitstart != 0;
        if (!waitstart)
            waitstart = rg__nanotime();
        rg__semacquire(AU32(&m->sema), lifo, reason);
        starving = starving || rg__nanotime() - waitstart > STARVATION_NS;
        old = rg__load_acq(st);
        if (old & MUTEX_STARVING) {
            mutex_take_handoff(st, old, starving);
            return;
        }
        awoke = true;
        iter = 0;
    }
}

/*
 * Fast path: one CAS when the mutex is free and not starving, whatever
 * the other bits say. Under contention those stay set (a woken waiter
 * queued behind a running goroutine keeps WOKEN set until it runs), so
 * a CAS from exactly 0, as Go's, would send every lock to the slow path.
 */
static inline int mutex_lock(rg_mutex *m, const char *reason)
{
    _Atomic int32_t *st = A32(&m->state);
    int32_t old = rg__load_rlx(st);
    /* acq: pairs with the release in rg_mutex_unlock */
    if (!(old & (MUTEX_LOCKED | MUTEX_STARVING)) &&
        rg__cas_acqrel(st, &old, old | MUTEX_LOCKED))
        return 0;
    mutex_lock_slow(m, reason);
    return 0;
}

int rg_mutex_lock(rg_mutex *m)
{
    if (!rg__userg())
        return -EPERM;
    return mutex_lock(m, RG_WAIT_MUTEX);
}

int rg_mutex_trylock(rg_mutex *m)
{
    _Atomic int32_t *st = A32(&m->state);
    int32_t old = rg__load_rlx(st);
    if (old & (MUTEX_LOCKED | MUTEX_STARVING))
        return -EBUSY;
    return rg__cas_acqrel(st, &old, old | MUTEX_LOCKED) ? 0 : -EBUSY;
}

/* Go's unlockSlow: nst is the state just after LOCKED was cleared. */
static void mutex_unlock_slow(rg_mutex *m, int32_t nst)
{
    _Atomic int32_t *st = A32(&m->state);
    if (nst & MUTEX_STARVING) {
        /* Hand off to the first waiter and yield to it. */
        rg__semrelease(AU32(&m->sema), true);
        return;
    }
    int32_t old = nst;
    for (;;) {
        /* No waiters, or someone is already awake (spinning or woken),
           or the mutex was taken again: nobody to wake. */
        if ((old >> MUTEX_WAITER_SHIFT) == 0 ||
            (old & (MUTEX_LOCKED | MUTEX_WOKEN | MUTEX_STARVING)))
            return;
        nst = (old - (1 << MUTEX_WAITER_SHIFT)) | MUTEX_WOKEN;
        if (rg__cas_acqrel(st, &old, nst)) {
            rg__semrelease(AU32(&m->sema), false);
            return;
        }
    }
}

/*
 * One atomic add, as Go's Unlock (a CAS from LOCKED would fail whenever
 * waiter bits are set, and cost a second atomic). Unlocking a mutex that
 * is not locked is caught by the load first, with no side effect; two
 * unlocks racing for one lock are caught after the add, and are fatal
 * as in Go: the state is corrupt by then.
 */
int rg_mutex_unlock(rg_mutex *m)
{
    _Atomic int32_t *st = A32(&m->state);
    if (!(rg__load_rlx(st) & MUTEX_LOCKED))
        return -EPERM;
    /* acq_rel: releases the critical section to the next locker */
    int32_t nst = rg__add_acqrel(st, -MUTEX_LOCKED) - MUTEX_LOCKED;
    if (nst == 0)
        return 0;
    if (!((nst + MUTEX_LOCKED) & MUTEX_LOCKED))
        rg__throw("sync: unlock of unlocked mutex");
    mutex_unlock_slow(m, nst);
    return 0;
}

/* ---- reader/writer mutex ---- */

int rg_rwmutex_rlock(rg_rwmutex *rw)
{
    if (!rg__userg())
        return -EPERM;
    /* acq_rel: pairs with the writer's add in rg_rwmutex_unlock */
    if (rg__add_acqrel(A32(&rw->readercount), 1) + 1 < 0)
        rg__semacquire(AU32(&rw->readersem), false, RG_WAIT_RWMUTEX_R);
    return 0;
}

int rg_rwmutex_runlock(rg_rwmutex *rw)
{
    _Atomic int32_t *rc = A32(&rw->readercount);
    int32_t r = rg__load_rlx(rc);
    do {
        if (r == 0 || r == -RW_MAX_READERS)
            return -EPERM; /* no reader inside */
    } while (!rg__cas_acqrel(rc, &r, r - 1));
    /* A writer is pending: the last reader it waits for wakes it. */
    if (r - 1 < 0 && rg__sub_acqrel(A32(&rw->readerwait), 1) == 1)
        rg__semrelease(AU32(&rw->writersem), false);
    return 0;
}

int rg_rwmutex_lock(rg_rwmutex *rw)
{
    if (!rg__userg())
        return -EPERM;
    mutex_lock(&rw->w, RG_WAIT_RWMUTEX_W); /* first, against writers */
    /* Announce the writer to arriving readers; r: readers inside. */
    int32_t r = rg__add_acqrel(A32(&rw->readercount), -RW_MAX_READERS);
    if (r != 0 && rg__add_acqrel(A32(&rw->readerwait), r) + r != 0)
        rg__semacquire(AU32(&rw->writersem), false, RG_WAIT_RWMUTEX_W);
    return 0;
}

int rg_rwmutex_unlock(rg_rwmutex *rw)
{
    _Atomic int32_t *rc = A32(&rw->readercount);
    int32_t r = rg__load_rlx(rc);
    do {
        if (r >= 0)
            return -EPERM; /* not write-locked */
    } while (!rg__cas_acqrel(rc, &r, r + RW_MAX_READERS));
    /* Let in the readers that arrived meanwhile, then other writers. */
    for (int32_t i = r + RW_MAX_READERS; i > 0; i--)
        rg__semrelease(AU32(&rw->readersem), false);
    return rg_mutex_unlock(&rw->w);
}

/* ---- condition variable ---- */

int rg_cond_wait(rg_cond *c, rg_mutex *m)
{
    if (!rg__userg())
        return -EPERM;
    if (!(rg__load_rlx(A32(&m->state)) & MUTEX_LOCKED))
        return -EPERM; /* the caller must hold m */
    uint32_t t = rg__notify_add(AU32(&c->wait));
    rg_mutex_unlock(m);
    rg__notify_wait(AU32(&c->wait), AU32(&c->notify), t);
    return mutex_lock(m, RG_WAIT_MUTEX);
}

int rg_cond_signal(rg_cond *c)
{
    rg__notify_one(AU32(&c->wait), AU32(&c->notify));
    return 0;
}

int rg_cond_broadcast(rg_cond *c)
{
    rg__notify_all(AU32(&c->wait), AU32(&c->notify));
    return 0;
}

/* ---- wait group ---- */

int rg_waitgroup_add(rg_waitgroup *wg, int delta)
{
    _Atomic uint64_t *st = AU64(&wg->state);
    uint64_t old = rg__load_rlx(st), nst;
    int64_t v;
    uint32_t w;
    do {
        v = (int64_t)(int32_t)(old >> 32) + delta;
        w = (uint32_t)old;
        if (v < 0)
            return -EINVAL; /* negative counter */
        if (v > INT32_MAX)
            return -EOVERFLOW;
        if (w != 0 && delta > 0 && v == delta)
            return -EINVAL; /* add from 0 while waiters are released */
        nst = (uint64_t)v << 32 | w;
        /* acq_rel: a done happens before the wait it releases */
    } while (!rg__cas_acqrel(st, &old, nst));
    if (v > 0 || w == 0)
        return 0;
    /* Counter hit 0 with waiters: nothing else may change state now (a
       Wait sees 0 and returns, an Add from 0 is refused above). */
    rg__store_rel(st, 0);
    for (; w > 0; w--)
        rg__semrelease(AU32(&wg->sema), false);
    return 0;
}

int rg_waitgroup_done(rg_waitgroup *wg)
{
    return rg_waitgroup_add(wg, -1);
}

int rg_waitgroup_wait(rg_waitgroup *wg)
{
    if (!rg__userg())
        return -EPERM;
    _Atomic uint64_t *st = AU64(&wg->state);
    uint64_t old = rg__load_acq(st); /* acq: pairs with add's CAS */
    for (;;) {
        if ((old >> 32) == 0)
            return 0;
        if (rg__cas_acqrel(st, &old, old + 1)) { /* one more waiter */
            rg__semacquire(AU32(&wg->sema), false, RG_WAIT_WAITGROUP);
            return 0;
        }
    }
}

/* ---- once ---- */

int rg_once_do(rg_once *o, void (*fn)(void *), void *arg)
{
    /* acq: pairs with the rel store below: fn's effects are visible */
    if (rg__load_acq(AU32(&o->done)))
        return 0;
    if (!rg__userg())
        return -EPERM;
    mutex_lock(&o->m, RG_WAIT_ONCE);
    if (!rg__load_rlx(AU32(&o->done))) {
        fn(arg);
        rg__store_rel(AU32(&o->done), 1);
    }
    rg_mutex_unlock(&o->m);
    return 0;
}

/* ---- semaphore ---- */

int rg_sema_acquire(rg_sema *s)
{
    if (!rg__userg())
        return -EPERM;
    rg__semacquire(AU32(&s->count), false, RG_WAIT_SEMA);
    return 0;
}

int rg_sema_release(rg_sema *s)
{
    rg__semrelease(AU32(&s->count), false);
    return 0;
}
