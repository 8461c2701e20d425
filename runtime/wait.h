/*
 * runtime/wait.h: what the blocking primitives share: the waiter record
 * (sudog), the wait reasons they park with, and the helpers that find the
 * calling goroutine and wake another from any thread.
 *
 * A sudog stands for one goroutine waiting in one queue: a channel's send
 * or receive queue (chan.c, select.c) or a semaphore bucket (sema.c). A G
 * blocked in a select has one sudog per case, in several queues at once.
 * Sudogs live on the waiting G's stack: the party that wakes a G is done
 * with its sudog before it readies the G (it reads what it needs first),
 * and a select removes its other sudogs from their queues, under their
 * locks, before it returns.
 */
#ifndef RINGO_RUNTIME_WAIT_H
#define RINGO_RUNTIME_WAIT_H

#include "internal.h"

struct rg_chan;

struct sudog {
    /* Protected by the lock of the queue the sudog is on: the channel's
       lock, or the semaphore bucket's lock. */
    struct g *g;
    struct sudog *next;      /* queue links (channel queue; sema: the
                                bucket's list of address heads) */
    struct sudog *prev;      /* channel queue only */
    void *elem;              /* channel: data element, maybe on g's stack */

    /* Channels and select. Written by the waker that dequeued the sudog
       before it readies g; read by g after it resumes. */
    struct rg_chan *c;       /* channel the sudog waits on */
    uint64_t selgen;         /* 0: plain send/recv; else the select's gen
                                (see "Select wakeups" in select.c) */
    int caseidx;             /* select: index of the case */
    bool success;            /* true: a value was exchanged; false: the
                                channel was closed */

    /* Semaphores (sema.c), under the bucket lock. */
    void *addr;              /* the semaphore word (or rg_cond) */
    struct sudog *waitlink;  /* next waiter on the same addr */
    struct sudog *waittail;  /* head of an addr's list only: its last */
    uint32_t ticket;         /* sema: 1 when handed the unit directly;
                                cond: the waiter's ticket */
};

/* Wait reasons (shown in dumps and the deadlock report). Unique per
   park site, as Go's waitReason strings. */
#define RG_WAIT_CHAN_SEND "chan send"
#define RG_WAIT_CHAN_RECV "chan receive"
#define RG_WAIT_CHAN_SEND_NIL "chan send (nil chan)"
#define RG_WAIT_CHAN_RECV_NIL "chan receive (nil chan)"
#define RG_WAIT_SELECT "select"
#define RG_WAIT_SELECT_NOCASES "select (no cases)"
#define RG_WAIT_MUTEX "mutex"
#define RG_WAIT_RWMUTEX_R "rwmutex rlock"
#define RG_WAIT_RWMUTEX_W "rwmutex lock"
#define RG_WAIT_COND "cond"
#define RG_WAIT_WAITGROUP "waitgroup"
#define RG_WAIT_SEMA "sema"
#define RG_WAIT_ONCE "once"

/*
 * Waiters outliving their runtime. When rg_run returns, goroutines still
 * blocked are gone with their stacks, and so are their sudogs, while the
 * queues they sat in may live on: the semaphore table (static) and user
 * channels. rg__wait_reset (rg_run's teardown, no M running) empties the
 * table and bumps rg__wait_epoch; a channel remembers the epoch its
 * queues belong to and drops stale waiters the first time it is locked
 * in a later epoch (see chan.h). Sync objects keep their words: as
 * ringo.h says, re-initialise one that had waiters.
 */
extern _Atomic uint32_t rg__wait_epoch;
void rg__wait_reset(void);

/*
 * rg__anyg: the calling thread's G, or NULL on a thread that is not an M.
 * Safe before the first rg_run (getg() is not: its TLS offset is set by
 * rg_run).
 */
static inline struct g *rg__anyg(void)
{
    return rg__tls_goff ? getg() : NULL;
}

/* rg__userg: the calling goroutine, or NULL on g0 or outside the
   runtime (where blocking calls return -EPERM). */
static inline struct g *rg__userg(void)
{
    struct g *gp = rg__anyg();
    return gp && gp->m && gp != gp->m->g0 ? gp : NULL;
}

/* rg__goready_list: make the parked Gs of q runnable, from any thread:
   on the caller's P when it holds one, else via the global queue. */
static inline void rg__goready_list(struct gq *q)
{
    struct g *me = rg__anyg();
    if (me && me->m && me->m->p)
        rg__ready_list(q);
    else
        rg__inject_glist(q);
}

/*
 * rg__goready: make one parked G runnable on the caller's P. With next it
 * goes to runnext and inherits the time slice, so a woken partner runs
 * right after the waker parks (Go's goready); without, to the tail of the
 * queue. Any thread.
 */
static inline void rg__goready(struct g *gp, bool next)
{
    struct g *me = rg__anyg();
    if (me && me->m && me->m->p) {
        rg__ready(gp, next);
    } else {
        struct gq q = {0};
        gq_push(&q, gp);
        rg__inject_glist(&q);
    }
}

#endif
