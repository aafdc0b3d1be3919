// The TCP header (RFC 793, options RFC 7323 / 2018 / 879) and the checks a
// received segment must pass before the tcp server hands it to lwIP: the
// header fits, the data offset is sane and the options are well-formed
// (the server sums the checksum over the segment's buffers itself).
#pragma once

#include <cstddef>
#include <cstdint>

#include "net/byte_order.hpp"

namespace tern::net {

constexpr size_t tcp_header_size = 20; // without options
constexpr size_t tcp_max_header_size = 60;
constexpr size_t tcp_checksum_offset = 16;

namespace tcp_flag {
constexpr uint8_t fin = 0x01;
constexpr uint8_t syn = 0x02;
constexpr uint8_t rst = 0x04;
constexpr uint8_t psh = 0x08;
constexpr uint8_t ack = 0x10;
constexpr uint8_t urg = 0x20;
} // namespace tcp_flag

namespace tcp_option {
constexpr uint8_t end = 0;
constexpr uint8_t nop = 1;
constexpr uint8_t mss = 2;             // length 4
constexpr uint8_t window_scale = 3;    // length 3
constexpr uint8_t sack_permitted = 4;  // length 2
constexpr uint8_t sack = 5;            // length 2 + 8n, n = 1..4
constexpr uint8_t timestamps = 8;      // length 10
} // namespace tcp_option

struct TcpHeader {
    uint16_t source_port = 0;
    uint16_t destination_port = 0;
    uint32_t sequence = 0;
    uint32_t acknowledgment = 0;
    uint8_t header_length = 0; // bytes, options included
    uint8_t flags = 0;
    uint16_t window = 0;

    // False unless the bytes hold the fixed header and the data offset
    // names 20..60 bytes that are all there.
    static bool parse(const uint8_t* p, size_t length, TcpHeader& out)
    {
        if (length < tcp_header_size)
            return false;
        out.source_port = load_be16(p);
        out.destination_port = load_be16(p + 2);
        out.sequence = load_be32(p + 4);
        out.acknowledgment = load_be32(p + 8);
        out.header_length = static_cast<uint8_t>((p[12] >> 4) * 4);
        out.flags = p[13];
        out.window = load_be16(p + 14);
        return out.header_length >= tcp_header_size && out.header_length <= length;
    }
};

// Whether the options area (the bytes between the fixed header and the
// data) is well-formed: every option but END and NOP has a length byte that
// fits and is right for its kind (unknown kinds: at least 2).
inline bool tcp_options_valid(const uint8_t* options, size_t length)
{
    size_t i = 0;
    while (i < length) {
        const uint8_t kind = options[i];
        if (kind == tcp_option::end)
            return true;
        if (kind == tcp_option::nop) {
            ++i;
            continue;
        }
        if (i + 1 >= length)
            return false;
        const uint8_t size = options[i + 1];
        if (size < 2 || i + size > length)
            return false;
        switch (kind) {
        case tcp_option::mss:
            if (size != 4)
                return false;
            break;
        case tcp_option::window_scale:
            if (size != 3)
                return false;
            break;
        case tcp_option::sack_permitted:
            if (size != 2)
                return false;
            break;
        case tcp_option::sack:
            if (size < 10 || (size - 2) % 8 != 0)
                return false;
            break;
        case tcp_option::timestamps:
            if (size != 10)
                return false;
            break;
        default:
            break;
        }
        i += size;
    }
    return true;
}

} // namespace tern::net
