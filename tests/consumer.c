/*
 * tests/consumer.c: a program built out of tree against the installed
 * libringo, the way a user builds one (tests/test_install.sh):
 *
 *   cc -std=c11 -Wall -Wextra -Werror -pedantic consumer.c \
 *      $(pkg-config --cflags --libs ringo)
 *
 * It includes nothing of ringo but <ringo.h>, defines no feature-test
 * macro, and uses the API as documented: boots the runtime, spawns
 * goroutines, passes values over a channel, counts under a mutex with a
 * waitgroup, sleeps, echoes bytes over TCP on 127.0.0.1, and checks every
 * result. Exits 0 when all is well, 1 (with a message) otherwise.
 */
#include <ringo.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define WORKERS 8
#define ROUNDS 500
#define ECHO_BYTES (256 * 1024)

#define CHECK(cond)                                                       \
    do {                                                                  \
        if (!(cond)) {                                                    \
            fprintf(stderr, "consumer.c:%d: CHECK(%s) failed\n", __LINE__, \
                    #cond);                                               \
            _Exit(1);                                                     \
        }                                                                 \
    } while (0)

/* ---- a channel: WORKERS producers, one consumer ---- */

struct produce {
    rg_chan *ch;
    long base;
};

static void producer(void *arg)
{
    struct produce *p = arg;
    for (long i = 0; i < ROUNDS; i++) {
        long v = p->base + i;
        CHECK(rg_chan_send(p->ch, &v) == 0);
    }
}

static void test_chan(void)
{
    rg_chan *ch = rg_chan_make(sizeof(long), 0);
    CHECK(ch != NULL);
    struct produce ps[WORKERS];
    for (int w = 0; w < WORKERS; w++) {
        ps[w].ch = ch;
        ps[w].base = (long)w * ROUNDS;
        CHECK(rg_go(producer, &ps[w]) == 0);
    }
    long sum = 0, v;
    for (int i = 0; i < WORKERS * ROUNDS; i++) {
        CHECK(rg_chan_recv(ch, &v) == 1);
        sum += v;
    }
    long n = (long)WORKERS * ROUNDS;
    CHECK(sum == n * (n - 1) / 2);
    CHECK(rg_chan_close(ch) == 0);
    CHECK(rg_chan_recv(ch, &v) == 0 && v == 0);
    CHECK(rg_chan_send(ch, &v) == -EPIPE);
    rg_chan_free(ch);
}

/* ---- a mutex and a waitgroup ---- */

static rg_mutex mu = RG_MUTEX_INIT;
static rg_waitgroup wg = RG_WAITGROUP_INIT;
static long counter;

static void adder(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        CHECK(rg_mutex_lock(&mu) == 0);
        long c = counter;
        if (i % 16 == 0)
            rg_yield(); /* another goroutine runs while we hold mu */
        counter = c + 1;
        CHECK(rg_mutex_unlock(&mu) == 0);
    }
    CHECK(rg_waitgroup_done(&wg) == 0);
}

static void test_mutex(void)
{
    CHECK(rg_waitgroup_add(&wg, WORKERS) == 0);
    for (int w = 0; w < WORKERS; w++)
        CHECK(rg_go(adder, NULL) == 0);
    CHECK(rg_waitgroup_wait(&wg) == 0);
    CHECK(counter == (long)WORKERS * ROUNDS);
    CHECK(rg_mutex_trylock(&mu) == 0);
    CHECK(rg_mutex_trylock(&mu) == -EBUSY);
    CHECK(rg_mutex_unlock(&mu) == 0);
}

/* ---- sleep, select timeout, semaphore, once ---- */

static int once_calls;

static void once_fn(void *arg)
{
    (void)arg;
    once_calls++;
}

static void test_time(void)
{
    uint64_t t0 = rg_now();
    CHECK(rg_sleep(5 * 1000 * 1000) == 0);
    CHECK(rg_now() - t0 >= 5 * 1000 * 1000);

    rg_chan *never = rg_chan_make(0, 0);
    CHECK(never != NULL);
    struct rg_case c;
    memset(&c, 0, sizeof(c));
    c.ch = never;
    c.dir = RG_RECV;
    CHECK(rg_select(&c, 1, 2 * 1000 * 1000) == -ETIMEDOUT);
    CHECK(rg_select(&c, 1, 0) == -EAGAIN);
    rg_chan_free(never);

    rg_sema sem = RG_SEMA_INIT(1);
    CHECK(rg_sema_acquire(&sem) == 0);
    CHECK(rg_sema_release(&sem) == 0);

    rg_once once = RG_ONCE_INIT;
    CHECK(rg_once_do(&once, once_fn, NULL) == 0);
    CHECK(rg_once_do(&once, once_fn, NULL) == 0);
    CHECK(once_calls == 1);
}

/* ---- TCP echo over 127.0.0.1 ---- */

struct echo {
    int lfd;
    rg_chan *done;
};

static void echo_server(void *arg)
{
    struct echo *e = arg;
    int fd = rg_accept(e->lfd, NULL, NULL, SOCK_CLOEXEC);
    CHECK(fd >= 0);
    char buf[4096];
    ssize_t n;
    while ((n = rg_read(fd, buf, sizeof(buf))) > 0)
        CHECK(rg_write_all(fd, buf, (size_t)n) == n);
    CHECK(n == 0);
    CHECK(rg_close(fd) == 0);
    CHECK(rg_chan_send(e->done, NULL) == 0);
}

struct sender {
    int fd;
    const char *buf;
    rg_chan *done;
};

static void echo_sender(void *arg)
{
    struct sender *s = arg;
    CHECK(rg_write_all(s->fd, s->buf, ECHO_BYTES) == ECHO_BYTES);
    CHECK(rg_chan_send(s->done, NULL) == 0);
}

static void test_tcp(void)
{
    int lfd = rg_listen_tcp("127.0.0.1", 0, 16, 0);
    CHECK(lfd >= 0);
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    CHECK(getsockname(lfd, (struct sockaddr *)&sin, &len) == 0);
    int port = ntohs(sin.sin_port);
    CHECK(port > 0);

    struct echo e = {lfd, rg_chan_make(0, 1)};
    CHECK(e.done != NULL);
    CHECK(rg_go(echo_server, &e) == 0);

    int fd = rg_dial_tcp("127.0.0.1", port, 5ull * 1000 * 1000 * 1000);
    CHECK(fd >= 0);
    char *out = malloc(ECHO_BYTES), *in = malloc(ECHO_BYTES);
    CHECK(out && in);
    for (int i = 0; i < ECHO_BYTES; i++)
        out[i] = (char)(i * 7 + i / 251);
    /* Send from a second goroutine while this one reads the echo back,
       so neither side's socket buffers can fill up and stall both. */
    struct sender s = {fd, out, rg_chan_make(0, 1)};
    CHECK(s.done != NULL);
    CHECK(rg_go(echo_sender, &s) == 0);
    size_t got = 0;
    while (got < ECHO_BYTES) {
        ssize_t n = rg_read(fd, in + got, ECHO_BYTES - got);
        CHECK(n > 0);
        got += (size_t)n;
    }
    CHECK(memcmp(in, out, ECHO_BYTES) == 0);
    CHECK(rg_chan_recv(s.done, NULL) == 1);
    CHECK(rg_close(fd) == 0); /* the server reads 0 and closes its end */
    CHECK(rg_chan_recv(e.done, NULL) == 1);
    CHECK(rg_close(lfd) == 0);
    rg_chan_free(s.done);
    rg_chan_free(e.done);
    free(out);
    free(in);
}

static void main_goroutine(void *arg)
{
    int *ran = arg;
    CHECK(rg_id() == 1);
    CHECK(rg_procs() == 2);
    test_chan();
    test_mutex();
    test_time();
    test_tcp();
    struct rg_stats st;
    CHECK(rg_stats(&st) == 0);
    CHECK(st.goroutines_created >= 2 * WORKERS + 3);
    const char *netpoll = getenv("RINGO_NETPOLL");
    if (netpoll && strcmp(netpoll, "epoll") == 0)
        CHECK(st.io_epoll == 1); /* the epoll backend really ran */
    *ran = 1;
}

int main(void)
{
    struct rg_config cfg = {0};
    cfg.procs = 2;
    int ran = 0;
    CHECK(rg_go(producer, NULL) == -EPERM); /* no runtime yet */
    int rc = rg_run(main_goroutine, &ran, &cfg);
    if (rc != 0) {
        fprintf(stderr, "consumer.c: rg_run: %s\n", strerror(-rc));
        return 1;
    }
    CHECK(ran == 1);
    CHECK(rg_procs() == 0);
    printf("consumer.c: ok\n");
    return 0;
}
