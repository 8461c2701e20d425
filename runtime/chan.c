/*
 * runtime/chan.c: channels (Go's chan.go): send, receive, their
 * non-blocking forms, close.
 *
 * A channel is a ring buffer of cap elements plus two wait queues of
 * sudogs: goroutines blocked sending (sendq) and receiving (recvq). A
 * value goes from sender to receiver by exactly one of three routes:
 *   - direct: a sender finds a receiver waiting and copies the value
 *     into the receiver's elem (on the receiver's stack, Go's sendDirect),
 *     or a receiver finds a sender waiting and copies from the sender's;
 *   - buffered: through buf, when no one waits on the other side;
 *   - both: a receiver of a full buffered channel with a sender waiting
 *     takes the oldest value from buf and moves the sender's into the
 *     slot it freed, so the order of values is kept.
 * Then the party that found the waiter readies it, after dropping the
 * channel lock ("wake after unlock", see runtime/park.c).
 *
 * Invariants:
 *  1. At least one of sendq and recvq is empty, except on an unbuffered
 *     channel with one goroutine blocked on it in a select with both a
 *     send and a receive case; then both queues may hold its sudogs, and
 *     only other goroutines match them.
 *  2. Buffered channels: qcount > 0 implies recvq is empty; qcount < cap
 *     implies sendq is empty.
 *  3. A closed channel has an empty sendq, and an empty recvq once its
 *     buffer is drained: close wakes every waiter, and nobody blocks on
 *     a closed channel.
 *  4. A sudog is in at most one queue, and a dequeued sudog is either
 *     matched (its g is readied, once) or, for a select whose g another
 *     waker already won, dropped: see "Select wakeups" in select.c.
 *
 * Locking: c->lock protects all of the channel's mutable state and the
 * sudogs in its queues. Never park or ready a G while holding it (the
 * park commit drops it, wakers ready after it). select.c holds several
 * channel locks at once, always in address order. The fast paths of the
 * non-blocking calls read closed, qcount and the queue heads without the
 * lock, as hints: a "would block" answer from them is one that was true
 * at some instant during the call (Go's chansend/chanrecv fast paths).
 *
 * Channel lock
 * ============
 * The problem: every channel operation takes the channel lock, and on
 * this hardware each full barrier (any locked instruction) costs several
 * ns, about what all the rest of an uncontended buffered send costs. The
 * runtime lock (rg_lock) takes one to lock and one more to unlock: the
 * unlock must exchange the word to learn whether a thread sleeps on it.
 *
 * Rejected: rg_lock (two barriers per operation: a cap-1024 channel then
 * spends most of its time in them). A lock-free ring for buffered
 * channels (one CAS per operation): the same barrier count as below, but
 * blocking, close and select must then close Dekker-style races with the
 * waiter queues, for no further gain.
 *
 * The approach: a test-and-test-and-set spinlock whose unlock is a plain
 * release store, so an operation costs one barrier. Its critical sections
 * are a few dozen instructions (plus one element copy; a blocking select
 * also arms its timer under them) and never park, so the holder is
 * running and a waiter spins briefly; only when the holder thread has
 * been preempted by the kernel (or is a thread outside the runtime using
 * the non-blocking calls) does a waiter fall back to sched_yield() to
 * let it run. Nobody sleeps on the word, so unlock needs no exchange.
 */
#include "chan.h"
#include "alloc.h"
#include "../include/ringo.h"

#include <errno.h>
#include <sched.h>
#include <stdint.h>

/* Polls (with a pause) before yielding the CPU: longer than any critical
   section here. */
#define CHANLOCK_SPIN 100

/* Contended lock: spin reading the word (no bus locking until it looks
   free), then yield the thread while the holder is descheduled. */
void rg__chan_lock_slow(struct rg_chan *c)
{
    for (int i = 0;; i++) {
        uint32_t z = 0;
        if (rg__load_rlx(&c->lock) == 0 && rg__cas_acqrel(&c->lock, &z, 1))
            return;
        if (i < CHANLOCK_SPIN)
            rg__cpu_relax();
        else
            sched_yield();
    }
}

/* Locked, first use in a new runtime: the waiters queued are gone. */
void rg__chan_drop_stale(struct rg_chan *c)
{
    rg__store_rlx(&c->recvq.first, NULL);
    rg__store_rlx(&c->sendq.first, NULL);
    c->recvq.last = c->sendq.last = NULL;
    c->epoch = rg__load_rlx(&rg__wait_epoch);
}

/* ---- wait queues (channel lock held) ---- */

void rg__waitq_enqueue(struct waitq *q, struct sudog *sg)
{
    sg->next = NULL;
    sg->prev = q->last;
    if (q->last)
        q->last->next = sg;
    else
        rg__store_rlx(&q->first, sg);
    q->last = sg;
}

/*
 * waitq_dequeue: pop the first sudog that can still be woken. A sudog of
 * a select counts only if this caller wins its G's selectdone CAS; a lost
 * one is dropped (its G removes the rest of its sudogs itself).
 */
struct sudog *rg__waitq_dequeue(struct waitq *q)
{
    for (;;) {
        struct sudog *sg = rg__load_rlx(&q->first);
        if (!sg)
            return NULL;
        struct sudog *y = sg->next;
        rg__store_rlx(&q->first, y);
        if (y)
            y->prev = NULL;
        else
            q->last = NULL;
        sg->next = NULL;
        if (sg->selgen) {
            uint64_t gen = sg->selgen;
            /* acq_rel: one winner; pairs with the CAS of other wakers and
               the timeout timer, and with the G's own store of gen */
            if (!rg__cas_acqrel(&sg->g->selectdone, &gen, gen + 1))
                continue;
        }
        return sg;
    }
}

/* waitq_remove: unlink sg if it is still queued (Go's dequeueSudoG). A
   sudog already popped has no links and is not first: nothing to do. */
void rg__waitq_remove(struct waitq *q, struct sudog *sg)
{
    struct sudog *x = sg->prev, *y = sg->next;
    if (x) {
        x->next = y;
        if (y)
            y->prev = x;
        else
            q->last = x;
        sg->next = sg->prev = NULL;
        return;
    }
    if (y) {
        y->prev = NULL;
        rg__store_rlx(&q->first, y);
        sg->next = NULL;
        return;
    }
    if (rg__load_rlx(&q->first) == sg) {
        rg__store_rlx(&q->first, NULL);
        q->last = NULL;
    }
}

/* ---- the transfers (channel lock held) ---- */

/*
 * chan_sendto: hand elem to the receiver sg, dequeued from c's recvq
 * (hence c's buffer is empty). Returns the G to ready once c is unlocked.
 */
struct g *rg__chan_sendto(struct rg_chan *c, struct sudog *sg, const void *elem)
{
    if (sg->elem)
        rg__elem_copy(sg->elem, elem, c->elemsize);
    struct g *gp = sg->g;
    sg->success = true;
    gp->param = sg;
    return gp;
}

/*
 * chan_recvfrom: take a value for elem from the sender sg, dequeued from
 * c's sendq. Unbuffered: straight from the sender. Buffered (so the
 * buffer is full): the oldest buffered value, and the sender's value
 * goes into the slot that freed. Returns the G to ready after unlock.
 */
struct g *rg__chan_recvfrom(struct rg_chan *c, struct sudog *sg, void *elem)
{
    if (c->cap == 0) {
        if (elem)
            rg__elem_copy(elem, sg->elem, c->elemsize);
    } else {
        void *slot = rg__chanbuf(c, c->recvx);
        if (elem)
            rg__elem_copy(elem, slot, c->elemsize);
        rg__elem_copy(slot, sg->elem, c->elemsize);
        if (++c->recvx == c->cap)
            c->recvx = 0;
        c->sendx = c->recvx;
    }
    struct g *gp = sg->g;
    sg->success = true;
    gp->param = sg;
    return gp;
}

/* ---- blocking ---- */

/* Park commit: the G is on c's queue; let wakers at it. */
static bool chan_commit(struct g *gp, void *arg)
{
    (void)gp;
    rg__chan_unlock(arg);
    return true;
}

static bool nil_commit(struct g *gp, void *arg)
{
    (void)gp, (void)arg;
    return true;
}

/* Block forever: an operation on a nil channel. Nothing can wake the G;
   it stays parked until the runtime stops (or reports the deadlock). */
static __attribute__((noreturn)) void block_forever(const char *reason)
{
    for (;;)
        rg__park(nil_commit, NULL, reason);
}

/*
 * chan_park: queue gp on q, waiting to exchange elem, and park until a
 * partner or close wakes it. c is locked; the commit unlocks it. Returns
 * true when a value was exchanged, false when c was closed. Out of line:
 * the sudog would cost the fast paths a larger frame.
 */
static __attribute__((noinline)) bool chan_park(struct rg_chan *c,
                                                struct waitq *q, struct g *gp,
                                                void *elem, const char *reason)
{
    struct sudog s = {.g = gp, .elem = elem, .c = c};
    rg__waitq_enqueue(q, &s);
    rg__park(chan_commit, c, reason);
    /* The waker wrote s before readying us: the run queue's release/
       acquire pair orders it before this read. */
    return s.success;
}

/* ---- send ---- */

/* chan_send: gp NULL means non-blocking. Returns 0, -EAGAIN, -EPIPE. */
static int chan_send(struct rg_chan *c, const void *elem, struct g *gp)
{
    /* Fast path: a non-blocking send on an open, full channel fails
       without the lock. closed is read first (acq: orders the read of
       full after it): a channel never reopens, so "open" then "full"
       means it was open and full at the instant of the second read. */
    if (!gp && !rg__load_acq(&c->closed) && rg__chan_full(c))
        return -EAGAIN;

    rg__chan_lock(c);
    if (rg__load_rlx(&c->closed)) {
        rg__chan_unlock(c);
        return -EPIPE;
    }
    struct sudog *sg = NULL;
    if (rg__load_rlx(&c->recvq.first))
        sg = rg__waitq_dequeue(&c->recvq);
    if (sg) {
        struct g *rg = rg__chan_sendto(c, sg, elem);
        bool next = rg__chan_wakenext(sg);
        rg__chan_unlock(c);
        rg__goready(rg, next);
        return 0;
    }
    if (rg__load_rlx(&c->qcount) < c->cap) {
        rg__chan_bufsend(c, elem);
        rg__chan_unlock(c);
        return 0;
    }
    if (!gp) {
        rg__chan_unlock(c);
        return -EAGAIN;
    }
    return chan_park(c, &c->sendq, gp, (void *)elem, RG_WAIT_CHAN_SEND)
               ? 0
               : -EPIPE;
}

int rg_chan_send(rg_chan *c, const void *elem)
{
    struct g *gp = rg__userg();
    if (!gp)
        return -EPERM;
    if (!c)
        block_forever(RG_WAIT_CHAN_SEND_NIL);
    if (!elem && c->elemsize)
        return -EINVAL;
    return chan_send(c, elem, gp);
}

int rg_chan_trysend(rg_chan *c, const void *elem)
{
    if (!c)
        return -EAGAIN;
    if (!elem && c->elemsize)
        return -EINVAL;
    return chan_send(c, elem, NULL);
}

/* ---- receive ---- */

static void elem_clear(struct rg_chan *c, void *elem)
{
    if (elem && c->elemsize)
        memset(elem, 0, c->elemsize);
}

/* chan_recv: gp NULL means non-blocking. Returns 1, 0 (closed), -EAGAIN. */
static int chan_recv(struct rg_chan *c, void *elem, struct g *gp)
{
    /* Fast path: empty, then closed, then empty again: an open and empty
       channel fails, a closed and drained one reports closed, both without
       the lock (Go's chanrecv; the second look catches a value sent just
       before the close). */
    if (!gp && rg__chan_empty(c)) {
        if (!rg__load_acq(&c->closed)) /* acq: pairs with close's rel */
            return -EAGAIN;
        if (rg__chan_empty(c)) {
            elem_clear(c, elem);
            return 0;
        }
    }

    rg__chan_lock(c);
    if (rg__load_rlx(&c->closed) && rg__load_rlx(&c->qcount) == 0) {
        rg__chan_unlock(c);
        elem_clear(c, elem);
        return 0;
    }
    struct sudog *sg = NULL;
    if (rg__load_rlx(&c->sendq.first))
        sg = rg__waitq_dequeue(&c->sendq);
    if (sg) {
        struct g *sgp = rg__chan_recvfrom(c, sg, elem);
        bool next = rg__chan_wakenext(sg);
        rg__chan_unlock(c);
        rg__goready(sgp, next);
        return 1;
    }
    if (rg__load_rlx(&c->qcount) > 0) {
        rg__chan_bufrecv(c, elem);
        rg__chan_unlock(c);
        return 1;
    }
    if (!gp) {
        rg__chan_unlock(c);
        return -EAGAIN;
    }
    return chan_park(c, &c->recvq, gp, elem, RG_WAIT_CHAN_RECV) ? 1 : 0;
}

int rg_chan_recv(rg_chan *c, void *elem)
{
    struct g *gp = rg__userg();
    if (!gp)
        return -EPERM;
    if (!c)
        block_forever(RG_WAIT_CHAN_RECV_NIL);
    return chan_recv(c, elem, gp);
}

int rg_chan_tryrecv(rg_chan *c, void *elem)
{
    if (!c)
        return -EAGAIN;
    return chan_recv(c, elem, NULL);
}

/* ---- close ---- */

/*
 * rg_chan_close: mark c closed and wake every waiter: receivers get a
 * zeroed elem and success false, senders success false (-EPIPE). The
 * woken Gs are collected under the lock and readied after it.
 */
int rg_chan_close(rg_chan *c)
{
    if (!c)
        return -EINVAL;
    struct gq q = {0};
    struct sudog *sg;
    rg__chan_lock(c);
    if (rg__load_rlx(&c->closed)) {
        rg__chan_unlock(c);
        return -EPIPE;
    }
    rg__store_rel(&c->closed, 1); /* rel: pairs with the fast paths' acq */
    while ((sg = rg__waitq_dequeue(&c->recvq))) {
        elem_clear(c, sg->elem);
        sg->success = false;
        sg->g->param = sg;
        gq_push(&q, sg->g);
    }
    while ((sg = rg__waitq_dequeue(&c->sendq))) {
        sg->success = false;
        sg->g->param = sg;
        gq_push(&q, sg->g);
    }
    rg__chan_unlock(c);
    rg__goready_list(&q);
    return 0;
}

/* ---- make, free, len, cap ---- */

/* The size is rounded up to 64 bytes: jemalloc then returns a block
   aligned to a cache line, so the header's hot line is one line. */
rg_chan *rg_chan_make(size_t elemsize, size_t cap)
{
    size_t hdr = (sizeof(struct rg_chan) + 63) & ~(size_t)63;
    if (elemsize > UINT32_MAX ||
        (elemsize && cap > (SIZE_MAX - hdr - 63) / elemsize))
        return NULL;
    size_t size = (hdr + elemsize * cap + 63) & ~(size_t)63;
    struct rg_chan *c = rg__calloc(1, size);
    if (!c)
        return NULL;
    c->elemsize = (uint32_t)elemsize;
    c->cap = cap;
    c->buf = (char *)c + hdr;
    c->epoch = rg__load_rlx(&rg__wait_epoch);
    return c;
}

void rg_chan_free(rg_chan *c)
{
    rg__free(c);
}

size_t rg_chan_len(rg_chan *c)
{
    return c ? rg__load_rlx(&c->qcount) : 0;
}

size_t rg_chan_cap(rg_chan *c)
{
    return c ? c->cap : 0;
}
