/*
 * stream_server: the TCP discard (RFC 863) and chargen (RFC 864) servers of
 * the Linux guest that `./tern bench stream` compares Tern with. Same ports
 * and behaviour as Tern's inetd (apps/inetd) as far as the bench can see:
 *
 *   discard  reads and drops everything; closes when the peer has finished
 *            sending (so the peer's wait for that close says every byte was
 *            read).
 *   chargen  sends the RFC 864 pattern (95 printable characters in lines of
 *            72 plus CR LF, each line starting one character further) as fast
 *            as the socket takes it, 64 KiB per send, until the peer goes. It
 *            never reads: what the peer sends waits in the socket.
 *
 * Usage: stream_server [DISCARD_PORT CHARGEN_PORT]      (default 9 19)
 *
 * Each connection gets its own process (fork) doing blocking I/O, the
 * simplest way to let Linux move data at its own pace. tools/linux_guest.py
 * builds it with `gcc -static -O2` as the guest's /bin/stream_server; the
 * guest's /init starts it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
    LINE = 72,
    CYCLE = 95 * (LINE + 2), /* the pattern repeats after 95 lines */
    PIECE = 64 * 1024,       /* chargen's send size */
    READ_BYTES = 256 * 1024, /* discard's read size */
};

/* The pattern once, plus enough of its start again that a piece from any
   offset inside the cycle is contiguous. */
static char pattern[CYCLE + PIECE];
static char scratch[READ_BYTES];

static void make_pattern(void)
{
    for (size_t i = 0; i < sizeof pattern; i++) {
        size_t line = (i / (LINE + 2)) % 95, column = i % (LINE + 2);
        pattern[i] = column == LINE ? '\r' : column == LINE + 1 ? '\n' : (char)(' ' + (line + column) % 95);
    }
}

static void discard(int fd)
{
    for (;;) {
        ssize_t n = read(fd, scratch, sizeof scratch);
        if (n > 0 || (n < 0 && errno == EINTR))
            continue;
        return; /* 0: the peer finished; < 0: reset */
    }
}

static void chargen(int fd)
{
    size_t offset = 0;
    for (;;) {
        ssize_t n = send(fd, pattern + offset, PIECE, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* the peer went (EPIPE, ECONNRESET) */
        offset = (offset + (size_t)n) % CYCLE;
    }
}

static int listen_on(long port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        perror("stream_server: socket");
        exit(1);
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_ANY);
    address.sin_port = htons((unsigned short)port);
    if (bind(fd, (struct sockaddr *)&address, sizeof address) < 0 || listen(fd, 64) < 0) {
        fprintf(stderr, "stream_server: cannot listen on TCP port %ld: %s\n", port, strerror(errno));
        exit(1);
    }
    return fd;
}

static long parse_port(const char *text)
{
    char *end;
    long port = strtol(text, &end, 10);
    if (*end != '\0' || port < 1 || port > 65535) {
        fprintf(stderr, "stream_server: not a TCP port: %s\n", text);
        exit(2);
    }
    return port;
}

int main(int argc, char **argv)
{
    long ports[2] = {9, 19};
    if (argc != 1 && argc != 3) {
        fprintf(stderr, "usage: stream_server [DISCARD_PORT CHARGEN_PORT]   (TCP discard and chargen, "
                        "default 9 19)\n");
        return 2;
    }
    if (argc == 3) {
        ports[0] = parse_port(argv[1]);
        ports[1] = parse_port(argv[2]);
    }
    make_pattern();
    signal(SIGCHLD, SIG_IGN); /* children are reaped by the kernel */
    struct pollfd listeners[2];
    for (int i = 0; i < 2; i++)
        listeners[i] = (struct pollfd){.fd = listen_on(ports[i]), .events = POLLIN};
    printf("stream_server: serving TCP discard %ld, chargen %ld\n", ports[0], ports[1]);
    fflush(stdout);

    for (;;) {
        if (poll(listeners, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            perror("stream_server: poll");
            return 1;
        }
        for (int i = 0; i < 2; i++) {
            if (!(listeners[i].revents & POLLIN))
                continue;
            int fd = accept(listeners[i].fd, NULL, NULL);
            if (fd < 0)
                continue; /* gone before we took it */
            pid_t child = fork();
            if (child == 0) {
                close(listeners[0].fd);
                close(listeners[1].fd);
                if (i == 0)
                    discard(fd);
                else
                    chargen(fd);
                close(fd);
                _exit(0);
            }
            if (child < 0)
                perror("stream_server: fork");
            close(fd);
        }
    }
}
