/*
 * runtime/chan.h: the channel structure and the operations chan.c lends
 * to select.c. See the invariants at the top of chan.c.
 */
#ifndef RINGO_RUNTIME_CHAN_H
#define RINGO_RUNTIME_CHAN_H

#include "wait.h"

#include <string.h>

/* A FIFO of sudogs; under the channel lock. first is also read without
   the lock by the non-blocking fast paths (a hint, relaxed). */
struct waitq {
    struct sudog *_Atomic first;
    struct sudog *last;
};

/* The first 64 bytes are all an unbuffered operation touches. */
struct rg_chan {
    _Atomic uint32_t lock;   /* see "Channel lock" in chan.c; protects
                                every field below but cap, elemsize and
                                buf, which never change */
    _Atomic uint32_t closed; /* 0 or 1; set under lock, read also without
                                it by the fast paths */
    uint32_t epoch;          /* rg__wait_epoch the queues belong to */
    uint32_t elemsize;
    _Atomic size_t qcount;   /* values in buf; written under lock, read
                                without it by the fast paths (a hint) */
    size_t cap;              /* buffer slots (Go's dataqsiz) */
    struct waitq recvq;      /* blocked receivers */
    struct waitq sendq;      /* blocked senders */
    size_t sendx;            /* next slot to fill */
    size_t recvx;            /* next slot to drain */
    char *buf;               /* cap * elemsize bytes, after the struct */
};

/* Copy a channel element: fixed sizes become plain moves. */
static inline void rg__elem_copy(void *dst, const void *src, size_t n)
{
    switch (n) {
    case 0:
        return;
    case 4:
        memcpy(dst, src, 4);
        return;
    case 8:
        memcpy(dst, src, 8);
        return;
    case 16:
        memcpy(dst, src, 16);
        return;
    default:
        memcpy(dst, src, n);
    }
}

static inline void *rg__chanbuf(struct rg_chan *c, size_t i)
{
    return c->buf + i * c->elemsize;
}

/* chan_full: would a send block, ignoring close? A hint, read without
   the lock; the acquire loads keep the fast paths' reads in program
   order. */
static inline bool rg__chan_full(struct rg_chan *c)
{
    if (c->cap == 0)
        return rg__load_acq(&c->recvq.first) == NULL;
    return rg__load_acq(&c->qcount) == c->cap;
}

/* chan_empty: would a receive block, ignoring close? (a hint) */
static inline bool rg__chan_empty(struct rg_chan *c)
{
    if (c->cap == 0)
        return rg__load_acq(&c->sendq.first) == NULL;
    return rg__load_acq(&c->qcount) == 0;
}

/* ---- the channel lock: see "Channel lock" in chan.c ---- */

void rg__chan_lock_slow(struct rg_chan *c);
void rg__chan_drop_stale(struct rg_chan *c);

static inline void rg__chan_lock(struct rg_chan *c)
{
    uint32_t z = 0;
    /* acq: pairs with the rel store in rg__chan_unlock */
    if (!__builtin_expect(rg__cas_acqrel(&c->lock, &z, 1), 1))
        rg__chan_lock_slow(c);
    /* See "Waiters outliving their runtime" in wait.h. */
    if (__builtin_expect(c->epoch != rg__load_rlx(&rg__wait_epoch), 0))
        rg__chan_drop_stale(c);
}

static inline void rg__chan_unlock(struct rg_chan *c)
{
    rg__store_rel(&c->lock, 0); /* rel: pairs with the acq in chan_lock */
}

/* ---- chan.c, for select.c; the channel lock is held ---- */
void rg__waitq_enqueue(struct waitq *q, struct sudog *sg);
struct sudog *rg__waitq_dequeue(struct waitq *q);
void rg__waitq_remove(struct waitq *q, struct sudog *sg);
struct g *rg__chan_sendto(struct rg_chan *c, struct sudog *sg,
                          const void *elem);
struct g *rg__chan_recvfrom(struct rg_chan *c, struct sudog *sg, void *elem);

/* chan_bufsend: append elem to c's buffer, which has room. Locked. */
static inline void rg__chan_bufsend(struct rg_chan *c, const void *elem)
{
    rg__elem_copy(rg__chanbuf(c, c->sendx), elem, c->elemsize);
    if (++c->sendx == c->cap)
        c->sendx = 0;
    rg__store_rlx(&c->qcount, rg__load_rlx(&c->qcount) + 1);
}

/* chan_bufrecv: take the oldest value of c's buffer, which has one.
   Locked. */
static inline void rg__chan_bufrecv(struct rg_chan *c, void *elem)
{
    if (elem)
        rg__elem_copy(elem, rg__chanbuf(c, c->recvx), c->elemsize);
    if (++c->recvx == c->cap)
        c->recvx = 0;
    rg__store_rlx(&c->qcount, rg__load_rlx(&c->qcount) - 1);
}

/*
 * chan_wakenext: should the G of sg, just matched, run next (runnext) or
 * queue at the tail? A plain send/recv partner runs next (Go's goready).
 * A G woken in a select queues: see "Waking a select" in select.c. Read
 * before readying the G (the sudog is on its stack).
 */
static inline bool rg__chan_wakenext(const struct sudog *sg)
{
    return sg->selgen == 0;
}

#endif
