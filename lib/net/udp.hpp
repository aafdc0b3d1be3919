// The UDP header (RFC 768) and its checksum over the IPv4 pseudo-header.
#pragma once

#include <cstddef>
#include <cstdint>

#include "net/address.hpp"
#include "net/byte_order.hpp"
#include "net/checksum.hpp"
#include "net/ipv4.hpp"

namespace tern::net {

constexpr size_t udp_header_size = 8;
constexpr size_t udp_checksum_offset = 6;

struct UdpHeader {
    uint16_t source_port = 0;
    uint16_t destination_port = 0;
    uint16_t length = 0; // header and payload
    uint16_t checksum = 0;

    // False if the bytes cannot hold the header or the length field
    // disagrees with them (more than there are, or less than a header).
    static bool parse(const uint8_t* p, size_t length, UdpHeader& out)
    {
        if (length < udp_header_size)
            return false;
        out.source_port = load_be16(p);
        out.destination_port = load_be16(p + 2);
        out.length = load_be16(p + 4);
        out.checksum = load_be16(p + 6);
        return out.length >= udp_header_size && out.length <= length;
    }

    void write(uint8_t* p) const
    {
        store_be16(p, source_port);
        store_be16(p + 2, destination_port);
        store_be16(p + 4, length);
        store_be16(p + 6, checksum);
    }
};

// A received datagram's checksum is right if it is 0 (not computed by the
// sender) or the sum over pseudo-header and datagram comes out 0.
inline bool udp_checksum_valid(Ipv4Address source, Ipv4Address destination, const uint8_t* datagram,
                               uint16_t length)
{
    if (load_be16(datagram + 6) == 0)
        return true;
    const ChecksumSum sum = pseudo_header_sum(source, destination, ip_protocol::udp, length);
    return checksum_finish(checksum_add(sum, datagram, length)) == 0;
}

// The checksum to put in a datagram whose checksum field is still 0
// (0 itself is sent as 0xFFFF, since 0 means "none").
inline uint16_t udp_checksum(Ipv4Address source, Ipv4Address destination, const uint8_t* datagram, uint16_t length)
{
    const ChecksumSum sum = pseudo_header_sum(source, destination, ip_protocol::udp, length);
    const uint16_t checksum = checksum_finish(checksum_add(sum, datagram, length));
    return checksum == 0 ? 0xFFFF : checksum;
}

} // namespace tern::net
