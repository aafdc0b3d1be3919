/* lwIP's configuration for the tcp server: TCP only, sized for 1+ Gb/s
 * bulk transfers and many connections. The architecture's part (no IPv4
 * layer, no threads, checksums by ip, custom pbufs, counters) is in
 * lib/lwip_port/include/tern_lwip_base_options.h. */
#ifndef TERN_TCP_LWIPOPTS_H
#define TERN_TCP_LWIPOPTS_H

#include "tern_lwip_base_options.h"

#define LWIP_TCP 1
#define LWIP_UDP 0

/* --- Segments and windows -------------------------------------------- */
#define TCP_MSS 1460 /* Ethernet; lwIP lowers it per route to the interface's MTU - 40 */
/* 1 MiB windows and send buffers: 1 Gb/s at up to 8 ms round trip. A
 * loaded TCG guest answers in 2-6 ms; with 256 KiB a host sending at full
 * speed waited for window 40% of the time (ss -ti: rwnd_limited), and Tern
 * sending waited for acknowledgments. Window scaling is needed past
 * 64 KiB; scale 5 allows up to 2 MiB. */
#define LWIP_WND_SCALE 1
#define TCP_RCV_SCALE 5
#define TCP_WND (1024 * 1024)
#define TCP_SND_BUF (1024 * 1024)
/* pbufs queued per connection: a no-copy tcp_write takes two per segment
 * (a header pbuf and one referencing the data). */
#define TCP_SND_QUEUELEN ((4 * TCP_SND_BUF + TCP_MSS - 1) / TCP_MSS)
/* Only netconn/sockets read it, but it must stay below 64 KiB - 4 MSS. */
#define TCP_SNDLOWAT (16 * TCP_MSS)
/* Out-of-order segments sit in ip's pool buffers (zero-copy receive): at
 * most 64 of them per connection. */
#define TCP_QUEUE_OOSEQ 1
#define TCP_OOSEQ_MAX_PBUFS 64
/* Tell the peer what arrived out of order, so it resends only the holes
 * (lwIP sends SACK blocks; it does not act on received ones). */
#define LWIP_TCP_SACK_OUT 1
/* Timestamps would cost 12 bytes per segment; at these rates sequence
 * numbers wrap only after ~30 s, so PAWS is not needed. */
#define LWIP_TCP_TIMESTAMPS 0
#define LWIP_TCP_KEEPALIVE 1 /* per-pcb keepalive times (setsockopt) */

/* --- Connections ------------------------------------------------------ */
/* Every socket (servers/tcp/engine.hpp max_sockets) plus TIME_WAIT and
 * half-open ones. When none is left lwIP frees the oldest TIME_WAIT, then
 * LAST_ACK, then CLOSING pcb; never a SYN_RCVD or established one (unless
 * priorities say so), hence the backlog. */
#define MEMP_NUM_TCP_PCB 1024
#define MEMP_NUM_TCP_PCB_LISTEN 16
/* The listener's backlog counts half-open (SYN_RCVD) connections too, from
 * the SYN on, for up to 20 s: a SYN flood fills the backlog rather than
 * every pcb. */
#define TCP_LISTEN_BACKLOG 1
/* One per-pcb pointer for the server (tcp_ext_arg_*: it learns when lwIP
 * frees a pcb on its own). */
#define LWIP_TCP_PCB_NUM_EXT_ARGS 1
/* Unpredictable initial sequence numbers (RFC 6528's purpose); lwIP's own
 * are a counter. tern_lwip_random() is the server's (arch/cc.h). */
#define LWIP_HOOK_TCP_ISN(local_ip, local_port, remote_ip, remote_port) tern_lwip_random()

/* --- Memory ------------------------------------------------------------ */
/* Segments queued or in flight, all connections together (a full send
 * buffer is ~720 of them, an out-of-order queue up to 64). */
#define MEMP_NUM_TCP_SEG 8192
/* PBUF_REF/ROM pbufs: one per segment of no-copy written data. */
#define MEMP_NUM_PBUF 8192
/* PBUF_POOL: nothing in this configuration allocates from it (received
 * data arrives as custom pbufs), but lwIP's sanity check wants it to hold
 * a window, and a server may copy into it. 1024 x 1.5 KiB. */
#define PBUF_POOL_SIZE 1024
/* The heap: segment headers (~150 bytes each: a full MEMP_NUM_TCP_SEG is
 * ~1.2 MiB), copied writes and pbuf_clone()s (bytes of slow readers, up
 * to a window each, copied out of ip's buffers). */
#define MEM_SIZE (8 * 1024 * 1024)

#endif /* TERN_TCP_LWIPOPTS_H */
