#include "ip_stack.hpp"

#include "net/arp.hpp"
#include "net/byte_order.hpp"
#include "net/checksum.hpp"
#include "net/dhcp.hpp"
#include "net/ethernet.hpp"
#include "net/icmp.hpp"
#include "net/tcp.hpp"
#include "net/udp.hpp"

namespace ip {

using namespace tern::net;

namespace {

constexpr uint64_t icmp_token_ns = 1'000'000'000 / IpStack::icmp_errors_per_second;
constexpr size_t loopback_budget = 256; // frames per drain: a bound even if peers ping-pong forever

} // namespace

// The bytes of an outgoing datagram's payload: a short head built here (an
// ICMP or UDP header, a quoted datagram) followed by a body that is
// somebody's bytes (one run, or the pieces of a transport's chain) or a
// generated pattern (ping data). Fragmentation copies any range of it
// without building the whole in one place.
struct IpStack::Payload {
    static constexpr size_t head_capacity = 96;
    uint8_t head[head_capacity] = {};
    size_t head_length = 0;
    const uint8_t* body = nullptr;
    size_t body_length = 0;        // with `pieces`: their total
    const Piece* pieces = nullptr; // when set, the body is these instead of `body`
    size_t piece_count = 0;
    bool pattern = false; // body bytes are (offset & 0xFF) instead of body[]
    // The offset of a checksum over the whole payload still to be filled in
    // (-1: none); with `pseudo_header` it covers the TCP/UDP pseudo header
    // too. emit() has the NIC do it when it can, else computes it; either way
    // it puts what the field must hold into `field`, which copy() and sum()
    // see in place of the payload's own two bytes there.
    int checksum_at = -1;
    bool pseudo_header = false;
    uint16_t field = 0;
    uint16_t segment_size = 0; // TransportDatagram::segment_size

    size_t length() const { return head_length + body_length; }

    void copy(size_t offset, uint8_t* out, size_t n) const
    {
        each_run(offset, offset + n, [&](size_t at, const uint8_t* bytes, size_t count) {
            uint8_t* to = out + (at - offset);
            if (bytes != nullptr) {
                __builtin_memcpy(to, bytes, count);
            } else {
                for (size_t i = 0; i < count; ++i)
                    to[i] = static_cast<uint8_t>(at + i);
            }
        });
        if (checksum_at < 0)
            return;
        const size_t field_at = static_cast<size_t>(checksum_at);
        if (field_at >= offset && field_at < offset + n)
            out[field_at - offset] = static_cast<uint8_t>(field >> 8);
        if (field_at + 1 >= offset && field_at + 1 < offset + n)
            out[field_at + 1 - offset] = static_cast<uint8_t>(field);
    }

    // The ones'-complement sum of the payload (as copy() gives it) onto `start`.
    ChecksumSum sum(ChecksumSum start) const
    {
        if (checksum_at < 0)
            return add_range(start, 0, length());
        const size_t field_at = static_cast<size_t>(checksum_at); // even: the field is one 16-bit word
        start = add_range(start, 0, field_at);
        start = checksum_add16(start, field);
        return add_range(start, field_at + 2, length());
    }

private:
    // Calls f(offset, bytes, count) for the runs of stored bytes that make up
    // [from, to), in order; bytes is nullptr for a run of pattern.
    template <typename F>
    void each_run(size_t from, size_t to, F&& f) const
    {
        if (from < head_length) {
            const size_t end = to < head_length ? to : head_length;
            f(from, head + from, end - from);
            from = end;
        }
        if (from >= to)
            return;
        if (pattern) {
            f(from, nullptr, to - from);
        } else if (pieces == nullptr) {
            f(from, body + (from - head_length), to - from);
        } else {
            size_t piece_start = head_length;
            for (size_t i = 0; i < piece_count && from < to; ++i) {
                const size_t piece_end = piece_start + pieces[i].length;
                if (from < piece_end) {
                    const size_t end = to < piece_end ? to : piece_end;
                    f(from, pieces[i].bytes + (from - piece_start), end - from);
                    from = end;
                }
                piece_start = piece_end;
            }
        }
    }

    static uint16_t fold(ChecksumSum sum)
    {
        while (sum >> 16)
            sum = (sum & 0xFFFF) + (sum >> 16);
        return static_cast<uint16_t>(sum);
    }

    // Sums [from, to) run by run. A run at an odd offset is summed as if
    // even and its folded sum byte-swapped (RFC 1071: the sum is the same
    // in either byte order), so odd-sized pieces cost no copy.
    ChecksumSum add_range(ChecksumSum start, size_t from, size_t to) const
    {
        each_run(from, to, [&](size_t at, const uint8_t* bytes, size_t count) {
            ChecksumSum run = 0;
            if (bytes != nullptr) {
                run = checksum_add(0, bytes, count);
            } else {
                uint8_t chunk[256]; // even, so 16-bit words never straddle two chunks
                for (size_t done = 0; done < count; done += sizeof(chunk)) {
                    const size_t n = count - done < sizeof(chunk) ? count - done : sizeof(chunk);
                    for (size_t i = 0; i < n; ++i)
                        chunk[i] = static_cast<uint8_t>(at + done + i);
                    run = checksum_add(run, chunk, n);
                }
            }
            if (at % 2 != 0)
                run = __builtin_bswap16(fold(run));
            start += run;
        });
        return start;
    }
};

// Every public entry point holds one: it advances the clock and, when the
// outermost call ends, processes what was looped back meanwhile.
class IpStack::Entry {
public:
    Entry(IpStack& stack, uint64_t now_ns) : m_stack(stack)
    {
        if (now_ns > stack.m_now_ns)
            stack.m_now_ns = now_ns;
        ++stack.m_depth;
    }
    ~Entry()
    {
        if (m_stack.m_depth == 1)
            m_stack.drain_loopback();
        --m_stack.m_depth;
    }
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;

private:
    IpStack& m_stack;
};

IpStack::IpStack(FrameSink& sink) : m_sink(sink) {}

// ---------------------------------------------------------------------------
// Interfaces and configuration

Result<unsigned> IpStack::add_interface(const MacAddress& mac, uint16_t mtu)
{
    if (m_interface_count == max_interfaces)
        return Error::out_of_memory;
    if (mac.is_multicast() || mac.is_zero() || mtu < 576 || mtu > ethernet_max_payload)
        return Error::invalid_argument;
    const unsigned index = m_interface_count++;
    Interface& nic = m_interfaces[index];
    nic = Interface{};
    nic.name[0] = 'e';
    nic.name[1] = 't';
    nic.name[2] = 'h';
    nic.name[3] = static_cast<char>('0' + index);
    nic.mac = mac;
    nic.mtu = mtu;
    nic.link_up = true;
    changed();
    return index;
}

const Interface* IpStack::interface(unsigned index) const
{
    return index < m_interface_count ? &m_interfaces[index] : nullptr;
}

const Counters* IpStack::counters(unsigned index) const
{
    return index < m_interface_count ? &m_interfaces[index].counters : nullptr;
}

void IpStack::set_tx_checksum_offload(unsigned index, bool on)
{
    if (Interface* n = nic(index))
        n->tx_checksum_offload = on;
}

void IpStack::set_tcp_segmentation(unsigned index, bool on)
{
    Interface* n = nic(index);
    if (n == nullptr || n->tcp_segmentation == on)
        return;
    n->tcp_segmentation = on;
    changed();
}

void IpStack::count_device_drops(unsigned index, Drop reason, uint64_t count)
{
    const bool device_reason = reason == Drop::nic_missed || reason == Drop::nic_oversize ||
                               reason == Drop::nic_undersize || reason == Drop::nic_errors;
    if (Interface* n = nic(index); n != nullptr && device_reason)
        n->counters.drop(reason, count);
}

const DhcpClient* IpStack::dhcp(unsigned index) const { return index < m_interface_count ? &m_dhcp[index] : nullptr; }

void IpStack::set_link(unsigned index, bool up)
{
    Interface* n = nic(index);
    if (n == nullptr)
        return;
    if (n->link_up != up)
        changed();
    n->link_up = up;
    if (!up) {
        const size_t dropped = m_pending.drop_interface(index);
        n->counters.drops[static_cast<size_t>(Drop::interface_down)] += dropped;
    }
}

Result<void> IpStack::configure(unsigned index, Ipv4Address address, uint8_t prefix_length)
{
    Interface* n = nic(index);
    if (n == nullptr || !address.is_unicast() || prefix_length < 1 || prefix_length > 32)
        return Error::invalid_argument;
    if (n->configured())
        m_routes.remove(n->network(), n->prefix_length);
    if (n->address != address || n->prefix_length != prefix_length)
        changed(); // not a DHCP renewal of the same lease
    n->address = address;
    n->prefix_length = prefix_length;
    return m_routes.add({.destination = n->network(), .prefix_length = prefix_length, .interface = index});
}

void IpStack::deconfigure(unsigned index)
{
    Interface* n = nic(index);
    if (n == nullptr)
        return;
    if (n->configured())
        changed();
    n->address = Ipv4Address::any();
    n->prefix_length = 0;
    m_routes.remove_interface(index);
    m_arp.forget_interface(index);
    n->counters.drops[static_cast<size_t>(Drop::no_route)] += m_pending.drop_interface(index);
}

Result<void> IpStack::set_default_gateway(Ipv4Address gateway, unsigned index)
{
    if (nic(index) == nullptr)
        return Error::invalid_argument;
    for (size_t i = 0; i < m_routes.size(); ++i) {
        const Route& route = m_routes.at(i);
        if (route.prefix_length == 0 && route.gateway == gateway && route.interface == index)
            return {}; // the same again (a DHCP renewal): nothing to announce
    }
    changed();
    return m_routes.set_default_gateway(gateway, index);
}

int IpStack::default_route_interface() const
{
    for (size_t i = 0; i < m_routes.size(); ++i) {
        if (m_routes.at(i).prefix_length == 0)
            return static_cast<int>(m_routes.at(i).interface);
    }
    return -1;
}

Result<void> IpStack::start_dhcp(unsigned index, uint32_t seed, uint64_t now_ns)
{
    Entry entry(*this, now_ns);
    Interface* n = nic(index);
    if (n == nullptr)
        return Error::invalid_argument;
    m_dhcp[index].start(*this, index, n->mac, seed, m_now_ns);
    return {};
}

void IpStack::dhcp_bound(unsigned index, const DhcpLease& lease)
{
    if (!configure(index, lease.address, lease.prefix_length).ok())
        return;
    if (!lease.router.is_any()) {
        // One default route: the first interface to get a router keeps it.
        bool have_default = false;
        for (size_t i = 0; i < m_routes.size(); ++i) {
            const Route& route = m_routes.at(i);
            if (route.prefix_length == 0 && route.interface != index)
                have_default = true;
        }
        if (!have_default)
            (void)set_default_gateway(lease.router, index);
    }
    if (lease.dns_count > 0 && m_dns.is_any())
        m_dns = lease.dns[0];
}

void IpStack::dhcp_lost(unsigned index) { deconfigure(index); }

// ---------------------------------------------------------------------------
// Input

void IpStack::on_frame(unsigned index, const uint8_t* frame, size_t length, uint64_t now_ns)
{
    Entry entry(*this, now_ns);
    receive_frame(index, frame, length, false);
}

void IpStack::receive_frame(unsigned index, const uint8_t* frame, size_t length, bool looped)
{
    Interface* n = nic(index);
    if (n == nullptr) {
        m_stack_counters.drop(Drop::interface_down);
        return;
    }
    Counters& counters = n->counters;
    ++counters.rx_packets;
    counters.rx_bytes += length;
    if (!n->link_up)
        return counters.drop(Drop::interface_down);
    EthernetHeader ethernet;
    if (!EthernetHeader::parse(frame, length, ethernet))
        return counters.drop(Drop::runt);
    if (length > ethernet_max_received_frame)
        return counters.drop(Drop::oversize);
    if (ethernet.source.is_multicast())
        return counters.drop(Drop::bad_source_mac);
    const bool link_broadcast = ethernet.destination.is_broadcast();
    if (!link_broadcast && !(ethernet.destination == n->mac))
        return counters.drop(Drop::not_our_mac);

    const uint8_t* payload = frame + ethernet_header_size;
    const size_t payload_length = length - ethernet_header_size;
    switch (ethernet.ethertype) {
    case ethertype::arp: return receive_arp(index, payload, payload_length);
    case ethertype::ipv4: return receive_ipv4(index, payload, payload_length, link_broadcast, looped);
    default: return counters.drop(Drop::bad_ethertype);
    }
}

void IpStack::receive_arp(unsigned index, const uint8_t* packet, size_t length)
{
    Interface& n = m_interfaces[index];
    ArpPacket arp;
    if (ArpPacket::parse(packet, length, arp) != ArpCheck::ok)
        return n.counters.drop(Drop::arp_malformed);
    // A probe (RFC 5227) has sender 0.0.0.0; anything else must be a host's address.
    if (arp.sender_mac.is_multicast() || arp.sender_mac.is_zero() ||
        (!arp.sender_ip.is_any() && !arp.sender_ip.is_unicast()) || is_broadcast_on(index, arp.sender_ip))
        return n.counters.drop(Drop::arp_bad_sender);
    if (n.configured() && arp.sender_ip == n.address)
        return n.counters.drop(Drop::arp_conflict);

    const bool for_us = n.configured() && arp.target_ip == n.address;
    ArpCache::Update update = ArpCache::Update::absent;
    if (!arp.sender_ip.is_any()) {
        update = m_arp.update(index, arp.sender_ip, arp.sender_mac, m_now_ns);
        if (update == ArpCache::Update::absent && for_us)
            (void)m_arp.insert(index, arp.sender_ip, arp.sender_mac, m_now_ns); // full of pending entries: no harm
    }
    if (for_us && arp.operation == ArpOperation::request)
        send_arp(index, ArpOperation::reply, arp.sender_mac, arp.sender_ip, arp.sender_mac);
    if (update == ArpCache::Update::resolved)
        flush_pending(index, arp.sender_ip, arp.sender_mac);
    if (!for_us && update == ArpCache::Update::absent)
        n.counters.drop(Drop::arp_not_for_us);
}

void IpStack::receive_ipv4(unsigned index, const uint8_t* bytes, size_t length, bool link_broadcast, bool looped)
{
    Interface& n = m_interfaces[index];
    Ipv4Header header;
    switch (Ipv4Header::parse(bytes, length, header)) {
    case Ipv4Check::ok: break;
    case Ipv4Check::truncated: return n.counters.drop(Drop::ip_truncated);
    case Ipv4Check::bad_version: return n.counters.drop(Drop::ip_bad_version);
    case Ipv4Check::bad_header_length: return n.counters.drop(Drop::ip_bad_header_length);
    case Ipv4Check::bad_total_length: return n.counters.drop(Drop::ip_bad_total_length);
    case Ipv4Check::bad_checksum: return n.counters.drop(Drop::ip_bad_checksum);
    case Ipv4Check::bad_flags: return n.counters.drop(Drop::ip_bad_flags);
    case Ipv4Check::bad_options: return n.counters.drop(Drop::ip_bad_options);
    case Ipv4Check::bad_fragment: return n.counters.drop(Drop::ip_bad_fragment);
    }
    // A datagram from the wire never comes from one of our own addresses (a martian).
    if (!header.source.is_unicast() || is_broadcast_on(index, header.source) ||
        (!looped && local_interface(header.source) >= 0))
        return n.counters.drop(Drop::ip_bad_source);

    const bool local = local_interface(header.destination) >= 0;
    const bool broadcast = header.destination.is_broadcast() || is_broadcast_on(index, header.destination);
    // Before it has an address, the DHCP client takes replies whatever their
    // destination (a server may unicast to the address it offers).
    const uint8_t* payload = bytes + header.header_length;
    const bool to_dhcp = m_dhcp[index].active() && header.protocol == ip_protocol::udp && !header.is_fragment() &&
                         header.payload_length() >= udp_header_size &&
                         load_be16(payload + 2) == dhcp::client_port;
    if (!to_dhcp) {
        // RFC 1122 3.3.6: a unicast datagram in a link-layer broadcast is not for us.
        if (!(local || broadcast) || (local && link_broadcast))
            return n.counters.drop(Drop::ip_not_for_us);
    }

    if (!header.is_fragment())
        return deliver(index, header, bytes, broadcast);

    Reassembler::Datagram datagram;
    const Reassembler::AddResult added = m_reassembly.add(index, header, bytes, m_now_ns, datagram);
    if (added.evicted && added.evicted_interface < m_interface_count)
        m_interfaces[added.evicted_interface].counters.drop(Drop::reassembly_full);
    switch (added.outcome) {
    case Reassembler::Outcome::held: return;
    case Reassembler::Outcome::overlap: return n.counters.drop(Drop::fragment_overlap);
    case Reassembler::Outcome::inconsistent: return n.counters.drop(Drop::ip_bad_fragment);
    case Reassembler::Outcome::complete: break;
    }
    deliver(index, datagram.header, datagram.bytes, broadcast);
    m_reassembly.release(datagram);
}

void IpStack::deliver(unsigned index, const Ipv4Header& header, const uint8_t* datagram, bool to_broadcast)
{
    Interface& n = m_interfaces[index];
    const uint8_t* payload = datagram + header.header_length;
    const size_t length = header.payload_length();
    if (header.protocol == ip_protocol::icmp)
        return receive_icmp(index, header, datagram, to_broadcast);
    if (header.protocol == ip_protocol::udp && m_dhcp[index].active() && length >= udp_header_size &&
        load_be16(payload + 2) == dhcp::client_port)
        return receive_dhcp(index, header, datagram);
    const Delivery delivery =
        m_upper != nullptr ? m_upper->deliver(index, header, to_broadcast, payload, length) : Delivery::no_server;
    if (delivery == Delivery::taken)
        return;
    if (delivery == Delivery::busy)
        return n.counters.drop(Drop::transport_busy);
    n.counters.drop(Drop::protocol_unreachable);
    // RFC 1122 3.2.2: no ICMP error about a datagram to a broadcast address.
    if (!to_broadcast)
        send_icmp_error(icmp_type::destination_unreachable, icmp_code::protocol_unreachable, header, datagram);
}

void IpStack::receive_icmp(unsigned index, const Ipv4Header& header, const uint8_t* datagram, bool to_broadcast)
{
    Interface& n = m_interfaces[index];
    const uint8_t* message = datagram + header.header_length;
    const size_t length = header.payload_length();
    IcmpHeader icmp;
    if (!IcmpHeader::parse(message, length, icmp))
        return n.counters.drop(Drop::icmp_truncated);
    if (internet_checksum(message, length) != 0)
        return n.counters.drop(Drop::icmp_bad_checksum);

    if (icmp.type == icmp_type::echo_request) {
        // Answering broadcast pings would let anyone make us flood the link.
        if (to_broadcast)
            return n.counters.drop(Drop::icmp_ignored);
        Payload reply;
        IcmpHeader{.type = icmp_type::echo_reply, .identifier = icmp.identifier, .sequence = icmp.sequence}.write(
            reply.head);
        reply.head_length = icmp_header_size;
        reply.body = message + icmp_header_size;
        reply.body_length = length - icmp_header_size;
        reply.checksum_at = 2;
        (void)send_datagram(header.source, ip_protocol::icmp, reply, header.destination);
        return;
    }
    if (icmp.type == icmp_type::echo_reply && m_echo_listener != nullptr) {
        EchoReply reply;
        reply.interface = index;
        reply.source = header.source;
        reply.identifier = icmp.identifier;
        reply.sequence = icmp.sequence;
        reply.payload_length = length - icmp_header_size;
        reply.ttl = header.ttl;
        if (reply.payload_length >= 8) {
            const uint64_t sent_ns = load_be64(message + icmp_header_size);
            if (sent_ns <= m_now_ns) {
                reply.has_rtt = true;
                reply.rtt_ns = m_now_ns - sent_ns;
            }
        }
        m_echo_listener->echo_reply(reply);
        return;
    }
    if (icmp.type != icmp_type::echo_reply && m_upper != nullptr &&
        m_upper->deliver(index, header, to_broadcast, message, length) == Delivery::taken)
        return;
    n.counters.drop(Drop::icmp_ignored);
}

void IpStack::receive_dhcp(unsigned index, const Ipv4Header& header, const uint8_t* datagram)
{
    Interface& n = m_interfaces[index];
    const uint8_t* udp = datagram + header.header_length;
    UdpHeader udp_header;
    if (!UdpHeader::parse(udp, header.payload_length(), udp_header) ||
        !udp_checksum_valid(header.source, header.destination, udp, udp_header.length))
        return n.counters.drop(Drop::udp_malformed);
    if (udp_header.source_port != dhcp::server_port ||
        !m_dhcp[index].on_message(udp + udp_header_size, udp_header.length - udp_header_size, m_now_ns))
        n.counters.drop(Drop::dhcp_ignored);
}

void IpStack::drain_loopback()
{
    for (size_t budget = loopback_budget; budget > 0; --budget) {
        PacketQueue::Packet* packet = m_loopback.oldest();
        if (packet == nullptr)
            return;
        receive_frame(packet->interface, packet->frame, packet->length, true);
        m_loopback.release(packet);
    }
}

// ---------------------------------------------------------------------------
// Time

void IpStack::tick(uint64_t now_ns)
{
    Entry entry(*this, now_ns);
    m_arp.tick(
        m_now_ns,
        [this](unsigned index, Ipv4Address ip) {
            send_arp(index, ArpOperation::request, MacAddress{}, ip, MacAddress::broadcast());
        },
        [this](unsigned index, Ipv4Address ip) {
            if (index < m_interface_count)
                m_interfaces[index].counters.drops[static_cast<size_t>(Drop::arp_unresolved)] +=
                    m_pending.drop_for(index, ip);
        });
    m_reassembly.expire(m_now_ns, [this](const Reassembler::Expired& expired) {
        if (expired.interface >= m_interface_count)
            return;
        m_interfaces[expired.interface].counters.drop(Drop::reassembly_timeout);
        // RFC 792/1122: tell the sender, if we had its first fragment and it was not a broadcast.
        if (expired.has_first && !expired.header.destination.is_broadcast() &&
            !is_broadcast_on(expired.interface, expired.header.destination))
            send_icmp_error(icmp_type::time_exceeded, icmp_code::reassembly_time_exceeded, expired.header,
                            expired.quote);
    });
    for (unsigned i = 0; i < m_interface_count; ++i)
        m_dhcp[i].tick(m_now_ns);
}

uint64_t IpStack::next_deadline_ns() const
{
    uint64_t next = m_arp.next_deadline_ns();
    const uint64_t reassembly = m_reassembly.next_deadline_ns();
    if (reassembly < next)
        next = reassembly;
    for (unsigned i = 0; i < m_interface_count; ++i) {
        if (m_dhcp[i].active() && m_dhcp[i].next_event_ns() < next)
            next = m_dhcp[i].next_event_ns();
    }
    return next;
}

// ---------------------------------------------------------------------------
// Output

Result<void> IpStack::send_ip(Ipv4Address destination, uint8_t protocol, const uint8_t* payload, size_t length,
                              uint64_t now_ns)
{
    Entry entry(*this, now_ns);
    Payload p;
    p.body = payload;
    p.body_length = length;
    return send_datagram(destination, protocol, p, Ipv4Address::any());
}

Result<void> IpStack::send_transport(const TransportDatagram& datagram, uint64_t now_ns)
{
    Entry entry(*this, now_ns);
    Payload p;
    if (datagram.piece_count == 1) {
        p.body = datagram.pieces[0].bytes; // the common case: one buffer, one run
        p.body_length = datagram.pieces[0].length;
    } else {
        p.pieces = datagram.pieces;
        p.piece_count = datagram.piece_count;
        for (size_t i = 0; i < datagram.piece_count; ++i)
            p.body_length += datagram.pieces[i].length;
    }
    if (!datagram.source.is_any() && local_interface(datagram.source) < 0)
        return Error::invalid_argument;
    if (datagram.checksum_at >= 0) {
        if (datagram.checksum_at % 2 != 0 || static_cast<size_t>(datagram.checksum_at) + 2 > p.length())
            return Error::invalid_argument;
        p.checksum_at = datagram.checksum_at;
        p.pseudo_header = true;
    }
    p.segment_size = datagram.segment_size;
    return send_datagram(datagram.destination, datagram.protocol, p, datagram.source);
}

Result<void> IpStack::ping(Ipv4Address destination, uint16_t identifier, uint16_t sequence, size_t payload_size,
                           uint64_t now_ns)
{
    Entry entry(*this, now_ns);
    if (payload_size > max_ping_payload) {
        m_stack_counters.drop(Drop::too_big);
        return Error::invalid_argument;
    }
    Payload p;
    IcmpHeader{.type = icmp_type::echo_request, .identifier = identifier, .sequence = sequence}.write(p.head);
    p.head_length = icmp_header_size;
    if (payload_size >= 8) {
        store_be64(p.head + icmp_header_size, m_now_ns);
        p.head_length += 8;
    }
    p.pattern = true;
    p.body_length = icmp_header_size + payload_size - p.head_length;
    p.checksum_at = 2;
    return send_datagram(destination, ip_protocol::icmp, p, Ipv4Address::any());
}

Result<Ipv4Address> IpStack::source_for(Ipv4Address destination) const
{
    if (local_interface(destination) >= 0)
        return destination;
    const auto route = m_routes.lookup(destination);
    if (!route.ok() || route.value().interface >= m_interface_count)
        return Error::not_found;
    const Interface& n = m_interfaces[route.value().interface];
    if (!n.configured())
        return Error::not_found;
    return n.address;
}

Result<void> IpStack::send_datagram(Ipv4Address destination, uint8_t protocol, const Payload& payload,
                                    Ipv4Address preferred_source)
{
    if (payload.length() > ipv4_max_payload) {
        m_stack_counters.drop(Drop::too_big);
        return Error::invalid_argument;
    }
    if (destination.is_multicast()) {
        m_stack_counters.drop(Drop::no_route);
        return Error::unsupported;
    }
    if (destination.is_any() || destination.is_loopback() ||
        (destination.is_reserved() && !destination.is_broadcast())) {
        m_stack_counters.drop(Drop::no_route);
        return Error::invalid_argument;
    }
    const int local = local_interface(destination);
    if (local >= 0) {
        const Ipv4Address source = local_interface(preferred_source) >= 0 ? preferred_source : destination;
        return emit(static_cast<unsigned>(local), source, destination, destination, protocol, payload, true);
    }

    const auto route = m_routes.lookup(destination);
    if (!route.ok() || route.value().interface >= m_interface_count) {
        m_stack_counters.drop(Drop::no_route);
        return Error::not_found;
    }
    const unsigned index = route.value().interface;
    Interface& n = m_interfaces[index];
    if (!n.link_up) {
        n.counters.drop(Drop::interface_down);
        return Error::not_found;
    }
    if (!n.configured()) {
        n.counters.drop(Drop::no_route);
        return Error::not_found;
    }
    const Ipv4Address source = local_interface(preferred_source) >= 0 ? preferred_source : n.address;
    Ipv4Address next_hop = route.value().connected() ? destination : route.value().gateway;
    if (destination.is_broadcast() || is_broadcast_on(index, destination))
        next_hop = Ipv4Address::broadcast();
    return emit(index, source, destination, next_hop, protocol, payload, false);
}

// Builds the datagram's fragments one at a time in m_frame and sends each.
Result<void> IpStack::emit(unsigned index, Ipv4Address source, Ipv4Address destination, Ipv4Address next_hop,
                           uint8_t protocol, const Payload& payload, bool loopback)
{
    Interface& n = m_interfaces[index];
    const size_t total = payload.length();
    const size_t room = n.mtu - ipv4_min_header;
    if (!loopback && total > room && protocol == ip_protocol::tcp && payload.segment_size != 0 &&
        n.tcp_segmentation && payload.checksum_at == static_cast<int>(tern::net::tcp_checksum_offset)) {
        switch (emit_segmentation(index, source, destination, next_hop, payload)) {
        case Segmented::sent: return {};
        case Segmented::refused: return Error::busy;
        case Segmented::not_possible: break;
        }
    }
    const size_t chunk_limit = total <= room ? room : room & ~size_t{7};
    // The transport checksum: the NIC's job when the datagram is one frame
    // for the wire and the NIC can (the field holds the pseudo header's sum
    // as its seed); else computed here, over every fragment's bytes at once.
    TxChecksum checksum;
    Payload filled;
    const Payload* p = &payload;
    if (payload.checksum_at >= 0) {
        filled = payload;
        p = &filled;
        const ChecksumSum seed =
            payload.pseudo_header ? pseudo_header_sum(source, destination, protocol, static_cast<uint16_t>(total)) : 0;
        const uint16_t start = ethernet_header_size + ipv4_min_header;
        if (!loopback && total <= room && n.tx_checksum_offload) {
            checksum = {start, static_cast<uint16_t>(start + payload.checksum_at)};
            filled.field = static_cast<uint16_t>(~checksum_finish(seed));
        } else {
            filled.field = 0;
            const uint16_t sum = checksum_finish(filled.sum(seed));
            filled.field = sum == 0 && protocol == ip_protocol::udp ? 0xFFFF : sum; // UDP: 0 means "none"
        }
    }
    Ipv4Header header;
    header.identification = m_next_identification++;
    header.protocol = protocol;
    header.source = source;
    header.destination = destination;
    size_t offset = 0;
    do {
        const size_t chunk = total - offset < chunk_limit ? total - offset : chunk_limit;
        header.total_length = static_cast<uint16_t>(ipv4_min_header + chunk);
        header.fragment_offset = static_cast<uint16_t>(offset);
        header.more_fragments = offset + chunk < total;
        uint8_t* frame = m_frame;
        EthernetHeader{.destination = n.mac, .source = n.mac, .ethertype = ethertype::ipv4}.write(frame);
        header.write(frame + ethernet_header_size);
        p->copy(offset, frame + ethernet_header_size + ipv4_min_header, chunk);
        const size_t length = ethernet_header_size + ipv4_min_header + chunk;
        if (loopback) {
            if (!m_loopback.push(index, destination, frame, length)) {
                n.counters.drop(Drop::loopback_full);
                return Error::busy;
            }
        } else {
            const auto sent = output(index, next_hop, frame, length, checksum);
            if (!sent.ok())
                return sent;
        }
        offset += chunk;
    } while (offset < total);
    return {};
}

// A TCP segment larger than a frame, for the NIC to cut (TSO). not_possible:
// it must go the ordinary way instead (as IP fragments: correct, only
// slower), as the next hop is not resolved yet or the TCP header is unusable.
IpStack::Segmented IpStack::emit_segmentation(unsigned index, Ipv4Address source, Ipv4Address destination,
                                Ipv4Address next_hop, const Payload& payload)
{
    Interface& n = m_interfaces[index];
    const MacAddress* mac = next_hop.is_broadcast() ? nullptr : m_arp.lookup(index, next_hop, m_now_ns);
    uint8_t offset_byte = 0;
    payload.copy(12, &offset_byte, 1);
    const size_t tcp_header = static_cast<size_t>(offset_byte >> 4) * 4;
    const size_t total = payload.length();
    if (mac == nullptr || tcp_header < tern::net::tcp_header_size || tcp_header >= total)
        return Segmented::not_possible;
    // The NIC cuts at the connection's MSS, or smaller if our MTU says so.
    // A tiny one would have it make a frame of every few bytes (a transport
    // server could ask for 64k frames at once): below Linux's floor (88
    // bytes) the segment goes as IP fragments instead.
    constexpr size_t smallest_mss = 88;
    const size_t mtu_mss = n.mtu - ipv4_min_header - tcp_header;
    const size_t mss = payload.segment_size < mtu_mss ? payload.segment_size : mtu_mss;
    if (mss < smallest_mss)
        return Segmented::not_possible;
    // The seed the NIC finishes per frame: addresses and protocol, no length.
    Payload seeded = payload;
    seeded.field = static_cast<uint16_t>(~checksum_finish(pseudo_header_sum(source, destination, ip_protocol::tcp, 0)));
    Ipv4Header header;
    header.identification = m_next_identification;
    header.protocol = ip_protocol::tcp;
    header.source = source;
    header.destination = destination;
    header.total_length = static_cast<uint16_t>(ipv4_min_header + total);
    constexpr size_t headers = ethernet_header_size + ipv4_min_header;
    uint8_t* frame = m_frame;
    EthernetHeader{.destination = *mac, .source = n.mac, .ethertype = ethertype::ipv4}.write(frame);
    header.write(frame + ethernet_header_size);
    store_be16(frame + ethernet_header_size + 10, 0); // the NIC fills in every frame's
    // The sink copies: the headers from m_frame, then the transport's bytes.
    struct Bytes final : FrameBytes {
        const uint8_t* head;
        const Payload& payload;
        Bytes(const uint8_t* h, const Payload& p) : head(h), payload(p) {}
        void copy(size_t offset, uint8_t* out, size_t count) const override
        {
            if (offset < headers) {
                const size_t now = headers - offset < count ? headers - offset : count;
                __builtin_memcpy(out, head + offset, now);
                out += now;
                offset += now;
                count -= now;
            }
            if (count != 0)
                payload.copy(offset - headers, out, count);
        }
    } bytes(frame, seeded);
    const TxSegmentation segmentation{static_cast<uint16_t>(mss), static_cast<uint8_t>(ipv4_min_header),
                                      static_cast<uint8_t>(tcp_header)};
    const size_t length = headers + total;
    if (!n.link_up) {
        n.counters.drop(Drop::interface_down);
        return Segmented::refused;
    }
    if (!m_sink.transmit_segmentation(index, bytes, length, segmentation)) {
        n.counters.drop(Drop::tx_failed);
        return Segmented::refused;
    }
    // The wire sees one frame per segment, each with the headers.
    const size_t data = total - tcp_header;
    const size_t frames = (data + mss - 1) / mss;
    m_next_identification = static_cast<uint16_t>(m_next_identification + frames);
    n.counters.tx_packets += frames;
    n.counters.tx_bytes += length + (frames - 1) * (headers + tcp_header);
    return Segmented::sent;
}

// Sends an IPv4 frame (destination MAC still to fill in) to `next_hop`, or
// queues it until ARP has resolved it.
Result<void> IpStack::output(unsigned index, Ipv4Address next_hop, uint8_t* frame, size_t length, TxChecksum checksum)
{
    Interface& n = m_interfaces[index];
    if (next_hop.is_broadcast()) {
        MacAddress::broadcast().store(frame);
        return transmit(index, frame, length, checksum);
    }
    if (const MacAddress* mac = m_arp.lookup(index, next_hop, m_now_ns)) {
        mac->store(frame);
        return transmit(index, frame, length, checksum);
    }
    // It waits for ARP, finished: waiting frames carry no offload requests.
    if (checksum.requested()) {
        const uint16_t sum = internet_checksum(frame + checksum.start, length - checksum.start);
        const bool udp = frame[ethernet_header_size + 9] == ip_protocol::udp;
        store_be16(frame + checksum.offset, sum == 0 && udp ? 0xFFFF : sum); // UDP: 0 means "none"
    }
    ArpCache::Evicted evicted;
    const ArpCache::Resolve resolve = m_arp.resolve(index, next_hop, m_now_ns, evicted);
    if (evicted.any && evicted.interface < m_interface_count) {
        m_interfaces[evicted.interface].counters.drops[static_cast<size_t>(Drop::arp_unresolved)] +=
            m_pending.drop_for(evicted.interface, evicted.ip);
    }
    const bool queued = m_pending.push(index, next_hop, frame, length);
    if (resolve == ArpCache::Resolve::started)
        send_arp(index, ArpOperation::request, MacAddress{}, next_hop, MacAddress::broadcast());
    if (!queued) {
        n.counters.drop(Drop::arp_queue_full);
        return Error::busy;
    }
    return {};
}

Result<void> IpStack::transmit(unsigned index, const uint8_t* frame, size_t length, TxChecksum checksum)
{
    Interface& n = m_interfaces[index];
    if (!n.link_up) {
        n.counters.drop(Drop::interface_down);
        return Error::not_found;
    }
    uint8_t padded[ethernet_min_frame];
    if (length < ethernet_min_frame) {
        __builtin_memcpy(padded, frame, length);
        __builtin_memset(padded + length, 0, ethernet_min_frame - length);
        frame = padded;
        length = ethernet_min_frame;
    }
    if (!m_sink.transmit(index, frame, length, checksum)) {
        n.counters.drop(Drop::tx_failed);
        return Error::busy;
    }
    ++n.counters.tx_packets;
    n.counters.tx_bytes += length;
    return {};
}

void IpStack::send_arp(unsigned index, ArpOperation operation, const MacAddress& target_mac, Ipv4Address target_ip,
                       const MacAddress& link_destination)
{
    Interface& n = m_interfaces[index];
    uint8_t frame[ethernet_header_size + arp_packet_size];
    EthernetHeader{.destination = link_destination, .source = n.mac, .ethertype = ethertype::arp}.write(frame);
    ArpPacket{.operation = operation,
              .sender_mac = n.mac,
              .sender_ip = n.address,
              .target_mac = target_mac,
              .target_ip = target_ip}
        .write(frame + ethernet_header_size);
    (void)transmit(index, frame, sizeof(frame), {});
}

void IpStack::flush_pending(unsigned index, Ipv4Address next_hop, const MacAddress& mac)
{
    while (PacketQueue::Packet* packet = m_pending.oldest_for(index, next_hop)) {
        mac.store(packet->frame);
        (void)transmit(index, packet->frame, packet->length, {});
        m_pending.release(packet);
    }
}

bool IpStack::take_icmp_token()
{
    const uint64_t earned = (m_now_ns - m_icmp_refill_ns) / icmp_token_ns;
    if (earned > 0) {
        const uint64_t tokens = m_icmp_tokens + earned;
        m_icmp_tokens = tokens > icmp_error_burst ? icmp_error_burst : static_cast<uint32_t>(tokens);
        m_icmp_refill_ns += earned * icmp_token_ns;
    }
    if (m_icmp_tokens == 0)
        return false;
    --m_icmp_tokens;
    return true;
}

// An ICMP error about `original` (its header and first 8 payload bytes
// quoted), back to its source. Never about a datagram from a non-host
// address, never about an ICMP error, and at most icmp_errors_per_second.
void IpStack::send_icmp_error(uint8_t type, uint8_t code, const Ipv4Header& original, const uint8_t* original_datagram)
{
    if (!original.source.is_unicast())
        return;
    if (original.protocol == ip_protocol::icmp) {
        const size_t length = original.payload_length();
        if (length < 1 || icmp_is_error(original_datagram[original.header_length]))
            return;
    }
    if (!take_icmp_token()) {
        m_stack_counters.drop(Drop::icmp_rate_limited);
        return;
    }
    Payload error;
    IcmpHeader{.type = type, .code = code}.write(error.head);
    const size_t quoted_payload =
        original.payload_length() < icmp_quote_bytes ? original.payload_length() : icmp_quote_bytes;
    const size_t quote = original.header_length + quoted_payload;
    __builtin_memcpy(error.head + icmp_header_size, original_datagram, quote);
    error.head_length = icmp_header_size + quote;
    store_be16(error.head + 2, checksum_finish(error.sum(0)));
    (void)send_datagram(original.source, ip_protocol::icmp, error, original.destination);
}

void IpStack::transport_unreachable(uint8_t code, const uint8_t* datagram, uint64_t now_ns)
{
    Entry entry(*this, now_ns);
    Ipv4Header header;
    // Only the header is read here: the payload need not all be there.
    if (Ipv4Header::parse(datagram, tern::net::ipv4_max_datagram, header) != tern::net::Ipv4Check::ok ||
        local_interface(header.destination) < 0 || header.is_fragment())
        return;
    send_icmp_error(icmp_type::destination_unreachable, code, header, datagram);
}

// ---------------------------------------------------------------------------
// DHCP's UDP path

void IpStack::dhcp_send(unsigned index, Ipv4Address destination, const uint8_t* message, size_t length)
{
    if (index >= m_interface_count || length > ipv4_max_payload - udp_header_size)
        return;
    Interface& n = m_interfaces[index];
    const bool broadcast = destination.is_broadcast();
    const Ipv4Address source = broadcast ? Ipv4Address::any() : n.address;
    Payload p;
    const uint16_t udp_length = static_cast<uint16_t>(udp_header_size + length);
    UdpHeader{.source_port = dhcp::client_port, .destination_port = dhcp::server_port, .length = udp_length}.write(
        p.head);
    p.head_length = udp_header_size;
    p.body = message;
    p.body_length = length;
    uint16_t checksum = checksum_finish(p.sum(pseudo_header_sum(source, destination, ip_protocol::udp, udp_length)));
    store_be16(p.head + 6, checksum == 0 ? 0xFFFF : checksum);
    if (broadcast) {
        if (!n.link_up) {
            n.counters.drop(Drop::interface_down);
            return;
        }
        (void)emit(index, source, destination, Ipv4Address::broadcast(), ip_protocol::udp, p, false);
    } else {
        (void)send_datagram(destination, ip_protocol::udp, p, source);
    }
}

// ---------------------------------------------------------------------------
// Helpers

int IpStack::local_interface(Ipv4Address address) const
{
    if (address.is_any())
        return -1;
    for (unsigned i = 0; i < m_interface_count; ++i) {
        if (m_interfaces[i].configured() && m_interfaces[i].address == address)
            return static_cast<int>(i);
    }
    return -1;
}

bool IpStack::is_broadcast_on(unsigned index, Ipv4Address address) const
{
    const Interface& n = m_interfaces[index];
    return n.configured() && n.prefix_length < 31 && address == n.subnet_broadcast();
}

} // namespace ip
