// The Internet checksum (RFC 1071): the ones' complement of the ones'
// complement sum of 16-bit big-endian words. A sum is built in pieces with
// checksum_add (every piece but the last must have an even length) and
// closed with checksum_finish. Over data that includes a correct checksum
// field the finished value is 0.
#pragma once

#include <cstddef>
#include <cstdint>

#include "net/address.hpp"

namespace tern::net {

// 64 bits of room: no carry is lost before checksum_finish folds them.
using ChecksumSum = uint64_t;

// The sum of the bytes as big-endian 16-bit words, added to `sum`. Eight
// bytes at a time: the ones' complement sum does not care about byte order
// (RFC 1071), so the words are summed as the CPU loads them (little-endian)
// and the folded result is swapped back once.
inline ChecksumSum checksum_add(ChecksumSum sum, const uint8_t* data, size_t length)
{
    uint64_t native = 0; // 32-bit halves: 2^32 of them fit before an overflow
    size_t i = 0;
    for (; i + 8 <= length; i += 8) {
        uint64_t word;
        __builtin_memcpy(&word, data + i, 8);
        native += (word & 0xFFFFFFFF) + (word >> 32);
    }
    for (; i + 2 <= length; i += 2) {
        uint16_t word;
        __builtin_memcpy(&word, data + i, 2);
        native += word;
    }
    if (i < length)
        native += data[i]; // the odd byte is a big-endian word's high byte: the low one here
    while (native >> 16)
        native = (native & 0xFFFF) + (native >> 16);
    return sum + __builtin_bswap16(static_cast<uint16_t>(native));
}

// checksum_add over `data` while copying it to `to` (no overlap): one pass
// over the bytes instead of two, for a receiver that copies anyway.
inline ChecksumSum checksum_copy(ChecksumSum sum, uint8_t* to, const uint8_t* data, size_t length)
{
    uint64_t native = 0;
    size_t i = 0;
    for (; i + 8 <= length; i += 8) {
        uint64_t word;
        __builtin_memcpy(&word, data + i, 8);
        __builtin_memcpy(to + i, &word, 8);
        native += (word & 0xFFFFFFFF) + (word >> 32);
    }
    for (; i + 2 <= length; i += 2) {
        uint16_t word;
        __builtin_memcpy(&word, data + i, 2);
        __builtin_memcpy(to + i, &word, 2);
        native += word;
    }
    if (i < length) {
        to[i] = data[i];
        native += data[i];
    }
    while (native >> 16)
        native = (native & 0xFFFF) + (native >> 16);
    return sum + __builtin_bswap16(static_cast<uint16_t>(native));
}

// The definition, a byte pair at a time (for tests of the above).
inline ChecksumSum checksum_add_slow(ChecksumSum sum, const uint8_t* data, size_t length)
{
    size_t i = 0;
    for (; i + 1 < length; i += 2)
        sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
    if (i < length)
        sum += static_cast<uint32_t>(data[i] << 8);
    return sum;
}

constexpr ChecksumSum checksum_add16(ChecksumSum sum, uint16_t word) { return sum + word; }
constexpr ChecksumSum checksum_add32(ChecksumSum sum, uint32_t word) { return sum + (word >> 16) + (word & 0xFFFF); }

constexpr uint16_t checksum_finish(ChecksumSum sum)
{
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return static_cast<uint16_t>(~sum & 0xFFFF);
}

inline uint16_t internet_checksum(const uint8_t* data, size_t length)
{
    return checksum_finish(checksum_add(0, data, length));
}

// The pseudo-header UDP and TCP checksums start from (RFC 768, RFC 793).
constexpr ChecksumSum pseudo_header_sum(Ipv4Address source, Ipv4Address destination, uint8_t protocol,
                                        uint16_t length)
{
    return checksum_add16(checksum_add16(checksum_add32(checksum_add32(0, source.value), destination.value), protocol),
                          length);
}

} // namespace tern::net
