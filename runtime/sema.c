/*
 * runtime/sema.c: the semaphore table (Go's sema.go): goroutines sleep
 * here keyed by the address of a word, so that the sync types (sync.c)
 * can be plain structs of words with no wait queue of their own.
 *
 * A semaphore is a uint32_t count anywhere in memory. semacquire takes a
 * unit if the count is positive, else queues a sudog (on its own stack)
 * under that address and parks; semrelease adds a unit and wakes the
 * first sudog queued under the address. Notify lists (rg_cond) queue
 * sudogs under the rg_cond's address the same way, tagged with tickets.
 *
 * The table is SEMTAB_SIZE buckets, each a lock and a list of the
 * addresses that have waiters in it: one "head" sudog per address
 * (linked by next), whose waitlink list holds that address's other
 * waiters in queue order (the head's waittail is the last). Go keeps the
 * heads in a treap; a bucket here holds few distinct addresses (they
 * spread over 251 buckets and only contended objects have waiters), so a
 * list is simpler and as fast.
 *
 * Invariants:
 *  1. A sudog is in at most one bucket, under its address's head; the
 *     heads of a bucket have distinct addresses.
 *  2. root->nwait >= the number of semaphore (not notify-list) waiters
 *     queued in the bucket. A waiter increments it before its last look
 *     at the count, a releaser adds to the count before it reads nwait
 *     (both seq_cst): so either the waiter sees the unit, or the releaser
 *     sees the waiter (Go's semrelease "fast path").
 *  3. A dequeued sudog's G is readied exactly once, by whoever dequeued
 *     it, after the bucket lock is dropped; the sudog (on the G's stack)
 *     is not touched after that.
 *  4. rg_cond's notify word changes only under its bucket's lock; wait
 *     only grows (atomic add). A waiter whose ticket is below notify has
 *     been woken (or will not sleep).
 *
 * Locking: root->lock protects the bucket's lists and the sudogs on them,
 * and notify words. Never park or ready a G while holding it.
 */
#include "sema.h"

#include "../include/ringo.h"

/* Buckets; prime, so addresses that differ by a power of two spread over
   all of them. */
#define SEMTAB_SIZE 251

struct semroot {
    rg_lock lock;
    _Atomic uint32_t nwait;     /* see invariant 2 */
    struct sudog *heads;        /* one per address with waiters */
} __attribute__((aligned(64))); /* one cache line per bucket */

static struct semroot semtable[SEMTAB_SIZE];

static struct semroot *semroot(void *addr)
{
    return &semtable[((uintptr_t)addr >> 3) % SEMTAB_SIZE];
}

/* Take a unit if there is one. seq load: see invariant 2. */
static bool cansemacquire(_Atomic uint32_t *addr)
{
    uint32_t v = rg__load_seq(addr);
    while (v != 0) {
        /* acq_rel: the unit's releaser happens before its taker */
        if (rg__cas_acqrel(addr, &v, v - 1))
            return true;
    }
    return false;
}

/* ---- a bucket's lists (root->lock held) ---- */

/* The link that points at addr's head (or the list's NULL end). */
static struct sudog **find_head(struct semroot *root, void *addr)
{
    struct sudog **pp = &root->heads;
    while (*pp && (*pp)->addr != addr)
        pp = &(*pp)->next;
    return pp;
}

/* Queue s under addr: at the tail, or at the head with lifo. */
static void sema_queue(struct semroot *root, void *addr, struct sudog *s,
                       bool lifo)
{
    s->addr = addr;
    s->next = s->waitlink = s->waittail = NULL;
    struct sudog **pp = find_head(root, addr);
    struct sudog *h = *pp;
    if (!h) {
        s->waittail = s;
        *pp = s;
    } else if (lifo) { /* s replaces h as the head */
        s->next = h->next;
        s->waitlink = h;
        s->waittail = h->waittail;
        h->next = h->waittail = NULL;
        *pp = s;
    } else {
        h->waittail->waitlink = s;
        h->waittail = s;
    }
}

/* Unlink s, found after prev (NULL: s is the head at *pp). */
static void sema_unlink(struct sudog **pp, struct sudog *prev, struct sudog *s)
{
    struct sudog *h = *pp;
    if (!prev) {
        struct sudog *t = s->waitlink;
        if (t) {
            t->next = s->next;
            t->waittail = s->waittail;
            *pp = t;
        } else {
            *pp = s->next;
        }
    } else {
        prev->waitlink = s->waitlink;
        if (h->waittail == s)
            h->waittail = prev;
    }
    s->next = s->waitlink = s->waittail = NULL;
}

/* Dequeue the first waiter on addr, or NULL. */
static struct sudog *sema_dequeue(struct semroot *root, void *addr)
{
    struct sudog **pp = find_head(root, addr);
    struct sudog *s = *pp;
    if (s)
        sema_unlink(pp, NULL, s);
    return s;
}

/* Dequeue the waiter on addr holding ticket t, or NULL. */
static struct sudog *sema_dequeue_ticket(struct semroot *root, void *addr,
                                         uint32_t t)
{
    struct sudog **pp = find_head(root, addr);
    struct sudog *prev = NULL;
    for (struct sudog *s = *pp; s; prev = s, s = s->waitlink) {
        if (s->ticket == t) {
            sema_unlink(pp, prev, s);
            return s;
        }
    }
    return NULL;
}

/* Park commit: the G is queued; drop the bucket lock. */
static bool root_commit(struct g *gp, void *arg)
{
    (void)gp;
    rg__unlock(arg);
    return true;
}

/* ---- semaphores ---- */

void rg__semacquire(_Atomic uint32_t *addr, bool lifo, const char *reason)
{
    if (cansemacquire(addr))
        return;
    struct semroot *root = semroot(addr);
    struct sudog s = {.g = getg()};
    for (;;) {
        rg__lock(&root->lock);
        rg__add_seq(&root->nwait, 1); /* seq: invariant 2 */
        if (cansemacquire(addr)) {
            rg__sub_seq(&root->nwait, 1);
            rg__unlock(&root->lock);
            return;
        }
        s.ticket = 0;
        sema_queue(root, addr, &s, lifo);
        rg__park(root_commit, &root->lock, reason);
        /* The releaser wrote ticket before readying us. */
        if (s.ticket != 0 || cansemacquire(addr))
            return;
    }
}

void rg__semrelease(_Atomic uint32_t *addr, bool handoff)
{
    struct semroot *root = semroot(addr);
    rg__add_seq(addr, 1); /* seq: invariant 2 */
    if (rg__load_seq(&root->nwait) == 0)
        return;
    rg__lock(&root->lock);
    struct sudog *s = NULL;
    if (rg__load_rlx(&root->nwait) != 0 && (s = sema_dequeue(root, addr)))
        rg__sub_seq(&root->nwait, 1);
    rg__unlock(&root->lock);
    if (!s)
        return;
    /* Direct handoff: take the unit on the waiter's behalf. */
    bool handed = handoff && cansemacquire(addr);
    if (handed)
        s->ticket = 1;
    rg__goready(s->g, true); /* s is not touched after this */
    if (handed && rg__userg())
        rg_yield(); /* the waiter is in runnext: let it run now */
}

/* ---- notify lists (rg_cond) ---- */

uint32_t rg__notify_add(_Atomic uint32_t *wait)
{
    return rg__add_seq(wait, 1);
}

static bool ticket_less(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) < 0;
}

void rg__notify_wait(_Atomic uint32_t *wait, _Atomic uint32_t *notify,
                     uint32_t ticket)
{
    struct semroot *root = semroot(wait);
    struct sudog s = {.g = getg(), .ticket = ticket};
    rg__lock(&root->lock);
    if (ticket_less(ticket, rg__load_rlx(notify))) {
        rg__unlock(&root->lock); /* notified before we got here */
        return;
    }
    sema_queue(root, wait, &s, false);
    rg__park(root_commit, &root->lock, RG_WAIT_COND);
}

void rg__notify_one(_Atomic uint32_t *wait, _Atomic uint32_t *notify)
{
    /* No waiter since the last notification: nothing to do, lock-free
       (seq: pairs with notify_add's increment). */
    if (rg__load_seq(wait) == rg__load_seq(notify))
        return;
    struct semroot *root = semroot(wait);
    rg__lock(&root->lock);
    uint32_t t = rg__load_rlx(notify);
    if (t == rg__load_seq(wait)) {
        rg__unlock(&root->lock);
        return;
    }
    rg__store_seq(notify, t + 1);
    /* The holder of ticket t may not be queued yet: it will then see
       notify > t in notify_wait and not sleep. */
    struct sudog *s = sema_dequeue_ticket(root, wait, t);
    rg__unlock(&root->lock);
    if (s)
        rg__goready(s->g, true);
}

void rg__notify_all(_Atomic uint32_t *wait, _Atomic uint32_t *notify)
{
    if (rg__load_seq(wait) == rg__load_seq(notify))
        return;
    struct semroot *root = semroot(wait);
    struct gq q = {0};
    rg__lock(&root->lock);
    rg__store_seq(notify, rg__load_seq(wait));
    struct sudog *s;
    while ((s = sema_dequeue(root, wait)))
        gq_push(&q, s->g);
    rg__unlock(&root->lock);
    rg__goready_list(&q);
}

_Atomic uint32_t rg__wait_epoch;

void rg__wait_reset(void)
{
    for (int i = 0; i < SEMTAB_SIZE; i++) {
        semtable[i].heads = NULL;
        rg__store_rlx(&semtable[i].nwait, 0);
        rg__store_rlx(&semtable[i].lock.key, 0);
    }
    rg__add_rlx(&rg__wait_epoch, 1); /* channels drop their waiters */
}
