/*
 * examples/echo-server.c: a TCP echo server, one goroutine per connection.
 *
 *   echo-server [--host 0.0.0.0] [--port 9000] [--procs N]
 *               [--idle-timeout SECS]
 *
 * Each connection goroutine reads up to BUF_SIZE bytes and writes them
 * back whole before reading again, so a connection holds at most one
 * buffer of data however fast its client sends (a client that does not
 * read blocks only its own goroutine, in the write). --port 0 picks a
 * free port; the port is printed on stdout either way. SIGINT or SIGTERM
 * stops accepting, lets every connection return what it has already
 * received, and exits 0 (see "Graceful shutdown" in server.c).
 *
 * A connection on which nothing moves for the idle timeout (60 s, or
 * --idle-timeout) is closed: a client that neither sends nor reads its
 * echo holds a goroutine and a descriptor only that long. The read/write
 * deadline is pushed forward only when it comes within slack_ns of now,
 * so it costs one rg_set_deadline call every few seconds, not one per
 * read.
 */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>

#define BUF_SIZE 4096          /* as Go's peer; the stack page it lives on */
#define IDLE_NS 60000000000ull /* default idle timeout: 60 s */

static uint64_t idle_ns = IDLE_NS;
static uint64_t slack_ns = IDLE_NS / 12;

static void echo_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[BUF_SIZE];
    uint64_t deadline = 0;
    while (!srv_conn_idle(fd)) {
        uint64_t now = rg_now();
        if (deadline <= now + slack_ns) {
            deadline = now + idle_ns;
            rg_set_deadline(fd, RG_READ | RG_WRITE, deadline);
        }
        ssize_t n = rg_read(fd, buf, sizeof(buf));
        if (n <= 0)
            break; /* end of file, reset, timeout or shut down */
        if (rg_write_all(fd, buf, (size_t)n) < 0)
            break;
    }
    srv_conn_end(fd);
}

static void server_main(void *arg)
{
    int *rc = arg;
    *rc = srv_serve(echo_conn);
}

int main(int argc, char **argv)
{
    struct srv_opts o = {"echo-server", "0.0.0.0", 9000, 0, 0};
    if (srv_parse_args(&o, &argc, argv) < 0 || argc != 1) {
        fprintf(stderr, "usage: echo-server [--host H] [--port P] "
                        "[--procs N] [--idle-timeout S]\n");
        return 2;
    }
    if (o.idle_ns) {
        idle_ns = o.idle_ns;
        slack_ns = idle_ns / 12;
    }
    if (srv_init(&o) < 0) {
        fprintf(stderr, "echo-server: setup failed\n");
        return 1;
    }
    struct rg_config cfg = {0};
    /* No blocking calls here (see RG_CONFIG_DEFER_TASKRUN). */
    cfg.flags = RG_CONFIG_DEFER_TASKRUN;
    cfg.procs = o.procs;
    int rc = 0;
    int rrc = rg_run(server_main, &rc, &cfg);
    if (rrc < 0) {
        fprintf(stderr, "echo-server: rg_run: %d\n", rrc);
        return 1;
    }
    return rc < 0 ? 1 : 0;
}
