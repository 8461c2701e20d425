/*
 * tests/test_deadlock.c: the deadlock report. When every goroutine is
 * blocked on a channel, select or sync object and no timer or I/O can
 * wake one, rg_run prints "ringo: all goroutines are asleep - deadlock!"
 * and each goroutine's id and wait reason to stderr, frees the runtime
 * and returns -EDEADLK; rg_run works again afterwards. A sleeper, a
 * select timeout or an I/O wait in flight must prevent the report.
 *
 * stderr is captured through a pipe (dup2) around each rg_run. Public
 * API only.
 */
#include "helpers.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#define MS 1000000ull
#define HEADER "ringo: all goroutines are asleep - deadlock!\n"

static char out[65536];

/* Run fn under rg_run with stderr captured into out; return rg_run's. */
static int run_capture(void (*fn)(void *), void *arg, int procs)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    fflush(stderr);
    int saved = dup(2);
    ck_assert_int_ge(saved, 0);
    ck_assert_int_ge(dup2(p[1], 2), 0);
    close(p[1]);
    struct rg_config cfg = {0};
    cfg.procs = procs;
    int rc = rg_run(fn, arg, &cfg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    size_t n = 0;
    ssize_t r;
    while (n < sizeof(out) - 1 &&
           (r = read(p[0], out + n, sizeof(out) - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close(p[0]);
    return rc;
}

static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    ck_assert_ptr_nonnull(d);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* Assert out has the line "goroutine ID [reason]:". */
static void expect_line(uint64_t id, const char *reason)
{
    char line[128];
    snprintf(line, sizeof(line), "goroutine %llu [%s]:\n",
             (unsigned long long)id, reason);
    ck_assert_msg(strstr(out, line), "missing \"%.*s\" in:\n%s",
                  (int)strlen(line) - 1, line, out);
}

static void expect_deadlock(int rc)
{
    ck_assert_int_eq(rc, -EDEADLK);
    ck_assert_msg(strncmp(out, HEADER, strlen(HEADER)) == 0,
                  "no deadlock header in:\n%s", out);
}

/* ---- main alone, blocked on an empty channel ---- */

static rg_chan *mr_c; /* freed by the test once rg_run has returned */

static void main_recv(void *arg)
{
    (void)arg;
    mr_c = rg_chan_make(sizeof(int), 0);
    int v;
    rg_chan_recv(mr_c, &v);
    ck_abort_msg("recv on a channel nobody sends to returned");
}

static void ok_main(void *arg)
{
    (void)arg;
    rg_chan *c = rg_chan_make(sizeof(int), 1);
    int v = 1;
    ck_assert_int_eq(rg_chan_send(c, &v), 0);
    ck_assert_int_eq(rg_chan_recv(c, &v), 1);
    rg_mutex m = RG_MUTEX_INIT;
    ck_assert_int_eq(rg_mutex_lock(&m), 0);
    ck_assert_int_eq(rg_mutex_unlock(&m), 0);
    rg_chan_free(c);
}

START_TEST(main_blocked)
{
    int fds = count_fds();
    for (int procs = 1; procs <= 2; procs++) {
        expect_deadlock(run_capture(main_recv, NULL, procs));
        expect_line(1, "chan receive");
        rg_chan_free(mr_c);
        ck_assert_int_eq(count_fds(), fds); /* rings and eventfds freed */
        /* The runtime works again afterwards. */
        ck_assert_int_eq(run_capture(ok_main, NULL, procs), 0);
        ck_assert_str_eq(out, "");
    }
}
END_TEST

/* ---- two goroutines waiting for each other ---- */

static rg_chan *cy_a, *cy_b;
static _Atomic uint64_t cy_id;

static void cycle_peer(void *arg)
{
    (void)arg;
    int v;
    atomic_store(&cy_id, rg_id());
    rg_chan_recv(cy_b, &v); /* main would send on b after receiving a */
    rg_chan_send(cy_a, &v);
}

static void cycle_main(void *arg)
{
    (void)arg;
    int v = 0;
    rg_go(cycle_peer, NULL);
    rg_chan_recv(cy_a, &v);
    rg_chan_send(cy_b, &v);
}

START_TEST(channel_cycle)
{
    for (int procs = 1; procs <= 2; procs++) {
        /* The channels' queues still name the dead run's goroutines
           afterwards: each run gets fresh ones (see rg_chan_free). */
        cy_a = rg_chan_make(sizeof(int), 0);
        cy_b = rg_chan_make(sizeof(int), 0);
        atomic_store(&cy_id, 0);
        expect_deadlock(run_capture(cycle_main, NULL, procs));
        uint64_t id = atomic_load(&cy_id);
        ck_assert_uint_gt(id, 1);
        expect_line(1, "chan receive");
        expect_line(id, "chan receive");
        rg_chan_free(cy_a);
        rg_chan_free(cy_b);
    }
}
END_TEST

/* ---- every kind of wait, in one report ---- */

enum {
    K_NILSEND,
    K_NILRECV,
    K_SEND,
    K_NOCASES,
    K_SELECT,
    K_MUTEX,
    K_RLOCK,
    K_WLOCK,
    K_COND,
    K_WG,
    K_SEMA,
    K_N
};
static const char *const kind_reason[K_N] = {"chan send (nil chan)",
                                             "chan receive (nil chan)",
                                             "chan send",
                                             "select (no cases)",
                                             "select",
                                             "mutex",
                                             "rwmutex rlock",
                                             "rwmutex lock",
                                             "cond",
                                             "waitgroup",
                                             "sema"};
static _Atomic uint64_t kind_id[K_N];
static rg_chan *k_chan, *k_sel, *k_main; /* freed after each run */
static rg_mutex k_mu, k_mu2;
static rg_rwmutex k_rw;
static rg_cond k_cond;
static rg_waitgroup k_wg;
static rg_sema k_sema;

static void blocker(void *arg)
{
    int k = (int)(intptr_t)arg, v = 1;
    atomic_store(&kind_id[k], rg_id());
    struct rg_case cs[2] = {{k_sel, RG_RECV, &v, 0}, {NULL, RG_SEND, &v, 0}};
    switch (k) {
    case K_NILSEND:
        rg_chan_send(NULL, &v);
        break;
    case K_NILRECV:
        rg_chan_recv(NULL, &v);
        break;
    case K_SEND:
        rg_chan_send(k_chan, &v);
        break;
    case K_NOCASES:
        rg_select(NULL, 0, -1);
        break;
    case K_SELECT:
        rg_select(cs, 2, -1);
        break;
    case K_MUTEX:
        rg_mutex_lock(&k_mu);
        break;
    case K_RLOCK:
        rg_rwmutex_rlock(&k_rw);
        break;
    case K_WLOCK:
        rg_rwmutex_lock(&k_rw);
        break;
    case K_COND:
        rg_mutex_lock(&k_mu2);
        rg_cond_wait(&k_cond, &k_mu2);
        break;
    case K_WG:
        rg_waitgroup_wait(&k_wg);
        break;
    case K_SEMA:
        rg_sema_acquire(&k_sema);
        break;
    }
    ck_abort_msg("blocker %d woke up", k);
}

static void kinds_main(void *arg)
{
    (void)arg;
    k_chan = rg_chan_make(sizeof(int), 0);
    k_sel = rg_chan_make(sizeof(int), 0);
    k_mu = (rg_mutex)RG_MUTEX_INIT;
    k_mu2 = (rg_mutex)RG_MUTEX_INIT;
    k_rw = (rg_rwmutex)RG_RWMUTEX_INIT;
    k_cond = (rg_cond)RG_COND_INIT;
    k_wg = (rg_waitgroup)RG_WAITGROUP_INIT;
    k_sema = (rg_sema)RG_SEMA_INIT(0);
    rg_mutex_lock(&k_mu);
    rg_rwmutex_lock(&k_rw); /* readers and a second writer wait */
    rg_waitgroup_add(&k_wg, 1);
    for (int k = 0; k < K_N; k++)
        rg_go(blocker, (void *)(intptr_t)k);
    int v;
    k_main = rg_chan_make(sizeof(int), 0);
    rg_chan_recv(k_main, &v);
}

START_TEST(every_wait_reason)
{
    for (int procs = 1; procs <= 2; procs++) {
        for (int k = 0; k < K_N; k++)
            atomic_store(&kind_id[k], 0);
        expect_deadlock(run_capture(kinds_main, NULL, procs));
        expect_line(1, "chan receive");
        for (int k = 0; k < K_N; k++) {
            uint64_t id = atomic_load(&kind_id[k]);
            ck_assert_uint_gt(id, 1);
            expect_line(id, kind_reason[k]);
        }
        rg_chan_free(k_chan);
        rg_chan_free(k_sel);
        rg_chan_free(k_main);
    }
}
END_TEST

/* ---- no report while a timer can still wake someone ---- */

static rg_chan *sl_c;

static void late_sender(void *arg)
{
    (void)arg;
    int v = 5;
    rg_sleep(30 * MS);
    rg_chan_send(sl_c, &v);
}

static void sleeper_main(void *arg)
{
    (void)arg;
    int v = 0;
    sl_c = rg_chan_make(sizeof(int), 0);
    rg_go(late_sender, NULL);
    ck_assert_int_eq(rg_chan_recv(sl_c, &v), 1);
    ck_assert_int_eq(v, 5);
    /* A select timeout counts as a timer too. */
    struct rg_case cs = {sl_c, RG_RECV, &v, 0};
    ck_assert_int_eq(rg_select(&cs, 1, 30 * MS), -ETIMEDOUT);
    rg_chan_free(sl_c);
}

START_TEST(no_report_with_sleeper)
{
    for (int procs = 1; procs <= 2; procs++) {
        ck_assert_int_eq(run_capture(sleeper_main, NULL, procs), 0);
        ck_assert_str_eq(out, "");
    }
}
END_TEST

/* ---- no report while an I/O wait is in flight ---- */

static int io_pipe[2];
static rg_chan *io_c;

static void pipe_reader(void *arg)
{
    (void)arg;
    char buf[16] = {0};
    ck_assert_int_eq(rg_read(io_pipe[0], buf, sizeof(buf)), 3);
    rg_chan_send(io_c, &buf[0]);
}

static void *pipe_writer(void *arg)
{
    (void)arg;
    usleep(50000); /* both goroutines are blocked by now */
    ck_assert_int_eq(write(io_pipe[1], "abc", 3), 3);
    return NULL;
}

static void io_main(void *arg)
{
    (void)arg;
    char c = 0;
    ck_assert_int_eq(pipe(io_pipe), 0);
    io_c = rg_chan_make(1, 0);
    rg_go(pipe_reader, NULL);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, pipe_writer, NULL), 0);
    ck_assert_int_eq(rg_chan_recv(io_c, &c), 1);
    ck_assert_int_eq(c, 'a');
    pthread_join(th, NULL);
    rg_chan_free(io_c);
    ck_assert_int_eq(rg_close(io_pipe[0]), 0);
    ck_assert_int_eq(rg_close(io_pipe[1]), 0);
}

START_TEST(no_report_with_io)
{
    for (int procs = 1; procs <= 2; procs++) {
        ck_assert_int_eq(run_capture(io_main, NULL, procs), 0);
        ck_assert_str_eq(out, "");
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("deadlock");
    TCase *tc = tcase_create("deadlock");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, main_blocked);
    tcase_add_test(tc, channel_cycle);
    tcase_add_test(tc, every_wait_reason);
    tcase_add_test(tc, no_report_with_sleeper);
    tcase_add_test(tc, no_report_with_io);
    suite_add_tcase(s, tc);
    return t_main(s);
}
