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
 *   TSan. Each G has a TSan fiber, created with the G and switched to
 *   right before gogo; each M's g0 keeps the thread's own fiber.
 *
 *   Valgrind. Each stack is registered once with VALGRIND_STACK_REGISTER
 *   when it is mapped (no-op when not running under valgrind).
 */
#ifndef RINGO_RUNTIME_DEBUG_H
#define RINGO_RUNTIME_DEBUG_H

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

struct g;
struct m;

#ifdef RG_SANITIZE
/* Called by the leaving context right before a switch into `to`. */
void rg__san_switch_begin(struct g *from, struct g *to, int from_dies);
/* Called by the entered context right after the switch. */
void rg__san_switch_end(struct g *self);
void rg__san_g_create(struct g *gp);
void rg__san_g_destroy(struct g *gp);
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
static inline void rg__san_m_init(struct m *mp) { (void)mp; }
#endif

void rg__valgrind_stack_register(void *lo, void *hi);

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
