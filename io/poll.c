/*
 * io/poll.c: choosing the netpoller backend, and what both backends share:
 * the in-flight count, the rg_stats counters and the op wait slot's two
 * transitions (see poll.h).
 *
 * Invariants:
 *  1. rg__pollb is written only by rg__poll_init, before any M starts and
 *     after the previous run's Ms have all left; while the runtime runs
 *     every thread sees the same backend.
 *  2. rg__poll_ninflight counts the operations (io_uring) or readiness
 *     waits (epoll) that can still make a G runnable, plus the ones
 *     reaped into a gq whose held count has not been retired. It is zero
 *     only when no I/O can ever wake a goroutine (deadlock detection).
 *
 * Choosing
 * ========
 * io_uring is the default. RINGO_NETPOLL=epoll in the environment, or
 * RG_CONFIG_EPOLL in rg_config.flags, selects epoll. When io_uring cannot
 * be set up at all (io_uring_setup fails: ENOSYS under qemu-user or an
 * old kernel, EPERM under seccomp or kernel.io_uring_disabled=2), ringo
 * says so in one line on stderr, once per process, and uses epoll. An
 * io_uring that sets up but then fails for one M (out of memory or fds)
 * costs that M only: it gives its P back and leaves (mstart1 in
 * runtime/m.c); the backends cannot be mixed within a run.
 * Under valgrind, epoll is chosen silently: valgrind 3.19 treats
 * io_uring_enter as a call that never blocks, so an M waiting in it
 * stalls every other thread, and it does not see the kernel writing
 * completed reads into memory.
 */
#include "poll.h"
#include "internal.h"
#include "../include/ringo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct rg__poll_backend *rg__pollb = &rg__poll_uring_backend;

_Atomic int64_t rg__poll_ninflight;
_Atomic uint64_t rg__poll_nsubmitted, rg__poll_ncompleted, rg__poll_nenters;

static _Atomic int fallback_said; /* the stderr line was printed */

static bool want_epoll(unsigned flags)
{
    if (flags & RG_CONFIG_EPOLL || rg__valgrind_running())
        return true;
    const char *env = getenv("RINGO_NETPOLL");
    return env && strcmp(env, "epoll") == 0;
}

int rg__poll_init(unsigned flags)
{
    rg__store_rlx(&rg__poll_ninflight, 0);
    if (!want_epoll(flags)) {
        const char *env = getenv("RINGO_DEFER_TASKRUN");
        rg__uring_defer = env && *env ? strcmp(env, "0") != 0
                                      : (flags & RG_CONFIG_DEFER_TASKRUN) != 0;
        int rc = rg__poll_uring_backend.init();
        if (rc == 0) {
            rg__pollb = &rg__poll_uring_backend;
            return 0;
        }
        if (rg__xchg_seq(&fallback_said, 1) == 0)
            fprintf(stderr,
                    "ringo: io_uring unavailable (io_uring_setup: %s); "
                    "using epoll\n",
                    strerror(-rc));
    }
    int rc = rg__poll_epoll_backend.init();
    if (rc < 0) {
        fprintf(stderr, "ringo: epoll setup failed: %s\n", strerror(-rc));
        return rc;
    }
    rg__pollb = &rg__poll_epoll_backend;
    return 0;
}

void rg__poll_fini(void)
{
    rg__io_fini();
    rg__pollb->fini();
}

int64_t rg__poll_inflight(void)
{
    return rg__load_rlx(&rg__poll_ninflight);
}

void rg__poll_retire(struct gq *q)
{
    if (q->held) {
        rg__sub_seq(&rg__poll_ninflight, q->held);
        q->held = 0;
    }
}

void rg__poll_stats(uint64_t *submitted, uint64_t *completed, uint64_t *enters)
{
    *submitted = rg__load_rlx(&rg__poll_nsubmitted);
    *completed = rg__load_rlx(&rg__poll_ncompleted);
    *enters = rg__load_rlx(&rg__poll_nenters);
}

void rg__pollop_complete(struct rg__pollop *op, int32_t res, uint32_t flags,
                         struct gq *ready)
{
    op->res = res;
    op->cqe_flags = flags;
    /* acq_rel: publishes res to the G; pairs with the CAS in
       rg__pollop_commit */
    if (rg__xchg_acqrel(&op->state, OP_DONE) == OP_PARKED)
        gq_push(ready, op->g);
}

bool rg__pollop_commit(struct g *gp, void *arg)
{
    (void)gp;
    struct rg__pollop *op = arg;
    int expect = OP_PENDING;
    /* acq_rel: pairs with the exchange in rg__pollop_complete */
    return rg__cas_acqrel(&op->state, &expect, OP_PARKED);
}
