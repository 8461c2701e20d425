/*
 * runtime/sysmon.c: the monitor thread (Go's sysmon). It runs without a
 * P and guarantees progress that no M can guarantee for itself.
 *
 * Stranded work
 * =============
 * Completions are posted to the ring of the M that submitted the
 * operation, and timers live on the heap of a P. An M that runs one
 * goroutine for a long time (a CPU-bound loop, a blocking C call) passes
 * through neither its ring nor its P's timers. The monitor wakes every
 * 20us to 10ms (backing off while it finds nothing to do) and:
 *
 *  1. For each M whose schedtick has not moved for over 1 ms (stuck on one
 *     G), reaps that M's ring from here (rg__poll_steal, under the ring's
 *     CQ lock) and moves the readied Gs to the global queue, starting idle
 *     Ps to run them. COOP_TASKRUN rings post completions at the owner's
 *     next kernel transition, which includes timer interrupts, so they are
 *     in the CQ to be stolen (see "Ring discipline" in io/poll_uring.c).
 *  2. For each P whose earliest timer is over 1 ms overdue, wakes an idle
 *     P: its M steals and runs the overdue timers (stealwork in sched.c).
 *  3. Retakes Ps left in P_SYSCALL for over 20us by an M in a blocking
 *     call (rg_blocking), and hands them to other Ms (see "Blocking calls"
 *     in syscall.c).
 *  4. For each P whose G has run for over 10 ms without a scheduling
 *     point (a CPU hog), moves the Gs queued behind it to the global queue
 *     and starts idle Ps for them. The hog keeps its M and P: C code is
 *     never preempted, but its queued peers move on.
 *  5. Refreshes sched.coarsenow, the cheap clock used for wait stamps.
 *
 * So a readied G or an expired timer waits at most ~1 ms plus one monitor
 * period (<= 10 ms) while any P is idle.
 */
#include "internal.h"
#include "../io/poll.h"

#include <stdio.h>

#define STUCK_NS 1000000
#define SYSCALL_NS 20000
#define HOG_NS 10000000
#define DELAY_MIN_US 20
#define DELAY_MAX_US 10000

/* Retake Ps from blocking calls and hogs (items 3 and 4 above). */
static bool retake(int64_t now)
{
    bool did = false;
    for (int i = 0; i < rg__sched.nprocs; i++) {
        struct p *pp = &rg__sched.allp[i];
        int st = rg__load_seq(&pp->status);
        uint32_t tick = st == P_SYSCALL ? rg__load_rlx(&pp->syscalltick)
                                        : rg__load_rlx(&pp->schedtick);
        if (st == P_IDLE || tick != pp->sysmontick) {
            pp->sysmontick = tick;
            pp->sysmonwhen = now;
            continue;
        }
        if (st == P_SYSCALL) {
            if (now - pp->sysmonwhen < SYSCALL_NS)
                continue;
            int expect = P_SYSCALL;
            if (rg__cas_seq(&pp->status, &expect, P_IDLE)) {
                rg__handoffp(pp);
                did = true;
            }
            continue;
        }
        if (now - pp->sysmonwhen < HOG_NS || rg__runq_empty(pp))
            continue;
        struct gq q = {0};
        int n = rg__runq_grab_all(pp, &q);
        if (n > 0) {
            rg__lock(&rg__sched.lock);
            rg__globrunq_putbatch(&q);
            rg__unlock(&rg__sched.lock);
            while (n-- > 0 && rg__load_seq(&rg__sched.npidle) > 0)
                rg__startm(NULL, false);
            did = true;
        }
    }
    return did;
}

static void *sysmon(void *arg)
{
    (void)arg;
    int64_t delay = DELAY_MIN_US;
    int idle = 0;
    while (!rg__load_acq(&rg__sched.exiting)) {
        rg__note_sleep(&rg__sched.sysmon_note, delay * 1000);
        if (rg__load_acq(&rg__sched.exiting))
            break;
        int64_t now = rg__nanotime();
        rg__store_rlx(&rg__sched.coarsenow, now);
        bool did = false;

        /* Ms are never freed while the runtime runs: walking allm
           without the lock is safe; new Ms are linked at the head. */
        rg__lock(&rg__sched.lock);
        struct m *first = rg__sched.allm;
        rg__unlock(&rg__sched.lock);
        for (struct m *mp = first; mp; mp = mp->alllink) {
            uint64_t tick = rg__load_rlx(&mp->schedtick);
            /* an M with no P is idle on its own ring and reaps it */
            if (tick != mp->sysmon_tick || __atomic_load_n(&mp->p, __ATOMIC_RELAXED) == NULL) {
                mp->sysmon_tick = tick;
                mp->sysmon_when = now;
                continue;
            }
            if (now - mp->sysmon_when < STUCK_NS)
                continue;
            struct gq q = {0};
            if (rg__poll_steal(mp, &q) > 0) {
                rg__inject_glist(&q);
                did = true;
            }
        }
        if (retake(now))
            did = true;
        for (int i = 0; i < rg__sched.nprocs; i++) {
            int64_t w = rg__load_rlx(&rg__sched.allp[i].timer0when);
            if (w && now - w > STUCK_NS) {
                rg__wakep();
                did = true;
                break;
            }
        }
        if (did) {
            delay = DELAY_MIN_US;
            idle = 0;
        } else if (++idle > 50) {
            delay = delay * 2 > DELAY_MAX_US ? DELAY_MAX_US : delay * 2;
        }
    }
    return NULL;
}

int rg__sysmon_start(void)
{
    rg__note_clear(&rg__sched.sysmon_note);
    if (pthread_create(&rg__sched.sysmon_thread, NULL, sysmon, NULL) != 0)
        return -1;
    rg__sched.sysmon_started = true;
    return 0;
}

void rg__sysmon_wake(void)
{
    rg__note_wakeup(&rg__sched.sysmon_note);
}

void rg__sysmon_stop(void)
{
    if (!rg__sched.sysmon_started)
        return;
    rg__note_wakeup(&rg__sched.sysmon_note);
    pthread_join(rg__sched.sysmon_thread, NULL);
    rg__sched.sysmon_started = false;
}
