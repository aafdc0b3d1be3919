// lwIP's IPv4 layer in a Tern transport server (ip_layer.hpp): the functions
// lwIP's TCP and UDP call below them, over the process's one IpLayer.
#include "lwip_port/ip_layer.hpp"

#include "lwip/ip.h"
#include "lwip/ip4.h"
#include "lwip/opt.h"
#include "lwip/stats.h"
#include "net/address.hpp"
#if LWIP_TCP
#include "lwip/priv/tcp_priv.h"
#endif
#if LWIP_UDP
#include "lwip/udp.h"
#endif

namespace tern::lwip {

namespace {

IpLayer* g_layer = nullptr; // the process's one IpLayer (lwIP's functions below find it here)

ip4_addr_t ip4(uint32_t host_order)
{
    ip4_addr_t address;
    ip4_addr_set_u32(&address, __builtin_bswap32(host_order));
    return address;
}

err_t init_netif(struct netif* netif)
{
    netif->name[0] = 'e';
    netif->name[1] = 't';
    return ERR_OK;
}

// lwIP's netif_input() would hand a whole IPv4 packet to ip4_input(); in
// Tern packets come in through IpLayer::input() only.
err_t no_packet_input(struct pbuf* p, struct netif*)
{
    IP_STATS_INC(ip.drop);
    pbuf_free(p);
    return ERR_OK;
}

} // namespace

IpLayer::IpLayer()
{
    if (g_layer != nullptr)
        tern_lwip_assert("a second IpLayer: lwIP's state is global", __FILE__, __LINE__);
    g_layer = this;
}

IpLayer::~IpLayer()
{
    m_output = nullptr; // whoever it was may be gone already; RSTs from aborted pcbs go nowhere
    for (Interface& i : m_interfaces) {
        if (i.added)
            netif_remove(&i.netif);
        i.added = false;
    }
    g_layer = nullptr;
}

bool IpLayer::interface_changed(unsigned index, uint32_t address, uint8_t prefix, uint16_t mtu, bool up,
                                bool default_route)
{
    if (index >= max_interfaces || prefix > 32 || mtu < minimum_mtu)
        return false;
    Interface& i = m_interfaces[index];
    const ip4_addr_t ip = ip4(address);
    const ip4_addr_t mask = ip4(address != 0 ? net::prefix_mask(prefix) : 0);
    const ip4_addr_t gateway = ip4(0); // ip routes; lwIP never needs a gateway
    if (!i.added) {
        if (netif_add(&i.netif, &ip, &mask, &gateway, this, init_netif, no_packet_input) == nullptr)
            return false;
        i.added = true;
        netif_set_up(&i.netif);
    } else {
        netif_set_addr(&i.netif, &ip, &mask, &gateway);
    }
    i.prefix = address != 0 ? prefix : 0;
    i.default_route = default_route;
    i.netif.mtu = mtu;
    // A /31 or /32 has no subnet broadcast address; with the flag lwIP would
    // take the other end of a /31 for one.
    if (address != 0 && prefix <= 30)
        i.netif.flags |= NETIF_FLAG_BROADCAST;
    else
        i.netif.flags &= static_cast<u8_t>(~NETIF_FLAG_BROADCAST);
    if (up)
        netif_set_link_up(&i.netif);
    else
        netif_set_link_down(&i.netif);
    update_default();
    return true;
}

void IpLayer::set_segmentation(unsigned index, bool on)
{
    if (index < max_interfaces)
        m_interfaces[index].segmentation = on;
}

bool IpLayer::segmentation(const struct netif* netif) const
{
    const int index = interface_of(netif);
    return index >= 0 && m_interfaces[index].segmentation;
}

void IpLayer::forget_interfaces()
{
    for (Interface& i : m_interfaces) {
        if (i.added)
            netif_set_link_down(&i.netif);
        i.default_route = false;
        i.segmentation = false;
    }
    update_default();
}

// lwIP's own default netif follows ip's default route (lwIP reads it for
// nothing that matters here, but keeps it consistent for whoever looks).
void IpLayer::update_default()
{
    struct netif* chosen = nullptr;
    for (Interface& i : m_interfaces) {
        if (i.added && i.default_route) {
            chosen = &i.netif;
            break;
        }
    }
    netif_set_default(chosen);
}

bool IpLayer::usable(const Interface& i) const
{
    return i.added && netif_is_up(&i.netif) && netif_is_link_up(&i.netif) &&
           !ip4_addr_isany_val(*netif_ip4_addr(&i.netif));
}

struct netif* IpLayer::route(uint32_t destination)
{
    const net::Ipv4Address to{destination};
    if (to.is_any() || to.is_loopback())
        return nullptr;
    Interface* best = nullptr;
    for (Interface& i : m_interfaces) {
        if (!usable(i))
            continue;
        const net::Ipv4Address address{from_lwip(*netif_ip4_addr(&i.netif))};
        if (net::same_prefix(to, address, i.prefix) && (best == nullptr || i.prefix > best->prefix))
            best = &i;
    }
    if (best != nullptr)
        return &best->netif;
    for (Interface& i : m_interfaces) {
        if (usable(i) && i.default_route)
            return &i.netif;
    }
    return nullptr;
}

struct netif* IpLayer::netif(unsigned index)
{
    return index < max_interfaces && m_interfaces[index].added ? &m_interfaces[index].netif : nullptr;
}

int IpLayer::interface_of(const struct netif* netif) const
{
    for (unsigned index = 0; index < max_interfaces; ++index) {
        if (m_interfaces[index].added && &m_interfaces[index].netif == netif)
            return static_cast<int>(index);
    }
    return -1;
}

err_t IpLayer::output(struct pbuf* p, const ip4_addr_t* source, const ip4_addr_t* destination, uint8_t protocol)
{
    if (destination == nullptr) { // LWIP_IP_HDRINCL: a ready IP header, only raw pcbs make those
        IP_STATS_INC(ip.err);
        return ERR_VAL;
    }
    if (m_output == nullptr) {
        IP_STATS_INC(ip.err);
        return ERR_IF;
    }
    const uint32_t from = source != nullptr ? from_lwip(*source) : 0;
    const err_t err = m_output->output(p, from, from_lwip(*destination), protocol);
    if (err == ERR_OK)
        IP_STATS_INC(ip.xmit);
    else
        IP_STATS_INC(ip.err);
    return err;
}

bool IpLayer::input(struct pbuf* p, uint32_t source, uint32_t destination, unsigned interface, uint8_t protocol)
{
    if (p == nullptr)
        return false;
    struct netif* in = netif(interface);
    if (in == nullptr) {
        IP_STATS_INC(ip.drop);
        pbuf_free(p);
        return false;
    }
    IP_STATS_INC(ip.recv);

    // What ip4_input() leaves for the transports: the header (rebuilt: ip
    // keeps the real one), its length, the addresses and the interface.
    IPH_VHL_SET(&m_header, 4, IP_HLEN / 4);
    IPH_TOS_SET(&m_header, 0);
    IPH_LEN_SET(&m_header, lwip_htons(static_cast<u16_t>(IP_HLEN + p->tot_len)));
    IPH_TTL_SET(&m_header, 0);
    IPH_PROTO_SET(&m_header, protocol);
    m_header.src.addr = __builtin_bswap32(source);
    m_header.dest.addr = __builtin_bswap32(destination);
    ip_data.current_netif = in;
    ip_data.current_input_netif = in;
    ip_data.current_ip4_header = &m_header;
    ip_data.current_ip_header_tot_len = IP_HLEN;
    ip_addr_copy(ip_data.current_iphdr_src, to_lwip(source));
    ip_addr_copy(ip_data.current_iphdr_dest, to_lwip(destination));
    p->if_idx = netif_get_index(in);

    bool taken = true;
    switch (protocol) {
#if LWIP_TCP
    case IP_PROTO_TCP: tcp_input(p, in); break;
#endif
#if LWIP_UDP
    case IP_PROTO_UDP: udp_input(p, in); break;
#endif
    default:
        IP_STATS_INC(ip.proterr);
        IP_STATS_INC(ip.drop);
        pbuf_free(p);
        taken = false;
        break;
    }

    // As ip4_input() does: nothing of this packet is current any more.
    ip_data.current_netif = nullptr;
    ip_data.current_input_netif = nullptr;
    ip_data.current_ip4_header = nullptr;
    ip_data.current_ip_header_tot_len = 0;
    ip_addr_set_zero_ip4(&ip_data.current_iphdr_src);
    ip_addr_set_zero_ip4(&ip_data.current_iphdr_dest);
    return taken;
}

} // namespace tern::lwip

// --- What lwIP's TCP and UDP call (declared in lwip/ip4.h) ---------------
// ip4_route_src() is a macro for ip4_route() (no LWIP_HOOK_IP4_ROUTE_SRC).

struct netif* ip4_route(const ip4_addr_t* destination)
{
    using tern::lwip::g_layer;
    return g_layer != nullptr && destination != nullptr ? g_layer->route(tern::lwip::from_lwip(*destination))
                                                        : nullptr;
}

// TTL and TOS are ip's business. The netif lwIP routed through is not
// passed on either: ip routes the datagram again (same table, same answer).
err_t ip4_output_if(struct pbuf* p, const ip4_addr_t* source, const ip4_addr_t* destination, u8_t, u8_t,
                    u8_t protocol, struct netif*)
{
    using tern::lwip::g_layer;
    if (g_layer == nullptr)
        return ERR_RTE;
    // lwIP's own would put the netif's address in for "any"; ip does that.
    const bool any = source == nullptr || ip4_addr_isany(source);
    return g_layer->output(p, any ? nullptr : source, destination, protocol);
}

err_t ip4_output_if_src(struct pbuf* p, const ip4_addr_t* source, const ip4_addr_t* destination, u8_t ttl,
                        u8_t tos, u8_t protocol, struct netif* netif)
{
    return ip4_output_if(p, source, destination, ttl, tos, protocol, netif);
}

// Referenced by netif_input(), which nothing calls in Tern (see
// no_packet_input above).
err_t ip4_input(struct pbuf* p, struct netif*)
{
    IP_STATS_INC(ip.drop);
    pbuf_free(p);
    return ERR_OK;
}
