/*
 * runtime/rt.c: booting and stopping the runtime (rg_run), and the small
 * public calls that need no subsystem of their own.
 *
 * Boot, as the Go runtime does it (see ../shared/seed notes, docs/design.md):
 *   rg_run on the caller's thread = m0, with g0 on the caller's stack;
 *   schedinit: Ps, stacks, the poller, m0's ring, signals;
 *   newproc(main_fn) -> goroutine 1, in runnext of allp[0];
 *   mstart(m0) -> mstart1 -> save -> schedule, which never returns.
 *
 * Shutdown: when goroutine 1 returns, goexit0 calls rg__stopall(). Each M
 * leaves at its next trip through the scheduler (rg__mexit), longjmp'ing
 * back to the frame that started it: for m0, this function. rg_run then
 * waits until every M has left, stops the monitor, lets each M close its
 * poller (nothing else can touch one by then), joins the threads and
 * frees everything, so rg_run can be called again.
 */
#include "internal.h"
#include "alloc.h"
#include "../include/ringo.h"
#include "wait.h"
#include "../io/poll.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_STACK (256 * 1024)
#define MIN_STACK (16 * 1024)
#define DEFAULT_RING 256

static _Atomic int running;   /* an rg_run is in progress */
static _Atomic int accepting; /* ...and foreign threads may use it */

static int default_procs(void)
{
    const char *env = getenv("RINGO_PROCS");
    if (env && *env) {
        char *end;
        long v = strtol(env, &end, 10);
        if (*end == '\0' && v > 0 && v <= 4096)
            return (int)v;
    }
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    return 1;
}

static int check_config(const struct rg_config *cfg)
{
    if (!cfg)
        return 0;
    if (cfg->procs < 0 || cfg->procs > 4096)
        return -EINVAL;
    if (cfg->stack_size > ((size_t)1 << 30))
        return -EINVAL;
    if (cfg->ring_entries > 32768)
        return -EINVAL;
    if (cfg->flags & ~(unsigned)(RG_CONFIG_TRACEBACK | RG_CONFIG_EPOLL |
                                 RG_CONFIG_DEFER_TASKRUN))
        return -EINVAL;
    for (size_t i = 0; i < sizeof(cfg->reserved) / sizeof(cfg->reserved[0]); i++)
        if (cfg->reserved[i])
            return -EINVAL;
    return 0;
}

static void free_all(void)
{
    struct m *mp = rg__sched.allm;
    while (mp) {
        struct m *next = mp->alllink;
        if (!mp->is_m0)
            pthread_join(mp->thread, NULL);
        rg__free(mp);
        mp = next;
    }
    rg__sched.allm = NULL;
    for (int i = 0; i < rg__sched.nprocs; i++)
        rg__timer_free(&rg__sched.allp[i]);
    rg__free(rg__sched.allp);
    rg__sched.allp = NULL;
    for (struct g *gp = rg__sched.allg; gp; gp = gp->alllink)
        rg__san_g_free(gp); /* its TSan fiber; the g goes with its stack */
    rg__stack_free_all();
    rg__wait_reset(); /* waiters left over were on the stacks just freed */
    rg__poll_fini();
}

/* schedinit: everything up to (not including) starting m0. */
static int schedinit(const struct rg_config *cfg, struct m **m0p)
{
    memset(&rg__sched, 0, sizeof(rg__sched));
    rg__sched.nprocs = cfg && cfg->procs ? cfg->procs : default_procs();
    size_t ss = cfg && cfg->stack_size ? cfg->stack_size : DEFAULT_STACK;
    if (ss < MIN_STACK)
        ss = MIN_STACK;
    rg__sched.stack_size = (ss + 4095) & ~(size_t)4095;
    unsigned re = cfg && cfg->ring_entries ? cfg->ring_entries : DEFAULT_RING;
    rg__sched.ring_entries = re;
    rg__store_rlx(&rg__sched.coarsenow, rg__nanotime());

    int rc = rg__poll_init(cfg ? cfg->flags : 0);
    if (rc < 0)
        return rc;
    rg__stack_init(rg__sched.stack_size);
    rg__sched.allp = rg__calloc(rg__sched.nprocs, sizeof(struct p));
    if (!rg__sched.allp) {
        rg__poll_fini();
        return -ENOMEM;
    }
    for (int i = 0; i < rg__sched.nprocs; i++)
        rg__sched.allp[i].id = i;

    struct m *m0 = rg__allocm();
    if (!m0) {
        free_all();
        return -ENOMEM;
    }
    m0->is_m0 = true;
    rg__sched.mcount = 1;
    rc = rg__poll_open_m(m0);
    if (rc < 0) {
        fprintf(stderr, "ringo: cannot set up the poller of M0: %s\n",
                strerror(-rc));
        free_all();
        return rc;
    }
    setg(m0->g0);
    rg__acquirep(&rg__sched.allp[0]);
    for (int i = rg__sched.nprocs - 1; i > 0; i--)
        rg__pidleput(&rg__sched.allp[i]);
    *m0p = m0;
    return 0;
}

int rg_run(void (*main_fn)(void *), void *arg, const struct rg_config *cfg)
{
    if (!main_fn)
        return -EINVAL;
    int rc = check_config(cfg);
    if (rc < 0)
        return rc;
    int expect = 0;
    if (getg() || !rg__cas_seq(&running, &expect, 1))
        return -EBUSY;

    struct m *m0;
    rc = schedinit(cfg, &m0);
    if (rc < 0) {
        setg(NULL);
        rg__store_seq(&running, 0);
        return rc;
    }
    rg__sigaltstack_init(m0);
    rg__signals_install();
    rg__traceback_install(cfg && (cfg->flags & RG_CONFIG_TRACEBACK));

    /* From here goroutines may run (the monitor can start an M for main),
       and they may call anything that asks whether a runtime runs. */
    rg__store_seq(&accepting, 1);
    int err = 0;
    if (!rg__newproc(main_fn, arg, __builtin_return_address(0), &err)) {
        rc = err;
        goto out;
    }
    if (rg__sysmon_start() < 0) {
        rc = -EAGAIN;
        goto out;
    }
    if (setjmp(m0->exitbuf) == 0)
        rg__mstart(m0); /* never returns: mexit longjmps back here */

    rg__note_sleep(&rg__sched.exitnote, -1);
    rg__store_seq(&accepting, 0);
    rg__foreign_quiesce();
    rg__sysmon_stop();
    /* Nothing else can touch a poller now: each M may close its own (see
       rg__mexit); free_all joins them. */
    for (struct m *mp = rg__sched.allm; mp; mp = mp->alllink)
        rg__note_wakeup(&mp->closenote);
    rc = rg__sched.exitcode;
out:
    rg__store_seq(&accepting, 0);
    rg__foreign_quiesce();
    rg__traceback_restore();
    rg__signals_restore();
    rg__sigaltstack_fini(m0);
    if (m0->poll)
        rg__poll_close_m(m0);
    free_all();
    setg(NULL);
    rg__store_seq(&running, 0);
    return rc;
}

/* ---- small public calls ---- */

uint64_t rg_now(void)
{
    return (uint64_t)rg__nanotime();
}

int rg_procs(void)
{
    return rg__load_rlx(&running) ? rg__sched.nprocs : 0;
}

bool rg__running(void)
{
    return rg__load_seq(&accepting) != 0;
}

static void sleep_wake(void *arg, uintptr_t seq)
{
    (void)seq;
    rg__ready(arg, false);
}

static bool sleep_commit(struct g *gp, void *arg)
{
    rg__timer_add(&gp->timer, *(int64_t *)arg);
    return true;
}

int rg_sleep(uint64_t ns)
{
    struct g *gp = getg();
    if (!gp || !gp->m || gp == gp->m->g0)
        return -EPERM;
    if (ns == 0) {
        rg_yield();
        return 0;
    }
    if (ns > (uint64_t)INT64_MAX / 2)
        ns = (uint64_t)INT64_MAX / 2;
    int64_t when = rg__nanotime() + (int64_t)ns;
    gp->timer.f = sleep_wake;
    gp->timer.arg = gp;
    gp->timer.idx = -1;
    rg__park(sleep_commit, &when, RG_WAIT_SLEEP);
    return 0;
}
