/*
 * runtime/m.c: the M lifecycle: thread start (mstart -> mstart1 -> save ->
 * schedule), thread exit at shutdown, and the thread-local current G.
 *
 * The g0 stack
 * ============
 * An M's g0 runs on the thread's own stack (for m0, the stack of the
 * thread that called rg_run). mstart1 calls save() once, recording in
 * g0.sched.sp the stack pointer of its caller (mstart) at the call. Every
 * later switch to g0 (mcall) restarts at exactly that depth and calls its
 * function there, overwriting mstart1's dead frame. The scheduler never
 * returns (schedule ends in gogo), so g0 never accumulates frames, however
 * many times it runs. Frames above that point (mstart, and rg_run for m0)
 * are never touched: leaving the runtime is a longjmp to m->exitbuf, set
 * in the frame that called mstart.
 *
 * TLS
 * ===
 * The current G is the only thread-local state (rg__tls_g; the M and P
 * hang off it). A goroutine may resume on another thread after any mcall,
 * and compilers cache TLS addresses inside a function (-O2, LTO, and
 * __tls_get_addr results in shared libraries), so the runtime never reads
 * rg__tls_g by name: getg() reads it with an asm volatile load at a fixed
 * offset from the thread pointer. The offset (rg__tls_goff) is the same in
 * every thread for initial-exec TLS, and is computed once in rg_run.
 */
#include "internal.h"
#include "alloc.h"
#include "../io/poll.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

__thread struct g *rg__tls_g __attribute__((tls_model("initial-exec")));
long rg__tls_goff;

/* The offset is fixed once the library is loaded: compute it then, so
   getg() is valid on any thread, even before the first rg_run. */
__attribute__((constructor)) static void tls_init(void)
{
    rg__tls_goff = (long)((char *)&rg__tls_g - rg__thread_pointer());
}

#define M_STACK_SIZE (512 * 1024)

int64_t rg__nanotime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Cheap deadline checks
 * =====================
 * Deadlines are checked where a call starts (rg__fd_check) and timers at
 * every scheduling round; most of them are far away (an idle timeout of
 * seconds), yet each check read the precise clock, which in a VM is a
 * TSC read and a scaling (~20 ns, 2.5% of an HTTP server's CPU at four
 * reads per request). CLOCK_MONOTONIC_COARSE is the same clock as of the
 * kernel's last tick: a few loads from the vDSO page, never ahead of
 * CLOCK_MONOTONIC and behind it by at most a tick while this thread runs
 * (the running CPU's tick keeps it fresh). So a deadline more than
 * COARSE_SLACK past the coarse time has certainly not come, and only one
 * closer needs the precise clock. (On a nohz_full CPU the coarse clock
 * can fall further behind; a deadline is then still enforced by its
 * timer, as Go enforces all of them, only the check at the start of a
 * call may let one more call through.)
 */
#define COARSE_SLACK 20000000 /* 20 ms: five ticks at HZ=250 */

bool rg__before(int64_t t)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    int64_t coarse = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    if (t - coarse > COARSE_SLACK)
        return true;
    return rg__nanotime() < t;
}

uint32_t rg__fastrand(struct m *mp)
{
    /* xorshift64* */
    uint64_t x = mp->fastrand;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    mp->fastrand = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

struct m *rg__allocm(void)
{
    struct m *mp = rg__calloc(1, sizeof(*mp));
    if (!mp)
        return NULL;
    mp->g0 = &mp->g0s;
    mp->g0->m = mp;
    mp->g0->status = G_RUNNING;
    mp->g0->waitfd = -1;
    rg__lock(&rg__sched.lock);
    mp->id = rg__sched.nmids++;
    mp->alllink = rg__sched.allm;
    rg__sched.allm = mp;
    rg__unlock(&rg__sched.lock);
    mp->fastrand = 0x9E3779B97F4A7C15ULL * (uint64_t)(mp->id + 1);
    return mp;
}

/*
 * mstart_fail: mp's thread could not set up its poller (out of memory, or
 * of fds: a ring and an eventfd take one each). That costs this M only:
 * it gives its P back, its queued Gs to the global queue, and leaves; the
 * runtime goes on with the Ms it has. mp stays on allm (the monitor walks
 * it without a lock, and skips Ms never started) but no longer counts in
 * mcount, so neither shutdown nor deadlock detection waits for it.
 */
__attribute__((noreturn)) static void mstart_fail(struct m *mp, int rc)
{
    fprintf(stderr, "ringo: cannot set up the poller of M%d: %s\n", mp->id,
            strerror(-rc));
    struct p *pp = mp->nextp;
    struct gq q = {0};
    mp->nextp = NULL;
    if (pp)
        rg__runq_grab_all(pp, &q);
    if (mp->spinning) {
        mp->spinning = false;
        rg__sub_seq(&rg__sched.nmspinning, 1);
    }
    int n = q.n;
    rg__lock(&rg__sched.lock);
    rg__globrunq_putbatch(&q);
    if (pp)
        rg__pidleput(pp);
    rg__sched.mcount--;
    /* the others may all be idle, or all gone (shutdown), waiting for
       this M to count as idle or gone */
    bool last = rg__sched.nmexited == rg__sched.mcount;
    rg__checkdead();
    rg__unlock(&rg__sched.lock);
    if (last)
        rg__note_wakeup(&rg__sched.exitnote);
    while (n-- > 0 && rg__load_seq(&rg__sched.npidle) > 0)
        rg__startm(NULL, false);
    longjmp(mp->exitbuf, 1);
}

/*
 * mstart1: per-thread setup, then schedule(). Never returns. Not
 * instrumented by ASan: its frame is abandoned (g0 restarts below it), and
 * ASan would otherwise leave its red zones poisoned there.
 */
__attribute__((noinline, no_sanitize_address)) static void mstart1(struct m *mp)
{
    /* save(): g0 restarts at or below the caller's stack pointer at the
       call: 16 bytes above our frame pointer on x86-64 (past the return
       address and saved rbp), inside our own dead frame on aarch64 (whose
       frame record sits at the bottom of the frame). 16-byte aligned on
       both. */
    mp->g0->sched.sp = (char *)__builtin_frame_address(0) + 16;

    if (!mp->is_m0) {
        int rc = rg__poll_open_m(mp);
        if (rc < 0)
            mstart_fail(mp, rc);
        rg__sigaltstack_init(mp);
    }
    /* rel: its poller is set up; pairs with the acq in the monitor, which
       reaps only started Ms */
    rg__store_rel(&mp->started, true);
    if (mp->nextp) {
        struct p *pp = mp->nextp;
        mp->nextp = NULL;
        rg__acquirep(pp);
    }
    rg__schedule();
}

void rg__mstart(struct m *mp)
{
    setg(mp->g0);
    rg__san_m_init(mp);
    struct g *g0 = mp->g0;
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        void *addr;
        size_t size;
        pthread_attr_getstack(&attr, &addr, &size);
        g0->stack_lo = (uintptr_t)addr;
        g0->stack_hi = (uintptr_t)addr + size;
        pthread_attr_destroy(&attr);
    }
    mstart1(mp);
}

static void *mthread(void *arg)
{
    struct m *mp = arg;
    if (setjmp(mp->exitbuf) == 0)
        rg__mstart(mp);
    setg(NULL);
    return NULL;
}

/*
 * newm: create an M (a thread) that will run pp. The caller counted it in
 * sched.mcount. Returns 0 or -errno.
 */
int rg__newm(struct p *pp, bool spinning)
{
    struct m *mp = rg__allocm();
    if (!mp)
        return -ENOMEM;
    mp->nextp = pp;
    mp->spinning = spinning;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, M_STACK_SIZE);
    /* Ms block no signals of their own: the process's handlers run on
       whichever thread the kernel picks, as for any pthread. */
    int rc = pthread_create(&mp->thread, &attr, mthread, mp);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        rg__lock(&rg__sched.lock);
        struct m **pm = &rg__sched.allm;
        while (*pm != mp)
            pm = &(*pm)->alllink;
        *pm = mp->alllink;
        rg__unlock(&rg__sched.lock);
        rg__free(mp);
        return -rc;
    }
    return 0;
}

/*
 * mexit: leave the runtime at shutdown. Drop the P and say so; then wait
 * for rg_run's go-ahead and drain and close the poller (operations in
 * flight may still write into G stacks, which stay mapped until every M
 * has left), then return to the frame that started the M. On g0.
 *
 * The go-ahead: until every M has stopped scheduling and the monitor and
 * foreign threads are gone, another thread may still touch this M's
 * poller (the monitor reaping its ring, startm or a timer waking it), so
 * it must not be freed yet. rg_run closes m0's itself.
 */
void rg__mexit(struct m *mp)
{
    if (mp->p)
        rg__releasep();
    if (mp->spinning) {
        mp->spinning = false;
        rg__sub_seq(&rg__sched.nmspinning, 1);
    }
    rg__lock(&rg__sched.lock);
    if (mp->idle)
        rg__throw("mexit: M still on the idle list");
    bool last = ++rg__sched.nmexited == rg__sched.mcount;
    rg__unlock(&rg__sched.lock);
    if (last)
        rg__note_wakeup(&rg__sched.exitnote);
    if (!mp->is_m0) {
        rg__note_sleep(&mp->closenote, -1);
        rg__poll_close_m(mp);
    }
    rg__sigaltstack_fini(mp);
    longjmp(mp->exitbuf, 1);
}
