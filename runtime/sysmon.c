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
 *     in the CQ to be stolen; DEFER_TASKRUN rings are kicked to post them
 *     (see "Ring discipline" in io/poll_uring.c).
 *  2. For each P whose earliest timer is over 1 ms overdue, wakes an idle
 *     P: its M steals and runs the overdue timers (stealwork in sched.c).
 *     With no idle P (the timer's own P held by a goroutine that never
 *     yields, every other P busy), it sets sched.timerhelp, and the next
 *     scheduling round of any busy P runs every P's expired timers.
 *  3. Retakes Ps left in P_SYSCALL for over 20us by an M in a blocking
 *     call (rg_blocking), and hands them to other Ms (see "Blocking calls"
 *     in syscall.c).
 *  4. For each P whose G has run for over 10 ms without a scheduling
 *     point (a CPU hog), moves the Gs queued behind it to the global queue
 *     and starts idle Ps for them. The hog keeps its M and P: C code is
 *     never preempted, but its queued peers move on.
 *  5. Refreshes sched.coarsenow, the cheap clock used for wait stamps.
 *  6. Prints the scheduler trace when RINGO_DEBUG=schedtrace=MS asks for
 *     it (Go's GODEBUG=schedtrace): one SCHED line every MS milliseconds,
 *     and with scheddetail=1 a line per P, M and G.
 *
 * So a readied G or an expired timer waits at most ~1 ms plus one monitor
 * period (<= 10 ms) while any P is idle.
 */
#include "internal.h"
#include "../io/poll.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STUCK_NS 1000000
#define SYSCALL_NS 20000
#define HOG_NS 10000000
#define DELAY_MIN_US 20
#define DELAY_MAX_US 10000

/* ---- scheduler trace ---- */

static int64_t trace_ns;  /* schedtrace period, 0: off */
static bool trace_detail; /* scheddetail=1 */
static int64_t trace_start, trace_next;

static void parse_debug(void)
{
    trace_ns = 0;
    trace_detail = false;
    const char *env = getenv("RINGO_DEBUG");
    if (!env)
        return;
    const char *t = strstr(env, "schedtrace=");
    if (t)
        trace_ns = strtoll(t + strlen("schedtrace="), NULL, 10) * 1000000;
    const char *d = strstr(env, "scheddetail=");
    if (d)
        trace_detail = atoi(d + strlen("scheddetail=")) != 0;
}

/* Racy by design: a snapshot of what every P, M and G is doing, read
   while they run (see RG_RACY_READ in debug.h). */
__attribute__((no_sanitize("thread"))) static void schedtrace(int64_t now)
{
    char buf[4096];
    int n, nidle = 0, nspin, nmidle, mcount;
    int64_t ntimers = 0;
    rg__lock(&rg__sched.lock);
    nmidle = rg__sched.nmidle;
    mcount = rg__sched.mcount;
    int gq = rg__sched.runq.n;
    rg__unlock(&rg__sched.lock);
    nidle = rg__load_rlx(&rg__sched.npidle);
    nspin = rg__load_rlx(&rg__sched.nmspinning);
    for (int i = 0; i < rg__sched.nprocs; i++)
        ntimers += RG_RACY_READ(rg__sched.allp[i].ntimers);
    n = snprintf(buf, sizeof(buf),
                 "SCHED %lldms: gomaxprocs=%d idleprocs=%d threads=%d "
                 "spinningthreads=%d idlethreads=%d runqueue=%d [",
                 (long long)((now - trace_start) / 1000000), rg__sched.nprocs,
                 nidle, mcount, nspin, nmidle, gq);
    for (int i = 0; i < rg__sched.nprocs && n < (int)sizeof(buf) - 64; i++)
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%s%u", i ? " " : "",
                      rg__runq_len(&rg__sched.allp[i]));
    n += snprintf(buf + n, sizeof(buf) - (size_t)n,
                  "] pending_io=%lld timers=%lld goroutines=%llu\n",
                  (long long)rg__poll_inflight(), (long long)ntimers,
                  (unsigned long long)rg__goroutines());
    if (write(2, buf, (size_t)n) < 0)
        return;
    if (!trace_detail)
        return;
    for (int i = 0; i < rg__sched.nprocs; i++) {
        struct p *pp = &rg__sched.allp[i];
        struct m *mp = RG_RACY_READ(pp->m);
        struct g *next = rg__load_rlx(&pp->runnext);
        n = snprintf(buf, sizeof(buf),
                     "  P%d: status=%d schedtick=%u syscalltick=%u m=%d "
                     "runqsize=%u runnext=%lld gfreecnt=%d timers=%d\n",
                     i, rg__load_rlx(&pp->status), rg__load_rlx(&pp->schedtick),
                     rg__load_rlx(&pp->syscalltick), mp ? mp->id : -1,
                     rg__runq_len(pp), next ? (long long)next->goid : -1LL,
                     RG_RACY_READ(pp->gfreecnt),
                     RG_RACY_READ(pp->ntimers));
        if (write(2, buf, (size_t)n) < 0)
            return;
    }
    for (struct m *mp = rg__sched.allm; mp; mp = mp->alllink) {
        struct p *pp = __atomic_load_n(&mp->p, __ATOMIC_RELAXED);
        struct g *cg = __atomic_load_n(&mp->curg, __ATOMIC_RELAXED);
        n = snprintf(buf, sizeof(buf),
                     "  M%d: p=%d curg=%lld spinning=%d idle=%d\n", mp->id,
                     pp ? pp->id : -1, cg ? (long long)cg->goid : -1LL,
                     (int)RG_RACY_READ(mp->spinning),
                     (int)__atomic_load_n(&mp->idle, __ATOMIC_RELAXED));
        if (write(2, buf, (size_t)n) < 0)
            return;
    }
    for (struct g *gp = rg__sched.allg; gp; gp = gp->alllink) {
        uint32_t st = rg__load_rlx(&gp->status);
        if (st == G_DEAD)
            continue;
        const char *why = RG_RACY_READ(gp->waitreason);
        n = snprintf(buf, sizeof(buf), "  G%llu: status=%u(%s)\n",
                     (unsigned long long)gp->goid, st, why ? why : "");
        if (write(2, buf, (size_t)n) < 0)
            return;
    }
}

/* Retake Ps from blocking calls and hogs (items 3 and 4 above). */
static bool retake(int64_t now)
{
    bool did = false;
    for (int i = 0; i < rg__sched.nprocs; i++) {
        struct p *pp = &rg__sched.allp[i];
        int st = rg__load_seq(&pp->status);
        uint32_t tick = st == P_SYSCALL ? rg__load_rlx(&pp->syscalltick)
                                        : rg__load_rlx(&pp->schedtick);
        /* sysmonwhen 0: first sight, not "stuck since the epoch" (which
           moved main's queue away and started an M at boot) */
        if (st == P_IDLE || tick != pp->sysmontick || pp->sysmonwhen == 0) {
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
        /* A G left in runnext for HOG_NS while the P runs other Gs (its
           G keeps readying new ones, or never yields) goes to the
           global queue: runnext must not starve it (Go relies on
           preemption for this). */
        struct g *next = rg__load_acq(&pp->runnext);
        if (next && next == pp->sysmonnext) {
            if (now - pp->sysmonnextwhen >= HOG_NS &&
                rg__cas_acqrel(&pp->runnext, &next, NULL)) {
                rg__lock(&rg__sched.lock);
                rg__globrunq_put(next);
                rg__unlock(&rg__sched.lock);
                rg__wakep();
                pp->sysmonnext = NULL;
                did = true;
            }
        } else {
            pp->sysmonnext = next;
            pp->sysmonnextwhen = now;
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
    parse_debug();
    trace_start = trace_next = rg__nanotime();
    while (!rg__load_acq(&rg__sched.exiting)) {
        int64_t sleep_ns = delay * 1000;
        if (trace_ns) {
            int64_t left = trace_next - rg__nanotime();
            if (left < sleep_ns)
                sleep_ns = left > 0 ? left : 0;
        }
        if (sleep_ns > 0)
            rg__note_sleep(&rg__sched.sysmon_note, sleep_ns);
        if (rg__load_acq(&rg__sched.exiting))
            break;
        int64_t now = rg__nanotime();
        rg__store_rlx(&rg__sched.coarsenow, now);
        if (trace_ns && now >= trace_next) {
            schedtrace(now);
            trace_next += trace_ns;
            if (trace_next < now)
                trace_next = now + trace_ns;
        }
        bool did = false;

        /* Ms are never freed while the runtime runs: walking allm
           without the lock is safe; new Ms are linked at the head. */
        rg__lock(&rg__sched.lock);
        struct m *first = rg__sched.allm;
        rg__unlock(&rg__sched.lock);
        for (struct m *mp = first; mp; mp = mp->alllink) {
            /* acq: pairs with the rel in mstart1; see its poller */
            if (!rg__load_acq(&mp->started))
                continue;
            uint64_t tick = rg__load_rlx(&mp->schedtick);
            /* an idle M sleeps on its own ring and reaps it itself; an M
               in a blocking call (no P either) does not */
            if (tick != mp->sysmon_tick || mp->sysmon_when == 0 ||
                __atomic_load_n(&mp->idle, __ATOMIC_RELAXED)) {
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
                /* An idle P steals it; with none, a busy one runs it at
                   its next scheduling round (sched.timerhelp). */
                rg__store_rlx(&rg__sched.timerhelp, 1);
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
