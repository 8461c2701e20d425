/*
 * io/poll.h: the netpoller contract between the runtime and io/.
 *
 * The runtime sees the poller only through these functions (Go's
 * netpoll.go list): each M owns one poller instance (m->poll), created on
 * the M's own thread.
 *
 *   rg__poll_init(flags)   choose the backend and probe the kernel once,
 *                          before any M starts (flags: rg_config.flags).
 *   rg__poll_fini()        undo rg__poll_init.
 *   rg__poll_open_m(m)     create m's poller; on m's thread.
 *   rg__poll_close_m(m)    cancel m's operations still in flight, wait for
 *                          their final completions, free the poller; on
 *                          m's thread, at runtime shutdown.
 *   rg__poll(m, ns, q)     submit m's queued operations and collect the Gs
 *                          whose operations completed into q. ns == 0: do
 *                          not block; ns < 0: block until something
 *                          happens; else block at most ns. Returns how
 *                          many Gs it added. On m's thread.
 *   rg__poll_ready(m)      cheap check (memory loads only) of what
 *                          rg__poll would do: RG_POLL_NOW (enter the
 *                          kernel now: a full batch of submissions queued,
 *                          requests posted, CQ overflow), RG_POLL_REAP
 *                          (completions waiting, which rg__poll_reap
 *                          collects without entering the kernel),
 *                          RG_POLL_QUEUED (a few submissions or pending
 *                          kernel task work, which may wait for more), or
 *                          0. On m's thread.
 *   rg__poll_reap(m, q)    after rg__poll_ready said RG_POLL_REAP: collect
 *                          the Gs whose completions wait in memory (the
 *                          io_uring CQ) into q, without a syscall. On m's
 *                          thread. (epoll never says RG_POLL_REAP.)
 *   rg__poll_break(m)      make m's blocked rg__poll return. Any thread.
 *   rg__poll_steal(m, q)   collect m's completions from another thread
 *                          when m is busy (the monitor); never blocks.
 *   rg__poll_inflight()    operations submitted and not yet completed, in
 *                          all pollers (for deadlock detection).
 *   rg__poll_post(m, r)    queue request r for m's owner, which runs it in
 *                          its next rg__poll (cross-ring cancel: only a
 *                          ring's owner may submit to it). Any thread; the
 *                          caller then wakes m with rg__poll_break.
 *
 * Operations
 * ==========
 * An I/O operation is a struct rg__pollop, usually on the waiting G's
 * stack. Its wait slot (state) is a small state machine (netpoll.go's
 * pollDesc.rg):
 *
 *   OP_PENDING --(G parks: commit CAS)--> OP_PARKED --(completion)--> OP_DONE
 *   OP_PENDING --(completion first)-----> OP_DONE   (commit fails: the G
 *                                                     does not sleep)
 *
 * The completion side does an exchange to OP_DONE and readies the G only
 * if it saw OP_PARKED; the parking side commits with a CAS from
 * OP_PENDING that fails if the completion came first. So exactly one of
 * them decides that the G runs again, and never twice. The op (and the
 * buffer it names) must stay valid until its final completion: a G
 * cancelling an operation still waits for that completion.
 *
 * Backends
 * ========
 * Two backends implement the list above, chosen once by rg__poll_init
 * (io/poll.c) and reached through the const ops table rg__pollb:
 *
 *   io_uring  (poll_uring.c, the default) submits each operation to the
 *             M's ring and parks its G until the completion.
 *   epoll     (poll_epoll.c, ready.c) Go's netpoller: the syscall is
 *             tried without waiting; on EAGAIN the G parks until the fd
 *             is ready, then retries. Files run as blocking calls
 *             (rg_blocking). Selected by RINGO_NETPOLL=epoll or
 *             RG_CONFIG_EPOLL, and taken on its own when io_uring cannot
 *             be set up (ENOSYS under qemu-user, EPERM under seccomp or
 *             kernel.io_uring_disabled), with one line on stderr.
 *
 * The runtime's calls are inline dispatches through the table: one
 * indirect call, no other cost on the scheduler's paths. The I/O calls
 * branch once, in rg__io_do (fd.c) and where net.c and accept.c choose a
 * path, on rg__poll_readiness(). The in-flight count and the rg_stats
 * counters are kept here, shared by both.
 */
#ifndef RINGO_IO_POLL_H
#define RINGO_IO_POLL_H

#include <stdbool.h>
#include <stdint.h>

struct m;
struct g;
struct gq;
struct io_uring_sqe;

enum { OP_PENDING = 0, OP_PARKED, OP_DONE };

struct rg__pollop {
    /*
     * Called once per completion (more than once for multishot ops), on
     * any thread, possibly holding no P: it may only record the result and
     * push Gs to ready. NULL means rg__pollop_complete.
     */
    void (*complete)(struct rg__pollop *op, int32_t res, uint32_t flags,
                     struct gq *ready);
    int32_t res;
    uint32_t cqe_flags;
    _Atomic int state;
    struct g *g;
};

/*
 * A request run by a ring's owner (see "Cross-ring requests" in
 * poll_uring.c), allocated with rg__malloc by the poster and freed by the
 * poller once run. fn runs on the owner's g0, inside rg__poll, maybe
 * holding no P, before the ring is submitted; it may queue SQEs on the
 * owner's ring (rg__poll_sqe_nowait). sigfn, if set, may run it instead
 * from the owner's signal handler (the monitor's kick, "Stuck
 * submissions"): async-signal-safe, no waiting locks, SQEs only from
 * rg__poll_sqe_try; false means "not now, retry".
 */
struct rg__pollreq {
    struct rg__pollreq *next;
    void (*fn)(struct rg__pollreq *r);
    bool (*sigfn)(struct rg__pollreq *r);
};

enum { RG_POLL_IDLE = 0, RG_POLL_QUEUED = 1, RG_POLL_NOW = 2, RG_POLL_REAP = 3 };

/* A backend: the functions of the list above that differ. */
struct rg__poll_backend {
    const char *name;  /* "io_uring", "epoll" */
    bool readiness;    /* I/O waits for readiness (ready.c), not for the
                          completion of a submitted operation */
    int (*init)(void); /* 0, or -errno: the backend cannot run here */
    void (*fini)(void);
    int (*open_m)(struct m *mp);
    void (*close_m)(struct m *mp);
    int (*poll)(struct m *mp, int64_t ns, struct gq *ready);
    int (*ready)(struct m *mp);
    int (*reap)(struct m *mp, struct gq *ready); /* only if ready can
                                                    say RG_POLL_REAP */
    void (*wake)(struct m *mp); /* rg__poll_break */
    int (*steal)(struct m *mp, struct gq *ready);
};

extern const struct rg__poll_backend rg__poll_uring_backend;
/* Set up rings with DEFER_TASKRUN (RG_CONFIG_DEFER_TASKRUN): written by
   rg__poll_init before the backend's init, read-only afterwards. */
extern bool rg__uring_defer;
extern const struct rg__poll_backend rg__poll_epoll_backend;
/* The backend in use: written by rg__poll_init only, before any M
   starts, read-only while the runtime runs. */
extern const struct rg__poll_backend *rg__pollb;

/* Operations waiting in all pollers (see rg__poll_inflight), and the
   rg_stats counters; relaxed except where noted. */
extern _Atomic int64_t rg__poll_ninflight;
extern _Atomic uint64_t rg__poll_nsubmitted, rg__poll_ncompleted,
    rg__poll_nenters;

int rg__poll_init(unsigned flags);
void rg__poll_fini(void);

static inline int rg__poll_open_m(struct m *mp)
{
    return rg__pollb->open_m(mp);
}

static inline void rg__poll_close_m(struct m *mp)
{
    rg__pollb->close_m(mp);
}

static inline int rg__poll(struct m *mp, int64_t ns, struct gq *ready)
{
    return rg__pollb->poll(mp, ns, ready);
}

static inline int rg__poll_ready(struct m *mp)
{
    return rg__pollb->ready(mp);
}

static inline int rg__poll_reap(struct m *mp, struct gq *ready)
{
    return rg__pollb->reap(mp, ready);
}

static inline void rg__poll_break(struct m *mp)
{
    rg__pollb->wake(mp);
}

static inline int rg__poll_steal(struct m *mp, struct gq *ready)
{
    return rg__pollb->steal(mp, ready);
}

/* Does I/O wait for readiness (epoll) rather than submit operations? */
static inline bool rg__poll_readiness(void)
{
    return rg__pollb->readiness;
}

int64_t rg__poll_inflight(void);
/*
 * Release the in-flight count of the completions reaped into q (q->held).
 * rg__poll(m, 0, q) does it before returning; a blocking rg__poll leaves
 * it to the caller, who must first make q's Gs visible (a run queue), so
 * that no moment exists where the I/O is neither in flight nor runnable.
 */
void rg__poll_retire(struct gq *q);
/* Counters for rg_stats. Any thread. */
void rg__poll_stats(uint64_t *submitted, uint64_t *completed,
                    uint64_t *enters);
/* io_uring only: see "Cross-ring requests" in poll_uring.c. */
void rg__poll_post(struct m *mp, struct rg__pollreq *r);

/*
 * The rest is io_uring only.
 *
 * For io/: get an SQE on the current M's ring for op (user_data is set),
 * flushing a full SQ first. Never fails; the caller fills in the rest and
 * then waits with rg__pollop_wait. Must not yield in between.
 */
struct io_uring_sqe *rg__poll_sqe(struct rg__pollop *op);
/* An SQE whose completion nobody waits for (cancels): user_data = 0. */
struct io_uring_sqe *rg__poll_sqe_nowait(void);
/* The same for pollreq.sigfn: never flushes; NULL when the SQ is full. */
struct io_uring_sqe *rg__poll_sqe_try(void);
/* Free SQ slots of the current M's ring. */
unsigned rg__poll_sq_room(void);
/* Make room for n SQEs on the current M's ring (n <= 8), flushing if
   needed, so that the next n rg__poll_sqe* calls take consecutive SQEs
   without a submit in between (a linked chain must not be split). */
void rg__poll_reserve(unsigned n);
/* The SQEs taken since the last rg__poll_sqe* call are fully prepared
   (rg__pollop_wait says so itself); see "Stuck submissions". */
void rg__poll_sq_done(void);
/* Park until op's completion (see the state machine); returns op->res. */
int32_t rg__pollop_wait(struct rg__pollop *op, const char *reason, int fd);
/* The default completion: record the result, ready the G if parked.
   Both backends. */
void rg__pollop_complete(struct rg__pollop *op, int32_t res, uint32_t flags,
                         struct gq *ready);
/* The park commit of the state machine: OP_PENDING -> OP_PARKED, false if
   the completion came first. Both backends. */
bool rg__pollop_commit(struct g *gp, void *op);

#endif
