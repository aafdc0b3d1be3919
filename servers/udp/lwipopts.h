/* lwIP's configuration for the udp server: UDP only. The architecture's part
 * (no IPv4 layer, no threads, checksums by ip, custom pbufs, counters) is
 * in lib/lwip_port/include/tern_lwip_base_options.h. */
#ifndef TERN_UDP_LWIPOPTS_H
#define TERN_UDP_LWIPOPTS_H

#include "tern_lwip_base_options.h"

#define LWIP_TCP 0
#define LWIP_UDP 1
#define LWIP_UDPLITE 0

#define MEMP_NUM_UDP_PCB 64 /* sockets, all applications together */
/* Sending to a broadcast address needs SO_BROADCAST, as in POSIX;
 * receiving broadcasts does not. */
#define IP_SOF_BROADCAST 1
#define IP_SOF_BROADCAST_RECV 0

/* --- Memory ------------------------------------------------------------ */
/* PBUF_REF/ROM pbufs: datagrams sent from the applications' buffers
 * without a copy, and their headers' chains. */
#define MEMP_NUM_PBUF 1024
/* Received datagrams arrive as custom pbufs; the pool is for copies. */
#define PBUF_POOL_SIZE 64
/* The heap: UDP headers lwIP prepends (one small pbuf per datagram sent)
 * and copied datagrams (up to 64 KiB each). */
#define MEM_SIZE (1024 * 1024)

#endif /* TERN_UDP_LWIPOPTS_H */
