/*
 * examples/server.h: what the example servers share: the listening
 * socket, the accept loop (one goroutine per connection), a table of open
 * connections, and graceful shutdown on SIGINT/SIGTERM.
 *
 * A server calls srv_init() before rg_run(), then srv_serve() from its main
 * goroutine. Each connection goroutine brackets its life with
 * srv_conn_begin()/srv_conn_end() and calls srv_conn_idle() whenever it is
 * about to wait for a new request with nothing half-read, srv_conn_busy()
 * once bytes arrive. See "Graceful shutdown" in server.c.
 */
#ifndef RINGO_EXAMPLES_SERVER_H
#define RINGO_EXAMPLES_SERVER_H

#include <ringo.h>
#include <stdbool.h>
#include <stdint.h>

struct srv_opts {
    const char *name; /* program name, for messages */
    const char *host; /* address to listen on */
    int port;         /* 0: any free port (printed) */
    int procs;        /* Ps; 0: the runtime's default */
    uint64_t idle_ns; /* --idle-timeout; 0: the program's default */
};

/*
 * Parse --host, --port, --procs and --idle-timeout out of argv into o;
 * other options are left for the caller: *argc and argv are rewritten to
 * hold them (argv[0] kept). Returns 0, or -1 on a malformed value.
 */
int srv_parse_args(struct srv_opts *o, int *argc, char **argv);

/*
 * Parse a positive number of seconds (fractions allowed, at most a day)
 * into *ns. Returns 0, or -1 when s is not such a number.
 */
int srv_parse_secs(const char *s, uint64_t *ns);

/*
 * Block SIGINT and SIGTERM (threads the runtime creates inherit the mask;
 * the signals are then read from a signalfd), ignore SIGPIPE and size the
 * connection table. Call once, before rg_run. Returns 0 or -errno.
 */
int srv_init(const struct srv_opts *o);

/*
 * From the main goroutine: listen, print "<name>: listening on H:P" on
 * stdout, accept connections and run conn((void *)(intptr_t)fd) on a new
 * goroutine for each, until SIGINT/SIGTERM; then wait for the connections
 * to finish. Returns 0 after a clean shutdown, or -errno when the
 * listening socket could not be set up.
 */
int srv_serve(void (*conn)(void *));

/* Register fd as an open connection (busy). */
void srv_conn_begin(int fd);

/*
 * Mark fd idle: waiting for a request, nothing half-read. Returns true if
 * the server is shutting down: the caller must then close the connection
 * instead of reading.
 */
bool srv_conn_idle(int fd);

/* Mark fd busy again (bytes of a request arrived). */
void srv_conn_busy(int fd);

/* Forget fd and close it. */
void srv_conn_end(int fd);

/* True once shutdown began. */
bool srv_stopping(void);

#endif
