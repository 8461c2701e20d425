/*
 * runtime/internal.h: the runtime's data structures (ringo's runtime2.go).
 *
 * Goroutine scheduler, in three letters:
 *   G - goroutine: a function with its own stack (struct g).
 *   M - worker thread (struct m). Each M has a g0, whose stack is the
 *       thread's own stack; the scheduler always runs on g0. Each M owns an
 *       io_uring, where it submits the I/O of the goroutines it runs and
 *       where it sleeps when it has nothing to run.
 *   P - processor (struct p): the resources needed to run goroutines. An M
 *       must hold a P to run Gs. A P holds a local run queue, runnext, a
 *       timer heap and a cache of dead Gs with their stacks.
 * There are exactly sched.nprocs Ps; Ms are created lazily when an idle P
 * has work and no idle M exists.
 *
 * Field groups below say what protects them. "owner" means the M that
 * holds the P, or the M itself for struct m.
 */
#ifndef RINGO_RUNTIME_INTERNAL_H
#define RINGO_RUNTIME_INTERNAL_H

#include "../arch/context.h"
#include "atomic.h"
#include "debug.h"
#include "lock.h"

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <signal.h>

struct g;
struct m;
struct p;

/*
 * G status. Each state says who owns the G and its stack:
 *   G_IDLE      just allocated, not yet initialised. Owned by the creator.
 *   G_RUNNABLE  on a run queue (local, runnext or global). The stack is not
 *               owned: whoever dequeues the G owns it.
 *   G_RUNNING   running on m->curg's M, which owns the stack.
 *   G_WAITING   parked by g_park. The G is owned by whoever wakes it (the
 *               wait queue or operation that recorded it); the stack may
 *               still be written through (I/O buffers, channel elements)
 *               by that party only.
 *   G_DEAD      exited; on a free list with its stack, or being reused.
 *   G_SYSCALL   running a blocking call (rg_blocking) on its M, which has
 *               given up its P (m->oldp remembers it). Owned by the M.
 */
enum {
    G_IDLE = 0,
    G_RUNNABLE,
    G_RUNNING,
    G_WAITING,
    G_DEAD,
    G_SYSCALL,
};

/* Run-queue link of a G. */
struct gq {
    struct g *head, *tail;
    int n;
    /* I/O completions reaped into this queue whose in-flight count is
       still held: they keep deadlock detection off until the Gs are
       visible in a run queue (rg__poll_retire; "Idle Ms" in sched.c). */
    int held;
};

/*
 * A timer: f(arg, seq) runs on some M's g0, holding a P, once rg_now()
 * reaches when. The timer lives in the heap of the P that added it until
 * it fires or is deleted; any M may run a P's expired timers (stealing).
 */
struct rg_timer {
    int64_t when;                  /* monotonic ns; protected by heap lock */
    void (*f)(void *arg, uintptr_t seq);
    void *arg;
    uintptr_t seq;
    struct p *_Atomic pp;          /* heap it is in, or NULL */
    int idx;                       /* index in pp's heap, -1 if none */
};

/* Wait reasons shown in dumps (Go's waitReason). Unique per park site. */
#define RG_WAIT_SLEEP "sleep"
#define RG_WAIT_YIELD "yield"

struct g {
    /* Owned by the M running the G, or by whoever holds the G parked. */
    struct rg_gobuf sched;   /* saved context while not running */
    uintptr_t stack_lo;      /* lowest usable stack address */
    uintptr_t stack_hi;      /* top of stack (the g lives just above) */
    struct m *m;             /* M running this G, NULL if not running */
    struct g *schedlink;     /* run queue / free list link */
    struct g *gfbatch;       /* next batch on sched.gfree; sched.gflock */
    int gfbatchn;            /* Gs in the batch this G heads */
    void *param;             /* value passed by the waker (channels) */

    _Atomic uint32_t status; /* G_* above */
    uint32_t flags;
    uint64_t goid;           /* unique, never reused; main is 1 */

    /* Set at creation, read-only afterwards (dumps). */
    void (*fn)(void *);
    void *arg;
    uint64_t parent_goid;    /* goroutine that called rg_go */
    void *gopc;              /* return address of that rg_go call */

    /* Written by the parking G before it parks; read by dumps. */
    const char *waitreason;
    int64_t waitsince;       /* rg_now() when it parked */
    int waitfd;              /* fd of an I/O wait, or -1 */

    struct rg_timer timer;   /* rg_sleep's timer; rg_select's timeout */

    /* Select (runtime/select.c). Wakers and the select's timeout timer
       may touch these after the G has resumed, so they live here, not on
       the G's stack. Never reset: they only grow, across reuses of the G.
       See "Select wakeups" in select.c. */
    _Atomic uint64_t selectdone; /* even gen: blocked in select number gen;
                                    gen + 1: a waker won (CAS) */
    _Atomic uint64_t selecttimerfin; /* gen whose timeout callback returned */

    struct g *alllink;       /* sched.allg list; protected by allglock */
    struct stack_arena *arena; /* arena the stack was carved from */

    /* Sanitizer bookkeeping (see debug.h); unused in normal builds. */
    void *san_fake_stack;
    void *san_fiber;
    uintptr_t san_depth;     /* g0: TSan shadow stack depth at its base */
};

/*
 * M state. g0 is the scheduler's own "goroutine": its stack is the OS
 * thread's, and g0.sched.sp is fixed at the depth where mstart1 called
 * save(): every mcall restarts the scheduler there (see "The g0 stack" in
 * runtime/m.c).
 */
struct m {
    struct g g0s;            /* storage of g0 */
    struct g *g0;            /* &g0s */
    struct g *curg;          /* G running on this M, NULL on g0; stored
                                relaxed-atomically: the monitor reads it */
    struct p *p;             /* attached P, NULL when idle */
    struct p *nextp;         /* P handed over by startm; sched.lock */
    struct p *oldp;          /* P left in P_SYSCALL by rg_blocking */
    int id;
    bool spinning;           /* looking for work; see "Spinning Ms" */
    bool exiting;            /* leaving the schedule loop */
    bool is_m0;

    /* g_park arguments, carried from the G's stack to g0 (Go's waitunlockf,
       waitlock): there is no stack to put them on. Owner only. */
    bool (*waitcommit)(struct g *, void *);
    void *waitarg;
    void (*mcallfn)(struct g *); /* sanitizer builds: mcall's fn */

    struct m *schedlink;     /* sched.midle list; sched.lock */
    struct m *alllink;       /* sched.allm list; sched.lock */
    bool idle;               /* on sched.midle; sched.lock */

    pthread_t thread;
    jmp_buf exitbuf;         /* where the thread returns when the runtime
                                stops (rg_run's frame for m0) */
    void *poll;              /* this M's poller (io/poll.h); owner only,
                                except the parts poll.h marks shared */
    rg_note closenote;       /* shutdown: rg_run lets it close its poller
                                (rg__mexit) */

    /* Monitor (sysmon) observations, racy by design. */
    _Atomic bool started;    /* its thread is set up, poller open */
    _Atomic uint64_t schedtick;  /* bumped on every schedule() */
    uint64_t sysmon_tick;    /* monitor only: schedtick last seen */
    int64_t sysmon_when;     /* monitor only: when it changed */

    void *sigstack;          /* sigaltstack for the overflow handler */
    stack_t oldsigstack;     /* the thread's previous one (m0) */
    uint64_t fastrand;       /* per-M random state */
};

#define RUNQ_SIZE 256

/* P status. P_SYSCALL: its M is in a blocking call (rg_blocking) and may
   take it back with a CAS to P_RUNNING; the monitor may instead CAS it to
   P_IDLE and hand it to another M (see "Blocking calls" in syscall.c). */
enum { P_IDLE = 0, P_RUNNING, P_SYSCALL };

#define CACHE_LINE 64

/* Fields are grouped by cache line, by who writes them, so that thieves
   and the owner do not false-share (the owner's free list next to a
   runnext that thieves CAS cost ~40% of spawn time across two Ps). */
struct p {
    int id;
    _Atomic int status;      /* P_*; sched.lock when idle, CAS in syscall */
    struct p *link;          /* sched.pidle list; sched.lock */
    struct m *m;             /* M holding the P, or NULL */
    _Atomic uint32_t schedtick;   /* owner: bumped on every scheduled G */
    _Atomic uint32_t syscalltick; /* owner: bumped on every blocking call */
    uint32_t sysmontick;     /* monitor only: schedtick/syscalltick seen */
    int64_t sysmonwhen;      /* monitor only: when they last changed */
    struct g *sysmonnext;    /* monitor only: runnext last seen */
    int64_t sysmonnextwhen;  /* monitor only: since when */

    /* Dead Gs with their stacks, reused by rg_go with no syscall. Owner. */
    struct g *gfree;
    int gfreecnt;
    uint64_t goidcache, goidcacheend; /* batch of goroutine ids. Owner. */
    /* Goroutines created and exited on this P: owner writes, anyone may
       read (rg__goroutines sums them). Per P so spawning shares no line. */
    _Atomic uint64_t ngcreated, ngexited;
    /* Statistics (rg_stats): owner writes, anyone reads. */
    _Atomic uint64_t nexec, nsteal, npark;

    /* Lock-free local run queue, see "Run queues" in runtime/runq.c.
       Consumed by anyone at the head (CAS), written by the owner at the
       tail: one line each. */
    _Alignas(CACHE_LINE) _Atomic uint32_t runqhead;
    _Alignas(CACHE_LINE) _Atomic uint32_t runqtail;
    _Alignas(CACHE_LINE) struct g *_Atomic runq[RUNQ_SIZE];
    /* runnext, if non-NULL, is a runnable G that was readied by the current
       G and should run next instead of what is in runq, inheriting the
       time slice: a communicating pair then runs as a unit. Anyone may
       take it (CAS); only the owner sets it. */
    _Alignas(CACHE_LINE) struct g *_Atomic runnext;

    /* Timer heap (4-ary, by when). timerlock guards the heap; timer0when is
       the earliest when (0: none), readable without the lock. */
    _Alignas(CACHE_LINE) rg_lock timerlock;
    struct rg_timer **timers;
    int ntimers, captimers;
    _Atomic int64_t timer0when;
} __attribute__((aligned(CACHE_LINE)));

/*
 * The global scheduler state. lock protects the idle lists, the global run
 * queue and the M list; the counters marked atomic are also read without it.
 */
struct sched {
    rg_lock lock;

    struct m *midle;             /* idle Ms, parked on their rings */
    int nmidle;
    int mcount;                  /* Ms created (or being created) */
    int nmids;                   /* next M id */
    int nmexited;                /* Ms that left at shutdown */
    struct m *allm;
    _Atomic int nmspinning;      /* see "Spinning Ms" in sched.c */

    struct p *pidle;             /* idle Ps */
    _Atomic int npidle;

    struct gq runq;              /* global run queue */
    _Atomic int runqsize;

    /* The idle M that sleeps with the earliest timer as its timeout (Go's
       netpoll-blocked M with pollUntil); 0/NULL when none. */
    int64_t pollUntil;
    struct m *timerm;

    rg_lock gflock;              /* global free G batches */
    struct g *gfree;             /* batches linked by gfbatch */
    _Atomic int ngfree;

    rg_lock allglock;            /* every G ever created (dumps) */
    struct g *allg;
    _Atomic uint64_t goidgen;
    _Atomic uint64_t ngforeign;  /* goroutines started by foreign threads */

    struct p *allp;              /* array of nprocs Ps */
    int nprocs;
    size_t stack_size;
    unsigned ring_entries;

    _Atomic int64_t coarsenow;   /* rg_now() as of the monitor's last tick
                                    (<= 10 ms old): cheap time stamps */
    _Atomic int timerhelp;       /* set by the monitor: some P's timer is
                                    overdue; the next schedule() on a busy
                                    P runs every P's expired timers */
    _Atomic int exiting;         /* main returned, or deadlock */
    int exitcode;                /* rg_run's result */
    rg_note exitnote;            /* m0 waits here for the other Ms */

    pthread_t sysmon_thread;
    rg_note sysmon_note;
    bool sysmon_started;
};

extern struct sched rg__sched;

/* Thread-local current G, read through getg() (see "TLS" in m.c). */
extern __thread struct g *rg__tls_g __attribute__((tls_model("initial-exec")));
extern long rg__tls_goff;

/*
 * getg: the G running on this thread (g0 inside the scheduler), or NULL on
 * a thread that is not an M. An asm volatile read relative to the thread
 * pointer: the compiler can neither cache its result nor the TLS address
 * across a context switch that resumes on another thread.
 */
static inline struct g *getg(void)
{
    struct g *gp;
#if defined(__x86_64__)
    __asm__ volatile("movq %%fs:(%1), %0" : "=r"(gp) : "r"(rg__tls_goff) : "memory");
#else
    gp = *(struct g **)(rg__thread_pointer() + rg__tls_goff);
#endif
    return gp;
}

static inline void setg(struct g *gp)
{
#if defined(__x86_64__)
    __asm__ volatile("movq %0, %%fs:(%1)" ::"r"(gp), "r"(rg__tls_goff) : "memory");
#else
    *(struct g **)(rg__thread_pointer() + rg__tls_goff) = gp;
#endif
}

static inline struct m *getm(void)
{
    struct g *gp = getg();
    return gp ? gp->m : NULL;
}

/* ---- gq: singly linked G queues (gList/gQueue) ---- */
static inline void gq_push(struct gq *q, struct g *gp)
{
    gp->schedlink = NULL;
    if (q->tail)
        q->tail->schedlink = gp;
    else
        q->head = gp;
    q->tail = gp;
    q->n++;
}

static inline struct g *gq_pop(struct gq *q)
{
    struct g *gp = q->head;
    if (gp) {
        q->head = gp->schedlink;
        if (!q->head)
            q->tail = NULL;
        q->n--;
    }
    return gp;
}

/* ---- m.c ---- */
void rg__mstart(struct m *mp);
struct m *rg__allocm(void);
int rg__newm(struct p *pp, bool spinning);
void rg__mexit(struct m *mp) __attribute__((noreturn));
uint32_t rg__fastrand(struct m *mp);

/* ---- proc.c: goroutines ---- */
void rg__mcall(struct rg_gobuf *, void *, void (*)(void *), void *);
void rg__mcallg(void (*fn)(struct g *));
struct g *rg__newproc(void (*fn)(void *), void *arg, void *callerpc, int *err);
void rg__goexit1(void) __attribute__((noreturn));
void rg__casgstatus(struct g *gp, uint32_t from, uint32_t to);
void rg__gfree_all(void);
void rg__san_gentry(void *gp);
void rg__foreign_quiesce(void);
bool rg__running(void);
uint64_t rg__goroutines(void);

/* ---- park.c ---- */
void rg__park(bool (*commit)(struct g *, void *), void *arg,
              const char *reason);
void rg__ready(struct g *gp, bool next);
void rg__ready_list(struct gq *q);

/* ---- sched.c ---- */
void rg__schedule(void) __attribute__((noreturn));
void rg__execute(struct g *gp, bool inherit) __attribute__((noreturn));
void rg__wakep(void);
void rg__startm(struct p *pp, bool spinning);
void rg__acquirep(struct p *pp);
struct p *rg__releasep(void);
struct p *rg__pidleget(void);
void rg__pidleput(struct p *pp);
void rg__globrunq_put(struct g *gp);
void rg__globrunq_putbatch(struct gq *q);
void rg__inject_glist(struct gq *q);
void rg__inject_local(struct p *pp, struct gq *q);
void rg__checkdead(void);
void rg__stopm(struct m *mp);
void rg__stopall(void);

/* ---- runq.c ---- */
void rg__runq_put(struct p *pp, struct g *gp, bool next);
struct g *rg__runq_get(struct p *pp, bool *inherit);
struct g *rg__runq_steal(struct p *pp, struct p *victim, bool stealrunnext);
bool rg__runq_empty(struct p *pp);
int rg__runq_grab_all(struct p *pp, struct gq *q);
uint32_t rg__runq_len(struct p *pp);

/* ---- timer.c ---- */
void rg__timer_add(struct rg_timer *t, int64_t when);
bool rg__timer_del(struct rg_timer *t);
int64_t rg__timer_check(struct p *pp, int64_t now, bool *ran);
int64_t rg__timer_earliest(void);
void rg__timer_wake(int64_t when);
void rg__timer_free(struct p *pp);

/* ---- stack.c ---- */
int rg__stack_alloc(struct g **gpp);
void rg__stack_free_all(void);
size_t rg__stack_mapped(void);
size_t rg__stack_resident(void);
bool rg__stack_guard_madvise(void);
int rg__stack_init(size_t size);
void rg__sigaltstack_init(struct m *mp);
void rg__sigaltstack_fini(struct m *mp);
void rg__signals_install(void);
void rg__signals_restore(void);

/* ---- traceback.c, symtab.c ---- */
void rg__traceback_install(bool want);
void rg__traceback_restore(void);
void rg__symbolize(uintptr_t pc, char *buf, size_t len);
void rg__symtab_load(void);

/* ---- syscall.c ---- */
void rg__handoffp(struct p *pp);

/* ---- sysmon.c ---- */
int rg__sysmon_start(void);
void rg__sysmon_stop(void);
void rg__sysmon_wake(void);

int64_t rg__nanotime(void);
/* Is rg__nanotime() certainly before t? Cheap when t is far ahead (see
   "Cheap deadline checks" in m.c). */
bool rg__before(int64_t t);

#endif
