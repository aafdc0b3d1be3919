// MAC and IPv4 addresses, their text forms (for tern::format's %s) and the
// prefix arithmetic routing needs.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/result.hpp"
#include "net/byte_order.hpp"

namespace tern::net {

struct MacAddress {
    uint8_t bytes[6] = {};

    static constexpr MacAddress broadcast() { return {{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}}; }

    constexpr bool is_zero() const
    {
        return (bytes[0] | bytes[1] | bytes[2] | bytes[3] | bytes[4] | bytes[5]) == 0;
    }
    // The group bit: broadcast and multicast addresses; never a valid source.
    constexpr bool is_multicast() const { return (bytes[0] & 1) != 0; }
    constexpr bool is_broadcast() const { return *this == broadcast(); }

    static MacAddress load(const uint8_t* p)
    {
        MacAddress mac;
        __builtin_memcpy(mac.bytes, p, 6);
        return mac;
    }
    void store(uint8_t* p) const { __builtin_memcpy(p, bytes, 6); }

    friend constexpr bool operator==(const MacAddress& a, const MacAddress& b)
    {
        for (size_t i = 0; i < 6; ++i) {
            if (a.bytes[i] != b.bytes[i])
                return false;
        }
        return true;
    }
};

// An IPv4 address as a number in host order: 10.0.2.15 is 0x0A00020F.
struct Ipv4Address {
    uint32_t value = 0;

    static constexpr Ipv4Address any() { return {0}; }
    static constexpr Ipv4Address broadcast() { return {0xFFFFFFFF}; }
    static constexpr Ipv4Address from_octets(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
    {
        return {uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d};
    }

    constexpr uint8_t octet(unsigned i) const { return static_cast<uint8_t>(value >> (24 - 8 * i)); }
    constexpr bool is_any() const { return value == 0; }
    constexpr bool is_broadcast() const { return value == 0xFFFFFFFF; }
    constexpr bool is_multicast() const { return (value >> 28) == 0xE; } // 224.0.0.0/4
    constexpr bool is_reserved() const { return (value >> 28) == 0xF; }  // 240.0.0.0/4 (class E, incl. broadcast)
    constexpr bool is_loopback() const { return (value >> 24) == 127; }
    // Usable as the address of one host: as a source, or as a unicast destination.
    constexpr bool is_unicast() const { return !is_any() && !is_multicast() && !is_reserved() && !is_loopback(); }

    static constexpr Ipv4Address load(const uint8_t* p) { return {load_be32(p)}; }
    constexpr void store(uint8_t* p) const { store_be32(p, value); }

    friend constexpr bool operator==(Ipv4Address a, Ipv4Address b) { return a.value == b.value; }
};

// Prefix lengths 0..32 and the masks they stand for.
constexpr uint32_t prefix_mask(unsigned prefix_length)
{
    return prefix_length == 0 ? 0 : prefix_length >= 32 ? 0xFFFFFFFF : ~uint32_t{0} << (32 - prefix_length);
}
constexpr bool same_prefix(Ipv4Address a, Ipv4Address b, unsigned prefix_length)
{
    return ((a.value ^ b.value) & prefix_mask(prefix_length)) == 0;
}
// The prefix length of a contiguous netmask (255.255.255.0 → 24), or -1 if
// the mask has holes.
constexpr int mask_prefix_length(Ipv4Address mask)
{
    int length = 0;
    uint32_t m = mask.value;
    while (m & 0x80000000u) {
        ++length;
        m <<= 1;
    }
    return m == 0 ? length : -1;
}

// Text forms, sized for the longest address plus the NUL.
struct MacText {
    char text[18];
};
struct Ipv4Text {
    char text[16];
};

inline MacText to_text(const MacAddress& mac)
{
    static constexpr char digits[] = "0123456789abcdef";
    MacText out{};
    for (size_t i = 0; i < 6; ++i) {
        out.text[3 * i] = digits[mac.bytes[i] >> 4];
        out.text[3 * i + 1] = digits[mac.bytes[i] & 0xF];
        out.text[3 * i + 2] = i == 5 ? '\0' : ':';
    }
    return out;
}

inline Ipv4Text to_text(Ipv4Address address)
{
    Ipv4Text out{};
    size_t n = 0;
    for (unsigned i = 0; i < 4; ++i) {
        const unsigned octet = address.octet(i);
        if (octet >= 100)
            out.text[n++] = static_cast<char>('0' + octet / 100);
        if (octet >= 10)
            out.text[n++] = static_cast<char>('0' + octet / 10 % 10);
        out.text[n++] = static_cast<char>('0' + octet % 10);
        if (i != 3)
            out.text[n++] = '.';
    }
    out.text[n] = '\0';
    return out;
}

// Strict dotted quad: four decimal numbers 0..255 of one to three digits.
inline Result<Ipv4Address> parse_ipv4(const char* text, size_t length)
{
    uint32_t value = 0;
    size_t i = 0;
    for (unsigned part = 0; part < 4; ++part) {
        if (part != 0) {
            if (i >= length || text[i] != '.')
                return Error::malformed;
            ++i;
        }
        unsigned octet = 0, digits = 0;
        while (i < length && text[i] >= '0' && text[i] <= '9' && digits < 4) {
            octet = octet * 10 + static_cast<unsigned>(text[i] - '0');
            ++i;
            ++digits;
        }
        if (digits == 0 || digits > 3 || octet > 255)
            return Error::malformed;
        value = value << 8 | octet;
    }
    if (i != length)
        return Error::malformed;
    return Ipv4Address{value};
}

inline Result<Ipv4Address> parse_ipv4(const char* text) { return parse_ipv4(text, __builtin_strlen(text)); }

} // namespace tern::net
