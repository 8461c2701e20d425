/*
 * runtime/traceback.c: goroutine dumps (rg_dump, SIGQUIT, deadlock and
 * fatal-error reports) in the shape of Go's traceback.
 *
 *   goroutine 7 [chan receive, 12 s]:
 *     #0 rg__mcallg+0x4a (libringo.so.0)
 *     #1 rg__park+0x5c (libringo.so.0)
 *     #2 rg_chan_recv+0x10 (libringo.so.0)
 *     #3 worker+0x2a (server)
 *   created by goroutine 1 at main_fn+0x40 (server)
 *
 * Stacks are walked through frame pointers (the build keeps them), from
 * the context saved when the G stopped: the saved frame holds the caller's
 * rbp and the resume address (arch/context.h). A G running on another
 * thread has no stable stack to walk and is shown without frames. A
 * function that ends in a tail call has no frame of its own by then, and
 * does not appear (the runtime is built with sibling-call optimisation:
 * turning it off cost 70% on the yield path).
 *
 * Invariants:
 *  1. The walker reads only inside [stack_lo, stack_hi) of the G: stack
 *     blocks stay mapped while the runtime runs, so a racing G (resumed
 *     while we walk) can give a wrong trace, never a fault.
 *  2. Output goes through write(2) from stack buffers: a dump may run in a
 *     signal handler or with runtime locks held, and must not allocate
 *     (symbolization allocates once, on first use, which for the SIGQUIT
 *     handler is when it is installed).
 */
#include "internal.h"
#include "../include/ringo.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_FRAMES 48

void rg__symbolize(uintptr_t pc, char *buf, size_t len);

static const char *status_name(uint32_t s)
{
    switch (s) {
    case G_IDLE:
        return "idle";
    case G_RUNNABLE:
        return "runnable";
    case G_RUNNING:
        return "running";
    case G_WAITING:
        return "waiting";
    case G_DEAD:
        return "dead";
    case G_SYSCALL:
        return "blocking call";
    }
    return "?";
}

static bool put(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        s += w;
        n -= (size_t)w;
    }
    return true;
}

static bool putf(int fd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static bool putf(int fd, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return false;
    return put(fd, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* Walk frame pointers from (pc, fp) inside [lo, hi). */
__attribute__((no_sanitize("address", "thread"))) static bool
walk(int fd, uintptr_t pc, uintptr_t fp, uintptr_t lo, uintptr_t hi)
{
    char sym[256];
    for (int i = 0; i < MAX_FRAMES && pc; i++) {
        /* a return address points after its call: name the call */
        rg__symbolize(i == 0 ? pc : pc - 1, sym, sizeof(sym));
        if (!putf(fd, "  #%d %s\n", i, sym))
            return false;
        if (pc == (uintptr_t)rg__goexit + RG_CTX_GOEXIT_RA)
            break; /* the goroutine's first frame */
        if (fp < lo || fp + 16 > hi || (fp & 7))
            break;
        uintptr_t next = ((uintptr_t *)fp)[0];
        pc = ((uintptr_t *)fp)[1];
        if (next != 0 && next <= fp)
            break;
        fp = next;
    }
    return true;
}

/* Racy by design (see RG_RACY_READ in debug.h): gp may be running. */
__attribute__((no_sanitize("thread"))) static bool
dump_one(int fd, struct g *gp, struct g *self, int64_t now)
{
    uint32_t st = rg__load_acq(&gp->status);
    if (st == G_DEAD || st == G_IDLE)
        return true;
    char head[160];
    const char *why = status_name(st);
    if (st == G_WAITING && gp->waitreason)
        why = gp->waitreason;
    int n = snprintf(head, sizeof(head), "goroutine %llu [%s",
                     (unsigned long long)gp->goid, why);
    if (st == G_WAITING && gp->waitfd >= 0)
        n += snprintf(head + n, sizeof(head) - (size_t)n, " on fd %d",
                      gp->waitfd);
    /* waits of a second or more show their length (Go shows minutes) */
    if (st == G_WAITING && gp->waitsince && now - gp->waitsince >= 1000000000)
        n += snprintf(head + n, sizeof(head) - (size_t)n, ", %lld s",
                      (long long)((now - gp->waitsince) / 1000000000));
    snprintf(head + n, sizeof(head) - (size_t)n, "]:\n");
    if (!put(fd, head, strlen(head)))
        return false;

    if (gp == self) {
        walk(fd, (uintptr_t)__builtin_return_address(0),
             ((uintptr_t *)__builtin_frame_address(0))[0], gp->stack_lo,
             gp->stack_hi);
    } else if (st == G_RUNNING || st == G_SYSCALL) {
        putf(fd, "  (running on another thread: no stack)\n");
    } else if (gp->sched.sp) {
        uintptr_t sp = (uintptr_t)gp->sched.sp;
        if (sp >= gp->stack_lo && sp + RG_CTX_FRAME_SIZE <= gp->stack_hi) {
            uintptr_t pc = *(uintptr_t *)(sp + RG_CTX_OFF_PC);
            uintptr_t fp = *(uintptr_t *)(sp + RG_CTX_OFF_RBP);
            if (pc == (uintptr_t)rg__gostart) {
                char sym[256];
                rg__symbolize((uintptr_t)gp->fn, sym, sizeof(sym));
                putf(fd, "  (not started) %s\n", sym);
            } else {
                walk(fd, pc, fp, gp->stack_lo, gp->stack_hi);
            }
        }
    }
    if (gp->gopc) {
        char sym[256];
        rg__symbolize((uintptr_t)gp->gopc - 1, sym, sizeof(sym));
        if (gp->parent_goid)
            putf(fd, "created by goroutine %llu at %s\n",
                 (unsigned long long)gp->parent_goid, sym);
        else
            putf(fd, "created by %s at %s\n",
                 gp->goid == 1 ? "rg_run" : "a foreign thread", sym);
    }
    return put(fd, "\n", 1);
}

/* Print every live goroutine to fd. The current one is walked live.
   Walks allg without allglock: it may run in a signal handler. */
__attribute__((no_sanitize("thread"))) void rg__dump_goroutines(int fd)
{
    struct g *self = getg();
    int64_t now = rg__load_rlx(&rg__sched.coarsenow);
    for (struct g *gp = rg__sched.allg; gp; gp = gp->alllink)
        if (!dump_one(fd, gp, self, now))
            return;
}

int rg_dump(int fd)
{
    if (!rg__running())
        return -EPERM;
    if (fd < 0)
        return -EBADF;
    return rg__dump_goroutines(fd), 0;
}

/* ---- SIGQUIT ---- */

static struct sigaction old_quit;
static bool quit_installed;

static void on_sigquit(int sig)
{
    (void)sig;
    static const char msg[] = "SIGQUIT: goroutine dump\n\n";
    put(2, msg, sizeof(msg) - 1);
    rg__dump_goroutines(2);
    _exit(2); /* as Go does */
}

/* Install the SIGQUIT dump when RINGO_TRACEBACK=1 or asked by config. */
void rg__traceback_install(bool want)
{
    const char *env = getenv("RINGO_TRACEBACK");
    if (env && *env)
        want = strcmp(env, "0") != 0;
    if (!want)
        return;
    /* The handler must not allocate or take the loader's lock (it may
       interrupt malloc or dlopen): load the symbols now. */
    rg__symtab_load();
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigquit;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGQUIT, &sa, &old_quit);
    quit_installed = true;
}

void rg__traceback_restore(void)
{
    if (quit_installed)
        sigaction(SIGQUIT, &old_quit, NULL);
    quit_installed = false;
}
