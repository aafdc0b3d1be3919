// DHCP messages (RFC 2131) and the options Tern uses (RFC 2132): the fixed
// BOOTP layout, the option codes, a checked option parser and a writer.
#pragma once

#include <cstddef>
#include <cstdint>

#include "net/address.hpp"
#include "net/byte_order.hpp"

namespace tern::net {

namespace dhcp {

constexpr uint16_t server_port = 67;
constexpr uint16_t client_port = 68;

// The fixed part, by offset.
constexpr size_t op = 0; // 1 request (client), 2 reply (server)
constexpr size_t htype = 1;
constexpr size_t hlen = 2;
constexpr size_t hops = 3;
constexpr size_t xid = 4;
constexpr size_t secs = 8;
constexpr size_t flags = 10; // bit 15: broadcast the reply
constexpr size_t ciaddr = 12;
constexpr size_t yiaddr = 16;
constexpr size_t siaddr = 20;
constexpr size_t giaddr = 24;
constexpr size_t chaddr = 28; // 16 bytes, the MAC in the first 6
constexpr size_t sname = 44;  // 64 bytes
constexpr size_t file = 108;  // 128 bytes
constexpr size_t magic = 236;
constexpr size_t options = 240;

constexpr uint8_t op_request = 1;
constexpr uint8_t op_reply = 2;
constexpr uint16_t flag_broadcast = 0x8000;
constexpr uint32_t magic_cookie = 0x63825363;
// BOOTP's minimum message, which some servers still insist on.
constexpr size_t min_message = 300;

enum class MessageType : uint8_t {
    discover = 1,
    offer = 2,
    request = 3,
    decline = 4,
    ack = 5,
    nak = 6,
    release = 7,
    inform = 8,
};

namespace option {
constexpr uint8_t pad = 0;
constexpr uint8_t subnet_mask = 1;
constexpr uint8_t router = 3;
constexpr uint8_t dns = 6;
constexpr uint8_t host_name = 12;
constexpr uint8_t requested_address = 50;
constexpr uint8_t lease_time = 51;
constexpr uint8_t overload = 52;
constexpr uint8_t message_type = 53;
constexpr uint8_t server_id = 54;
constexpr uint8_t parameter_list = 55;
constexpr uint8_t max_message_size = 57;
constexpr uint8_t renewal_time = 58;   // T1
constexpr uint8_t rebinding_time = 59; // T2
constexpr uint8_t client_id = 61;
constexpr uint8_t end = 255;
} // namespace option

constexpr size_t max_dns_servers = 3;

// The options a client acts on; `has_*` says which were present.
struct Options {
    MessageType message_type = MessageType::discover;
    bool has_message_type = false;
    Ipv4Address subnet_mask;
    bool has_subnet_mask = false;
    Ipv4Address router; // the first one listed
    bool has_router = false;
    Ipv4Address dns[max_dns_servers];
    size_t dns_count = 0;
    Ipv4Address server_id;
    bool has_server_id = false;
    uint32_t lease_time = 0;
    bool has_lease_time = false;
    uint32_t renewal_time = 0;
    bool has_renewal_time = false;
    uint32_t rebinding_time = 0;
    bool has_rebinding_time = false;
};

// Walks the options area. False (malformed) if an option's length runs past
// the area, or an option Tern uses has a length its definition forbids (a
// 3-byte lease time, a router list that is not a multiple of 4, a message
// type outside 1..8). Unknown options are skipped; the first occurrence of
// a known one wins; a missing End option is tolerated.
inline bool parse_options(const uint8_t* p, size_t length, Options& out)
{
    out = Options{};
    size_t i = 0;
    while (i < length) {
        const uint8_t code = p[i];
        if (code == option::end)
            return true;
        if (code == option::pad) {
            ++i;
            continue;
        }
        if (i + 1 >= length)
            return false;
        const size_t n = p[i + 1];
        const uint8_t* value = p + i + 2;
        if (i + 2 + n > length)
            return false;
        switch (code) {
        case option::message_type:
            if (n != 1 || value[0] < 1 || value[0] > 8)
                return false;
            if (!out.has_message_type) {
                out.message_type = static_cast<MessageType>(value[0]);
                out.has_message_type = true;
            }
            break;
        case option::subnet_mask:
            if (n != 4)
                return false;
            if (!out.has_subnet_mask) {
                out.subnet_mask = Ipv4Address::load(value);
                out.has_subnet_mask = true;
            }
            break;
        case option::router:
            if (n == 0 || n % 4 != 0)
                return false;
            if (!out.has_router) {
                out.router = Ipv4Address::load(value);
                out.has_router = true;
            }
            break;
        case option::dns:
            if (n == 0 || n % 4 != 0)
                return false;
            if (out.dns_count == 0) {
                for (size_t k = 0; k < n / 4 && k < max_dns_servers; ++k)
                    out.dns[out.dns_count++] = Ipv4Address::load(value + 4 * k);
            }
            break;
        case option::server_id:
            if (n != 4)
                return false;
            if (!out.has_server_id) {
                out.server_id = Ipv4Address::load(value);
                out.has_server_id = true;
            }
            break;
        case option::lease_time:
        case option::renewal_time:
        case option::rebinding_time: {
            if (n != 4)
                return false;
            const uint32_t seconds = load_be32(value);
            bool& has = code == option::lease_time     ? out.has_lease_time
                        : code == option::renewal_time ? out.has_renewal_time
                                                       : out.has_rebinding_time;
            uint32_t& field = code == option::lease_time     ? out.lease_time
                              : code == option::renewal_time ? out.renewal_time
                                                             : out.rebinding_time;
            if (!has) {
                field = seconds;
                has = true;
            }
            break;
        }
        default: break;
        }
        i += 2 + n;
    }
    return true;
}

// Appends options to a message under construction; never writes past the
// buffer (an option that does not fit marks the writer failed).
class OptionWriter {
public:
    OptionWriter(uint8_t* buffer, size_t capacity) : m_buffer(buffer), m_capacity(capacity) {}

    void add(uint8_t code, const uint8_t* value, size_t length)
    {
        if (length > 255 || m_length + 2 + length > m_capacity) {
            m_failed = true;
            return;
        }
        m_buffer[m_length++] = code;
        m_buffer[m_length++] = static_cast<uint8_t>(length);
        __builtin_memcpy(m_buffer + m_length, value, length);
        m_length += length;
    }
    void add_u8(uint8_t code, uint8_t value) { add(code, &value, 1); }
    void add_address(uint8_t code, Ipv4Address address)
    {
        uint8_t value[4];
        address.store(value);
        add(code, value, 4);
    }
    void end()
    {
        if (m_length + 1 > m_capacity) {
            m_failed = true;
            return;
        }
        m_buffer[m_length++] = option::end;
    }

    size_t length() const { return m_length; }
    bool failed() const { return m_failed; }

private:
    uint8_t* m_buffer;
    size_t m_capacity;
    size_t m_length = 0;
    bool m_failed = false;
};

} // namespace dhcp

} // namespace tern::net
