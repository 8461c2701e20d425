/*
 * examples/echo-server.c: a TCP echo server, one goroutine per connection.
 *
 *   echo-server [--host 0.0.0.0] [--port 9000] [--procs N]
 *
 * Each connection goroutine reads up to BUF_SIZE bytes and writes them
 * back whole before reading again, so a connection holds at most one
 * buffer of data however fast its client sends (a client that does not
 * read blocks only its own goroutine, in the write). --port 0 picks a
 * free port; the port is printed on stdout either way. SIGINT or SIGTERM
 * stops accepting, lets every connection return what it has already
 * received, and exits 0 (see "Graceful shutdown" in server.c).
 */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>

#define BUF_SIZE 4096 /* as Go's peer; the stack page it lives on */

static void echo_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[BUF_SIZE];
    while (!srv_conn_idle(fd)) {
        ssize_t n = rg_read(fd, buf, sizeof(buf));
        if (n <= 0)
            break; /* end of file, reset, or shut down */
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
    struct srv_opts o = {"echo-server", "0.0.0.0", 9000, 0};
    if (srv_parse_args(&o, &argc, argv) < 0 || argc != 1) {
        fprintf(stderr,
                "usage: echo-server [--host H] [--port P] [--procs N]\n");
        return 2;
    }
    if (srv_init(&o) < 0) {
        fprintf(stderr, "echo-server: setup failed\n");
        return 1;
    }
    struct rg_config cfg = {0};
    cfg.procs = o.procs;
    int rc = 0;
    int rrc = rg_run(server_main, &rc, &cfg);
    if (rrc < 0) {
        fprintf(stderr, "echo-server: rg_run: %d\n", rrc);
        return 1;
    }
    return rc < 0 ? 1 : 0;
}
