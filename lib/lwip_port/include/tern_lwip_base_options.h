/* What every lwIP in Tern has in common, whatever the server: included first
 * by servers/tcp/lwipopts.h and servers/udp/lwipopts.h, which then size
 * their own protocol.
 *
 * lwIP runs here as one transport protocol above Tern's ip server: no
 * threads (raw API, NO_SYS), and no IPv4 layer of its own. ip4.c, etharp,
 * ICMP, IGMP, DHCP, fragmentation and the netif drivers are not compiled;
 * lib/lwip_port/ip_layer.cpp stands in for the IPv4 layer (routing, output
 * to ip, input from ip). */
#ifndef TERN_LWIP_BASE_OPTIONS_H
#define TERN_LWIP_BASE_OPTIONS_H

/* --- System: one thread, the server's event loop calls lwIP ------------ */
#define NO_SYS 1
#define LWIP_TIMERS 1 /* sys_check_timeouts(); the server defines sys_now() */
#define SYS_LIGHTWEIGHT_PROT 0 /* nothing runs concurrently with lwIP */
#define LWIP_NETCONN 0
#define LWIP_SOCKET 0
#define LWIP_NETIF_API 0

/* --- Layers below the transport: Tern's ip server does them ----------- */
#define LWIP_IPV4 1
#define LWIP_IPV6 0
#define LWIP_ARP 0 /* and so LWIP_ETHERNET 0 */
#define LWIP_ICMP 0
#define LWIP_IGMP 0
#define LWIP_DHCP 0
#define LWIP_AUTOIP 0
#define LWIP_DNS 0
#define LWIP_RAW 0
#define IP_FORWARD 0
#define IP_REASSEMBLY 0 /* ip delivers whole datagrams */
#define IP_FRAG 0       /* ip fragments what is too large for the link */
#define LWIP_NETIF_LOOPBACK 0
#define LWIP_HAVE_LOOPIF 0
#define PBUF_LINK_HLEN 0 /* no link header in front of what lwIP sends */

/* ip fills in transport checksums (ip_transport::flags::fill_checksum,
 * in software or by the NIC), and the server checks a segment's checksum
 * before lwIP sees it: lwIP computes none. */
#define CHECKSUM_GEN_IP 0
#define CHECKSUM_GEN_UDP 0
#define CHECKSUM_GEN_TCP 0
#define CHECKSUM_CHECK_IP 0
#define CHECKSUM_CHECK_UDP 0
#define CHECKSUM_CHECK_TCP 0

/* --- Memory: static pools and a static heap, no malloc ---------------- */
#define MEM_LIBC_MALLOC 0
#define MEMP_MEM_MALLOC 0
#define MEM_ALIGNMENT 8
/* Received datagrams stay in ip's pool buffers, wrapped in custom pbufs
 * (lib/lwip_port/external_pbufs.hpp). */
#define LWIP_SUPPORT_CUSTOM_PBUF 1

/* --- Sockets semantics the servers offer ------------------------------ */
#define SO_REUSE 1 /* SO_REUSEADDR */

/* --- Counters for netstat --------------------------------------------- */
#define LWIP_STATS 1
#define LWIP_STATS_LARGE 1 /* 32-bit counters: 16-bit ones wrap in a second at 1 Gb/s */
#define LWIP_STATS_DISPLAY 0
#define LINK_STATS 0 /* no link layer here */
#define MIB2_STATS 0

#endif /* TERN_LWIP_BASE_OPTIONS_H */
