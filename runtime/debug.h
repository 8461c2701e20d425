/*
 * runtime/debug.h: fatal errors, assertions and the sanitizer hooks.
 *
 * The hooks are unconditional calls that compile to nothing in a normal
 * build, so the switch path reads the same with and without sanitizers.
 * The protocol they implement:
 *
 *   ASan (fiber API). Before a switch, the leaving context calls
 *   start_switch(&its fake stack, bottom and size of the target stack),
 *   passing NULL instead of &fake when it will never resume (g0 leaving
 *   by gogo: its frames are dead; a G leaving by goexit). The first thing
 *   the entered context does is finish_switch(its saved fake stack).
 *
 *   TSan. Each G has a TSan fiber, created with the G, kept with it
 *   across reuses, and destroyed when its stack is unmapped; each M's g0
 *   keeps the thread's own fiber. The leaving context switches fibers
 *   right before gogo or mcall. TSan keeps a shadow call stack per fiber
 *   (pushed on function entry, popped on return), which two things here
 *   would unbalance:
 *    - The hooks themselves. An instrumented hook that switched fibers
 *      would pop its own entry from the fiber it switched to, so the
 *      hooks are RG_SAN_NOINSTR: not instrumented at all.
 *    - Frames that never return. g0 restarts at a fixed depth on every
 *      mcall, its old frames abandoned (see "The g0 stack" in m.c), and a
 *      G's fiber outlives the goroutine that ended in goexit. Each would
 *      grow its shadow stack by a few entries per switch until TSan
 *      overflows it (a crash after ~64k entries: ~16k switches). So a
 *      context entered afresh (g0 in mcall, a new goroutine) first cuts
 *      its fiber's shadow stack back to its base: the depth recorded in
 *      rg__mstart for g0, zero for a G.
 *
 *   Valgrind. Each stack is registered once with VALGRIND_STACK_REGISTER
 *   when it is mapped (no-op when not running under valgrind).
 *
 *   Happens-before the sanitizer cannot see. rg__san_release(addr) and
 *   rg__san_acquire(addr) (TSan's __tsan_release/__tsan_acquire; nothing
 *   in other builds) order memory whose synchronisation goes through the
 *   kernel: an io_uring is mapped and unmapped by liburing with raw
 *   system calls, so a new ring at the address of an old one looks, to
 *   TSan, like memory shared without synchronisation.
 *
 *   Racy-by-design reads of words written with plain stores in code ringo
 *   does not own (liburing's SQ tail, read by the monitor) go through
 *   rg__racy_load_u32, which TSan does not instrument. Everything ringo
 *   owns uses relaxed atomics on both sides instead.
 */
#ifndef RINGO_RUNTIME_DEBUG_H
#define RINGO_RUNTIME_DEBUG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Print "ringo: fatal error: msg" with the goroutine dump and abort. */
void rg__throw(const char *msg) __attribute__((noreturn, cold));

#ifdef RG_DEBUG
#define rg__assert(c)                                                          \
    ((c) ? (void)0 : rg__throw("assertion failed: " #c " at " __FILE__))
#else
#define rg__assert(c) ((void)0)
#endif

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RG_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define RG_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(RG_ASAN)
#define RG_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__) && !defined(RG_TSAN)
#define RG_TSAN 1
#endif

#if defined(RG_ASAN) || defined(RG_TSAN)
#define RG_SANITIZE 1
#endif

/* Not instrumented by any sanitizer (see "TSan" above). clang's
   no_sanitize("thread") keeps the function entry/exit hooks; its
   disable_sanitizer_instrumentation (clang 14) removes them. gcc's
   no_sanitize removes them too. */
#if defined(__clang__) && defined(__has_attribute)
#if __has_attribute(disable_sanitizer_instrumentation)
#define RG_SAN_NOINSTR __attribute__((disable_sanitizer_instrumentation))
#endif
#endif
#ifndef RG_SAN_NOINSTR
#define RG_SAN_NOINSTR __attribute__((no_sanitize("address", "thread")))
#endif

struct g;
struct m;

#ifdef RG_SANITIZE
/* Called by the leaving context right before a switch into `to`. */
void rg__san_switch_begin(struct g *from, struct g *to, int from_dies);
/* Called by the entered context right after the switch. */
void rg__san_switch_end(struct g *self);
void rg__san_g_create(struct g *gp);
void rg__san_g_destroy(struct g *gp);
/* gp's stack is about to be unmapped (runtime shutdown). */
void rg__san_g_free(struct g *gp);
void rg__san_m_init(struct m *mp);
#else
static inline void rg__san_switch_begin(struct g *from, struct g *to,
                                        int from_dies)
{
    (void)from, (void)to, (void)from_dies;
}
static inline void rg__san_switch_end(struct g *self) { (void)self; }
static inline void rg__san_g_create(struct g *gp) { (void)gp; }
static inline void rg__san_g_destroy(struct g *gp) { (void)gp; }
static inline void rg__san_g_free(struct g *gp) { (void)gp; }
static inline void rg__san_m_init(struct m *mp) { (void)mp; }
#endif

#ifdef RG_TSAN
void rg__san_release(const void *addr);
void rg__san_acquire(const void *addr);
#else
static inline void rg__san_release(const void *addr) { (void)addr; }
static inline void rg__san_acquire(const void *addr) { (void)addr; }
#endif

/*
 * Diagnostics that print a snapshot of other threads' state while they
 * run (goroutine dumps, the scheduler trace) read it without
 * synchronisation by design, as Go's do: they are no_sanitize("thread")
 * and read such fields with RG_RACY_READ, a plain load (an atomic one
 * would still be checked against the plain stores). Nothing they read
 * decides anything.
 */
#define RG_RACY_READ(x) (*(const volatile __typeof__(x) *)&(x))

/* A racy-by-design load of a word another thread writes with plain
   stores (see above): the value may be stale, never torn. */
#ifdef RG_TSAN
/* Out of line: clang would inline it into (and instrument it with) an
   instrumented caller. */
#define RG_RACY_ATTR __attribute__((noinline, unused)) RG_SAN_NOINSTR
#else
#define RG_RACY_ATTR inline
#endif
static RG_RACY_ATTR unsigned rg__racy_load_u32(const unsigned *p)
{
    return *(const volatile unsigned *)p;
}

void rg__valgrind_stack_register(void *lo, void *hi);
/* Running under valgrind, which cannot follow io_uring (io/poll.c). */
bool rg__valgrind_running(void);

/* Forget ASan's poisoning of a stack region (frames of goroutines that
   never returned) before the memory is unmapped or reused. */
#ifdef RG_ASAN
void rg__san_unpoison(void *addr, size_t len);
#else
static inline void rg__san_unpoison(void *addr, size_t len)
{
    (void)addr, (void)len;
}
#endif

/* Print every goroutine (id, state, wait reason) to fd. */
void rg__dump_goroutines(int fd);

#endif
