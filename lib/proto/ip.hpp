// The control protocol of the ip server, for the shell (ifconfig, ping):
// ipc_call to the service "ip"; the reply has the same type with words[0] =
// result (>= 0, or -tern::sys::Error). Frames never travel here: drivers
// talk to ip through channels (proto/nic.hpp).
#pragma once

#include <cstdint>

namespace tern::ip_proto {

enum Op : uint32_t {
    // words[0] = interface index. Reply: words[1] = MAC (proto/nic.hpp
    // mac_word), words[2] = IPv4 address | prefix length << 32 | link up << 40
    // | DHCP state << 48, words[3] = received packets, words[4] = sent
    // packets, words[5] = dropped packets. not_found past the last interface.
    interface_info = 0x4950'0001,
    // words[0] = destination IPv4 address, words[1] = sequence, words[2] =
    // data bytes, words[3] = timeout in ms. The reply comes when the echo
    // reply arrives (words[1] = round trip in ns, words[2] = TTL, words[3] =
    // data bytes) or the timeout passes (result -would_block); other errors:
    // not_found (no route), invalid_argument, busy (another ping waits).
    ping = 0x4950'0002,
    // words[0] = interface index. Reply: words[1] = received packets,
    // words[2] = received bytes, words[3] = sent packets, words[4] = sent
    // bytes, words[5] = drops that were errors (the rest were policy).
    interface_traffic = 0x4950'0003,
    // words[0] = interface index, words[1] = drop reason number (0, 1, …).
    // Reply: words[1] = how many, words[2..4] = the reason's name (up to 24
    // characters, NUL-padded), words[5] = 1 if it counts as an error.
    // not_found past the last reason or interface.
    interface_drop = 0x4950'0004,
    // words[0] = entry number. Reply: words[1] = IPv4 address, words[2] = MAC
    // (proto/nic.hpp mac_word), words[3] = interface | resolved << 8,
    // words[4] = age in ms. not_found past the last; free entries answer
    // with words[3] = 0xFFFF.
    arp_entry = 0x4950'0005,
    // words[0] = entry number. Reply: words[1] = destination | prefix length
    // << 32, words[2] = gateway (0: directly connected), words[3] =
    // interface, words[4] = metric. not_found past the last.
    route_entry = 0x4950'0006,
};

// words[2..4] of an interface_drop reply as text.
struct DropName {
    char text[25];
};
inline DropName drop_name(const uint64_t (&words)[6])
{
    DropName name{};
    const auto* bytes = reinterpret_cast<const char*>(&words[2]);
    for (int i = 0; i < 24; ++i)
        name.text[i] = bytes[i];
    name.text[24] = '\0';
    return name;
}

} // namespace tern::ip_proto

// The transport channel: how the servers above ip (udp, tcp) get their
// protocol's datagrams and send their own. A transport server connects to
// the service "ip" (runtime/channel.hpp) offering its send pool, with the
// channel argument transport_argument(protocol); ip offers its pool in the
// reply. One server per protocol: a second connection for a protocol that
// has a live one is refused (busy). Without a server, ip answers the
// protocol's datagrams with ICMP protocol unreachable.
namespace tern::ip_transport {

constexpr uint64_t argument_tag = 0x5452'0000'0000'0000; // "TR": not a PCI address
constexpr uint64_t transport_argument(uint8_t protocol) { return argument_tag | protocol; }
constexpr bool is_transport_argument(uint64_t argument) { return (argument & ~uint64_t{0xFF}) == argument_tag; }

// A datagram larger than one pool buffer travels as a chain: consecutive
// messages of the same type, each with one buffer, all but the last flagged
// `more`; the words of the first message describe the whole datagram.
// Every buffer of a chain is given back on its own (deliver_done,
// send_done).
namespace flags {
constexpr uint32_t more = 1u << 0; // deliver, send: the datagram goes on in the next message's buffer
// send: ip fills in the transport checksum (pseudo-header included) at
// byte offset words[1] of the payload (UDP 6, TCP 16), or has the NIC do it;
// the field's contents are ignored. Without the flag the transport's own
// checksum goes out as it is.
constexpr uint32_t fill_checksum = 1u << 1;
} // namespace flags

enum Type : uint32_t {
    // ip -> transport: a datagram's payload (reassembled), lent in ip's pool.
    // words[0] = source IPv4 | destination IPv4 << 32, words[1] = interface
    // | TTL << 8 | the deliver_* bits below, words[2] = the payload's total
    // length (the sum over a chain's buffers). The first buffer keeps the
    // datagram's IPv4 header (20 bytes, options left out) in front of the
    // payload: its offset is 20.
    //
    // Receive offload: a TCP delivery may be several segments of one
    // connection that arrived back to back, in order, with only ACK (and
    // PSH) set and equal acknowledgment, window and options. ip merges them
    // into one: the first segment's header (PSH if any had it), then every
    // segment's data; deliver_segments says how many there were. Each was
    // checksummed on its own, so the merged header's checksum is stale and
    // deliver_checksum_verified is set.
    deliver = 1,
    // transport -> ip: a delivered buffer given back. words[0] = 0, or, for
    // the first buffer of a datagram nobody takes, the ICMP "destination
    // unreachable" code ip answers it with (net/icmp.hpp, e.g.
    // port_unreachable; rate-limited like ip's own errors).
    deliver_done = 2,
    // transport -> ip: a payload to send as one datagram of the channel's
    // protocol, lent in the transport's pool. words[0] = destination IPv4 |
    // source IPv4 << 32: source 0 means the address of the interface the
    // route picks; otherwise it must be one of ip's addresses
    // (invalid_argument if not). words[1]: see flags::fill_checksum.
    // words[2], TCP only: the connection's maximum segment size, when the
    // segment may be larger than a frame (interfaces announced with
    // address_segmentation): the NIC cuts it into frames of that size
    // (fill_checksum at 16 required). 0: it is sent as it is (or fragmented).
    send = 3,
    // ip -> transport: a sent buffer given back; words[0] = 0 when ip took
    // it, else -tern::sys::Error (not_found: no route; invalid_argument: bad
    // destination, source or length, or a broken chain; busy: no room to
    // wait for ARP).
    send_done = 4,
    // ip -> transport: an interface's configuration, for every interface
    // right after the transport connects and again whenever it changes
    // (address from DHCP or lost, link up or down). words[0] = interface
    // index, words[1] = IPv4 address | prefix length << 32 (0: no address),
    // words[2] = MTU, words[3] = link up (bit 0) | the default route leaves
    // through this interface (bit 1) | TCP segments up to 64 KiB may be sent
    // through it, with send words[2] (bit 2).
    address = 5,
};

// deliver words[1]:
constexpr uint64_t deliver_broadcast = uint64_t{1} << 16;         // sent to a broadcast address
constexpr uint64_t deliver_checksum_verified = uint64_t{1} << 17; // ip found the TCP/UDP checksum right
constexpr unsigned deliver_segments_shift = 24;                    // TCP: segments merged (0 or 1: one)
constexpr unsigned deliver_segments(uint64_t word1) { return static_cast<unsigned>(word1 >> deliver_segments_shift & 0xFF); }

constexpr uint64_t address_link_up = 1;
constexpr uint64_t address_default_route = 2;
constexpr uint64_t address_segmentation = 4;

} // namespace tern::ip_transport
