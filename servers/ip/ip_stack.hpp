// The IP server's protocol engine: Ethernet, ARP, IPv4 (validation,
// fragmentation, reassembly), ICMP echo and errors, routing over several
// interfaces, the DHCP client's UDP path, and demultiplexing to the
// transport servers. No system calls: the platform layer (main.cpp) feeds it
// frames and time and implements the small output interfaces below; host
// tests drive the same class against a fake NIC.
//
// Single-threaded and non-reentrant in the usual sense; callbacks
// (FrameSink, Upper, EchoListener) may call back into send_ip()/ping().
// Frames looped back to our own addresses are processed when the outermost
// call returns, never recursively.
//
// Time is a monotonic nanosecond clock passed to every entry point; a value
// older than one seen before counts as the newest seen.
#pragma once

#include <cstddef>
#include <cstdint>

#include "arp_cache.hpp"
#include "base/result.hpp"
#include "counters.hpp"
#include "dhcp_client.hpp"
#include "interface.hpp"
#include "net/arp.hpp"
#include "net/ipv4.hpp"
#include "packet_queue.hpp"
#include "reassembly.hpp"
#include "routing.hpp"

namespace ip {

using tern::Error;
using tern::Result;
using tern::net::Ipv4Header;

// A checksum the NIC is to compute while sending (interfaces whose driver
// offers it; IpStack::set_tx_checksum_offload): the ones'-complement sum of
// the frame's bytes from `start` to its end, complemented and stored at
// `offset`, over the seed the field holds. offset 0: nothing to do.
struct TxChecksum {
    uint16_t start = 0;
    uint16_t offset = 0;
    bool requested() const { return offset != 0; }
};

// A frame's bytes for a sink to copy out itself, `n` from `offset` on.
class FrameBytes {
public:
    virtual void copy(size_t offset, uint8_t* out, size_t n) const = 0;

protected:
    ~FrameBytes() = default;
};

// A TCP segment for the NIC to cut into frames of at most `mss` data bytes
// each (proto/nic.hpp tx_flags::segmentation): the frame holds the Ethernet,
// IPv4 (checksum field 0) and TCP headers once (the TCP checksum field
// seeded with the pseudo-header sum of addresses and protocol only).
struct TxSegmentation {
    uint16_t mss = 0;
    uint8_t ip_header_length = 0;
    uint8_t tcp_header_length = 0;
};

// The NIC driver's transmit queue. `frame` is a whole Ethernet frame without
// FCS (at least 60 bytes: the stack pads) and is only valid during the call;
// `checksum` says what the NIC must fill in. False if the frame could not be
// queued (counted as tx_failed).
class FrameSink {
public:
    virtual bool transmit(unsigned interface, const uint8_t* frame, size_t length, const TxChecksum& checksum) = 0;
    // Only for interfaces with set_tcp_segmentation(): a frame of `length`
    // bytes (up to 14 + 65,535) for the NIC to segment.
    virtual bool transmit_segmentation(unsigned interface, const FrameBytes& frame, size_t length,
                                       const TxSegmentation& segmentation) = 0;

protected:
    ~FrameSink() = default;
};

// What became of a datagram offered to the transport servers.
enum class Delivery : uint8_t {
    taken,     // a server has it
    no_server, // nobody takes that protocol: ICMP protocol unreachable
    busy,      // its server has no room right now: dropped (transport_busy)
};

// The transport servers (tcp, udp) behind their channels. `payload` is the
// datagram's payload (reassembled if it came in fragments), valid during the
// call; `to_broadcast`: it was sent to a broadcast address. ICMP messages
// other than echo are offered here too (anything but `taken` just drops
// them).
class Upper {
public:
    virtual Delivery deliver(unsigned interface, const Ipv4Header& header, bool to_broadcast, const uint8_t* payload,
                             size_t length) = 0;

protected:
    ~Upper() = default;
};

// A run of bytes of a datagram's payload.
struct Piece {
    const uint8_t* bytes = nullptr;
    size_t length = 0;
};

// A datagram a transport server sends (proto/ip.hpp ip_transport send): its
// payload is the pieces in order (the buffers of a chain), read in place.
struct TransportDatagram {
    Ipv4Address destination;
    Ipv4Address source; // any(): the address of the interface the route picks
    uint8_t protocol = 0;
    const Piece* pieces = nullptr;
    size_t piece_count = 0;
    // >= 0: the stack fills in the transport checksum (pseudo header
    // included) at this even payload offset, whatever the field holds.
    int checksum_at = -1;
    // TCP: the connection's maximum segment size, for a segment larger than
    // one frame to be cut by the NIC (0: it may not be).
    uint16_t segment_size = 0;
};

struct EchoReply {
    unsigned interface = 0;
    Ipv4Address source;
    uint16_t identifier = 0;
    uint16_t sequence = 0;
    size_t payload_length = 0; // ICMP data bytes, like ping's "bytes"
    uint8_t ttl = 0;
    bool has_rtt = false; // the payload carried a send time (ping() puts one in 8+ byte payloads)
    uint64_t rtt_ns = 0;
};

// Echo replies, for the shell's ping. Matching them to requests (identifier,
// sequence) is the listener's business.
class EchoListener {
public:
    virtual void echo_reply(const EchoReply& reply) = 0;

protected:
    ~EchoListener() = default;
};

class IpStack : private DhcpHost {
public:
    static constexpr size_t pending_capacity = 32;  // frames waiting for ARP, all interfaces
    static constexpr size_t loopback_capacity = 16; // frames to our own addresses
    static constexpr uint32_t icmp_errors_per_second = 1000;
    static constexpr uint32_t icmp_error_burst = 50;
    static constexpr size_t max_ping_payload = tern::net::ipv4_max_payload - tern::net::icmp_header_size;

    explicit IpStack(FrameSink& sink);
    IpStack(const IpStack&) = delete;
    IpStack& operator=(const IpStack&) = delete;

    void set_upper(Upper* upper) { m_upper = upper; }
    void set_echo_listener(EchoListener* listener) { m_echo_listener = listener; }

    // --- Interfaces and configuration ---
    // A new interface, link up, unconfigured; its index (0, 1, ...) or
    // out_of_memory beyond max_interfaces; invalid_argument for a multicast
    // or zero MAC or an MTU outside 576..1500.
    Result<unsigned> add_interface(const MacAddress& mac, uint16_t mtu = tern::net::ethernet_max_payload);
    unsigned interface_count() const { return m_interface_count; }
    // nullptr for an index that is not an interface.
    const Interface* interface(unsigned index) const;
    // Link down: frames are dropped both ways and waiting packets are discarded.
    void set_link(unsigned index, bool up);
    // Whether the interface's NIC computes transport checksums (TxChecksum)
    // for the stack; off for a new interface.
    void set_tx_checksum_offload(unsigned index, bool on);
    // Whether the NIC cuts large TCP segments into frames (TSO) for the
    // stack (FrameSink::transmit_segmentation); off for a new interface.
    // Transports hear of it (generation()).
    void set_tcp_segmentation(unsigned index, bool on);
    // Gives the interface an address and its connected route (replacing what
    // it had). invalid_argument for a non-unicast address or a prefix outside 1..32.
    Result<void> configure(unsigned index, Ipv4Address address, uint8_t prefix_length);
    // Removes the address, the interface's routes, its ARP entries and waiting packets.
    void deconfigure(unsigned index);
    // The default route via `gateway` on interface `index`.
    Result<void> set_default_gateway(Ipv4Address gateway, unsigned index);
    RoutingTable& routes() { return m_routes; } // changes made here are not counted in generation()
    const RoutingTable& routes() const { return m_routes; }
    const ArpCache& arp_cache() const { return m_arp; }
    void set_dns_server(Ipv4Address server) { m_dns = server; }
    Ipv4Address dns_server() const { return m_dns; } // any(): none known

    // Counts changes of what transport servers are told about the
    // interfaces (proto/ip.hpp ip_transport address): an interface added
    // (the MTU is fixed then), its address (static or from DHCP) or link,
    // or the default route. Compare it with the value last announced; it
    // never goes back.
    uint64_t generation() const { return m_generation; }
    // The interface the default route leaves through, or -1.
    int default_route_interface() const;

    // Starts the DHCP client on an interface (sends the first DISCOVER).
    Result<void> start_dhcp(unsigned index, uint32_t seed, uint64_t now_ns);
    const DhcpClient* dhcp(unsigned index) const;

    // --- Input and time ---
    // A frame the NIC received on interface `index`. Everything is checked;
    // a frame the stack does not take is counted under exactly one drop reason.
    void on_frame(unsigned index, const uint8_t* frame, size_t length, uint64_t now_ns);
    // Timers: ARP retries and expiry, reassembly timeouts, DHCP. Call it at
    // next_deadline_ns() (or periodically, every 100 ms or so: nothing needs
    // finer than a second).
    void tick(uint64_t now_ns);
    // When tick() next has work (UINT64_MAX: nothing scheduled). Anything
    // that goes in (on_frame, send_ip, ping, start_dhcp) may move it earlier.
    uint64_t next_deadline_ns() const;

    // --- Output ---
    // Sends `payload` as one IPv4 datagram (fragmented to the interface MTU
    // when larger) from the address of the interface the route picks.
    // Packets to a next hop not yet resolved wait for ARP (ok is returned).
    // Errors: not_found (no route, interface down or unconfigured),
    // invalid_argument (too long, or a destination no host can have),
    // unsupported (multicast), busy (no room to wait for ARP, or the NIC
    // refused the frame). Each failure is counted too.
    Result<void> send_ip(Ipv4Address destination, uint8_t protocol, const uint8_t* payload, size_t length,
                         uint64_t now_ns);
    // A transport server's datagram, as send_ip() sends it, and also:
    // invalid_argument for a source that is not one of our addresses or a
    // checksum offset that is odd or leaves no room for the field.
    Result<void> send_transport(const TransportDatagram& datagram, uint64_t now_ns);
    // A transport found nobody for a datagram it was given: ICMP destination
    // unreachable with `code`, quoting `datagram` (its IPv4 header, as ip
    // kept it in front of the payload, then at least the payload's first 8
    // bytes or all of it). Only for datagrams that came to one of our
    // addresses; rate-limited like every ICMP error.
    void transport_unreachable(uint8_t code, const uint8_t* datagram, uint64_t now_ns);
    // The address send_ip would send from (transports need it for their
    // pseudo-header checksums), or not_found.
    Result<Ipv4Address> source_for(Ipv4Address destination) const;
    // Sends an ICMP echo request with `payload_size` data bytes; with 8 or
    // more, the first 8 carry now_ns so the reply yields a round-trip time.
    Result<void> ping(Ipv4Address destination, uint16_t identifier, uint16_t sequence, size_t payload_size,
                      uint64_t now_ns);

    // --- Statistics ---
    // Per interface (nullptr if there is no such interface), and for what
    // belongs to none (no route for a send, ICMP rate limiting, frames for a
    // non-existent interface).
    const Counters* counters(unsigned index) const;
    const Counters& stack_counters() const { return m_stack_counters; }
    // Frames the NIC of `index` dropped before the stack saw them (its driver
    // reports the device's counters): `count` more under `reason`, which
    // must be one of the nic_* reasons (others are ignored).
    void count_device_drops(unsigned index, Drop reason, uint64_t count);

private:
    struct Payload;
    class Entry;

    // DhcpHost
    void dhcp_send(unsigned interface, Ipv4Address destination, const uint8_t* message, size_t length) override;
    void dhcp_bound(unsigned interface, const DhcpLease& lease) override;
    void dhcp_lost(unsigned interface) override;

    // Input
    // `looped`: the frame comes from our own loopback, not from the wire.
    void receive_frame(unsigned index, const uint8_t* frame, size_t length, bool looped);
    void receive_arp(unsigned index, const uint8_t* packet, size_t length);
    void receive_ipv4(unsigned index, const uint8_t* bytes, size_t length, bool link_broadcast, bool looped);
    void deliver(unsigned index, const Ipv4Header& header, const uint8_t* datagram, bool to_broadcast);
    void receive_icmp(unsigned index, const Ipv4Header& header, const uint8_t* datagram, bool to_broadcast);
    void receive_dhcp(unsigned index, const Ipv4Header& header, const uint8_t* datagram);
    void drain_loopback();

    // Output
    Result<void> send_datagram(Ipv4Address destination, uint8_t protocol, const Payload& payload,
                               Ipv4Address preferred_source);
    Result<void> emit(unsigned index, Ipv4Address source, Ipv4Address destination, Ipv4Address next_hop,
                      uint8_t protocol, const Payload& payload, bool loopback);
    enum class Segmented : uint8_t { sent, refused, not_possible };
    Segmented emit_segmentation(unsigned index, Ipv4Address source, Ipv4Address destination, Ipv4Address next_hop,
                           const Payload& payload);
    Result<void> output(unsigned index, Ipv4Address next_hop, uint8_t* frame, size_t length, TxChecksum checksum);
    Result<void> transmit(unsigned index, const uint8_t* frame, size_t length, TxChecksum checksum);
    void send_arp(unsigned index, tern::net::ArpOperation operation, const MacAddress& target_mac,
                  Ipv4Address target_ip, const MacAddress& link_destination);
    void flush_pending(unsigned index, Ipv4Address next_hop, const MacAddress& mac);
    void send_icmp_error(uint8_t type, uint8_t code, const Ipv4Header& original, const uint8_t* original_datagram);
    bool take_icmp_token();
    void changed() { ++m_generation; }

    // Helpers
    int local_interface(Ipv4Address address) const; // the interface owning the address, or -1
    bool is_broadcast_on(unsigned index, Ipv4Address address) const;
    Interface* nic(unsigned index) { return index < m_interface_count ? &m_interfaces[index] : nullptr; }

    FrameSink& m_sink;
    Upper* m_upper = nullptr;
    EchoListener* m_echo_listener = nullptr;
    Interface m_interfaces[max_interfaces];
    DhcpClient m_dhcp[max_interfaces];
    unsigned m_interface_count = 0;
    RoutingTable m_routes;
    ArpCache m_arp;
    PacketQueue::Packet m_pending_storage[pending_capacity];
    PacketQueue m_pending{m_pending_storage, pending_capacity};
    PacketQueue::Packet m_loopback_storage[loopback_capacity];
    PacketQueue m_loopback{m_loopback_storage, loopback_capacity};
    Reassembler m_reassembly;
    Counters m_stack_counters;
    Ipv4Address m_dns;
    uint16_t m_next_identification = 1;
    uint64_t m_now_ns = 0;
    uint64_t m_generation = 1;
    unsigned m_depth = 0;
    uint32_t m_icmp_tokens = icmp_error_burst;
    uint64_t m_icmp_refill_ns = 0;
    uint8_t m_frame[tern::net::ethernet_max_frame]; // the frame being built for output
};

} // namespace ip
