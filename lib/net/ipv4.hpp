// The IPv4 header (RFC 791), parsed into host-order fields with every field
// checked, and written back (without options) with its checksum.
#pragma once

#include <cstddef>
#include <cstdint>

#include "net/address.hpp"
#include "net/byte_order.hpp"
#include "net/checksum.hpp"

namespace tern::net {

namespace ip_protocol {
constexpr uint8_t icmp = 1;
constexpr uint8_t tcp = 6;
constexpr uint8_t udp = 17;
} // namespace ip_protocol

constexpr size_t ipv4_min_header = 20;
constexpr size_t ipv4_max_header = 60;
constexpr size_t ipv4_max_datagram = 65535;
// The most payload any datagram can carry (behind a minimal header); also the
// highest byte a fragment may reach.
constexpr size_t ipv4_max_payload = ipv4_max_datagram - ipv4_min_header;
constexpr uint8_t ipv4_default_ttl = 64;

enum class Ipv4Check {
    ok,
    truncated,         // fewer than 20 bytes
    bad_version,       // version is not 4
    bad_header_length, // IHL below 5, or longer than the bytes there are
    bad_total_length,  // total length below the header length or beyond the bytes there are
    bad_checksum,
    bad_flags,         // the reserved flag bit is set
    bad_options,       // an option runs past the header or has a length below 2
    bad_fragment,      // a fragment that cannot be part of a valid datagram
};

struct Ipv4Header {
    uint8_t header_length = ipv4_min_header; // bytes: IHL * 4
    uint8_t tos = 0;
    uint16_t total_length = 0; // header and payload
    uint16_t identification = 0;
    bool dont_fragment = false;
    bool more_fragments = false;
    uint16_t fragment_offset = 0; // bytes, a multiple of 8
    uint8_t ttl = ipv4_default_ttl;
    uint8_t protocol = 0;
    uint16_t checksum = 0; // as received; write() computes its own
    Ipv4Address source;
    Ipv4Address destination;

    uint16_t payload_length() const { return static_cast<uint16_t>(total_length - header_length); }
    bool is_fragment() const { return more_fragments || fragment_offset != 0; }

    // Checks `length` bytes holding a datagram (and possibly link padding
    // after it): on ok, `out` holds the header; the datagram is the first
    // out.total_length bytes.
    static Ipv4Check parse(const uint8_t* p, size_t length, Ipv4Header& out)
    {
        if (length < ipv4_min_header)
            return Ipv4Check::truncated;
        if (p[0] >> 4 != 4)
            return Ipv4Check::bad_version;
        const size_t header_length = size_t{p[0] & 0xFu} * 4;
        if (header_length < ipv4_min_header || header_length > length)
            return Ipv4Check::bad_header_length;
        const uint16_t total_length = load_be16(p + 2);
        if (total_length < header_length || total_length > length)
            return Ipv4Check::bad_total_length;
        if (internet_checksum(p, header_length) != 0)
            return Ipv4Check::bad_checksum;
        const uint16_t flags_offset = load_be16(p + 6);
        if (flags_offset & 0x8000)
            return Ipv4Check::bad_flags;
        if (!options_valid(p + ipv4_min_header, header_length - ipv4_min_header))
            return Ipv4Check::bad_options;

        out.header_length = static_cast<uint8_t>(header_length);
        out.tos = p[1];
        out.total_length = total_length;
        out.identification = load_be16(p + 4);
        out.dont_fragment = (flags_offset & 0x4000) != 0;
        out.more_fragments = (flags_offset & 0x2000) != 0;
        out.fragment_offset = static_cast<uint16_t>((flags_offset & 0x1FFF) * 8);
        out.ttl = p[8];
        out.protocol = p[9];
        out.checksum = load_be16(p + 10);
        out.source = Ipv4Address::load(p + 12);
        out.destination = Ipv4Address::load(p + 16);

        if (out.is_fragment()) {
            const size_t payload = out.payload_length();
            // Every fragment but the last carries a non-empty multiple of 8
            // bytes, and no fragment reaches past the largest datagram.
            if (payload == 0 || (out.more_fragments && payload % 8 != 0) ||
                size_t{out.fragment_offset} + payload > ipv4_max_payload)
                return Ipv4Check::bad_fragment;
        }
        return Ipv4Check::ok;
    }

    // Options are type-length-value, except End (0) and No-op (1).
    static bool options_valid(const uint8_t* options, size_t length)
    {
        size_t i = 0;
        while (i < length) {
            const uint8_t type = options[i];
            if (type == 0)
                return true;
            if (type == 1) {
                ++i;
                continue;
            }
            if (i + 1 >= length)
                return false;
            const uint8_t option_length = options[i + 1];
            if (option_length < 2 || i + option_length > length)
                return false;
            i += option_length;
        }
        return true;
    }

    // Writes a 20-byte header (header_length is taken to be 20) with its checksum.
    void write(uint8_t* p) const
    {
        p[0] = 0x45;
        p[1] = tos;
        store_be16(p + 2, total_length);
        store_be16(p + 4, identification);
        store_be16(p + 6,
                   static_cast<uint16_t>((dont_fragment ? 0x4000 : 0) | (more_fragments ? 0x2000 : 0) |
                                         (fragment_offset / 8 & 0x1FFF)));
        p[8] = ttl;
        p[9] = protocol;
        store_be16(p + 10, 0);
        source.store(p + 12);
        destination.store(p + 16);
        store_be16(p + 10, internet_checksum(p, ipv4_min_header));
    }
};

} // namespace tern::net
