// lwIP's IPv4 layer, as Tern's transport servers (servers/tcp, servers/udp)
// see it: ip is another process, so lwIP's ip4.c is not compiled and this
// stands in for it. It implements what lwIP's TCP and UDP call below them —
// ip4_route(), ip4_output_if(), ip4_output_if_src() (ip_layer.cpp) — and
// feeds them what ip delivers, with the state ip4_input() would have left
// (ip_data: addresses, interface, header).
//
// One lwIP netif stands for each of ip's interfaces (its announcements,
// proto/ip.hpp ip_transport::address): address, prefix, MTU and link state.
// Addresses are host-order numbers here, as everywhere in Tern
// (net/address.hpp); lwIP's are in network order, and this file is where
// they are converted.
//
// lwIP keeps its state in globals, so there is one IpLayer per process,
// made after lwip_init() has run or before it (netifs are added when first
// announced), and living as long as lwIP is used.
#pragma once

#include <cstdint>

#include "lwip/err.h"
#include "lwip/ip_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/prot/ip4.h"

namespace tern::lwip {

// lwIP's addresses from and to Tern's host-order numbers (with IPv4 only,
// ip_addr_t is ip4_addr_t).
static_assert(!LWIP_IPV6, "IPv4 only: ip_addr_t is ip4_addr_t");
inline ip_addr_t to_lwip(uint32_t host_order)
{
    ip_addr_t address;
    ip_addr_set_ip4_u32_val(address, __builtin_bswap32(host_order));
    return address;
}
inline uint32_t from_lwip(const ip_addr_t& address) { return __builtin_bswap32(ip4_addr_get_u32(ip_2_ip4(&address))); }

// Where lwIP's datagrams go: the server sends them to ip.
class IpOutput {
public:
    // A datagram lwIP sends: `p` is the chain from the transport header on
    // (no IP header; the checksum field is left for ip to fill in).
    // `source` is the sending pcb's local address, 0 if it has none (ip
    // then picks the address of the interface its route leaves through).
    // lwIP keeps `p`: copy it, or pbuf_ref() it and pbuf_free() it when
    // done — TCP rewrites and resends the same pbuf on retransmission, and
    // does not resend a segment whose pbuf is still referenced elsewhere.
    // ERR_OK when ip will get it; anything else reaches the caller
    // (tcp_output, udp_sendto) as that error. Runs inside lwIP: it must not
    // call back into it (no IpLayer::input from here; queue instead).
    virtual err_t output(struct pbuf* p, uint32_t source, uint32_t destination, uint8_t protocol) = 0;

protected:
    ~IpOutput() = default;
};

class IpLayer {
public:
    // ip's limit (servers/ip/interface.hpp ip::max_interfaces).
    static constexpr unsigned max_interfaces = 4;
    // The smallest MTU IPv4 allows (RFC 791); announcements below it are refused.
    static constexpr uint16_t minimum_mtu = 68;

    IpLayer();
    ~IpLayer(); // removes its netifs (pcbs bound to their addresses are aborted)
    IpLayer(const IpLayer&) = delete;
    IpLayer& operator=(const IpLayer&) = delete;

    // Where output goes (nullptr: nowhere; lwIP then gets ERR_IF).
    void set_output(IpOutput* output) { m_output = output; }

    // ip's announcement for interface `index`: its address (0: none) and
    // prefix length, MTU, link state, and whether the default route leaves
    // through it. lwIP is told as it expects (netif_set_addr): when an
    // address changes or goes, TCP connections bound to the old one are
    // aborted (their error callback gets ERR_ABRT); listening TCP pcbs and
    // UDP pcbs bound to it move to the new address (they keep the old one
    // when the address is lost, and match again if it comes back). A link
    // going down leaves connections alone, but nothing routes through the
    // interface until it is up again. False (and nothing changes) for an
    // index past max_interfaces, a prefix past 32 or an MTU below
    // minimum_mtu: that comes from another process, so it is checked.
    bool interface_changed(unsigned index, uint32_t address, uint8_t prefix, uint16_t mtu, bool up,
                           bool default_route);
    // Whether TCP segments up to 64 KiB may leave through the interface (ip
    // has the NIC cut them: proto/ip.hpp address_segmentation); off until
    // said. An index past max_interfaces is ignored.
    void set_segmentation(unsigned index, bool on);
    bool segmentation(const struct netif* netif) const;
    // ip is gone: nothing routes until it announces its interfaces again.
    // Addresses stay, so connections survive an ip restart that brings the
    // same addresses back.
    void forget_interfaces();

    // A datagram ip delivered: `p` is the chain from the transport header on;
    // source, destination and the interface it came in on are ip's. Sets the
    // state lwIP's input functions read (ip_data) and calls tcp_input() or
    // udp_input(), whichever this lwIP has. Always takes `p` (frees it if
    // no protocol takes it). False if it was dropped: no such interface, or
    // a protocol this lwIP does not have.
    //
    // tcp_input() rewrites the TCP header in place (byte order), so the
    // bytes must be writable; a chain must have the whole TCP header in its
    // first pbuf. Neither TCP nor UDP checks the checksum or that a UDP
    // header's length matches the datagram: the server does (trim the pbuf
    // to the UDP length first).
    bool input(struct pbuf* p, uint32_t source, uint32_t destination, unsigned interface, uint8_t protocol);

    // How lwIP routes (its ip4_route() calls this): of the interfaces that
    // have an address and whose link is up, the one whose subnet holds
    // `destination` (the longest prefix if several do), else the one the
    // default route leaves through, else none (lwIP then fails a connect or
    // send with ERR_RTE). Loopback (127/8) and 0.0.0.0 go nowhere.
    struct netif* route(uint32_t destination);

    // The netif standing for interface `index`; nullptr until announced.
    struct netif* netif(unsigned index);
    // The interface a netif stands for (e.g. a pcb's netif_idx through
    // netif_get_by_index()), or -1 if it is not one of ours.
    int interface_of(const struct netif* netif) const;

    // For the C functions lwIP calls (ip_layer.cpp).
    err_t output(struct pbuf* p, const ip4_addr_t* source, const ip4_addr_t* destination, uint8_t protocol);

private:
    struct Interface {
        struct netif netif;
        bool added;
        bool default_route;
        bool segmentation;
        uint8_t prefix;
    };

    bool usable(const Interface& i) const;
    void update_default();

    Interface m_interfaces[max_interfaces] = {};
    IpOutput* m_output = nullptr;
    struct ip_hdr m_header = {}; // what ip4_current_header() shows during input()
};

} // namespace tern::lwip
