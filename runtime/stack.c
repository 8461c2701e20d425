/*
 * runtime/stack.c: goroutine stacks, their guard pages, and the stack
 * overflow handler.
 *
 * Layout
 * ======
 * Stacks are carved from arenas: large anonymous mappings reserved with
 * MAP_NORESERVE, so a stack costs resident memory only for the pages its
 * goroutine touches. Each block of an arena is
 *
 *   lo                                                              hi
 *   | guard page | usable stack (grows down) ...        | struct g |
 *
 * The struct g takes the top bytes of the configured stack size.
 *
 * The struct g lives at the top of its own stack: a goroutine that parks
 * after touching a few hundred bytes of stack costs one resident page in
 * total. Blocks are never unmapped while the runtime runs: a dead G keeps
 * its stack on a free list (proc.c).
 *
 * Guard pages
 * ===========
 * mprotect(PROT_NONE) on one page of an arena splits its VMA in two, and
 * Linux caps a process at vm.max_map_count (65530) VMAs: ~32k goroutines.
 * MADV_GUARD_INSTALL (Linux 6.13) installs a guard in the page tables
 * without a VMA split, so it is used when the kernel has it (probed once
 * at start); older kernels fall back to mprotect.
 *
 * Overflow
 * ========
 * Touching a guard page raises SIGSEGV. The handler runs on a per-M
 * sigaltstack (the faulting stack is full), finds the goroutine from the
 * thread's current G, and if the fault is in that G's guard page prints
 * which goroutine overflowed and its stack size, then aborts. Other faults
 * go to the handler that was installed before ringo's.
 */
#include "internal.h"
#include "alloc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* Linux 6.13; absent from older headers */
#endif

/* The page size, read once (4 KiB on x86-64; 4, 16 or 64 KiB on arm64):
   guards and blocks are whole pages. */
static size_t page_size;
#define PAGE page_size
#define ARENA_MIN 16   /* stacks in the first arena */
#define ARENA_MAX 1024 /* arenas double up to this many stacks */
#define SIGSTACK_MIN (64 * 1024)

struct stack_arena {
    struct stack_arena *next;
    char *base;
    size_t size;
    size_t nblocks, used;
};

static struct {
    rg_lock lock;
    struct stack_arena *arenas; /* newest first; lock */
    size_t block;               /* bytes per block, guard included */
    size_t gsize;               /* struct g rounded to 64 bytes */
    size_t nextn;               /* stacks in the next arena */
    bool guard_madvise;         /* MADV_GUARD_INSTALL works */
    _Atomic size_t mapped;      /* bytes reserved */
} stk;

static bool probe_guard_install(void)
{
    if (getenv("RINGO_NO_GUARD_INSTALL"))
        return false;
    void *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return false;
    bool ok = madvise(p, PAGE, MADV_GUARD_INSTALL) == 0;
    munmap(p, 2 * PAGE);
    return ok;
}

int rg__stack_init(size_t size)
{
    long ps = sysconf(_SC_PAGESIZE);
    page_size = ps > 0 ? (size_t)ps : 4096;
    size = (size + PAGE - 1) & ~(PAGE - 1);
    size_t gsize = (sizeof(struct g) + 63) & ~(size_t)63;
    stk.gsize = gsize;
    /* size is a multiple of the page size; the g takes its top bytes */
    stk.block = PAGE + size;
    stk.nextn = ARENA_MIN;
    stk.guard_madvise = probe_guard_install();
    stk.arenas = NULL;
    rg__store_rlx(&stk.mapped, 0);
    return 0;
}

size_t rg__stack_mapped(void)
{
    return rg__load_rlx(&stk.mapped);
}

bool rg__stack_guard_madvise(void)
{
    return stk.guard_madvise;
}

static int arena_new(void)
{
    size_t n = stk.nextn;
    size_t size = n * stk.block;
    char *base = mmap(NULL, size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
                      -1, 0);
    if (base == MAP_FAILED)
        return -ENOMEM;
    madvise(base, size, MADV_NOHUGEPAGE);
    for (size_t i = 0; i < n; i++) {
        char *guard = base + i * stk.block;
        if (stk.guard_madvise) {
            if (madvise(guard, PAGE, MADV_GUARD_INSTALL) == 0)
                continue;
            stk.guard_madvise = false; /* e.g. seccomp: fall back */
        }
        if (mprotect(guard, PAGE, PROT_NONE) < 0) {
            munmap(base, size);
            return -ENOMEM; /* out of VMAs (vm.max_map_count) */
        }
    }
    struct stack_arena *a = rg__calloc(1, sizeof(*a));
    if (!a) {
        munmap(base, size);
        return -ENOMEM;
    }
    a->base = base;
    a->size = size;
    a->nblocks = n;
    a->next = stk.arenas;
    stk.arenas = a;
    rg__add_rlx(&stk.mapped, size);
    if (stk.nextn < ARENA_MAX)
        stk.nextn *= 2;
    return 0;
}

/*
 * stack_alloc: a new G with a fresh stack, status G_IDLE, on sched.allg.
 * Returns 0 or -ENOMEM. Any M with a P.
 */
int rg__stack_alloc(struct g **gpp)
{
    rg__lock(&stk.lock);
    struct stack_arena *a = stk.arenas;
    if (!a || a->used == a->nblocks) {
        int rc = arena_new();
        if (rc < 0) {
            rg__unlock(&stk.lock);
            return rc;
        }
        a = stk.arenas;
    }
    char *block = a->base + a->used++ * stk.block;
    rg__unlock(&stk.lock);

    char *top = block + stk.block;
    struct g *gp = (struct g *)(top - stk.gsize);
    memset(gp, 0, sizeof(*gp));
    gp->stack_lo = (uintptr_t)(block + PAGE);
    gp->stack_hi = (uintptr_t)gp;
    gp->arena = a;
    gp->waitfd = -1;
    rg__valgrind_stack_register((void *)gp->stack_lo, (void *)gp->stack_hi);

    rg__lock(&rg__sched.allglock);
    gp->alllink = rg__sched.allg;
    rg__sched.allg = gp;
    rg__unlock(&rg__sched.allglock);
    *gpp = gp;
    return 0;
}

/* Bytes of stack arenas resident in RAM (mincore over every arena). */
size_t rg__stack_resident(void)
{
    size_t resident = 0;
    unsigned char vec[4096];
    rg__lock(&stk.lock);
    for (struct stack_arena *a = stk.arenas; a; a = a->next) {
        for (size_t off = 0; off < a->size; off += sizeof(vec) * PAGE) {
            size_t len = a->size - off;
            if (len > sizeof(vec) * PAGE)
                len = sizeof(vec) * PAGE;
            if (mincore(a->base + off, len, vec) < 0)
                continue;
            for (size_t i = 0; i < (len + PAGE - 1) / PAGE; i++)
                resident += (vec[i] & 1) * PAGE;
        }
    }
    rg__unlock(&stk.lock);
    return resident;
}

/* Unmap every arena (runtime shutdown, after every M has left). */
void rg__stack_free_all(void)
{
    struct stack_arena *a = stk.arenas;
    while (a) {
        struct stack_arena *next = a->next;
        /* Gs destroyed while parked never returned from their frames:
           their ASan red zones are still poisoned */
        rg__san_unpoison(a->base + PAGE, a->size - PAGE);
        munmap(a->base, a->size);
        rg__free(a);
        a = next;
    }
    stk.arenas = NULL;
    rg__store_rlx(&stk.mapped, 0);
}

/* ---- overflow detection ---- */

static struct sigaction old_segv, old_bus;
static bool signals_installed;

static void put_str(char *buf, size_t cap, size_t *len, const char *s)
{
    while (*s && *len < cap)
        buf[(*len)++] = *s++;
}

static void put_u64(char *buf, size_t cap, size_t *len, uint64_t v)
{
    char tmp[24];
    int i = 0;
    do {
        tmp[i++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (i > 0 && *len < cap)
        buf[(*len)++] = tmp[--i];
}

static void overflow_handler(int sig, siginfo_t *si, void *uctx)
{
    struct g *gp = rg__tls_goff ? getg() : NULL;
    uintptr_t addr = (uintptr_t)si->si_addr;
    if (gp && gp->m && gp != gp->m->g0 && addr >= gp->stack_lo - PAGE &&
        addr < gp->stack_lo) {
        char msg[256];
        size_t n = 0;
        put_str(msg, sizeof(msg), &n, "ringo: goroutine ");
        put_u64(msg, sizeof(msg), &n, gp->goid);
        put_str(msg, sizeof(msg), &n, " stack overflow (stack size ");
        put_u64(msg, sizeof(msg), &n, rg__sched.stack_size);
        put_str(msg, sizeof(msg), &n,
                " bytes); raise rg_config.stack_size\n");
        if (write(2, msg, n) < 0) {
            /* nothing more can be done */
        }
        signal(SIGABRT, SIG_DFL);
        abort();
    }
    /* Not ours: hand it to whoever was there before. */
    struct sigaction *old = sig == SIGBUS ? &old_bus : &old_segv;
    if (old->sa_flags & SA_SIGINFO) {
        if (old->sa_sigaction) {
            old->sa_sigaction(sig, si, uctx);
            return;
        }
    } else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
        old->sa_handler(sig);
        return;
    }
    /* Default action: restore it and return, so the fault recurs. */
    signal(sig, SIG_DFL);
}

void rg__signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = overflow_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);
    signals_installed = true;
}

void rg__signals_restore(void)
{
    if (!signals_installed)
        return;
    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
    signals_installed = false;
}

/* 64 KiB, or more where the CPU's signal frames are larger (arm64 SME,
   large SVE, AVX-512 state): AT_MINSIGSTKSZ plus room for the handler. */
static size_t sigstack_size(void)
{
    size_t need = (size_t)getauxval(AT_MINSIGSTKSZ) + 32 * 1024;
    return need > SIGSTACK_MIN ? need : SIGSTACK_MIN;
}

void rg__sigaltstack_init(struct m *mp)
{
    size_t size = sigstack_size();
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return;
    stack_t ss = {.ss_sp = p, .ss_size = size, .ss_flags = 0};
    stack_t old;
    if (sigaltstack(&ss, &old) < 0) {
        munmap(p, size);
        return;
    }
    mp->sigstack = p;
    mp->oldsigstack = old;
}

void rg__sigaltstack_fini(struct m *mp)
{
    if (!mp->sigstack)
        return;
    stack_t old = mp->oldsigstack;
    if (old.ss_flags & SS_DISABLE) {
        stack_t dis = {.ss_flags = SS_DISABLE};
        sigaltstack(&dis, NULL);
    } else {
        sigaltstack(&old, NULL);
    }
    munmap(mp->sigstack, sigstack_size());
    mp->sigstack = NULL;
}
