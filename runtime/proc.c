/*
 * runtime/proc.c: goroutine lifecycle: creation (newproc), exit (goexit),
 * the free-G cache, yield, and the mcall wrapper.
 *
 * Invariants:
 *  1. A G's stack and its struct g are allocated together and never
 *     separated (stack.c puts the g at the top of its stack block). A dead
 *     G keeps its stack and sits on a free list, so spawning in steady
 *     state is a free-list pop, with no syscall and no allocation.
 *  2. Free lists: each P caches up to GFREE_MAX dead Gs (owner only); past
 *     that it moves half, as one batch, to the global list of batches
 *     (sched.gflock). A P whose cache is empty takes a whole batch before
 *     mapping new stacks. Batches move in O(1): Gs freed on one P and
 *     reused on another are not walked under the lock.
 *  3. Goroutine ids come from sched.goidgen in batches of GOID_BATCH per
 *     P, so rg_go touches no shared cache line in steady state.
 *  4. Every G ever created stays on sched.allg until the runtime stops.
 */
#include "internal.h"
#include "../include/ringo.h"

#include <errno.h>
#include <sched.h>

#define GFREE_MAX 64
#define GOID_BATCH 16

/*
 * Status changes. The G's owner makes them (see the table in internal.h),
 * so a release store is enough; debug builds check the expected state.
 */
void rg__casgstatus(struct g *gp, uint32_t from, uint32_t to)
{
#ifdef RG_DEBUG
    uint32_t old = rg__load_rlx(&gp->status);
    if (old != from)
        rg__throw("casgstatus: bad G status");
#else
    (void)from;
#endif
    rg__store_rel(&gp->status, to); /* rel: pairs with acq in dumps */
}

/*
 * rg__mcallg (Go's mcall): switch from the running G to g0 and run fn(g)
 * there. fn must not return (it ends in schedule() or execute()). It
 * returns in the G when some M resumes it with gogo, possibly on another
 * thread: nothing read from thread-local storage before the call is valid
 * after it.
 */
#ifdef RG_SANITIZE
/* In sanitizer builds g0 is entered through here, to finish the switch
   (see debug.h) before running the mcall function. */
static void mcall_san(void *arg)
{
    struct g *gp = arg;
    struct m *mp = gp->m;
    void (*fn)(struct g *) = mp->mcallfn;
    rg__san_switch_end(mp->g0);
    fn(gp);
}
#endif

static inline void mcall_switch(struct g *gp, void (*fn)(struct g *),
                                int dies)
{
    struct g *g0 = gp->m->g0;
    setg(g0);
    rg__san_switch_begin(gp, g0, dies);
#ifdef RG_SANITIZE
    gp->m->mcallfn = fn;
    rg__mcall(&gp->sched, g0->sched.sp, mcall_san, gp);
#else
    rg__mcall(&gp->sched, g0->sched.sp, (void (*)(void *))fn, gp);
#endif
}

void rg__mcallg(void (*fn)(struct g *))
{
    struct g *gp = getg();
    mcall_switch(gp, fn, 0);
    rg__san_switch_end(gp);
}

/* ---- free Gs ---- */

static void gfput(struct p *pp, struct g *gp)
{
    gp->schedlink = pp->gfree;
    pp->gfree = gp;
    if (++pp->gfreecnt < GFREE_MAX)
        return;
    /* Move the older half to the global list as one batch: cut the local
       list after GFREE_MAX/2 (recently freed, cache-hot) Gs. */
    struct g *last = pp->gfree;
    for (int i = 1; i < GFREE_MAX / 2; i++)
        last = last->schedlink;
    struct g *batch = last->schedlink;
    last->schedlink = NULL;
    pp->gfreecnt = GFREE_MAX / 2;
    batch->gfbatchn = GFREE_MAX / 2;
    rg__lock(&rg__sched.gflock);
    batch->gfbatch = rg__sched.gfree;
    rg__sched.gfree = batch;
    rg__add_rlx(&rg__sched.ngfree, GFREE_MAX / 2);
    rg__unlock(&rg__sched.gflock);
}

static struct g *gfget(struct p *pp)
{
    if (!pp->gfree && rg__load_rlx(&rg__sched.ngfree) > 0) {
        /* Take one whole batch: O(1) under the lock, no walk over Gs
           that were freed (and are cache-hot) on another P. */
        rg__lock(&rg__sched.gflock);
        struct g *batch = rg__sched.gfree;
        if (batch) {
            rg__sched.gfree = batch->gfbatch;
            rg__add_rlx(&rg__sched.ngfree, -batch->gfbatchn);
            pp->gfree = batch;
            pp->gfreecnt = batch->gfbatchn;
        }
        rg__unlock(&rg__sched.gflock);
    }
    struct g *gp = pp->gfree;
    if (gp) {
        pp->gfree = gp->schedlink;
        pp->gfreecnt--;
        if (pp->gfree)
            __builtin_prefetch(pp->gfree, 1);
    }
    return gp;
}

static uint64_t newgoid(struct p *pp)
{
    if (pp->goidcache == pp->goidcacheend) {
        pp->goidcache = rg__add_rlx(&rg__sched.goidgen, GOID_BATCH) + 1;
        pp->goidcacheend = pp->goidcache + GOID_BATCH;
    }
    return pp->goidcache++;
}

/* Make gp (fresh or from a free list) ready to start fn(arg). */
static void ginit(struct g *gp, uint64_t goid, void (*fn)(void *), void *arg,
                  uint64_t parent, void *pc)
{
    gp->goid = goid;
    gp->fn = fn;
    gp->arg = arg;
    gp->parent_goid = parent;
    gp->gopc = pc;
    gp->waitreason = NULL;
    gp->waitfd = -1;
    gp->param = NULL;
    gp->m = NULL;
    rg__san_g_create(gp);
#ifdef RG_SANITIZE
    rg__ctx_make(&gp->sched, (void *)gp->stack_hi, rg__san_gentry, gp);
#else
    rg__ctx_make(&gp->sched, (void *)gp->stack_hi, fn, arg);
#endif
}

/*
 * newproc: create a runnable G that will call fn(arg), and queue it in
 * runnext of the caller's P. Runs on a G or g0 of an M that holds a P.
 * Returns the new G, or NULL with *err set to -ENOMEM.
 */
struct g *rg__newproc(void (*fn)(void *), void *arg, void *callerpc, int *err)
{
    struct g *self = getg();
    struct m *mp = self->m;
    struct p *pp = mp->p;
    struct g *gp = gfget(pp);
    if (!gp) {
        int rc = rg__stack_alloc(&gp);
        if (rc < 0) {
            *err = rc;
            return NULL;
        }
    }
    ginit(gp, newgoid(pp), fn, arg, mp->curg ? mp->curg->goid : 0, callerpc);
    rg__store_rlx(&pp->ngcreated, rg__load_rlx(&pp->ngcreated) + 1);
    rg__store_rel(&gp->status, G_RUNNABLE); /* rel: the G is initialised */
    rg__runq_put(pp, gp, true);
    return gp;
}

/*
 * Foreign threads
 * ===============
 * A thread that is not one of the runtime's Ms may start goroutines while
 * a runtime runs (rg_go). It has no P: the G is made from the global free
 * list or a new stack, queued on the global run queue, and an idle P is
 * woken. foreign_refs counts foreign calls in progress; rg_run waits for
 * it to drop to zero before freeing anything, and a call that sees the
 * runtime stopping backs out with -EPERM.
 */
static _Atomic int foreign_refs;

static int go_foreign(void (*fn)(void *), void *arg, void *pc)
{
    rg__add_seq(&foreign_refs, 1);
    if (!rg__running() || rg__load_seq(&rg__sched.exiting)) {
        rg__sub_seq(&foreign_refs, 1);
        return -EPERM;
    }
    struct g *gp = NULL;
    rg__lock(&rg__sched.gflock);
    struct g *batch = rg__sched.gfree;
    if (batch) {
        /* take one G off the head batch */
        gp = batch;
        if (batch->gfbatchn > 1) {
            struct g *rest = batch->schedlink;
            rest->gfbatch = batch->gfbatch;
            rest->gfbatchn = batch->gfbatchn - 1;
            rg__sched.gfree = rest;
        } else {
            rg__sched.gfree = batch->gfbatch;
        }
        rg__add_rlx(&rg__sched.ngfree, -1);
    }
    rg__unlock(&rg__sched.gflock);
    int rc = 0;
    if (!gp)
        rc = rg__stack_alloc(&gp);
    if (rc == 0) {
        ginit(gp, rg__add_rlx(&rg__sched.goidgen, 1) + 1, fn, arg, 0, pc);
        rg__add_rlx(&rg__sched.ngforeign, 1);
        rg__store_rel(&gp->status, G_RUNNABLE);
        rg__lock(&rg__sched.lock);
        rg__globrunq_put(gp);
        rg__unlock(&rg__sched.lock);
        rg__wakep();
    }
    rg__sub_seq(&foreign_refs, 1);
    return rc;
}

void rg__foreign_quiesce(void)
{
    while (rg__load_seq(&foreign_refs) > 0)
        sched_yield();
}

int rg_go(void (*fn)(void *), void *arg)
{
    struct g *self = getg();
    if (!fn)
        return -EINVAL;
    if (!self)
        return go_foreign(fn, arg, __builtin_return_address(0));
    if (!self->m || self == self->m->g0)
        return -EPERM;
    int err = 0;
    struct p *pp = self->m->p;
    if (!rg__newproc(fn, arg, __builtin_return_address(0), &err))
        return err;
    rg__wakep();
    /* Back-pressure: a full run queue makes the spawner yield, so a spawn
       loop runs its goroutines (and recycles their stacks) as it goes. */
    if (rg__runq_len(pp) >= RUNQ_SIZE - 1)
        rg_yield();
    return 0;
}

/*
 * goexit1: the goroutine function returned (through rg__goexit). Switch
 * to g0 for good and free the G there.
 */
static void goexit0(struct g *gp)
{
    struct m *mp = getg()->m;
    rg__casgstatus(gp, G_RUNNING, G_DEAD);
    __atomic_store_n(&mp->curg, NULL, __ATOMIC_RELAXED); /* monitor reads */
    gp->m = NULL;
    gp->fn = NULL;
    gp->arg = NULL;
    gp->waitreason = NULL;
    rg__san_g_destroy(gp);
    struct p *pp = mp->p;
    rg__store_rlx(&pp->ngexited, rg__load_rlx(&pp->ngexited) + 1);
    uint64_t id = gp->goid;
    gfput(pp, gp);
    if (id == 1) /* main returned: stop the runtime */
        rg__stopall();
    rg__schedule();
}

void rg__goexit1(void)
{
    mcall_switch(getg(), goexit0, 1);
    __builtin_unreachable();
}

/* Gosched: put the G at the tail of its P's queue and reschedule. */
static void gosched_m(struct g *gp)
{
    struct m *mp = getg()->m;
    rg__casgstatus(gp, G_RUNNING, G_RUNNABLE);
    __atomic_store_n(&mp->curg, NULL, __ATOMIC_RELAXED); /* monitor reads */
    gp->m = NULL;
    rg__runq_put(mp->p, gp, false);
    rg__schedule();
}

void rg_yield(void)
{
    struct g *gp = getg();
    if (!gp || !gp->m || gp == gp->m->g0)
        return;
    rg__mcallg(gosched_m);
}

/* Goroutines alive: created minus exited, summed over Ps. Racy snapshot. */
uint64_t rg__goroutines(void)
{
    uint64_t created = rg__load_rlx(&rg__sched.ngforeign), exited = 0;
    for (int i = 0; i < rg__sched.nprocs; i++) {
        exited += rg__load_rlx(&rg__sched.allp[i].ngexited);
        created += rg__load_rlx(&rg__sched.allp[i].ngcreated);
    }
    return created > exited ? created - exited : 0;
}

uint64_t rg_id(void)
{
    struct g *gp = getg();
    if (!gp || !gp->m || gp == gp->m->g0)
        return 0;
    return gp->goid;
}
