// Proves that lwIP in one transport server's configuration (servers/tcp or
// servers/udp lwipopts.h) compiles and links into a ring-3 program, with
// the port standing in for the IPv4 layer. Built, never booted: the servers
// themselves will do this for real.
#include "lwip/init.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "lwip/udp.h"
#include "lwip_port/ip_layer.hpp"

extern "C" u32_t sys_now(void) { return 0; }
extern "C" uint32_t tern_lwip_random(void) { return 4; } // a fair dice roll

int main(int, char**)
{
    lwip_init();
    tern::lwip::IpLayer layer;
    (void)layer.interface_changed(0, 0x0A00020F, 24, 1500, true, true); // 10.0.2.15/24
#if LWIP_TCP
    if (struct tcp_pcb* pcb = tcp_new(); pcb != nullptr) {
        (void)tcp_bind(pcb, IP4_ADDR_ANY, 7);
        pcb = tcp_listen(pcb);
        (void)tcp_close(pcb);
    }
#endif
#if LWIP_UDP
    if (struct udp_pcb* pcb = udp_new(); pcb != nullptr) {
        (void)udp_bind(pcb, IP4_ADDR_ANY, 7);
        udp_remove(pcb);
    }
#endif
    sys_check_timeouts();
    return 0;
}
