// The channel between a NIC driver (e1000, …) and ip: frames travel as
// references into packet-buffer pools (lib/channel), never copied.
//
// The driver is the client: once its device is up it connects to the
// service "ip" (runtime/channel.hpp) offering its receive pool, with the
// channel argument = its PCI address (so a restarted driver is recognised as
// the same interface); ip offers its transmit pool in the reply. Each side
// gives back, on its own ring, every buffer the other lent it. Apart from
// the few link and device_drops messages, every message lends or returns a
// buffer, so a channel with as many slots per direction as the two pools
// have buffers together never fills; the driver makes it that big, and
// both sides still treat a full ring as "not now", never as a loss.
#pragma once

#include <cstdint>

#include "net/address.hpp"

namespace tern::nic {

enum Type : uint32_t {
    // driver -> ip: the device's state, first thing after connecting and on
    // every change. words[0] = MAC address (byte i in bits 8i..8i+7),
    // words[1] = 1 link up / 0 down, words[2] = speed in Mb/s, words[3] = MTU,
    // words[4] = capabilities (bits below).
    link = 1,
    // driver -> ip: a received frame in the driver's pool (lent to ip);
    // flags = rx_flags.
    rx = 2,
    // ip -> driver: a receive buffer given back.
    rx_return = 3,
    // ip -> driver: a frame to send, in ip's pool (lent to the driver);
    // flags = tx_flags, words[0] = checksum offload: start | offset << 8
    // (bytes from the frame's start): the device sums the frame from `start`
    // to its end and stores the complement at `offset`, over whatever the
    // field held (ip seeds it with the pseudo-header sum for TCP and UDP).
    //
    // A frame in several buffers is a chain: consecutive tx messages, all
    // but the last flagged tx_flags::more, published together; the first
    // one's flags and words describe the frame. Each buffer comes back with
    // its own tx_done. Only segmentation frames (below) may be chains.
    //
    // Segmentation (TSO, capability::tcp_segmentation): with
    // tx_flags::segmentation the frame is one Ethernet + IPv4 + TCP header
    // followed by up to 65,535 - 40 bytes of TCP data, which the device cuts
    // into frames of at most `mss` data bytes, fixing up each one's IPv4
    // length, identification and checksum and TCP sequence number, flags
    // (FIN and PSH only on the last) and checksum. words[0] = IPv4 header
    // start (14) | IPv4 header length << 8 | TCP header length << 16 |
    // mss << 32. ip zeroes the IPv4 checksum field and seeds the TCP one
    // with the pseudo-header sum of the addresses and protocol only (no
    // length), not complemented.
    tx = 4,
    // driver -> ip: a transmit buffer given back; words[0] = 0 sent,
    // else a drop reason (the device refused it).
    tx_done = 5,
    // driver -> ip: frames the device dropped before ip could see them, as
    // totals since this driver instance started (ip turns them into
    // increments; a restarted driver starts again from 0). Sent when they
    // change; the driver checks about once a second and after busy periods.
    // words[counter] for each index in `device_drop` below.
    device_drops = 6,
};

// Capabilities in the link message's words[4].
namespace capability {
constexpr uint64_t tx_checksum = 1;      // honours tx_flags::checksum_offload
constexpr uint64_t tcp_segmentation = 2; // honours tx_flags::segmentation (and chains)
} // namespace capability

// The device_drops message's words.
namespace device_drop {
constexpr unsigned missed = 0;    // no receive buffer or FIFO room (the driver fell behind)
constexpr unsigned oversize = 1;  // longer than the largest Ethernet frame
constexpr unsigned undersize = 2; // runts, fragments, jabber
constexpr unsigned errors = 3;    // CRC, alignment, symbol, length or descriptor errors
constexpr unsigned count = 4;
} // namespace device_drop

namespace rx_flags {
constexpr uint32_t ip_checksum_ok = 1;  // the device checked the IPv4 header checksum
constexpr uint32_t l4_checksum_ok = 2;  // … and the TCP/UDP checksum
constexpr uint32_t checksum_bad = 4;    // a checksum the device checked was wrong
} // namespace rx_flags

namespace tx_flags {
constexpr uint32_t checksum_offload = 1; // insert the checksum words[0] describes
constexpr uint32_t more = 2;             // the frame goes on in the next message's buffer
constexpr uint32_t segmentation = 4;     // cut a large TCP segment into frames (words[0] below)
} // namespace tx_flags

// tx words[0] for tx_flags::segmentation.
constexpr uint64_t segmentation_word(unsigned ip_start, unsigned ip_header, unsigned tcp_header, unsigned mss)
{
    return uint64_t{ip_start} | uint64_t{ip_header} << 8 | uint64_t{tcp_header} << 16 | uint64_t{mss} << 32;
}
// The largest segmentation frame: the headers and up to 64 KiB of IPv4 datagram.
constexpr uint32_t max_segmentation_frame = 14 + 65535;

// A MAC address in one message word: byte i in bits 8i..8i+7.
inline uint64_t mac_word(const net::MacAddress& mac)
{
    uint64_t word = 0;
    for (int i = 0; i < 6; ++i)
        word |= uint64_t{mac.bytes[i]} << (8 * i);
    return word;
}

inline net::MacAddress mac_address(uint64_t word)
{
    net::MacAddress mac{};
    for (int i = 0; i < 6; ++i)
        mac.bytes[i] = static_cast<uint8_t>(word >> (8 * i));
    return mac;
}

} // namespace tern::nic
