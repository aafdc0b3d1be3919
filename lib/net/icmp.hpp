// ICMP (RFC 792): the 8-byte header every message starts with. For echo
// messages the last four bytes are identifier and sequence; for errors they
// are unused (or, for "fragmentation needed", the next-hop MTU), and the
// original datagram's header and first 8 payload bytes follow.
#pragma once

#include <cstddef>
#include <cstdint>

#include "net/byte_order.hpp"

namespace tern::net {

constexpr size_t icmp_header_size = 8;
// What an error message quotes of the datagram it is about, beyond its header.
constexpr size_t icmp_quote_bytes = 8;

namespace icmp_type {
constexpr uint8_t echo_reply = 0;
constexpr uint8_t destination_unreachable = 3;
constexpr uint8_t echo_request = 8;
constexpr uint8_t time_exceeded = 11;
} // namespace icmp_type

namespace icmp_code {
// destination_unreachable
constexpr uint8_t network_unreachable = 0;
constexpr uint8_t host_unreachable = 1;
constexpr uint8_t protocol_unreachable = 2;
constexpr uint8_t port_unreachable = 3;
constexpr uint8_t fragmentation_needed = 4;
// time_exceeded
constexpr uint8_t ttl_exceeded = 0;
constexpr uint8_t reassembly_time_exceeded = 1;
} // namespace icmp_code

constexpr bool icmp_is_error(uint8_t type)
{
    return type == icmp_type::destination_unreachable || type == 4 /* source quench */ || type == 5 /* redirect */ ||
           type == icmp_type::time_exceeded || type == 12 /* parameter problem */;
}

struct IcmpHeader {
    uint8_t type = 0;
    uint8_t code = 0;
    uint16_t checksum = 0;
    uint16_t identifier = 0; // echo; the first half of "rest of header" otherwise
    uint16_t sequence = 0;   // echo; the second half otherwise

    static bool parse(const uint8_t* p, size_t length, IcmpHeader& out)
    {
        if (length < icmp_header_size)
            return false;
        out.type = p[0];
        out.code = p[1];
        out.checksum = load_be16(p + 2);
        out.identifier = load_be16(p + 4);
        out.sequence = load_be16(p + 6);
        return true;
    }

    // Writes the header with the given checksum field (0 while summing).
    void write(uint8_t* p) const
    {
        p[0] = type;
        p[1] = code;
        store_be16(p + 2, checksum);
        store_be16(p + 4, identifier);
        store_be16(p + 6, sequence);
    }
};

} // namespace tern::net
