/*
 * udp_echo: the UDP echo server (RFC 862) of the Linux guest that
 * `./tern bench net` compares Tern with. Every datagram that arrives on the
 * port goes back, unchanged, to the address and port it came from.
 *
 * Usage: udp_echo [PORT]      (default 7)
 *
 * It receives and sends in batches (recvmmsg/sendmmsg): one system call
 * moves every datagram that is already queued, up to BATCH of them.
 * tools/linux_guest.py builds it with `gcc -static -O2` and puts it into the
 * guest's initramfs as /bin/udp_echo; the guest's /init starts it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { BATCH = 32, BUFFER_BYTES = 65536 };

static unsigned char buffers[BATCH][BUFFER_BYTES];
static struct sockaddr_in peers[BATCH];
static struct iovec iovecs[BATCH];
static struct mmsghdr messages[BATCH];

static void prepare_receive(void)
{
    for (int i = 0; i < BATCH; i++) {
        iovecs[i].iov_base = buffers[i];
        iovecs[i].iov_len = BUFFER_BYTES;
        memset(&messages[i], 0, sizeof messages[i]);
        messages[i].msg_hdr.msg_name = &peers[i];
        messages[i].msg_hdr.msg_namelen = sizeof peers[i];
        messages[i].msg_hdr.msg_iov = &iovecs[i];
        messages[i].msg_hdr.msg_iovlen = 1;
    }
}

int main(int argc, char **argv)
{
    long port = 7;
    if (argc > 2 || (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))) {
        fprintf(stderr, "usage: udp_echo [PORT]   (UDP echo server, default port 7)\n");
        return 2;
    }
    if (argc == 2) {
        char *end;
        port = strtol(argv[1], &end, 10);
        if (*end != '\0' || port < 1 || port > 65535) {
            fprintf(stderr, "udp_echo: not a UDP port: %s\n", argv[1]);
            return 2;
        }
    }

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        perror("udp_echo: socket");
        return 1;
    }
    int bytes = 1 << 20;  /* room for bursts; the kernel caps it at rmem_max/wmem_max */
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_ANY);
    address.sin_port = htons((unsigned short)port);
    if (bind(fd, (struct sockaddr *)&address, sizeof address) < 0) {
        perror("udp_echo: bind");
        return 1;
    }
    printf("udp_echo: serving UDP port %ld\n", port);
    fflush(stdout);

    for (;;) {
        prepare_receive();
        /* MSG_WAITFORONE: block for the first datagram, then take what is queued. */
        int received = recvmmsg(fd, messages, BATCH, MSG_WAITFORONE, NULL);
        if (received < 0) {
            if (errno == EINTR)
                continue;
            perror("udp_echo: recvmmsg");
            return 1;
        }
        for (int i = 0; i < received; i++) {
            /* Send back exactly what arrived (a datagram larger than the buffer
               was truncated: MSG_TRUNC; it goes back truncated, and the client
               sees the difference). */
            iovecs[i].iov_len = messages[i].msg_len;
        }
        int done = 0;
        while (done < received) {
            int sent = sendmmsg(fd, messages + done, (unsigned)(received - done), 0);
            if (sent < 0) {
                if (errno == EINTR)
                    continue;
                /* This datagram cannot go (e.g. no route back); drop it, go on. */
                done++;
                continue;
            }
            done += sent;
        }
    }
}
