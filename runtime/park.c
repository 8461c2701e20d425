/*
 * runtime/park.c: the one way to block a goroutine and the one way to wake
 * it (Go's gopark/goready). Channels, sync, timers and io/ use nothing else.
 *
 * Parking protocol
 * ================
 * rg__park(commit, arg, reason) switches to g0 (mcall) and only then, with
 * the G's context fully saved and its status G_WAITING, calls
 * commit(g, arg). commit typically publishes the G in a wait queue and
 * drops the lock that protects it (Go's unlockf). If commit returns false
 * the G is resumed at once instead of sleeping.
 *
 * This ordering is what makes wakeups impossible to lose: a waker can only
 * find the G after commit has published it, and by then the G can be
 * resumed by any M. Parking before saving the context, or publishing
 * before parking, would let another M resume a half-saved G.
 *
 * rg__ready(g, next) makes a G_WAITING G runnable on the current P
 * (runnext when next is true, so a woken partner runs next and inherits
 * the time slice) and wakes an idle P if one should help. Called from a
 * thread with no P (a foreign thread), it queues the G globally.
 */
#include "internal.h"

static void park_m(struct g *gp)
{
    struct m *mp = getg()->m;
    rg__casgstatus(gp, G_RUNNING, G_WAITING);
    struct p *pp = mp->p;
    rg__store_rlx(&pp->npark, rg__load_rlx(&pp->npark) + 1);
    __atomic_store_n(&mp->curg, NULL, __ATOMIC_RELAXED); /* monitor reads */
    gp->m = NULL;
    bool (*commit)(struct g *, void *) = mp->waitcommit;
    if (commit) {
        void *arg = mp->waitarg;
        mp->waitcommit = NULL;
        mp->waitarg = NULL;
        if (!commit(gp, arg)) {
            rg__casgstatus(gp, G_WAITING, G_RUNNABLE);
            rg__execute(gp, true);
        }
    }
    rg__schedule();
}

void rg__park(bool (*commit)(struct g *, void *), void *arg,
              const char *reason)
{
    struct g *gp = getg();
    struct m *mp = gp->m;
    mp->waitcommit = commit;
    mp->waitarg = arg;
    gp->waitreason = reason;
    gp->waitsince = rg__load_rlx(&rg__sched.coarsenow);
    rg__mcallg(park_m);
}

void rg__ready(struct g *gp, bool next)
{
    struct g *self = getg();
    gp->waitreason = NULL;
    rg__casgstatus(gp, G_WAITING, G_RUNNABLE);
    if (!self || !self->m->p) {
        /* a foreign thread (rg_chan_trysend...) or an M without a P */
        rg__lock(&rg__sched.lock);
        rg__globrunq_put(gp);
        rg__unlock(&rg__sched.lock);
    } else {
        rg__runq_put(self->m->p, gp, next);
    }
    rg__wakep();
}

void rg__ready_list(struct gq *q)
{
    struct g *gp;
    while ((gp = gq_pop(q)))
        rg__ready(gp, false);
}
