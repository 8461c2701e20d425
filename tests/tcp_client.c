/*
 * tests/tcp_client.c: a small blocking TCP client for
 * tests/test_examples.sh (socat and nc are not always installed).
 *
 *   tcp_client echo PORT SIZE   send SIZE bytes to 127.0.0.1:PORT while
 *                               reading them back; exit 0 if the bytes
 *                               came back identical.
 *   tcp_client raw PORT         send stdin in one write, shut down the
 *                               sending side, copy all that comes back to
 *                               stdout until the server closes.
 *
 * Every mode gives up after TIMEOUT_S seconds (killed by SIGALRM), so a
 * broken server cannot hang the test.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TIMEOUT_S 20

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("tcp_client: connect");
        exit(1);
    }
    return fd;
}

static unsigned char pattern(size_t i)
{
    return (unsigned char)((i * 7 + i / 251) & 0xff);
}

/* Send size bytes and read them back at the same time (a large message
   would otherwise fill both socket buffers and stall). */
static int echo(int port, size_t size)
{
    int fd = dial(port);
    unsigned char buf[65536];
    size_t sent = 0, got = 0;
    while (got < size) {
        struct pollfd p = {fd, POLLIN | (sent < size ? POLLOUT : 0), 0};
        if (poll(&p, 1, 1000 * TIMEOUT_S) <= 0)
            return fprintf(stderr, "tcp_client: stalled\n"), 1;
        if ((p.revents & POLLOUT) && sent < size) {
            size_t k = size - sent < sizeof(buf) ? size - sent : sizeof(buf);
            for (size_t i = 0; i < k; i++)
                buf[i] = pattern(sent + i);
            ssize_t n = send(fd, buf, k, MSG_NOSIGNAL);
            if (n < 0)
                return perror("tcp_client: send"), 1;
            sent += (size_t)n;
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (n <= 0)
                return fprintf(stderr, "tcp_client: closed after %zu\n", got),
                       1;
            for (ssize_t i = 0; i < n; i++)
                if (buf[i] != pattern(got + (size_t)i))
                    return fprintf(stderr, "tcp_client: byte %zu differs\n",
                                   got + (size_t)i),
                           1;
            got += (size_t)n;
        }
    }
    close(fd);
    return 0;
}

static int raw(int port)
{
    static char in[1 << 20];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof(in) && (n = read(0, in + len, sizeof(in) - len)) > 0)
        len += (size_t)n;
    int fd = dial(port);
    for (size_t off = 0; off < len; off += (size_t)n)
        if ((n = send(fd, in + off, len - off, MSG_NOSIGNAL)) < 0)
            return perror("tcp_client: send"), 1;
    shutdown(fd, SHUT_WR);
    char buf[65536];
    while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
        if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
            return 1;
    return n < 0 ? (perror("tcp_client: recv"), 1) : 0;
}

int main(int argc, char **argv)
{
    alarm(TIMEOUT_S); /* default action: the process dies, the test fails */
    if (argc == 4 && !strcmp(argv[1], "echo"))
        return echo(atoi(argv[2]), (size_t)atol(argv[3]));
    if (argc == 3 && !strcmp(argv[1], "raw"))
        return raw(atoi(argv[2]));
    fprintf(stderr, "usage: tcp_client echo PORT SIZE | raw PORT\n");
    return 2;
}
