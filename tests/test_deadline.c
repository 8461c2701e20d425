/*
 * tests/test_deadline.c: rg_set_deadline as Go's SetDeadline: expiry with
 * -ETIMEDOUT (and the runtime goes on), a deadline already past, a
 * deadline set, moved later or cleared while a call is blocked (on its
 * own M and on another), write, accept and dial timeouts, many deadlines
 * at once, and close of a call waiting on a deadline.
 */
#include "helpers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MS 1000000ull

static void pair(int sv[2])
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

static void close_pair(int sv[2])
{
    ck_assert_int_eq(rg_close(sv[0]), 0);
    ck_assert_int_eq(rg_close(sv[1]), 0);
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

/* ---- expiry, and the runtime keeps working ---- */

static atomic_int spun;
static void little(void *arg)
{
    (void)arg;
    rg_sleep(MS);
    atomic_fetch_add(&spun, 1);
}

static void expiry_main(void *arg)
{
    (void)arg;
    int sv[2];
    pair(sv);
    char b;
    uint64_t t0 = rg_now();
    ck_assert_int_eq(rg_set_deadline(sv[0], RG_READ, t0 + 50 * MS), 0);
    ck_assert_int_eq(rg_recv(sv[0], &b, 1, 0), -ETIMEDOUT);
    uint64_t took = rg_now() - t0;
    ck_assert_uint_ge(took, 50 * MS);
    ck_assert_uint_lt(took, 2000 * MS);
    /* Past the deadline every read fails at once, data or not... */
    ck_assert_int_eq(rg_write(sv[1], "ab", 2), 2);
    ck_assert_int_eq(rg_read(sv[0], &b, 1), -ETIMEDOUT);
    ck_assert_int_eq(rg_recv(sv[0], &b, 1, 0), -ETIMEDOUT);
    /* ...writes are not affected... */
    ck_assert_int_eq(rg_write(sv[0], "c", 1), 1);
    /* ...and clearing it brings the data back. */
    ck_assert_int_eq(rg_set_deadline(sv[0], RG_READ, 0), 0);
    ck_assert_int_eq(rg_read(sv[0], &b, 1), 1);
    ck_assert_int_eq(b, 'a');
    /* The runtime is fine. */
    atomic_store(&spun, 0);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(rg_go(little, NULL), 0);
    wait_flag(&spun, 100, 5000 * MS);
    close_pair(sv);
}

START_TEST(read_deadline_expires)
{
    t_run_nofd(expiry_main, NULL, 1);
    t_run_nofd(expiry_main, NULL, 2);
}
END_TEST

static void past_main(void *arg)
{
    (void)arg;
    int sv[2];
    pair(sv);
    char b;
    ck_assert_int_eq(rg_write(sv[1], "x", 1), 1);
    ck_assert_int_eq(rg_set_deadline(sv[0], RG_READ | RG_WRITE, rg_now() - 1),
                     0);
    ck_assert_int_eq(rg_recv(sv[0], &b, 1, 0), -ETIMEDOUT);
    ck_assert_int_eq(rg_send(sv[0], "y", 1, 0), -ETIMEDOUT);
    ck_assert_int_eq(rg_write_all(sv[0], "y", 1), -ETIMEDOUT);
    /* A deadline in the future lets a ready read through. */
    ck_assert_int_eq(rg_set_deadline(sv[0], RG_READ, rg_now() + 1000 * MS), 0);
    ck_assert_int_eq(rg_recv(sv[0], &b, 1, 0), 1);
    /* Argument checks. */
    ck_assert_int_eq(rg_set_deadline(-1, RG_READ, 1), -EBADF);
    ck_assert_int_eq(rg_set_deadline(sv[0], 0, 1), -EINVAL);
    ck_assert_int_eq(rg_set_deadline(sv[0], 4, 1), -EINVAL);
    close_pair(sv);
}

START_TEST(deadline_past_fails_at_once)
{
    t_run_nofd(past_main, NULL, 1);
}
END_TEST

/* ---- deadlines changed while a call is blocked ---- */

static atomic_int blocked, finished;
static _Atomic ssize_t result;
static _Atomic uint64_t result_at;

static void blocked_recv(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char b;
    atomic_store(&blocked, 1);
    result = rg_recv(fd, &b, 1, 0);
    result_at = rg_now();
    atomic_store(&finished, 1);
}

enum { SET_EARLIER, EXTEND, CLEAR };

static void change_main(void *arg)
{
    int how = (int)(intptr_t)arg;
    int sv[2];
    pair(sv);
    atomic_store(&blocked, 0);
    atomic_store(&finished, 0);
    if (how != SET_EARLIER)
        ck_assert_int_eq(rg_set_deadline(sv[0], RG_READ, rg_now() + 40 * MS),
                         0);
    ck_assert_int_eq(rg_go(blocked_recv, (void *)(intptr_t)sv[0]), 0);
    wait_flag(&blocked, 1, 5000 * MS);
    rg_sleep(10 * MS); /* in the kernel by now */
    uint64_t t0 = rg_now();
    if (how == SET_EARLIER) {
        ck_assert_int_eq(rg_set_deadline(sv[0], RG_READ, t0 + 30 * MS), 0);
        wait_flag(&finished, 1, 5000 * MS);
        ck_assert_int_eq(result, -ETIMEDOUT);
        ck_assert_uint_ge(result_at, t0 + 30 * MS);
        ck_assert_uint_lt(result_at - t0, 2000 * MS);
    } else {
        uint64_t dl = how == EXTEND ? t0 + 400 * MS : 0;
        ck_assert_int_eq(rg_set_deadline(sv[0], RG_READ, dl), 0);
        rg_sleep(100 * MS); /* past the old deadline */
        ck_assert_int_eq(atomic_load(&finished), 0);
        ck_assert_int_eq(rg_write(sv[1], "x", 1), 1);
        wait_flag(&finished, 1, 5000 * MS);
        ck_assert_int_eq(result, 1);
    }
    close_pair(sv);
}

START_TEST(deadline_set_while_blocked)
{
    t_run_nofd(change_main, (void *)(intptr_t)SET_EARLIER, 1);
    t_run_nofd(change_main, (void *)(intptr_t)SET_EARLIER, 2);
}
END_TEST

START_TEST(deadline_extended_while_blocked)
{
    t_run_nofd(change_main, (void *)(intptr_t)EXTEND, 1);
    t_run_nofd(change_main, (void *)(intptr_t)EXTEND, 2);
}
END_TEST

START_TEST(deadline_cleared_while_blocked)
{
    t_run_nofd(change_main, (void *)(intptr_t)CLEAR, 1);
    t_run_nofd(change_main, (void *)(intptr_t)CLEAR, 2);
}
END_TEST

/* ---- write, accept, connect ---- */

static void write_main(void *arg)
{
    (void)arg;
    int sv[2];
    pair(sv);
    static char big[1 << 16];
    /* Fill the socket buffer. */
    while (rg_send(sv[0], big, sizeof(big), MSG_DONTWAIT) > 0)
        ;
    uint64_t t0 = rg_now();
    ck_assert_int_eq(rg_set_deadline(sv[0], RG_WRITE, t0 + 50 * MS), 0);
    ck_assert_int_eq(rg_write(sv[0], big, sizeof(big)), -ETIMEDOUT);
    ck_assert_uint_ge(rg_now() - t0, 50 * MS);
    /* Reads are unaffected by the write deadline. */
    char b;
    ck_assert_int_eq(rg_write(sv[1], "z", 1), 1);
    ck_assert_int_eq(rg_read(sv[0], &b, 1), 1);
    close_pair(sv);
}

START_TEST(write_deadline)
{
    t_run_nofd(write_main, NULL, 1);
}
END_TEST

static int port_of(int fd)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    return ntohs(sin.sin_port);
}

static void accept_main(void *arg)
{
    (void)arg;
    int lfd = rg_listen_tcp("127.0.0.1", 0, 0, 0);
    ck_assert_int_ge(lfd, 0);
    uint64_t t0 = rg_now();
    ck_assert_int_eq(rg_set_deadline(lfd, RG_READ, t0 + 30 * MS), 0);
    ck_assert_int_eq(rg_accept(lfd, NULL, NULL, 0), -ETIMEDOUT);
    ck_assert_uint_ge(rg_now() - t0, 30 * MS);
    /* Cleared, it accepts again. */
    ck_assert_int_eq(rg_set_deadline(lfd, RG_READ, 0), 0);
    int c = rg_dial_tcp("127.0.0.1", port_of(lfd), 0);
    ck_assert_int_ge(c, 0);
    int s = rg_accept(lfd, NULL, NULL, 0);
    ck_assert_int_ge(s, 0);
    ck_assert_int_eq(rg_close(s), 0);
    ck_assert_int_eq(rg_close(c), 0);
    ck_assert_int_eq(rg_close(lfd), 0);
}

START_TEST(accept_deadline)
{
    t_run_nofd(accept_main, NULL, 1);
}
END_TEST

/* A listener whose accept queue is full drops SYNs: connects hang. */
static void dial_timeout_main(void *arg)
{
    (void)arg;
    int lfd = rg_listen_tcp("127.0.0.1", 0, 1, 0);
    ck_assert_int_ge(lfd, 0);
    int port = port_of(lfd);
    int filler[8], nf = 0;
    for (; nf < 8; nf++) {
        filler[nf] = rg_dial_tcp("127.0.0.1", port, 100 * MS);
        if (filler[nf] < 0)
            break;
    }
    ck_assert_int_eq(filler[nf < 8 ? nf : 7], -ETIMEDOUT);
    uint64_t t0 = rg_now();
    ck_assert_int_eq(rg_dial_tcp("127.0.0.1", port, 80 * MS), -ETIMEDOUT);
    uint64_t took = rg_now() - t0;
    ck_assert_uint_ge(took, 80 * MS);
    ck_assert_uint_lt(took, 2000 * MS);
    for (int i = 0; i < nf; i++)
        ck_assert_int_eq(rg_close(filler[i]), 0);
    ck_assert_int_eq(rg_close(lfd), 0);
}

START_TEST(dial_timeout)
{
    t_run_nofd(dial_timeout_main, NULL, 1);
}
END_TEST

/* ---- many deadlines at once ---- */

#define NDL 200
static int dl_fd[NDL][2];
static _Atomic uint64_t dl_late[NDL];
static atomic_int dl_done;

static void deadline_waiter(void *arg)
{
    int i = (int)(intptr_t)arg;
    char b;
    uint64_t dl = rg_now() + (uint64_t)(10 + i % 50) * MS;
    ck_assert_int_eq(rg_set_deadline(dl_fd[i][0], RG_READ, dl), 0);
    ck_assert_int_eq(rg_read(dl_fd[i][0], &b, 1), -ETIMEDOUT);
    uint64_t now = rg_now();
    ck_assert_uint_ge(now, dl);
    dl_late[i] = now - dl;
    atomic_fetch_add(&dl_done, 1);
}

static void many_main(void *arg)
{
    (void)arg;
    atomic_store(&dl_done, 0);
    for (int i = 0; i < NDL; i++) {
        pair(dl_fd[i]);
        ck_assert_int_eq(rg_go(deadline_waiter, (void *)(intptr_t)i), 0);
    }
    wait_flag(&dl_done, NDL, 10000 * MS);
    for (int i = 0; i < NDL; i++) {
        ck_assert_uint_lt(dl_late[i], 1000 * MS);
        close_pair(dl_fd[i]);
    }
}

START_TEST(many_deadlines)
{
    t_run_nofd(many_main, NULL, 2);
}
END_TEST

/* ---- close beats a deadline ---- */

static void close_main(void *arg)
{
    (void)arg;
    int sv[2];
    pair(sv);
    atomic_store(&blocked, 0);
    atomic_store(&finished, 0);
    ck_assert_int_eq(rg_set_deadline(sv[0], RG_READ, rg_now() + 5000 * MS), 0);
    ck_assert_int_eq(rg_go(blocked_recv, (void *)(intptr_t)sv[0]), 0);
    wait_flag(&blocked, 1, 5000 * MS);
    rg_sleep(10 * MS);
    uint64_t t0 = rg_now();
    ck_assert_int_eq(rg_close(sv[0]), 0);
    wait_flag(&finished, 1, 5000 * MS);
    ck_assert_int_eq(result, -ECANCELED);
    ck_assert_uint_lt(result_at - t0, 1000 * MS);
    /* The deadline went with the fd: a new fd with that number has none. */
    int fd = rg_open("/dev/null", O_RDONLY | O_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    char b;
    ck_assert_int_eq(rg_read(fd, &b, 1), 0);
    ck_assert_int_eq(rg_close(fd), 0);
    ck_assert_int_eq(rg_close(sv[1]), 0);
}

START_TEST(close_while_waiting_on_deadline)
{
    t_run_nofd(close_main, NULL, 1);
    t_run_nofd(close_main, NULL, 2);
}
END_TEST

/* ---- a deadline set on a listener with a parked accept ---- */

static void blocked_accept(void *arg)
{
    int fd = (int)(intptr_t)arg;
    atomic_store(&blocked, 1);
    result = rg_accept(fd, NULL, NULL, 0);
    result_at = rg_now();
    atomic_store(&finished, 1);
}

static void parked_accept_main(void *arg)
{
    (void)arg;
    int lfd = rg_listen_tcp("127.0.0.1", 0, 0, 0);
    ck_assert_int_ge(lfd, 0);
    atomic_store(&blocked, 0);
    atomic_store(&finished, 0);
    ck_assert_int_eq(rg_go(blocked_accept, (void *)(intptr_t)lfd), 0);
    wait_flag(&blocked, 1, 5000 * MS);
    rg_sleep(10 * MS);
    uint64_t t0 = rg_now();
    ck_assert_int_eq(rg_set_deadline(lfd, RG_READ, t0 + 30 * MS), 0);
    wait_flag(&finished, 1, 5000 * MS);
    ck_assert_int_eq(result, -ETIMEDOUT);
    ck_assert_uint_ge(result_at, t0 + 30 * MS);
    ck_assert_int_eq(rg_close(lfd), 0);
}

START_TEST(deadline_set_on_parked_accept)
{
    t_run_nofd(parked_accept_main, NULL, 1);
    t_run_nofd(parked_accept_main, NULL, 2);
}
END_TEST

/* ---- expiry while the op's M runs a CPU hog (procs = 2) ---- */

static atomic_int hog_stop;
static _Atomic uint64_t hog_end;

static void hog(void *arg)
{
    (void)arg;
    uint64_t end = rg_now() + 1000 * MS;
    while (rg_now() < end && !atomic_load(&hog_stop))
        ;
    hog_end = rg_now();
}

/* Block in recv with the hog queued right behind, on this M. */
static void hogged_recv(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char b;
    rg_go(hog, NULL);
    atomic_store(&blocked, 1);
    result = rg_recv(fd, &b, 1, 0);
    result_at = rg_now();
    atomic_store(&finished, 1);
}

static void hogged_main(void *arg)
{
    bool by_close = arg != NULL;
    int sv[2];
    pair(sv);
    atomic_store(&blocked, 0);
    atomic_store(&finished, 0);
    atomic_store(&hog_stop, 0);
    hog_end = 0;
    uint64_t t0 = rg_now();
    if (!by_close)
        ck_assert_int_eq(rg_set_deadline(sv[0], RG_READ, t0 + 50 * MS), 0);
    ck_assert_int_eq(rg_go(hogged_recv, (void *)(intptr_t)sv[0]), 0);
    wait_flag(&blocked, 1, 5000 * MS);
    rg_sleep(20 * MS);
    if (by_close) {
        t0 = rg_now();
        ck_assert_int_eq(rg_close(sv[0]), 0);
    }
    wait_flag(&finished, 1, 5000 * MS);
    ck_assert_int_eq(result, by_close ? -ECANCELED : -ETIMEDOUT);
    /* Not stranded until the hog's second is over. */
    ck_assert_msg(result_at - t0 < 500 * MS, "woke %llu ms late",
                  (unsigned long long)((result_at - t0) / MS));
    atomic_store(&hog_stop, 1);
    while (!hog_end)
        rg_sleep(MS);
    if (!by_close)
        ck_assert_int_eq(rg_close(sv[0]), 0);
    ck_assert_int_eq(rg_close(sv[1]), 0);
}

START_TEST(expiry_behind_cpu_hog)
{
    t_run_nofd(hogged_main, NULL, 2);
}
END_TEST

START_TEST(close_behind_cpu_hog)
{
    t_run_nofd(hogged_main, (void *)1, 2);
}
END_TEST

static Suite *deadline_suite(void)
{
    Suite *s = suite_create("deadline");
    TCase *tc = tcase_create("deadline");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, read_deadline_expires);
    tcase_add_test(tc, deadline_past_fails_at_once);
    tcase_add_test(tc, deadline_set_while_blocked);
    tcase_add_test(tc, deadline_extended_while_blocked);
    tcase_add_test(tc, deadline_cleared_while_blocked);
    tcase_add_test(tc, write_deadline);
    tcase_add_test(tc, accept_deadline);
    tcase_add_test(tc, dial_timeout);
    tcase_add_test(tc, many_deadlines);
    tcase_add_test(tc, close_while_waiting_on_deadline);
    tcase_add_test(tc, deadline_set_on_parked_accept);
    tcase_add_test(tc, expiry_behind_cpu_hog);
    tcase_add_test(tc, close_behind_cpu_hog);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return t_main(deadline_suite());
}
