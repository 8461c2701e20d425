/*
 * io/poll_epoll.c: the epoll netpoller backend (see io/poll.h): one epoll
 * instance for the process, and how idle Ms sleep and wake around it. The
 * I/O calls' side (trying, waiting for readiness, cancelling) is
 * io/ready.c.
 *
 * Invariants:
 *  1. One epoll instance (ep.epfd) holds every fd that ever had to wait,
 *     edge-triggered, with its fdstate as the event's data; and the wake
 *     eventfd (ep.wakefd), level-triggered, with NULL.
 *  2. At most one M blocks in epoll_wait at a time: ep.poller, set by CAS
 *     (Go's single-poller rule). Other idle Ms sleep on their own futex
 *     word (epm.wake). Any M, and the monitor, may poll without blocking.
 *  3. A wakeup for M m (rg__poll_break) is never lost: m either sees
 *     epm.wake set before it sleeps, or is woken from where it sleeps
 *     ("Waking an M").
 *  4. Only the blocking poller drains the wake eventfd, and it clears
 *     ep.wakesig before it gives up the poller role.
 *
 * One poller
 * ==========
 * io_uring completions land on the ring of the M that submitted the
 * operation, which is why that backend has a ring per M. Readiness has no
 * submitter: an fd is registered once and its events can be collected by
 * anyone. So ringo does what Go does: one epoll instance, polled without
 * blocking by any M that looks for work (findrunnable, every 8th
 * scheduling round while nobody blocks in it, and the monitor for stuck
 * Ms), and blocked on by at most one idle M at a time, the poller, which
 * then takes an idle P for the Gs it readied. Nothing is stranded on a
 * busy M: whichever M is free collects the event. Rejected: an epoll
 * instance per M, as a ring per M. It keeps a ping-pong on one M (the
 * event goes to the M where the fd was registered), but an fd is
 * registered on one M for life while its goroutines migrate, so its
 * events wait whenever that M is busy, even with other Ms idle; and
 * without the ring's shared memory, an M has no cheap way to see that
 * events wait on its instance. Numbers: "Netpoller backends" in
 * docs/design.md.
 *
 * Waking an M
 * ===========
 * rg__poll_break(m) must reach m wherever it sleeps: in epoll_wait as the
 * poller, or on its futex. Both sides use m's word epm.wake:
 *
 *   waker:    old = exchange(wake, 1); old 1: already pending, done;
 *             old 2: m sleeps on the futex: futex_wake; old 0: if
 *             ep.poller == m, write the wake eventfd (once: ep.wakesig,
 *             Go's netpollWakeSig).
 *   poller:   CAS ep.poller NULL -> m; if wake == 0: epoll_wait; then
 *             ep.poller = NULL; exchange(wake, 0).
 *   sleeper:  CAS wake 0 -> 2; futex_wait(wake, 2); exchange(wake, 0).
 *
 * The waker's exchange then load of ep.poller, and the poller's CAS of
 * ep.poller then load of wake, are sequentially consistent: either the
 * waker sees m as the poller and writes the eventfd (level-triggered, so
 * an epoll_wait still to come returns at once), or m sees the wakeup and
 * does not wait. A wakeup that finds m running is left pending, and m's
 * next sleep returns at once: the scheduler rechecks why it slept, so a
 * spurious return costs one loop. A stale eventfd write (its target left
 * the role) wakes the next poller once, for nothing.
 *
 * Timeouts are the idle M's (the earliest timer): epoll_pwait2 takes
 * them to the nanosecond; where it is missing (before Linux 5.11, some
 * emulators), epoll_wait's milliseconds are rounded up, as Go does, so a
 * timer never fires early. The futex wait takes nanoseconds.
 */
#include "poll.h"
#include "internal.h"
#include "../runtime/alloc.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#define EP_EVENTS 128   /* events taken per epoll_wait */
#define POLL_EVERY 8    /* busy Ms poll every 8th round (rg__poll_ready) */
#define WAKE_SLEEPING 2 /* epm.wake: the M sleeps on the futex */

/* Per M (m->poll). */
struct epm {
    _Atomic uint32_t wake; /* 0, 1: a wakeup is pending, 2: sleeping */
    uint32_t tick;         /* owner only: rg__poll_ready calls */
};

static struct {
    int epfd;                 /* the instance; constant while running */
    int wakefd;               /* eventfd waking the poller */
    bool pwait2;              /* epoll_pwait2 works */
    _Atomic int wakesig;      /* wakefd written and not yet drained */
    struct m *_Atomic poller; /* the M blocked in epoll_wait, or NULL */
} ep = {.epfd = -1, .wakefd = -1};

static int ep_init(void)
{
    ep.epfd = rg__sys_epoll_create();
    if (ep.epfd < 0)
        return ep.epfd;
    ep.pwait2 = rg__sys_epoll_pwait2_works(ep.epfd);
    ep.wakefd = rg__sys_eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int rc = ep.wakefd;
    if (rc >= 0) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
        rc = rg__sys_epoll_ctl(ep.epfd, EPOLL_CTL_ADD, ep.wakefd, &ev);
        if (rc < 0)
            rg__sys_close(ep.wakefd);
    }
    if (rc < 0) {
        rg__sys_close(ep.epfd);
        ep.epfd = ep.wakefd = -1;
        return rc;
    }
    rg__store_rlx(&ep.wakesig, 0);
    rg__store_rlx(&ep.poller, NULL);
    return 0;
}

static void ep_fini(void)
{
    if (ep.epfd >= 0) {
        rg__sys_close(ep.wakefd);
        rg__sys_close(ep.epfd);
    }
    ep.epfd = ep.wakefd = -1;
}

/*
 * rg__ep_add: register fd, with fs as its events' data, for both
 * directions, edge-triggered (Go's choice: one registration for the fd's
 * life, no re-arming). 0, -EEXIST if it is there already, -EPERM if epoll
 * refuses it (a regular file), or -errno. Any thread.
 */
int rg__ep_add(int fd, struct fdstate *fs)
{
    struct epoll_event ev = {
        .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
        .data.ptr = fs,
    };
    return rg__sys_epoll_ctl(ep.epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int ep_open_m(struct m *mp)
{
    struct epm *pm = rg__calloc(1, sizeof(*pm));
    if (!pm)
        return -ENOMEM;
    mp->poll = pm;
    return 0;
}

static void ep_close_m(struct m *mp)
{
    rg__free(mp->poll);
    mp->poll = NULL;
}

/* Turn events into readiness (ready.c), collecting Gs into ready. Only a
   blocking poller drains the wake eventfd (invariant 4). */
static void dispatch(const struct epoll_event *evs, int n, struct gq *ready,
                     bool blocking)
{
    for (int i = 0; i < n; i++) {
        struct fdstate *fs = evs[i].data.ptr;
        uint32_t e = evs[i].events;
        if (!fs) {
            if (blocking) {
                uint64_t v;
                rg__sys_read(ep.wakefd, &v, sizeof(v));
                /* seq_cst: before ep.poller is cleared (invariant 4) */
                rg__store_seq(&ep.wakesig, 0);
            }
            continue;
        }
        /* As Go's netpoll: hangups and errors wake both directions. */
        if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            rg__ep_ready(fs, IO_DIR_READ, ready);
        if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))
            rg__ep_ready(fs, IO_DIR_WRITE, ready);
    }
}

/* One epoll_wait of at most ns (0: do not block). */
static void poll_once(int64_t ns, struct gq *ready, bool blocking)
{
    struct epoll_event evs[EP_EVENTS];
    rg__add_rlx(&rg__poll_nenters, 1);
    int n = rg__sys_epoll_wait(ep.epfd, evs, EP_EVENTS, ns, ep.pwait2);
    if (n > 0)
        dispatch(evs, n, ready, blocking);
}

/* Nobody to wake and no waiter to find: skip the syscall. Racy reads:
   a stale answer delays a poll by one round. */
static bool poll_useless(void)
{
    return rg__load_rlx(&rg__poll_ninflight) == 0 ||
           rg__load_rlx(&ep.poller) != NULL;
}

static int ep_poll(struct m *mp, int64_t ns, struct gq *ready)
{
    struct epm *pm = mp->poll;
    int before = ready->n;
    if (ns == 0) {
        if (!poll_useless())
            poll_once(0, ready, false);
        rg__poll_retire(ready);
        return ready->n - before;
    }
    /* See "Waking an M". */
    struct m *none = NULL;
    if (rg__cas_seq(&ep.poller, &none, mp)) {
        if (rg__load_seq(&pm->wake) == 0)
            poll_once(ns, ready, true);
        rg__store_seq(&ep.poller, NULL);
    } else {
        uint32_t zero = 0;
        if (rg__cas_seq(&pm->wake, &zero, WAKE_SLEEPING))
            rg__sys_futex_wait(&pm->wake, WAKE_SLEEPING, ns);
    }
    rg__xchg_seq(&pm->wake, 0);
    return ready->n - before;
}

/* Cheap: memory loads only. While an M blocks in epoll_wait it collects
   the events; otherwise a busy M polls every POLL_EVERY rounds. */
static int ep_ready(struct m *mp)
{
    if (poll_useless())
        return RG_POLL_IDLE;
    struct epm *pm = mp->poll;
    return ++pm->tick % POLL_EVERY == 0 ? RG_POLL_NOW : RG_POLL_IDLE;
}

static void ep_wake(struct m *mp)
{
    struct epm *pm = mp->poll;
    if (!pm)
        return;
    /* seq_cst: see "Waking an M" */
    uint32_t old = rg__xchg_seq(&pm->wake, 1);
    if (old == WAKE_SLEEPING) {
        rg__sys_futex_wake(&pm->wake, 1);
    } else if (old == 0 && rg__load_seq(&ep.poller) == mp) {
        int zero = 0;
        if (rg__cas_seq(&ep.wakesig, &zero, 1)) {
            uint64_t one = 1;
            /* EAGAIN: the counter is saturated, a wakeup is pending */
            rg__sys_write(ep.wakefd, &one, sizeof(one));
        }
    }
}

/* The monitor, for an M stuck on one G: the events are anyone's, so
   collect them unless the poller will. */
static int ep_steal(struct m *mp, struct gq *ready)
{
    (void)mp;
    int before = ready->n;
    if (!poll_useless())
        poll_once(0, ready, false);
    return ready->n - before;
}

const struct rg__poll_backend rg__poll_epoll_backend = {
    .name = "epoll",
    .readiness = true,
    .init = ep_init,
    .fini = ep_fini,
    .open_m = ep_open_m,
    .close_m = ep_close_m,
    .poll = ep_poll,
    .ready = ep_ready,
    .wake = ep_wake,
    .steal = ep_steal,
};
