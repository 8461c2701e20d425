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
    int reserved[8];       /* must be zero */
};

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

#ifdef __cplusplus
}
#endif
#endif /* RINGO_H */
