/*
 * ringo.h: goroutines for C on Linux, scheduled G/M/P-style on io_uring.
 *
 * Conventions, for every function below:
 *  - Functions that can fail return 0 (or a count) on success and a
 *    negative errno on failure, as liburing does. ringo never sets errno.
 *  - "From a goroutine" means from code running inside rg_run(), on any
 *    goroutine. Called from elsewhere, such functions return -EPERM.
 *  - A goroutine may resume on a different thread after any call that can
 *    block or yield. Do not keep pointers to thread-local storage (errno
 *    included) across such calls.
 */
#ifndef RINGO_H
#define RINGO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RINGO_VERSION_MAJOR 0
#define RINGO_VERSION_MINOR 1
#define RINGO_VERSION_PATCH 0

#if defined(__GNUC__)
#define RG_API __attribute__((visibility("default")))
#else
#define RG_API
#endif

/* ------------------------------------------------------------------ */
/* Runtime                                                             */
/* ------------------------------------------------------------------ */

/*
 * Settings for rg_run(). Zero means "the default" for every field, so
 * `struct rg_config cfg = {0};` (or a NULL pointer) is a valid config.
 */
struct rg_config {
    int procs;             /* Ps (goroutines running in parallel). Default:
                              $RINGO_PROCS, else the CPUs in the process's
                              affinity mask. */
    size_t stack_size;     /* usable bytes of each goroutine stack, rounded
                              up to pages. Default 256 KiB. Stacks are
                              reserved, not committed: RSS grows only with
                              the pages a goroutine touches. */
    unsigned ring_entries; /* submission queue entries of each thread's
                              io_uring. Default 256. */
    unsigned flags;        /* RG_CONFIG_* below */
    int reserved[7];       /* must be zero */
};

/* rg_config.flags: SIGQUIT prints every goroutine's stack and exits 2 (as
   Go does). Also enabled by RINGO_TRACEBACK=1 in the environment. */
#define RG_CONFIG_TRACEBACK 0x1

/*
 * rg_run - boot the runtime and run main_fn(arg) as goroutine 1.
 *
 * The calling thread becomes the runtime's first M (m0). rg_run returns
 * when main_fn returns: goroutines still alive then are never resumed
 * again, every runtime resource is freed, and rg_run may be called again.
 * A goroutine that is running on another thread at that moment is not
 * interrupted; rg_run waits for it to reach its next scheduling point.
 *
 * Returns 0 when main_fn returned; -EINVAL for a bad config; -EBUSY when
 * called while a runtime is already running in this process; -EDEADLK when
 * every goroutine became blocked forever (a report goes to stderr); or the
 * -errno of a resource that could not be set up (io_uring, memory, thread),
 * with a message on stderr saying which.
 */
RG_API int rg_run(void (*main_fn)(void *), void *arg,
                  const struct rg_config *cfg);

/*
 * rg_go - start fn(arg) as a new goroutine.
 *
 * The goroutine is queued on the caller's P and runs when scheduled; it
 * ends when fn returns. rg_go may yield the caller when its P's run queue
 * is full, so a loop that spawns goroutines cannot run away from them.
 * Returns 0, -ENOMEM when no stack could be mapped (fn never runs), or
 * -EPERM when called from outside a goroutine.
 */
RG_API int rg_go(void (*fn)(void *), void *arg);

/* rg_yield - let other runnable goroutines run; the caller stays runnable. */
RG_API void rg_yield(void);

/*
 * rg_sleep - park the calling goroutine for at least ns nanoseconds.
 * Returns 0, or -EPERM outside a goroutine.
 */
RG_API int rg_sleep(uint64_t ns);

/* rg_now - monotonic clock (CLOCK_MONOTONIC) in nanoseconds. Any thread. */
RG_API uint64_t rg_now(void);

/* rg_id - id of the calling goroutine (main is 1); 0 outside the runtime. */
RG_API uint64_t rg_id(void);

/* rg_procs - number of Ps of the running runtime; 0 when none runs. */
RG_API int rg_procs(void);

/*
 * rg_blocking - run fn(arg), a call that may block the thread (a blocking
 * syscall, a C library that does its own I/O), on the calling goroutine
 * without stopping the others.
 *
 * fn runs at once, on the caller's stack and thread. If it takes longer
 * than ~20 us, the runtime's monitor hands the caller's P to another
 * thread, so the other goroutines keep running; when fn returns, the
 * goroutine continues on whatever P it can get. fn must not call ringo
 * functions that block or yield.
 *
 * Returns 0 after fn returned, -EINVAL if fn is NULL, or -EPERM outside a
 * goroutine (fn is not called).
 */
RG_API int rg_blocking(void (*fn)(void *), void *arg);

/* ------------------------------------------------------------------ */
/* Seeing inside                                                       */
/* ------------------------------------------------------------------ */

/*
 * rg_dump - write every live goroutine to fd, in the shape of Go's
 * traceback: id, state or wait reason (with the fd of an I/O wait and how
 * long it has waited), a symbolized stack trace of a parked goroutine
 * (frame-pointer walk from its saved context), and the goroutine and code
 * that created it. Goroutines running on another thread are listed
 * without a trace. Any thread, while a runtime runs.
 *
 * Returns 0, -EBADF for a negative fd, or -EPERM when no runtime runs.
 */
RG_API int rg_dump(int fd);

/* Runtime counters, summed over Ps and threads (a racy snapshot). */
struct rg_stats {
    uint64_t goroutines;         /* alive now */
    uint64_t goroutines_created; /* since rg_run started */
    uint64_t switches;           /* goroutines scheduled (execute) */
    uint64_t steals;             /* successful steals from another P */
    uint64_t parks;              /* goroutines parked (blocked) */
    uint64_t threads;            /* Ms created */
    uint64_t idle_threads;       /* Ms parked with nothing to run */
    uint64_t io_submitted;       /* I/O operations submitted */
    uint64_t io_completed;       /* I/O completions reaped */
    uint64_t io_enters;          /* io_uring_enter system calls */
    uint64_t stack_mapped;       /* bytes of stack address space reserved */
    uint64_t stack_resident;     /* bytes of it in RAM (mincore) */
    uint64_t reserved[8];
};

/*
 * rg_stats - fill *st with the counters above. Any thread, while a runtime
 * runs. stack_resident is computed with mincore(2) over every stack arena
 * and costs a system call per arena.
 *
 * Returns 0, -EINVAL for a NULL st, or -EPERM when no runtime runs.
 */
RG_API int rg_stats(struct rg_stats *st);

#ifdef __cplusplus
}
#endif
#endif /* RINGO_H */
