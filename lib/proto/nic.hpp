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
constexpr uint64_t tx_checksum = 1; // honours tx_flags::checksum_offload
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
} // namespace tx_flags

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
