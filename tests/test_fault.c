/*
 * tests/test_fault.c: failure paths. Each one returns a clear -errno (or
 * NULL), says why on stderr where the caller cannot, and leaves the
 * runtime usable; nothing leaks (the fault build runs under ASan, see
 * scripts/test) and nothing crashes.
 *
 *   stack mmap refused (RLIMIT_AS)      rg_go -ENOMEM; the running
 *                                       goroutines go on, and rg_go works
 *                                       again from freed stacks and once
 *                                       memory is back
 *   fd limit reached (RLIMIT_NOFILE)    rg_accept -EMFILE; the server
 *                                       serves on once fds are freed
 *   a new M's io_uring refused          that M gives its P back and
 *   (seccomp, after start-up)           leaves, with one line on stderr;
 *                                       the run completes on the others
 *   allocation failures (meson          rg_chan_make NULL, rg_go -ENOMEM,
 *   -Dfault_inject=true: the Nth        rg_run -ENOMEM at each start-up
 *   rg__malloc/calloc/realloc fails)    allocation, a new M's poller
 *
 * Covered elsewhere: io_uring refused at start-up falls back to epoll with
 * one line on stderr (tests/test_netpoll.c, fallback_eperm and
 * fallback_enosys); a full SQ and an overflowing CQ never fail an
 * operation (tests/test_net.c, tiny_ring: 200 reads completing together
 * on a ring of 4 SQEs and 16 CQEs).
 *
 * Each test runs in a forked child, whose limits, seccomp filter and
 * stderr stay its own; a child reports failures through a pipe (req) and
 * ends with exit() when it passes, so that LeakSanitizer checks it.
 */
#include "helpers.h"
#include "refuse_uring.h"
#include "../runtime/alloc.h"
#include "../runtime/debug.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MS 1000000ull

/* ---- running a check in a child ---- */

static int resfd = -1;
#define req(c)                                                                 \
    do {                                                                       \
        if (!(c)) {                                                            \
            dprintf(resfd, "line %d: %s\n", __LINE__, #c);                     \
            _exit(3);                                                          \
        }                                                                      \
    } while (0)

static char child_err[16384]; /* the child's stderr */

/* Run fn in a child with stderr captured in child_err; assert that it
   exited with 0. Returns false if it skipped (77; the reason printed). */
static bool in_child(void (*fn)(void))
{
    int errp[2], resp[2];
    ck_assert_int_eq(pipe(errp), 0);
    ck_assert_int_eq(pipe(resp), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        resfd = resp[1];
        close(errp[0]);
        close(resp[0]);
        dup2(errp[1], 2);
        close(errp[1]);
        fn();
        exit(0);
    }
    close(errp[1]);
    close(resp[1]);
    size_t n = 0;
    ssize_t r;
    while ((r = read(errp[0], child_err + n, sizeof(child_err) - 1 - n)) > 0)
        n += (size_t)r;
    child_err[n] = '\0';
    char res[512];
    r = read(resp[0], res, sizeof(res) - 1);
    res[r > 0 ? r : 0] = '\0';
    close(errp[0]);
    close(resp[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status), "child died (status %#x); stderr:\n%s",
                  status, child_err);
    if (WEXITSTATUS(status) == 77) {
        fprintf(stderr, "%s", res);
        return false;
    }
    ck_assert_msg(WEXITSTATUS(status) == 0, "child failed (%d): %sstderr:\n%s",
                  WEXITSTATUS(status), res, child_err);
    return true;
}

/* _exit: a runtime may still be running, its objects held by goroutine
   stacks, which LeakSanitizer does not scan. */
static void skip(const char *why)
{
    dprintf(resfd, "skip: %s\n", why);
    _exit(77);
}

static bool on_epoll(void)
{
    struct rg_stats st;
    return rg_stats(&st) == 0 && st.io_epoll;
}

/* ---- stack mmap refused: RLIMIT_AS ---- */

#define BIG_STACK (64u << 20) /* arenas of 16, then 32, such stacks */

static rg_chan *blk_c;
static atomic_int blk_done, late_done;

static void blocker(void *arg)
{
    (void)arg;
    char v;
    rg_chan_recv(blk_c, &v); /* until closed */
    atomic_fetch_add(&blk_done, 1);
}

static void late(void *arg)
{
    (void)arg;
    atomic_fetch_add(&late_done, 1);
}

static size_t vm_size(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (f) {
        if (fscanf(f, "%lu", &pages) != 1)
            pages = 0;
        fclose(f);
    }
    return pages * (size_t)sysconf(_SC_PAGESIZE);
}

static void wait_at_least(atomic_int *v, int want)
{
    uint64_t end = rg_now() + 10000 * MS;
    while (atomic_load(v) < want) {
        req(rg_now() < end);
        rg_sleep(MS);
    }
}

static void as_main(void *arg)
{
    (void)arg;
    blk_c = rg_chan_make(1, 0);
    req(blk_c);
    /* The first arena (16 stacks, one of them main's) is mapped; room
       for half the next one at most. */
    struct rlimit old, lim;
    req(getrlimit(RLIMIT_AS, &old) == 0);
    lim = old;
    lim.rlim_cur = vm_size() + 8 * (size_t)BIG_STACK;
    req(setrlimit(RLIMIT_AS, &lim) == 0);
    int ok = 0, rc = 0;
    while (ok < 64 && (rc = rg_go(blocker, NULL)) == 0)
        ok++;
    req(rc == -ENOMEM);
    req(ok == 15);
    /* The blocked goroutines are fine: wake them, they finish. */
    rg_chan_close(blk_c);
    wait_at_least(&blk_done, ok);
    /* Their stacks are free again: rg_go works with the limit still on
       (one P, so they are all on its free list). */
    for (int i = 0; i < ok; i++)
        req(rg_go(late, NULL) == 0);
    wait_at_least(&late_done, ok);
    /* Memory is back: more goroutines than one arena holds. */
    req(setrlimit(RLIMIT_AS, &old) == 0);
    for (int i = 0; i < 40; i++)
        req(rg_go(blocker, NULL) == 0);
    wait_at_least(&blk_done, ok + 40); /* the channel is closed */
    rg_chan_free(blk_c);
}

static void as_child(void)
{
    struct rg_config cfg = {0};
    cfg.procs = 1;
    cfg.stack_size = BIG_STACK;
    req(rg_run(as_main, NULL, &cfg) == 0);
}

START_TEST(stack_mmap_refused)
{
    in_child(as_child);
}
END_TEST

/* ---- fd limit reached: rg_accept -EMFILE ---- */

#define NCLI 4

static int cli[NCLI];
static rg_chan *srv_c; /* server -> main: an accept failed (its -errno) */
static rg_chan *go_c;  /* main -> server: fds are free, accept again */
static atomic_int served;

static void echo_once(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char b;
    req(rg_read(fd, &b, 1) == 1);
    req(rg_write(fd, &b, 1) == 1);
    req(rg_close(fd) == 0);
    atomic_fetch_add(&served, 1);
}

static void server(void *arg)
{
    int lfd = (int)(intptr_t)arg;
    int accepted = 0;
    while (accepted < NCLI) {
        int fd = rg_accept(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            req(rg_chan_send(srv_c, &fd) == 0);
            char v;
            req(rg_chan_recv(go_c, &v) == 1);
            continue;
        }
        req(rg_go(echo_once, (void *)(intptr_t)fd) == 0);
        accepted++;
    }
}

static void emfile_main(void *arg)
{
    (void)arg;
    srv_c = rg_chan_make(sizeof(int), 0);
    go_c = rg_chan_make(1, 0);
    req(srv_c && go_c);
    int lfd = rg_listen_tcp("127.0.0.1", 0, 64, 0);
    req(lfd >= 0);
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    req(getsockname(lfd, (struct sockaddr *)&sin, &len) == 0);
    /* Connected clients wait in the listener's backlog. */
    for (int i = 0; i < NCLI; i++)
        req((cli[i] = rg_dial_tcp("127.0.0.1", ntohs(sin.sin_port),
                                  5000 * MS)) >= 0);
    /* Lower the limit to a few fds above the highest open one, fill
       every free fd below it, then free two. */
    int top = 0;
    for (int fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            top = fd;
    struct rlimit old, lim;
    req(getrlimit(RLIMIT_NOFILE, &old) == 0);
    lim = old;
    lim.rlim_cur = (rlim_t)top + 1 + 8;
    req(setrlimit(RLIMIT_NOFILE, &lim) == 0);
    int ballast[1024], nb = 0, fd;
    while (nb < 1024 && (fd = dup(lfd)) >= 0)
        ballast[nb++] = fd;
    req(errno == EMFILE);
    req(nb >= 8);
    close(ballast[--nb]);
    close(ballast[--nb]);

    req(rg_go(server, (void *)(intptr_t)lfd) == 0);
    int err;
    req(rg_chan_recv(srv_c, &err) == 1);
    req(err == -EMFILE); /* two accepted, the third has no fd */
    /* Free the fds: the server accepts the rest. */
    while (nb > 0)
        close(ballast[--nb]);
    req(setrlimit(RLIMIT_NOFILE, &old) == 0);
    char v = 1;
    req(rg_chan_send(go_c, &v) == 0);
    for (int i = 0; i < NCLI; i++) {
        char b = (char)('a' + i), e = 0;
        req(rg_write(cli[i], &b, 1) == 1);
        req(rg_read(cli[i], &e, 1) == 1);
        req(e == b);
        req(rg_close(cli[i]) == 0);
    }
    wait_at_least(&served, NCLI);
    req(rg_close(lfd) == 0);
    rg_chan_free(srv_c);
    rg_chan_free(go_c);
}

static void emfile_child(void)
{
    struct rg_config cfg = {0};
    cfg.procs = 1;
    req(rg_run(emfile_main, NULL, &cfg) == 0);
}

START_TEST(accept_emfile)
{
    in_child(emfile_child);
}
END_TEST

/* ---- a new M's io_uring refused after start-up ---- */

#define SPREAD_G 200
static atomic_int spread_done;

static void spin_a_little(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10; i++)
        rg_yield();
    atomic_fetch_add(&spread_done, 1);
}

static void late_m_main(void *arg)
{
    bool refuse = arg != NULL;
    if (refuse) {
        if (on_epoll())
            skip("the epoll backend sets up no ring per M");
        if (t_refuse_io_uring(EPERM) < 0)
            skip("no seccomp here");
    } else {
        req(on_epoll()); /* io_uring_setup refused from the start */
    }
    /* Work for a second P: a new M starts for it (and fails, at first). */
    atomic_store(&spread_done, 0);
    for (int i = 0; i < SPREAD_G; i++)
        req(rg_go(spin_a_little, NULL) == 0);
    wait_at_least(&spread_done, SPREAD_G);
}

static void late_m_child(void)
{
    struct rg_config cfg = {0};
    cfg.procs = 2;
    req(rg_run(late_m_main, (void *)1, &cfg) == 0);
    /* A whole new run falls back to epoll. */
    req(rg_run(late_m_main, NULL, &cfg) == 0);
}

START_TEST(new_m_ring_refused)
{
    if (!in_child(late_m_child))
        return;
    ck_assert_msg(strstr(child_err, "ringo: cannot set up the poller of M") &&
                      strstr(child_err, strerror(EPERM)),
                  "no line for the failed M in:\n%s", child_err);
}
END_TEST

/* ---- allocation failures (fault_inject builds) ---- */

#ifdef RG_FAULT_INJECT

static void chan_main(void *arg)
{
    (void)arg;
    rg__fault_set(1, false);
    req(rg_chan_make(8, 4) == NULL);
    req(rg__fault_hits() == 1);
    rg_chan *c = rg_chan_make(8, 4); /* transient: works again */
    req(c);
    uint64_t v = 42, w = 0;
    req(rg_chan_send(c, &v) == 0 && rg_chan_recv(c, &w) == 1 && w == 42);
    rg_chan_free(c);
}

static void chan_child(void)
{
    struct rg_config cfg = {0};
    cfg.procs = 1;
    req(rg_run(chan_main, NULL, &cfg) == 0);
}

START_TEST(chan_make_enomem)
{
    in_child(chan_child);
}
END_TEST

static atomic_int ran;

static void count_run(void *arg)
{
    (void)arg;
    char v;
    rg_chan_recv(blk_c, &v);
    atomic_fetch_add(&ran, 1);
}

static void go_main(void *arg)
{
    (void)arg;
    blk_c = rg_chan_make(1, 0);
    req(blk_c);
    /* Every allocation fails from now: once the first arena is used up,
       the next one cannot be recorded. */
    rg__fault_set(1, true);
    int ok = 0, rc = 0;
    while (ok < 64 && (rc = rg_go(count_run, NULL)) == 0)
        ok++;
    rg__fault_set(0, false);
    req(rc == -ENOMEM);
    req(ok == 15);
    req(rg__fault_hits() >= 1);
    /* Memory is back: rg_go works, the blocked ones run. */
    req(rg_go(count_run, NULL) == 0);
    rg_chan_close(blk_c);
    wait_at_least(&ran, ok + 1);
    rg_sleep(10 * MS);
    req(atomic_load(&ran) == ok + 1); /* the failed ones never ran */
    rg_chan_free(blk_c);
}

static void go_child(void)
{
    struct rg_config cfg = {0};
    cfg.procs = 1;
    req(rg_run(go_main, NULL, &cfg) == 0);
}

START_TEST(go_enomem)
{
    in_child(go_child);
}
END_TEST

/*
 * rg_run with the Nth allocation failing, for each N until one is past
 * everything the run allocates: each run returns 0 or -ENOMEM (the main
 * function handles what fails inside it), and frees all it allocated.
 */
static int small_failed;

static void small_worker(void *arg)
{
    rg_chan *c = arg;
    int v = 7;
    rg_chan_send(c, &v);
}

static void small_main(void *arg)
{
    (void)arg;
    rg_chan *c = rg_chan_make(sizeof(int), 0);
    if (!c) {
        small_failed++;
        return;
    }
    int v = 0;
    if (rg_go(small_worker, c) == 0)
        req(rg_chan_recv(c, &v) == 1 && v == 7);
    else
        small_failed++;
    rg_chan_free(c);
}

static void run_child(void)
{
    int enomem = 0, ok = 0;
    for (long nth = 1; nth < 100; nth++) {
        struct rg_config cfg = {0};
        cfg.procs = 2;
        long hits = rg__fault_hits();
        rg__fault_set(nth, false);
        int rc = rg_run(small_main, NULL, &cfg);
        bool hit = rg__fault_hits() > hits;
        rg__fault_set(0, false);
        req(rc == 0 || rc == -ENOMEM);
        enomem += rc == -ENOMEM;
        ok += rc == 0;
        if (!hit)
            break; /* the run allocated fewer than nth times */
    }
    req(enomem > 0); /* start-up failed cleanly at least once */
    struct rg_config cfg = {0};
    req(rg_run(small_main, NULL, &cfg) == 0); /* and works again */
}

START_TEST(run_enomem)
{
    in_child(run_child);
}
END_TEST

/* A new M whose poller cannot be allocated: the run goes on without it. */
static void m_main(void *arg)
{
    (void)arg;
    /* The first rg_go wakes an idle P: the M started for it allocates its
       struct m (here), then its poller (on its thread). Nothing else may
       allocate meanwhile: a few goroutines fit in the first arena, and
       waiting yields (a sleep would allocate a timer heap). */
    rg__fault_set(2, false);
    for (int i = 0; i < 8; i++)
        req(rg_go(spin_a_little, NULL) == 0);
    uint64_t end = rg_now() + 10000 * MS;
    while (rg__fault_hits() < 1 || atomic_load(&spread_done) < 8) {
        req(rg_now() < end);
        rg_yield();
    }
    for (int i = 8; i < SPREAD_G; i++)
        req(rg_go(spin_a_little, NULL) == 0);
    wait_at_least(&spread_done, SPREAD_G);
}

static void m_child(void)
{
    struct rg_config cfg = {0};
    cfg.procs = 2;
    req(rg_run(m_main, NULL, &cfg) == 0);
    req(rg__fault_hits() == 1);
}

START_TEST(new_m_poller_enomem)
{
    in_child(m_child);
    ck_assert_msg(strstr(child_err, "ringo: cannot set up the poller of M") &&
                      strstr(child_err, strerror(ENOMEM)),
                  "no line for the failed M in:\n%s", child_err);
}
END_TEST

#endif /* RG_FAULT_INJECT */

int main(void)
{
    Suite *s = suite_create("fault");
    TCase *tc = tcase_create("fault");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, stack_mmap_refused);
    tcase_add_test(tc, accept_emfile);
    tcase_add_test(tc, new_m_ring_refused);
#ifdef RG_FAULT_INJECT
    tcase_add_test(tc, chan_make_enomem);
    tcase_add_test(tc, go_enomem);
    tcase_add_test(tc, run_enomem);
    tcase_add_test(tc, new_m_poller_enomem);
#endif
    suite_add_tcase(s, tc);
    return t_main(s);
}
