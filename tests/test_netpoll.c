/*
 * tests/test_netpoll.c: the netpoller backends. Which one runs (io_uring
 * by default, epoll with RG_CONFIG_EPOLL or RINGO_NETPOLL=epoll), the
 * fallback to epoll, with one line on stderr, when a seccomp filter makes
 * io_uring_setup fail (ENOSYS as under qemu-user, EPERM as with
 * kernel.io_uring_disabled=2), and behaviour both backends must share:
 * several goroutines blocked reading one socket, MSG_WAITALL, wakeups of
 * idle threads that sleep in different places (more Ps than CPUs), and
 * the I/O counters of rg_stats. Public API only; meson runs the suite on
 * both backends.
 */
#include "helpers.h"
#include "refuse_uring.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MS 1000000ull

static bool env_epoll(void)
{
    const char *e = getenv("RINGO_NETPOLL");
    return e && strcmp(e, "epoll") == 0;
}

static void wait_flag(atomic_int *f, int want, uint64_t timeout)
{
    uint64_t end = rg_now() + timeout;
    while (atomic_load(f) < want) {
        ck_assert_msg(rg_now() < end, "timed out waiting (%d of %d)",
                      atomic_load(f), want);
        rg_sleep(MS);
    }
}

/* ---- which backend runs ---- */

static struct rg_stats sel_st;

static void stats_main(void *arg)
{
    (void)arg;
    rg_sleep(MS); /* rg_run is done starting */
    ck_assert_int_eq(rg_stats(&sel_st), 0);
}

static int run_flags(unsigned flags)
{
    struct rg_config cfg = {0};
    cfg.flags = flags;
    memset(&sel_st, 0xff, sizeof(sel_st));
    return rg_run(stats_main, NULL, &cfg);
}

START_TEST(backend_selection)
{
    ck_assert_int_eq(run_flags(0), 0);
    ck_assert_uint_eq(sel_st.io_epoll, env_epoll());
    ck_assert_int_eq(run_flags(RG_CONFIG_EPOLL), 0);
    ck_assert_uint_eq(sel_st.io_epoll, 1);
    /* Back to the default: the choice is made per rg_run. */
    ck_assert_int_eq(run_flags(0), 0);
    ck_assert_uint_eq(sel_st.io_epoll, env_epoll());
    ck_assert_int_eq(run_flags(0x80), -EINVAL);
}
END_TEST

/* ---- the fallback: io_uring_setup refused by a seccomp filter ---- */

/* In the child, failures go to resfd and end the process: Check's
   assertions belong to the test process. */
static int resfd = -1;
#define req(c)                                                                 \
    do {                                                                       \
        if (!(c)) {                                                            \
            dprintf(resfd, "line %d: %s\n", __LINE__, #c);                     \
            _exit(3);                                                          \
        }                                                                      \
    } while (0)

static atomic_int fb_done;

static void fb_echo(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char b[64];
    ssize_t n;
    while ((n = rg_recv(fd, b, sizeof(b), 0)) > 0)
        req(rg_write_all(fd, b, (size_t)n) == n);
    req(rg_close(fd) == 0);
    atomic_fetch_add(&fb_done, 1);
}

/* Some I/O of every kind: a socket pair, TCP, a pipe, a file, a
   deadline, and the counters. */
static void fb_main(void *arg)
{
    (void)arg;
    struct rg_stats st;
    rg_sleep(MS); /* rg_run is done starting */
    req(rg_stats(&st) == 0 && st.io_epoll == 1);
    int sv[2];
    req(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    atomic_store(&fb_done, 0);
    req(rg_go(fb_echo, (void *)(intptr_t)sv[1]) == 0);
    char b[8];
    for (int i = 0; i < 100; i++) {
        req(rg_send(sv[0], "ping", 4, 0) == 4);
        req(rg_recv(sv[0], b, 4, MSG_WAITALL) == 4);
    }
    req(rg_close(sv[0]) == 0);
    int lfd = rg_listen_tcp("127.0.0.1", 0, 16, 0);
    req(lfd >= 0);
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    req(getsockname(lfd, (struct sockaddr *)&sin, &len) == 0);
    int c = rg_dial_tcp("127.0.0.1", ntohs(sin.sin_port), 5000 * MS);
    req(c >= 0);
    int a = rg_accept(lfd, NULL, NULL, SOCK_CLOEXEC);
    req(a >= 0);
    req(rg_write(c, "tcp", 3) == 3 && rg_read(a, b, sizeof(b)) == 3);
    req(rg_set_deadline(a, RG_READ, rg_now() + 20 * MS) == 0);
    req(rg_read(a, b, 1) == -ETIMEDOUT);
    req(rg_close(a) == 0 && rg_close(c) == 0 && rg_close(lfd) == 0);
    int p[2];
    req(pipe2(p, O_CLOEXEC) == 0);
    req(rg_write(p[1], "pipe", 4) == 4 && rg_read(p[0], b, 8) == 4);
    req(rg_close(p[0]) == 0 && rg_close(p[1]) == 0);
    char path[] = "/tmp/ringo-netpoll-XXXXXX";
    int tfd = mkstemp(path);
    req(tfd >= 0);
    close(tfd);
    int f = rg_open(path, O_RDWR | O_CLOEXEC, 0);
    req(f >= 0);
    req(rg_pwrite(f, "file", 4, 0) == 4 && rg_pread(f, b, 4, 0) == 4);
    req(memcmp(b, "file", 4) == 0);
    req(rg_fsync(f) == 0 && rg_close(f) == 0);
    unlink(path);
    while (atomic_load(&fb_done) < 1)
        rg_sleep(MS);
    req(rg_stats(&st) == 0 && st.io_submitted > 0 && st.io_enters > 0);
}

/* Fork a child that refuses io_uring_setup with err, runs fb_main twice
   with stderr captured, and reports; check what it printed. */
static void fallback_with(int err)
{
    int errp[2], resp[2];
    ck_assert_int_eq(pipe(errp), 0);
    ck_assert_int_eq(pipe(resp), 0);
    fflush(stderr);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        resfd = resp[1];
        dup2(errp[1], 2);
        unsetenv("RINGO_NETPOLL");
        int rc = t_refuse_io_uring(err);
        if (rc < 0) {
            dprintf(resfd, "skip: seccomp: %s\n", strerror(-rc));
            _exit(77);
        }
        for (int i = 0; i < 2; i++) {
            struct rg_config cfg = {0};
            cfg.procs = 2;
            rc = rg_run(fb_main, NULL, &cfg);
            req(rc == 0);
        }
        _exit(0);
    }
    close(errp[1]);
    close(resp[1]);
    char out[4096], res[512];
    size_t n = 0;
    ssize_t r, m;
    while (n < sizeof(out) - 1 &&
           (r = read(errp[0], out + n, sizeof(out) - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    m = read(resp[0], res, sizeof(res) - 1);
    res[m > 0 ? m : 0] = '\0';
    close(errp[0]);
    close(resp[0]);
    ck_assert_msg(WIFEXITED(status), "child died: status %d", status);
    if (WEXITSTATUS(status) == 77) {
        fprintf(stderr, "%s", res); /* no seccomp here: nothing to check */
        return;
    }
    ck_assert_msg(WEXITSTATUS(status) == 0, "child failed: %s(stderr: %s)", res,
                  out);
    char want[256];
    snprintf(want, sizeof(want),
             "ringo: io_uring unavailable (io_uring_setup: %s); using epoll\n",
             strerror(err));
    ck_assert_str_eq(out, want); /* one line for both runs */
}

START_TEST(fallback_enosys)
{
    fallback_with(ENOSYS);
}
END_TEST

START_TEST(fallback_eperm)
{
    fallback_with(EPERM);
}
END_TEST

/* ---- several goroutines blocked reading one socket ---- */

#define READERS 8
static int sh_fd;
static atomic_int sh_got, sh_bytes;

static void sh_reader(void *arg)
{
    (void)arg;
    char c;
    ssize_t n = rg_recv(sh_fd, &c, 1, 0);
    ck_assert_int_eq(n, 1);
    atomic_fetch_add(&sh_bytes, c);
    atomic_fetch_add(&sh_got, 1);
}

static void shared_main(void *arg)
{
    (void)arg;
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    sh_fd = sv[0];
    for (int round = 0; round < 20; round++) {
        atomic_store(&sh_got, 0);
        atomic_store(&sh_bytes, 0);
        for (int i = 0; i < READERS; i++)
            ck_assert_int_eq(rg_go(sh_reader, NULL), 0);
        rg_sleep(2 * MS); /* most of them are blocked by now */
        /* One byte at a time: each wakes the waiters, one of them takes
           it, the others wait again. */
        for (int i = 0; i < READERS; i++) {
            char c = 1;
            ck_assert_int_eq(rg_send(sv[1], &c, 1, 0), 1);
            if (i % 3 == 0)
                rg_yield();
        }
        wait_flag(&sh_got, READERS, 5000 * MS);
        ck_assert_int_eq(atomic_load(&sh_bytes), READERS);
    }
    ck_assert_int_eq(rg_close(sv[0]), 0);
    ck_assert_int_eq(rg_close(sv[1]), 0);
}

START_TEST(shared_socket_readers)
{
    t_run(shared_main, NULL, 1);
    t_run(shared_main, NULL, 2);
}
END_TEST

/* ---- MSG_WAITALL gathers pieces that arrive apart ---- */

static void wa_sender(void *arg)
{
    int fd = (int)(intptr_t)arg;
    for (int i = 0; i < 10; i++) {
        char b[100];
        memset(b, 'a' + i, sizeof(b));
        ck_assert_int_eq(rg_send(fd, b, sizeof(b), 0), (ssize_t)sizeof(b));
        rg_sleep(MS);
    }
}

static void waitall_main(void *arg)
{
    (void)arg;
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(rg_go(wa_sender, (void *)(intptr_t)sv[1]), 0);
    char b[1000];
    ck_assert_int_eq(rg_recv(sv[0], b, sizeof(b), MSG_WAITALL), 1000);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(b[i], 'a' + i / 100);
    /* End of stream before all of it: the part that came. */
    ck_assert_int_eq(rg_send(sv[1], "xyz", 3, 0), 3);
    ck_assert_int_eq(shutdown(sv[1], SHUT_WR), 0);
    ck_assert_int_eq(rg_recv(sv[0], b, sizeof(b), MSG_WAITALL), 3);
    ck_assert_int_eq(rg_close(sv[0]), 0);
    ck_assert_int_eq(rg_close(sv[1]), 0);
}

START_TEST(recv_waitall)
{
    t_run(waitall_main, NULL, 1);
    t_run(waitall_main, NULL, 2);
}
END_TEST

/* ---- idle threads woken from wherever they sleep ---- */

/* More Ps than CPUs, so that several Ms go idle at once: under epoll one
   blocks in epoll_wait and the others on futexes, and a wakeup (I/O from
   a foreign thread, a timer, new work) must reach whichever is meant. */
#define WK_G 16
#define WK_ROUNDS 50
static int wk_pipe[WK_G][2];
static atomic_int wk_done;

static void *wk_writer(void *arg)
{
    (void)arg;
    for (int r = 0; r < WK_ROUNDS; r++)
        for (int i = 0; i < WK_G; i++) {
            usleep(50 + (unsigned)(r * 7 + i) % 200);
            ck_assert_int_eq(write(wk_pipe[i][1], "w", 1), 1);
        }
    return NULL;
}

static void wk_reader(void *arg)
{
    int i = (int)(intptr_t)arg;
    char c;
    for (int r = 0; r < WK_ROUNDS; r++) {
        ck_assert_int_eq(rg_read(wk_pipe[i][0], &c, 1), 1);
        if (r % 4 == i % 4)
            rg_sleep((uint64_t)(i + 1) * 10000);
    }
    atomic_fetch_add(&wk_done, 1);
}

static void wakeups_main(void *arg)
{
    (void)arg;
    atomic_store(&wk_done, 0);
    for (int i = 0; i < WK_G; i++) {
        ck_assert_int_eq(
            pipe2(wk_pipe[i], O_CLOEXEC | (i & 1 ? O_NONBLOCK : 0)), 0);
        ck_assert_int_eq(rg_go(wk_reader, (void *)(intptr_t)i), 0);
    }
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, wk_writer, NULL), 0);
    wait_flag(&wk_done, WK_G, 60000 * MS);
    pthread_join(th, NULL);
    for (int i = 0; i < WK_G; i++) {
        ck_assert_int_eq(rg_close(wk_pipe[i][0]), 0);
        ck_assert_int_eq(rg_close(wk_pipe[i][1]), 0);
    }
}

START_TEST(idle_wakeups)
{
    t_run(wakeups_main, NULL, 4);
}
END_TEST

/* ---- rg_stats counts I/O waits ---- */

static void counting_reader(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char c;
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(rg_read(fd, &c, 1), 1);
}

static void counters_main(void *arg)
{
    (void)arg;
    struct rg_stats a, b;
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(rg_stats(&a), 0);
    ck_assert_int_eq(rg_go(counting_reader, (void *)(intptr_t)sv[0]), 0);
    for (int i = 0; i < 50; i++) {
        rg_sleep(200000); /* the reader is blocked again */
        ck_assert_int_eq(rg_write(sv[1], "c", 1), 1);
    }
    rg_sleep(2 * MS);
    ck_assert_int_eq(rg_stats(&b), 0);
    ck_assert_uint_ge(b.io_submitted - a.io_submitted, 40);
    ck_assert_uint_ge(b.io_completed - a.io_completed, 40);
    ck_assert_uint_gt(b.io_enters, a.io_enters);
    ck_assert_int_eq(rg_close(sv[0]), 0);
    ck_assert_int_eq(rg_close(sv[1]), 0);
}

START_TEST(io_counters)
{
    t_run(counters_main, NULL, 1);
}
END_TEST

static Suite *netpoll_suite(void)
{
    Suite *s = suite_create("netpoll");
    TCase *tc = tcase_create("netpoll");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, backend_selection);
    tcase_add_test(tc, fallback_enosys);
    tcase_add_test(tc, fallback_eperm);
    tcase_add_test(tc, shared_socket_readers);
    tcase_add_test(tc, recv_waitall);
    tcase_add_test(tc, idle_wakeups);
    tcase_add_test(tc, io_counters);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return t_main(netpoll_suite());
}
