/*
 * runtime/sched.c: the scheduler loop: schedule, findrunnable, execute,
 * and the protocol that starts and parks Ms (wakep, startm, idle_park).
 *
 * The loop
 * ========
 * Every M runs, on its g0 stack:
 *
 *   schedule -> execute(g) -> gogo -> g runs -> mcall(park/yield/exit) ->
 *   schedule ...
 *
 * schedule() looks for a G in this order (docs/design.md numbers it):
 *   1. flush this M's io_uring: submit queued SQEs, reap completions into
 *      the local run queue (cheap memory loads when there is nothing);
 *   2. run this P's expired timers (and every P's, when the monitor asks:
 *      a timer overdue on a P held by a goroutine that never yields);
 *   3. every 61st tick, one G from the global queue (fairness);
 *   4. runnext, then the local ring;
 *   5. findrunnable: global queue, the ring again (non-blocking), steal
 *      from other Ps (and run their expired timers), and finally drop the
 *      P and park the M on its ring (idle_park) until work comes.
 *
 * Spinning Ms
 * ===========
 * (Go's "Worker thread parking/unparking".) We must keep enough Ms running
 * to use the Ps, but parking and waking threads is expensive: on this
 * kind of VM a cross-CPU wakeup costs ~20us. The rule is: an M that looks
 * for work holding a P is "spinning" (m->spinning, counted in
 * sched.nmspinning). A submitter of new work (rg__ready, newproc, a timer,
 * an injected completion) calls wakep(), which starts an M only if there
 * is an idle P and no M is spinning already. A spinning M that finds work
 * stops spinning and calls wakep() (resetspinning), so wakeups chain one
 * at a time instead of stampeding.
 *
 * The race to avoid: a submitter puts work in a queue while the last
 * spinning M, having found nothing, is about to park. Both sides follow
 * the same order, with a full (StoreLoad) fence between the two steps:
 *   submitter:  (1) put the work in a queue, (2) fence, (3) check
 *               nmspinning == 0 && npidle > 0, and if so wakep();
 *   parking M:  (1) nmspinning-- (seq_cst), (2) fence, (3) recheck every
 *               P's run queue, and take a P back and spin if one has work.
 * Either the submitter sees the spinner, which will then see the work, or
 * the spinner sees the work. (wakep's atomics are seq_cst, which provides
 * the fence.)
 *
 * Idle Ms
 * =======
 * An M with no work releases its P to sched.pidle and parks on its own
 * io_uring (rg__poll with a timeout), sitting on sched.midle. It wakes for
 * three reasons, all rechecked under sched.lock:
 *   - startm handed it a P in m->nextp and sent a ring message: it runs.
 *   - a completion of I/O submitted earlier on this M arrived: it takes an
 *     idle P if there is one and runs the readied Gs; otherwise it pushes
 *     them to the global queue, where running Ms find them.
 *   - its timeout expired: exactly one idle M at a time, sched.timerm,
 *     sleeps with a timeout, until the earliest timer of any P
 *     (sched.pollUntil); the others sleep without one. A timer added
 *     earlier than pollUntil wakes the timer M to shorten its sleep, or
 *     wakes an M if there is none (rg__timer_wake). When the timer M
 *     times out it takes a P and runs the timers; with no idle P it gives
 *     up the role, since every P's M then passes through schedule(), which
 *     runs expired timers, or the monitor (sysmon.c) notices it does not.
 */
#include "internal.h"
#include "../io/poll.h"

#include <stdio.h>
#include <unistd.h>

struct sched rg__sched;

/* ---- P lists (sched.lock held) ---- */

struct p *rg__pidleget(void)
{
    struct p *pp = rg__sched.pidle;
    if (pp) {
        rg__sched.pidle = pp->link;
        rg__sub_seq(&rg__sched.npidle, 1);
    }
    return pp;
}

void rg__pidleput(struct p *pp)
{
    if (!rg__runq_empty(pp))
        rg__throw("pidleput: P has non-empty run queue");
    pp->status = P_IDLE;
    pp->link = rg__sched.pidle;
    rg__sched.pidle = pp;
    rg__add_seq(&rg__sched.npidle, 1);
}

void rg__acquirep(struct p *pp)
{
    struct m *mp = getm();
    if (mp->p || pp->m)
        rg__throw("acquirep: invalid P state");
    /* relaxed atomic: the monitor reads m->p to skip idle Ms */
    __atomic_store_n(&mp->p, pp, __ATOMIC_RELAXED);
    pp->m = mp;
    pp->status = P_RUNNING;
}

struct p *rg__releasep(void)
{
    struct m *mp = getm();
    struct p *pp = mp->p;
    pp->m = NULL;
    __atomic_store_n(&mp->p, NULL, __ATOMIC_RELAXED);
    return pp;
}

/* ---- M lists (sched.lock held) ---- */

static void mput(struct m *mp)
{
    mp->schedlink = rg__sched.midle;
    rg__sched.midle = mp;
    __atomic_store_n(&mp->idle, true, __ATOMIC_RELAXED); /* monitor reads */
    rg__sched.nmidle++;
}

static void mremove(struct m *mp)
{
    struct m **pp = &rg__sched.midle;
    while (*pp != mp)
        pp = &(*pp)->schedlink;
    *pp = mp->schedlink;
    __atomic_store_n(&mp->idle, false, __ATOMIC_RELAXED);
    rg__sched.nmidle--;
    if (rg__sched.timerm == mp) {
        rg__sched.timerm = NULL;
        rg__sched.pollUntil = 0;
    }
}

/* Take an idle M, preferring one that is not the timer M. */
static struct m *mget(void)
{
    struct m *mp = rg__sched.midle;
    if (mp && mp == rg__sched.timerm && mp->schedlink)
        mp = mp->schedlink;
    if (mp)
        mremove(mp);
    return mp;
}

/* ---- global run queue (sched.lock held) ---- */

void rg__globrunq_put(struct g *gp)
{
    gq_push(&rg__sched.runq, gp);
    rg__add_seq(&rg__sched.runqsize, 1);
}

void rg__globrunq_putbatch(struct gq *q)
{
    if (!q->n)
        return;
    if (rg__sched.runq.tail)
        rg__sched.runq.tail->schedlink = q->head;
    else
        rg__sched.runq.head = q->head;
    rg__sched.runq.tail = q->tail;
    rg__sched.runq.n += q->n;
    rg__add_seq(&rg__sched.runqsize, q->n);
    q->head = q->tail = NULL; /* q->held stays: see rg__poll_retire */
    q->n = 0;
}

/* Take a batch from the global queue into pp; return one G. max 0: no
   limit but half a ring. */
static struct g *globrunq_get(struct p *pp, int max)
{
    int size = rg__sched.runq.n;
    if (size == 0)
        return NULL;
    int n = size / rg__sched.nprocs + 1;
    if (n > size)
        n = size;
    if (max > 0 && n > max)
        n = max;
    if (n > RUNQ_SIZE / 2)
        n = RUNQ_SIZE / 2;
    rg__sub_seq(&rg__sched.runqsize, n);
    struct g *gp = gq_pop(&rg__sched.runq);
    while (--n > 0)
        rg__runq_put(pp, gq_pop(&rg__sched.runq), false);
    return gp;
}

/*
 * inject_glist: make the Gs of q runnable from a context that may hold no
 * P (an idle M's completions, the monitor): they go to the global queue,
 * and one idle P is started per G, at most.
 */
void rg__inject_glist(struct gq *q)
{
    int n = q->n;
    if (!n) {
        rg__poll_retire(q);
        return;
    }
    for (struct g *gp = q->head; gp; gp = gp->schedlink)
        rg__casgstatus(gp, G_WAITING, G_RUNNABLE);
    rg__lock(&rg__sched.lock);
    rg__globrunq_putbatch(q);
    rg__poll_retire(q); /* the Gs are visible: see "Idle Ms" */
    rg__unlock(&rg__sched.lock);
    while (n-- > 0 && rg__load_seq(&rg__sched.npidle) > 0)
        rg__startm(NULL, false);
}

/* ---- starting Ms ---- */

/*
 * startm: run pp (or an idle P if pp is NULL) on an idle M, or a new one.
 * With spinning, the caller incremented nmspinning for the new M, and the
 * M starts spinning; if no P is available, the increment is undone.
 */
void rg__startm(struct p *pp, bool spinning)
{
    rg__lock(&rg__sched.lock);
    if (!pp) {
        pp = rg__pidleget();
        if (!pp) {
            rg__unlock(&rg__sched.lock);
            if (spinning)
                rg__sub_seq(&rg__sched.nmspinning, 1);
            return;
        }
    }
    struct m *nm = mget();
    if (!nm) {
        /* Count the M before dropping the lock, so checkdead never sees
           "no M running" while it starts. */
        rg__sched.mcount++;
        rg__unlock(&rg__sched.lock);
        if (rg__newm(pp, spinning) < 0) {
            rg__lock(&rg__sched.lock);
            rg__sched.mcount--;
            rg__pidleput(pp);
            rg__unlock(&rg__sched.lock);
            if (spinning)
                rg__sub_seq(&rg__sched.nmspinning, 1);
        }
        return;
    }
    nm->spinning = spinning;
    nm->nextp = pp;
    rg__unlock(&rg__sched.lock);
    rg__poll_break(nm);
}

/*
 * wakep: start a spinning M on an idle P, unless an M is spinning already
 * (it will find the work and chain the next wakeup). See "Spinning Ms".
 */
void rg__wakep(void)
{
    if (rg__load_seq(&rg__sched.npidle) == 0)
        return;
    int zero = 0;
    if (rg__load_seq(&rg__sched.nmspinning) != 0 ||
        !rg__cas_seq(&rg__sched.nmspinning, &zero, 1))
        return;
    rg__startm(NULL, true);
}

static void resetspinning(struct m *mp)
{
    mp->spinning = false;
    rg__sub_seq(&rg__sched.nmspinning, 1);
    rg__wakep();
}

/* Called when a timer at when was armed: see "Idle Ms". */
void rg__timer_wake(int64_t when)
{
    struct m *tm = NULL;
    rg__lock(&rg__sched.lock);
    if (rg__sched.timerm && when < rg__sched.pollUntil) {
        tm = rg__sched.timerm;
        rg__sched.pollUntil = when;
    }
    bool none = rg__sched.timerm == NULL && rg__sched.nmidle > 0;
    rg__unlock(&rg__sched.lock);
    if (tm)
        rg__poll_break(tm);
    else if (none)
        rg__wakep();
}

/* ---- running a G ---- */

void rg__execute(struct g *gp, bool inherit)
{
    struct m *mp = getg()->m;
    __atomic_store_n(&mp->curg, gp, __ATOMIC_RELAXED); /* monitor reads */
    gp->m = mp;
    rg__casgstatus(gp, G_RUNNABLE, G_RUNNING);
    struct p *pp = mp->p;
    rg__store_rlx(&pp->nexec, rg__load_rlx(&pp->nexec) + 1);
    if (!inherit)
        rg__store_rlx(&pp->schedtick, rg__load_rlx(&pp->schedtick) + 1);
    setg(gp);
    rg__san_switch_begin(mp->g0, gp, 1);
    rg__gogo(&gp->sched);
}

/* Put the Gs readied by the poller on pp's queue. */
void rg__inject_local(struct p *pp, struct gq *q)
{
    struct g *gp;
    while ((gp = gq_pop(q))) {
        rg__casgstatus(gp, G_WAITING, G_RUNNABLE);
        rg__runq_put(pp, gp, false);
    }
}

/* Steal work from other Ps: 4 passes in random order; the last one also
   runs their expired timers and takes their runnext. */
static struct g *stealwork(struct m *mp, int64_t now, bool *inherit)
{
    struct p *pp = mp->p;
    int n = rg__sched.nprocs;
    for (int pass = 0; pass < 4; pass++) {
        bool last = pass == 3;
        uint32_t start = rg__fastrand(mp) % n;
        for (int k = 0; k < n; k++) {
            if (rg__load_rlx(&rg__sched.exiting))
                return NULL;
            struct p *victim = &rg__sched.allp[(start + k) % n];
            if (victim == pp)
                continue;
            if (last) {
                bool ran = false;
                rg__timer_check(victim, now, &ran);
                if (ran) {
                    struct g *gp = rg__runq_get(pp, inherit);
                    if (gp)
                        return gp;
                }
            }
            struct g *gp = rg__runq_steal(pp, victim, last);
            if (gp) {
                rg__store_rlx(&pp->nsteal, rg__load_rlx(&pp->nsteal) + 1);
                *inherit = false;
                return gp;
            }
        }
    }
    return NULL;
}

static inline void check_exiting(struct m *mp)
{
    if (__builtin_expect(rg__load_acq(&rg__sched.exiting) != 0, 0))
        rg__mexit(mp);
}

/*
 * idle_park: mp has no P and nothing to do.
 *
 * Gs readied by completions reaped here stay counted as I/O in flight
 * (q.held) until they sit in a run queue or this M holds a P: checkdead
 * (which needs every M idle, nothing runnable and no I/O in flight) must
 * never see the moment in between. Park on its ring until it is
 * handed a P, or it can take one to run readied Gs or due timers. See
 * "Idle Ms". Returns holding a P, or without one when the runtime exits.
 */
static void idle_park(struct m *mp)
{
    struct gq q = {0};
    bool gave_up = false; /* left the timer role: every P was busy */
    rg__lock(&rg__sched.lock);
    mput(mp);
    rg__checkdead();
    for (;;) {
        if (rg__load_rlx(&rg__sched.exiting)) {
            if (mp->idle)
                mremove(mp);
            rg__unlock(&rg__sched.lock);
            rg__inject_glist(&q);
            return;
        }
        int64_t timeout = -1;
        if (!gave_up && (!rg__sched.timerm || rg__sched.timerm == mp)) {
            int64_t until = rg__timer_earliest();
            if (until) {
                rg__sched.timerm = mp;
                rg__sched.pollUntil = until;
                int64_t now = rg__nanotime();
                timeout = until > now ? until - now : 0;
            } else if (rg__sched.timerm == mp) {
                rg__sched.timerm = NULL;
                rg__sched.pollUntil = 0;
            }
        }
        rg__unlock(&rg__sched.lock);

        if (timeout != 0) {
            rg__poll(mp, timeout, &q);
            gave_up = false;
        }

        rg__lock(&rg__sched.lock);
        if (mp->nextp) {
            struct p *pp = mp->nextp;
            mp->nextp = NULL;
            rg__unlock(&rg__sched.lock);
            rg__acquirep(pp);
            rg__inject_local(pp, &q);
            rg__poll_retire(&q);
            return;
        }
        bool due = rg__sched.timerm == mp &&
                   rg__nanotime() >= rg__sched.pollUntil;
        if (q.n > 0 || due) {
            struct p *pp = rg__pidleget();
            if (pp) {
                mremove(mp);
                rg__unlock(&rg__sched.lock);
                rg__acquirep(pp);
                if (q.n > 1)
                    rg__wakep();
                rg__inject_local(pp, &q);
                rg__poll_retire(&q);
                return;
            }
            if (due) {
                /* Every P is busy: their Ms run expired timers in
                   schedule(), and the monitor wakes an M for overdue ones.
                   Sleep without a timeout until something happens, rather
                   than spin on a deadline already passed. */
                rg__sched.timerm = NULL;
                rg__sched.pollUntil = 0;
                gave_up = true;
            }
            if (q.n > 0) {
                for (struct g *gp = q.head; gp; gp = gp->schedlink)
                    rg__casgstatus(gp, G_WAITING, G_RUNNABLE);
                rg__globrunq_putbatch(&q);
            }
        }
        rg__poll_retire(&q); /* under sched.lock: see "Idle Ms" */
    }
}

/*
 * stopm: park mp, which holds no P, until it gets one (idle_park), then
 * run the scheduler. For an M that lost its P during a blocking call.
 */
void rg__stopm(struct m *mp)
{
    idle_park(mp);
    if (!mp->p)
        check_exiting(mp);
    rg__schedule();
}

/*
 * findrunnable: find a G to run, stealing or parking as needed. Returns
 * holding a P. See the order at the top of this file.
 */
static struct g *findrunnable(struct m *mp, bool *inherit)
{
    struct gq q = {0};
    struct g *gp;
top:
    check_exiting(mp);
    struct p *pp = mp->p;
    int64_t now = rg__nanotime();
    rg__timer_check(pp, now, NULL);

    if ((gp = rg__runq_get(pp, inherit)))
        return gp;
    if (rg__load_rlx(&rg__sched.runqsize) > 0) {
        rg__lock(&rg__sched.lock);
        gp = globrunq_get(pp, 0);
        rg__unlock(&rg__sched.lock);
        if (gp) {
            *inherit = false;
            return gp;
        }
    }
    if (rg__poll(mp, 0, &q) > 0) {
        rg__inject_local(pp, &q);
        if ((gp = rg__runq_get(pp, inherit)))
            return gp;
    }

    int nprocs = rg__sched.nprocs;
    if (nprocs > 1 &&
        (mp->spinning || 2 * rg__load_seq(&rg__sched.nmspinning) <
                             nprocs - rg__load_seq(&rg__sched.npidle))) {
        if (!mp->spinning) {
            mp->spinning = true;
            rg__add_seq(&rg__sched.nmspinning, 1);
        }
        if ((gp = stealwork(mp, now, inherit)))
            return gp;
    }

    /* Nothing found: give up the P. */
    rg__lock(&rg__sched.lock);
    if (rg__load_rlx(&rg__sched.exiting)) {
        rg__unlock(&rg__sched.lock);
        goto top;
    }
    if (rg__sched.runq.n > 0) {
        gp = globrunq_get(pp, 0);
        rg__unlock(&rg__sched.lock);
        *inherit = false;
        return gp;
    }
    rg__releasep();
    rg__pidleput(pp);
    rg__unlock(&rg__sched.lock);

    if (mp->spinning) {
        /* See "Spinning Ms": decrement, then recheck every queue. */
        mp->spinning = false;
        rg__sub_seq(&rg__sched.nmspinning, 1);
        for (int i = 0; i < nprocs; i++) {
            if (rg__runq_empty(&rg__sched.allp[i]))
                continue;
            rg__lock(&rg__sched.lock);
            pp = rg__pidleget();
            rg__unlock(&rg__sched.lock);
            if (pp) {
                rg__acquirep(pp);
                mp->spinning = true;
                rg__add_seq(&rg__sched.nmspinning, 1);
                goto top;
            }
            break;
        }
    }

    idle_park(mp);
    if (!mp->p)
        check_exiting(mp);
    goto top;
}

/*
 * schedule: one round of the scheduler; never returns. Runs on g0 with
 * a P.
 */
void rg__schedule(void)
{
    struct m *mp = getg()->m;
    struct gq q = {0};
    struct g *gp = NULL;
    bool inherit = false;

    check_exiting(mp);
    struct p *pp = mp->p;
    /* single writer; the monitor only reads it */
    rg__store_rlx(&mp->schedtick, rg__load_rlx(&mp->schedtick) + 1);

    /* Batch submissions: enter the kernel (flush queued SQEs, run
       pending task work) only every 8th round, when nothing else is
       runnable, or when the poller says it must; reap completions already
       in memory whenever they are there. */
    uint32_t tick = rg__load_rlx(&pp->schedtick);
    int pr = rg__poll_ready(mp);
    if (pr == RG_POLL_NOW ||
        (pr != RG_POLL_IDLE && ((tick & 7) == 0 || rg__runq_empty(pp)))) {
        if (rg__poll(mp, 0, &q) > 0)
            rg__inject_local(pp, &q);
    } else if (pr == RG_POLL_REAP) {
        if (rg__poll_reap(mp, &q) > 0)
            rg__inject_local(pp, &q);
    }

    int64_t t0 = rg__load_rlx(&pp->timer0when);
    if (t0 != 0 && !rg__before(t0))
        rg__timer_check(pp, rg__nanotime(), NULL);
    /* The monitor found a timer overdue on a P that does not schedule
       (sysmon.c, 2): run every P's expired timers from here. */
    if (rg__load_rlx(&rg__sched.timerhelp) &&
        rg__xchg_seq(&rg__sched.timerhelp, 0)) {
        int64_t now = rg__nanotime();
        for (int i = 0; i < rg__sched.nprocs; i++)
            if (&rg__sched.allp[i] != pp)
                rg__timer_check(&rg__sched.allp[i], now, NULL);
    }

    if (tick % 61 == 0 && rg__load_rlx(&rg__sched.runqsize) > 0) {
        rg__lock(&rg__sched.lock);
        gp = globrunq_get(pp, 1);
        rg__unlock(&rg__sched.lock);
    }
    if (!gp)
        gp = rg__runq_get(pp, &inherit);
    if (!gp)
        gp = findrunnable(mp, &inherit);
    if (mp->spinning)
        resetspinning(mp);
    rg__execute(gp, inherit);
}

/*
 * stopall: begin shutdown (main returned, or deadlock). Every M leaves at
 * its next scheduling point; idle ones are woken for it.
 */
void rg__stopall(void)
{
    rg__lock(&rg__sched.lock);
    rg__store_rel(&rg__sched.exiting, 1);
    for (struct m *mp = rg__sched.allm; mp; mp = mp->alllink)
        if (mp->idle)
            rg__poll_break(mp);
    rg__unlock(&rg__sched.lock);
    rg__sysmon_wake();
}

/*
 * checkdead: called with sched.lock held when an M goes idle. If every M
 * is idle and nothing can ever make a G runnable again (no runnable G, no
 * timer, no I/O in flight), every goroutine is blocked forever: report it
 * as Go does and stop the runtime with -EDEADLK.
 */
void rg__checkdead(void)
{
    if (rg__sched.nmidle < rg__sched.mcount ||
        rg__load_rlx(&rg__sched.exiting))
        return;
    if (rg__sched.runq.n > 0 || rg__timer_earliest() != 0 ||
        rg__poll_inflight() > 0)
        return;
    for (int i = 0; i < rg__sched.nprocs; i++)
        if (!rg__runq_empty(&rg__sched.allp[i]))
            return;
    if (rg__goroutines() == 0)
        return;
    /* Last, since it walks every G: a G can be runnable yet in no queue
       for a moment (the monitor moving a hog's queue to the global one,
       inject_glist marking Gs runnable before it takes sched.lock, which
       we hold). It will run: not a deadlock. Lock order: sched.lock,
       then allglock. */
    bool runnable = false;
    rg__lock(&rg__sched.allglock);
    for (struct g *gp = rg__sched.allg; gp && !runnable; gp = gp->alllink) {
        uint32_t st = rg__load_acq(&gp->status); /* acq: casgstatus's rel */
        runnable = st != G_WAITING && st != G_DEAD && st != G_IDLE;
    }
    rg__unlock(&rg__sched.allglock);
    if (runnable)
        return;
    static const char msg[] = "ringo: all goroutines are asleep - deadlock!\n\n";
    if (write(2, msg, sizeof(msg) - 1) < 0) {
        /* nothing better to do */
    }
    rg__dump_goroutines(2);
    rg__sched.exitcode = -35; /* -EDEADLK */
    rg__store_rel(&rg__sched.exiting, 1);
    for (struct m *mp = rg__sched.allm; mp; mp = mp->alllink)
        if (mp->idle)
            rg__poll_break(mp);
    rg__sysmon_wake();
}
