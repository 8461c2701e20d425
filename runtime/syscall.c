/*
 * runtime/syscall.c: running blocking C calls on a goroutine without
 * stopping the others (Go's entersyscall / exitsyscall / handoffp).
 *
 * Blocking calls
 * ==============
 * rg_blocking(fn, arg) runs fn on the calling goroutine's own stack and
 * thread. Around it:
 *
 *   entersyscall: the G goes G_RUNNING -> G_SYSCALL; the M detaches from
 *     its P (m->p = NULL, m->oldp = P) and leaves the P in P_SYSCALL. This
 *     is a few stores: a call that returns quickly costs almost nothing.
 *   the monitor (sysmon.c) sees a P that stayed in P_SYSCALL over 20us
 *     (its syscalltick did not move), CASes it P_SYSCALL -> P_IDLE, and
 *     hands it off: to a new or idle M if it has work, else to the idle
 *     list (handoffp). Exactly one of the monitor and the returning M wins
 *     the CAS on the P's status.
 *   exitsyscall: fast path, CAS oldp P_SYSCALL -> P_RUNNING and continue
 *     on it. Else take any idle P. Else the G goes to the global queue and
 *     the M parks (stopm) as an idle M, reused by later handoffs.
 *
 * handoffp must start an M whenever findrunnable on that P would find a
 * G (local or global run queue, an expired or pending timer), as in Go:
 * otherwise work could sit on an idle P with no M.
 *
 * Ms created this way stay as idle Ms afterwards (parked on their rings)
 * and are reused; at most RG_MAX_MS Ms exist. At the cap, a retaken P
 * that has work goes to the idle list with it: the next M that looks for
 * work (or the blocked M, when its call returns) runs it.
 *
 * I/O of other goroutines that this M submitted keeps completing: its
 * ring's completions are posted by kernel task work, which interrupts
 * the blocked call transparently, and the monitor reaps them from the CQ
 * (see "Stranded work" in sysmon.c).
 */
#include "internal.h"
#include "../include/ringo.h"
#include "../io/poll.h"

#include <errno.h>

#define RG_MAX_MS 1024

static void entersyscall(struct g *gp)
{
    struct m *mp = gp->m;
    struct p *pp = mp->p;
    /* Submit what this M queued (the kernel must see it before the M
       blocks), and keep what already completed on this P. */
    if (rg__poll_ready(mp) != RG_POLL_IDLE) {
        struct gq q = {0};
        rg__poll(mp, 0, &q);
        rg__inject_local(pp, &q);
    }
    rg__casgstatus(gp, G_RUNNING, G_SYSCALL);
    gp->waitreason = "blocking call";
    rg__store_rlx(&pp->syscalltick, rg__load_rlx(&pp->syscalltick) + 1);
    mp->oldp = pp;
    pp->m = NULL;
    __atomic_store_n(&mp->p, NULL, __ATOMIC_RELAXED);
    /* seq_cst: the monitor's CAS on status pairs with this store */
    rg__store_seq(&pp->status, P_SYSCALL);
}

/* exitsyscall0: on g0, no P could be had: queue the G, park the M. */
static void exitsyscall0(struct g *gp)
{
    struct m *mp = getg()->m;
    rg__casgstatus(gp, G_SYSCALL, G_RUNNABLE);
    gp->waitreason = NULL;
    __atomic_store_n(&mp->curg, NULL, __ATOMIC_RELAXED); /* monitor reads */
    gp->m = NULL;
    rg__lock(&rg__sched.lock);
    struct p *pp = rg__pidleget();
    if (!pp)
        rg__globrunq_put(gp);
    rg__unlock(&rg__sched.lock);
    if (pp) {
        rg__acquirep(pp);
        rg__execute(gp, false);
    }
    rg__stopm(mp);
}

static void exitsyscall(struct g *gp)
{
    struct m *mp = gp->m;
    struct p *oldp = mp->oldp;
    mp->oldp = NULL;
    int expect = P_SYSCALL;
    if (rg__cas_seq(&oldp->status, &expect, P_RUNNING)) {
        /* fast path: nobody took the P */
        oldp->m = mp;
        __atomic_store_n(&mp->p, oldp, __ATOMIC_RELAXED);
        gp->waitreason = NULL;
        rg__casgstatus(gp, G_SYSCALL, G_RUNNING);
        return;
    }
    rg__lock(&rg__sched.lock);
    struct p *pp = rg__pidleget();
    rg__unlock(&rg__sched.lock);
    if (pp) {
        rg__acquirep(pp);
        gp->waitreason = NULL;
        rg__casgstatus(gp, G_SYSCALL, G_RUNNING);
        return;
    }
    rg__mcallg(exitsyscall0);
}

/*
 * handoffp: pp was taken from an M (blocked call, or the M stopped
 * holding it). Start an M on it if it has work, else make it idle.
 */
void rg__handoffp(struct p *pp)
{
    bool work = !rg__runq_empty(pp) ||
                rg__load_rlx(&rg__sched.runqsize) > 0 ||
                rg__load_rlx(&pp->timer0when) != 0;
    if (!work && rg__load_seq(&rg__sched.nmspinning) +
                         rg__load_seq(&rg__sched.npidle) == 0) {
        /* nobody is looking for work: this P spins for it */
        int zero = 0;
        if (rg__cas_seq(&rg__sched.nmspinning, &zero, 1)) {
            rg__startm(pp, true);
            return;
        }
    }
    if (work) {
        rg__lock(&rg__sched.lock);
        bool cap = rg__sched.mcount >= RG_MAX_MS && rg__sched.nmidle == 0;
        rg__unlock(&rg__sched.lock);
        if (!cap) {
            rg__startm(pp, false);
            return;
        }
    }
    rg__lock(&rg__sched.lock);
    rg__pidleput(pp);
    rg__unlock(&rg__sched.lock);
}

int rg_blocking(void (*fn)(void *), void *arg)
{
    struct g *gp = getg();
    if (!gp || !gp->m || gp == gp->m->g0)
        return -EPERM;
    if (!fn)
        return -EINVAL;
    entersyscall(gp);
    fn(arg);
    exitsyscall(getg());
    return 0;
}
