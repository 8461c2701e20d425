/*
 * runtime/stats.c: rg_stats, the runtime's counters. Each counter is kept
 * per P (or per M, or per poller) and written only by its owner, so that
 * counting costs a plain store on the hot paths; rg_stats sums them.
 */
#include "internal.h"
#include "../include/ringo.h"
#include "../io/poll.h"

#include <errno.h>
#include <string.h>

int rg_stats(struct rg_stats *st)
{
    if (!st)
        return -EINVAL;
    if (!rg__running())
        return -EPERM;
    memset(st, 0, sizeof(*st));
    st->goroutines_created = rg__load_rlx(&rg__sched.ngforeign);
    for (int i = 0; i < rg__sched.nprocs; i++) {
        struct p *pp = &rg__sched.allp[i];
        st->goroutines_created += rg__load_rlx(&pp->ngcreated);
        st->switches += rg__load_rlx(&pp->nexec);
        st->steals += rg__load_rlx(&pp->nsteal);
        st->parks += rg__load_rlx(&pp->npark);
    }
    st->goroutines = rg__goroutines();
    rg__lock(&rg__sched.lock);
    st->threads = (uint64_t)rg__sched.mcount;
    st->idle_threads = (uint64_t)rg__sched.nmidle;
    rg__unlock(&rg__sched.lock);
    rg__poll_stats(&st->io_submitted, &st->io_completed, &st->io_enters);
    st->io_epoll = rg__poll_readiness();
    st->stack_mapped = rg__stack_mapped();
    st->stack_resident = rg__stack_resident();
    return 0;
}
