/*
 * bench/recv-modes.c: how should a server that waits for small requests
 * receive them? The same single-threaded TCP echo server on raw liburing
 * (or epoll), with the receive done three ways, so that the server's CPU
 * time per message can be compared side by side (bench/recv-modes.sh):
 *
 *   single     one IORING_OP_RECV per message into the connection's own
 *              buffer, submitted when the previous one completed: what
 *              rg_recv does for a goroutine that parks (a poll armed and
 *              disarmed in the kernel per message).
 *   multishot  one IORING_OP_RECV with IORING_RECV_MULTISHOT per
 *              connection, armed once, receiving into a provided buffer
 *              ring; each completion is copied into the connection's own
 *              buffer and the provided buffer recycled at once (what
 *              rg_recv would have to do: its caller names the buffer).
 *   mpoll      readiness through the ring: one IORING_OP_POLL_ADD with
 *              IORING_POLL_ADD_MULTI per connection, armed once; each
 *              POLLIN completion is followed by recv(2) with MSG_DONTWAIT
 *              into the connection's buffer.
 *   epoll      level-triggered epoll and recv(2): the readiness model of
 *              nginx and Go.
 *
 * In every mode the answer goes out with send(2) at once, as rg_send does
 * (a send almost never waits). The ring is set up as ringo's are
 * (SINGLE_ISSUER | COOP_TASKRUN | TASKRUN_FLAG, probed best-first), or
 * with DEFER_TASKRUN in place of COOP_TASKRUN when RECV_MODES_DEFER is
 * set in the environment.
 *
 * Usage: recv-modes MODE PORT   (runs until SIGINT or SIGTERM, then prints
 *        "MODE msgs=N cpu_ns=T" with the CPU time of the whole process).
 * Needs liburing 2.2+ and a 6.0+ kernel for multishot recv.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXCONN 4096
#define BUFSZ 4096
#define NBUF 256 /* provided buffers (a power of two) */
#define BGID 7
#define UD_ACCEPT (~0ull)

enum { SINGLE, MULTISHOT, MPOLL, EPOLL };

struct conn {
    int fd;
    char buf[BUFSZ];
};

static volatile sig_atomic_t stop;
static unsigned long long msgs;
static struct conn *conns[MAXCONN];

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void die(const char *what, int err)
{
    fprintf(stderr, "recv-modes: %s: %s\n", what, strerror(err));
    exit(1);
}

static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(fd, 4096) < 0)
        die("listen", errno);
    return fd;
}

static struct conn *conn_new(int fd)
{
    if (fd >= MAXCONN) {
        close(fd);
        return NULL;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct conn *c = calloc(1, sizeof(*c));
    c->fd = fd;
    conns[fd] = c;
    return c;
}

static void conn_free(struct conn *c)
{
    conns[c->fd] = NULL;
    close(c->fd);
    free(c);
}

/* Echo n bytes; false when the connection is gone. */
static bool echo(struct conn *c, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    msgs++;
    return true;
}

/* ---- io_uring modes ---- */

static struct io_uring ring;
static struct io_uring_buf_ring *br;
static char *bufs;

static void ring_init(void)
{
    static const unsigned tries[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
            IORING_SETUP_TASKRUN_FLAG,
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN |
            IORING_SETUP_TASKRUN_FLAG,
        IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG, 0};
    int rc = -EINVAL;
    for (size_t i = getenv("RECV_MODES_DEFER") ? 0 : 1;
         i < sizeof(tries) / sizeof(tries[0]); i++) {
        struct io_uring_params p = {.flags = tries[i]};
        rc = io_uring_queue_init_params(1024, &ring, &p);
        if (rc == 0)
            return;
    }
    die("io_uring_queue_init", -rc);
}

static void bufring_init(void)
{
    size_t sz = NBUF * sizeof(struct io_uring_buf);
    br = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
              -1, 0);
    bufs = malloc((size_t)NBUF * BUFSZ);
    if (br == MAP_FAILED || !bufs)
        die("buffers", ENOMEM);
    struct io_uring_buf_reg reg = {
        .ring_addr = (unsigned long)br, .ring_entries = NBUF, .bgid = BGID};
    int rc = io_uring_register_buf_ring(&ring, &reg, 0);
    if (rc < 0)
        die("io_uring_register_buf_ring", -rc);
    io_uring_buf_ring_init(br);
    for (int i = 0; i < NBUF; i++)
        io_uring_buf_ring_add(br, bufs + (size_t)i * BUFSZ, BUFSZ,
                              (unsigned short)i, io_uring_buf_ring_mask(NBUF),
                              i);
    io_uring_buf_ring_advance(br, NBUF);
}

static struct io_uring_sqe *sqe_get(void)
{
    struct io_uring_sqe *sqe;
    while (!(sqe = io_uring_get_sqe(&ring)))
        io_uring_submit(&ring);
    return sqe;
}

static void arm_recv(struct conn *c, int mode)
{
    struct io_uring_sqe *sqe = sqe_get();
    if (mode == MPOLL) {
        io_uring_prep_poll_multishot(sqe, c->fd, POLLIN);
    } else if (mode == MULTISHOT) {
        io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = BGID;
    } else {
        io_uring_prep_recv(sqe, c->fd, c->buf, BUFSZ, 0);
        sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
    }
    io_uring_sqe_set_data64(sqe, (uint64_t)c->fd);
}

static void arm_accept(int lfd)
{
    struct io_uring_sqe *sqe = sqe_get();
    io_uring_prep_multishot_accept(sqe, lfd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, UD_ACCEPT);
}

static void run_uring(int lfd, int mode)
{
    ring_init();
    if (mode == MULTISHOT)
        bufring_init();
    arm_accept(lfd);
    while (!stop) {
        int rc = io_uring_submit_and_wait(&ring, 1);
        if (rc < 0 && rc != -EINTR)
            die("io_uring_submit_and_wait", -rc);
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe)
        {
            seen++;
            uint64_t ud = cqe->user_data;
            if (ud == UD_ACCEPT) {
                if (cqe->res >= 0) {
                    struct conn *c = conn_new(cqe->res);
                    if (c)
                        arm_recv(c, mode);
                }
                if (!(cqe->flags & IORING_CQE_F_MORE))
                    arm_accept(lfd);
                continue;
            }
            struct conn *c = conns[ud];
            if (!c)
                continue;
            if (mode == MPOLL) {
                bool more = cqe->flags & IORING_CQE_F_MORE;
                ssize_t r = recv(c->fd, c->buf, BUFSZ, MSG_DONTWAIT);
                if (r < 0 && errno == EAGAIN) {
                    if (!more)
                        arm_recv(c, mode);
                    continue;
                }
                if (r <= 0 || !echo(c, c->buf, (size_t)r)) {
                    if (!more)
                        conn_free(c);
                    else
                        shutdown(c->fd, SHUT_RDWR); /* ends the poll */
                } else if (!more) {
                    arm_recv(c, mode);
                }
            } else if (mode == MULTISHOT) {
                if (cqe->res == -ENOBUFS) {
                    arm_recv(c, mode);
                    continue;
                }
                if (cqe->res <= 0) {
                    if (!(cqe->flags & IORING_CQE_F_MORE))
                        conn_free(c);
                    continue;
                }
                unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
                char *src = bufs + (size_t)bid * BUFSZ;
                memcpy(c->buf, src, (size_t)cqe->res);
                io_uring_buf_ring_add(br, src, BUFSZ, (unsigned short)bid,
                                      io_uring_buf_ring_mask(NBUF), 0);
                io_uring_buf_ring_advance(br, 1);
                bool ok = echo(c, c->buf, (size_t)cqe->res);
                if (!(cqe->flags & IORING_CQE_F_MORE)) {
                    if (ok)
                        arm_recv(c, mode);
                    else
                        conn_free(c);
                }
            } else {
                if (cqe->res <= 0 || !echo(c, c->buf, (size_t)cqe->res))
                    conn_free(c);
                else
                    arm_recv(c, mode);
            }
        }
        io_uring_cq_advance(&ring, seen);
    }
}

/* ---- epoll mode ---- */

static void run_epoll(int lfd)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    struct epoll_event evs[256];
    while (!stop) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (cfd >= 0 && conn_new(cfd)) {
                    struct epoll_event cev = {.events = EPOLLIN, .data.fd = cfd};
                    epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &cev);
                }
                continue;
            }
            struct conn *c = conns[fd];
            if (!c)
                continue;
            ssize_t r = recv(fd, c->buf, BUFSZ, 0);
            if (r < 0 && errno == EAGAIN)
                continue;
            if (r <= 0 || !echo(c, c->buf, (size_t)r))
                conn_free(c);
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: recv-modes single|multishot|mpoll|epoll PORT\n");
        return 2;
    }
    int mode = !strcmp(argv[1], "single")      ? SINGLE
               : !strcmp(argv[1], "multishot") ? MULTISHOT
               : !strcmp(argv[1], "mpoll")     ? MPOLL
               : !strcmp(argv[1], "epoll")     ? EPOLL
                                               : -1;
    if (mode < 0) {
        fprintf(stderr, "recv-modes: unknown mode %s\n", argv[1]);
        return 2;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    int lfd = listen_on(atoi(argv[2]));
    if (mode == EPOLL)
        run_epoll(lfd);
    else
        run_uring(lfd, mode);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long long ns = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
                   (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
    printf("%s msgs=%llu cpu_ns=%lld\n", argv[1], msgs, ns);
    return 0;
}
