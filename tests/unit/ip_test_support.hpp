// Helpers for the ip server's host tests: a fake NIC that records what the
// stack transmits, and frame builders written independently of lib/net (by
// byte offset, with their own checksum) so a bug there cannot hide itself.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "ip_stack.hpp"
#include "net/tcp.hpp"

namespace iptest {

using Bytes = std::vector<uint8_t>;
using tern::net::Ipv4Address;
using tern::net::MacAddress;

constexpr uint64_t ms = 1'000'000;
constexpr uint64_t s = 1'000'000'000;

inline Ipv4Address ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return Ipv4Address::from_octets(a, b, c, d); }

// QEMU user networking's addresses.
const MacAddress our_mac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
const MacAddress gateway_mac{{0x52, 0x55, 0x0a, 0x00, 0x02, 0x02}};
const MacAddress peer_mac{{0x52, 0x55, 0x0a, 0x00, 0x02, 0x63}};
const Ipv4Address our_ip = ip4(10, 0, 2, 15);
const Ipv4Address gateway_ip = ip4(10, 0, 2, 2);
const Ipv4Address peer_ip = ip4(10, 0, 2, 99);
const Ipv4Address remote_ip = ip4(93, 184, 216, 34); // beyond the gateway

inline void put16(Bytes& b, size_t at, uint16_t v)
{
    b[at] = static_cast<uint8_t>(v >> 8);
    b[at + 1] = static_cast<uint8_t>(v);
}
inline void put32(Bytes& b, size_t at, uint32_t v)
{
    put16(b, at, static_cast<uint16_t>(v >> 16));
    put16(b, at + 2, static_cast<uint16_t>(v));
}
inline uint16_t get16(const Bytes& b, size_t at) { return static_cast<uint16_t>(b[at] << 8 | b[at + 1]); }
inline uint32_t get32(const Bytes& b, size_t at) { return uint32_t{get16(b, at)} << 16 | get16(b, at + 2); }
inline void put_mac(Bytes& b, size_t at, const MacAddress& m) { std::memcpy(&b[at], m.bytes, 6); }
inline MacAddress get_mac(const Bytes& b, size_t at)
{
    MacAddress m;
    std::memcpy(m.bytes, &b[at], 6);
    return m;
}

// The reference checksum: a plain 32-bit sum, folded at the end.
inline uint16_t ref_checksum(const uint8_t* p, size_t n, uint32_t sum = 0)
{
    for (size_t i = 0; i < n; ++i)
        sum += (i % 2 == 0) ? uint32_t{p[i]} << 8 : p[i];
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}
inline uint16_t ref_checksum(const Bytes& b, size_t from, size_t n) { return ref_checksum(b.data() + from, n); }

inline Bytes ethernet(const MacAddress& dst, const MacAddress& src, uint16_t type, const Bytes& payload)
{
    Bytes f(14);
    put_mac(f, 0, dst);
    put_mac(f, 6, src);
    put16(f, 12, type);
    f.insert(f.end(), payload.begin(), payload.end());
    return f;
}

struct IpFields {
    Ipv4Address src = peer_ip;
    Ipv4Address dst = our_ip;
    uint8_t protocol = 1;
    uint16_t id = 0x1234;
    uint8_t ttl = 64;
    bool df = false, mf = false;
    uint16_t offset = 0; // bytes
    Bytes options;       // a multiple of 4
};

inline Bytes ipv4(const IpFields& f, const Bytes& payload)
{
    const size_t header = 20 + f.options.size();
    Bytes b(header);
    b[0] = static_cast<uint8_t>(0x40 | header / 4);
    put16(b, 2, static_cast<uint16_t>(header + payload.size()));
    put16(b, 4, f.id);
    put16(b, 6, static_cast<uint16_t>((f.df ? 0x4000 : 0) | (f.mf ? 0x2000 : 0) | f.offset / 8));
    b[8] = f.ttl;
    b[9] = f.protocol;
    put32(b, 12, f.src.value);
    put32(b, 16, f.dst.value);
    if (!f.options.empty())
        std::memcpy(b.data() + 20, f.options.data(), f.options.size());
    put16(b, 10, ref_checksum(b, 0, header));
    b.insert(b.end(), payload.begin(), payload.end());
    return b;
}

inline Bytes icmp(uint8_t type, uint8_t code, uint16_t id, uint16_t seq, const Bytes& data)
{
    Bytes b(8);
    b[0] = type;
    b[1] = code;
    put16(b, 4, id);
    put16(b, 6, seq);
    b.insert(b.end(), data.begin(), data.end());
    put16(b, 2, ref_checksum(b, 0, b.size()));
    return b;
}

inline Bytes udp(Ipv4Address src, Ipv4Address dst, uint16_t sport, uint16_t dport, const Bytes& data,
                 bool checksum = true)
{
    Bytes b(8);
    put16(b, 0, sport);
    put16(b, 2, dport);
    put16(b, 4, static_cast<uint16_t>(8 + data.size()));
    b.insert(b.end(), data.begin(), data.end());
    if (checksum) {
        uint32_t sum = (src.value >> 16) + (src.value & 0xFFFF) + (dst.value >> 16) + (dst.value & 0xFFFF) + 17 +
                       static_cast<uint32_t>(b.size());
        uint16_t c = ref_checksum(b.data(), b.size(), sum);
        put16(b, 6, c == 0 ? 0xFFFF : c);
    }
    return b;
}

inline Bytes arp(uint16_t op, const MacAddress& sha, Ipv4Address spa, const MacAddress& tha, Ipv4Address tpa)
{
    Bytes b(28);
    put16(b, 0, 1);
    put16(b, 2, 0x0800);
    b[4] = 6;
    b[5] = 4;
    put16(b, 6, op);
    put_mac(b, 8, sha);
    put32(b, 14, spa.value);
    put_mac(b, 18, tha);
    put32(b, 24, tpa.value);
    return b;
}

inline Bytes pattern(size_t n, uint8_t seed = 0)
{
    Bytes b(n);
    for (size_t i = 0; i < n; ++i)
        b[i] = static_cast<uint8_t>(seed + i * 7);
    return b;
}

// A frame from the peer (on the gateway's link) to us carrying an IPv4 datagram.
inline Bytes ip_frame(const IpFields& f, const Bytes& payload, const MacAddress& src_mac = peer_mac)
{
    return ethernet(our_mac, src_mac, 0x0800, ipv4(f, payload));
}
inline Bytes echo_request_frame(uint16_t id, uint16_t seq, const Bytes& data, Ipv4Address src = peer_ip)
{
    IpFields f;
    f.src = src;
    return ip_frame(f, icmp(8, 0, id, seq, data));
}

struct Sent {
    unsigned interface;
    Bytes frame;          // as it goes on the wire (FakeNic did the offloaded checksum)
    ip::TxChecksum offload; // what the stack asked the NIC to compute
    Bytes as_given;       // the frame as the stack handed it over

    uint16_t ethertype() const { return get16(frame, 12); }
    MacAddress destination_mac() const { return get_mac(frame, 0); }
    // The IPv4 datagram inside (total length taken from its header).
    Bytes ip() const
    {
        const uint16_t total = get16(frame, 16);
        return Bytes(frame.begin() + 14, frame.begin() + 14 + total);
    }
    size_t ip_header_length() const { return (frame[14] & 0xF) * 4u; }
    Bytes ip_payload() const
    {
        Bytes d = ip();
        return Bytes(d.begin() + static_cast<long>(ip_header_length()), d.end());
    }
    uint8_t protocol() const { return frame[23]; }
    Ipv4Address ip_source() const { return {get32(frame, 26)}; }
    Ipv4Address ip_destination() const { return {get32(frame, 30)}; }
};

class FakeNic : public ip::FrameSink {
public:
    // Does what a NIC with checksum offload does with `checksum`, and keeps
    // the request and the frame as the stack handed it over.
    bool transmit(unsigned interface, const uint8_t* frame, size_t length, const ip::TxChecksum& checksum) override
    {
        if (refuse)
            return false;
        Sent s{interface, Bytes(frame, frame + length)};
        s.offload = checksum;
        s.as_given = s.frame;
        if (checksum.requested()) {
            const uint16_t sum = tern::net::internet_checksum(&s.frame[checksum.start], length - checksum.start);
            put16(s.frame, checksum.offset, sum);
        }
        sent.push_back(std::move(s));
        return true;
    }
    // Does what a NIC with TCP segmentation offload does (Intel 8254x, as
    // QEMU's e1000 models it): one wire frame per `mss` data bytes, each
    // with the headers, its IPv4 length, identification and checksum, its
    // TCP sequence number, FIN/PSH only on the last, and its TCP checksum
    // finished from the seed (which has no length in it).
    bool transmit_segmentation(unsigned interface, const ip::FrameBytes& bytes, size_t length,
                               const ip::TxSegmentation& s) override
    {
        if (refuse)
            return false;
        Bytes frame(length);
        bytes.copy(0, frame.data(), length);
        segmentations.push_back({s, frame});
        const size_t ip_start = 14, tcp_start = ip_start + s.ip_header_length;
        const size_t headers = tcp_start + s.tcp_header_length;
        const uint16_t seed = get16(frame, tcp_start + 16);
        for (size_t offset = headers, i = 0; offset < length; offset += s.mss, ++i) {
            const size_t data = length - offset < s.mss ? length - offset : s.mss;
            const bool last = offset + data == length;
            Bytes out(frame.begin(), frame.begin() + static_cast<long>(headers));
            out.insert(out.end(), frame.begin() + static_cast<long>(offset),
                       frame.begin() + static_cast<long>(offset + data));
            put16(out, ip_start + 2, static_cast<uint16_t>(s.ip_header_length + s.tcp_header_length + data));
            put16(out, ip_start + 4, static_cast<uint16_t>(get16(frame, ip_start + 4) + i));
            put16(out, ip_start + 10, 0);
            put16(out, ip_start + 10, ref_checksum(out, ip_start, s.ip_header_length));
            put32(out, tcp_start + 4, static_cast<uint32_t>(get32(frame, tcp_start + 4) + (offset - headers)));
            if (!last)
                out[tcp_start + 13] &= static_cast<uint8_t>(~(tern::net::tcp_flag::fin | tern::net::tcp_flag::psh));
            const size_t segment = s.tcp_header_length + data;
            put16(out, tcp_start + 16, 0);
            put16(out, tcp_start + 16, ref_checksum(out.data() + tcp_start, segment,
                                                    uint32_t{seed} + static_cast<uint32_t>(segment)));
            Sent sent_frame{interface, out};
            sent_frame.as_given = out;
            sent.push_back(std::move(sent_frame));
        }
        return true;
    }

    std::vector<Sent> take()
    {
        std::vector<Sent> out;
        out.swap(sent);
        return out;
    }

    struct Segmentation {
        ip::TxSegmentation request;
        Bytes frame; // as the stack handed it over
    };
    std::vector<Sent> sent;
    std::vector<Segmentation> segmentations;
    bool refuse = false;
};

class RecordingUpper : public ip::Upper {
public:
    struct Delivery {
        unsigned interface;
        tern::net::Ipv4Header header;
        Bytes payload;
        bool to_broadcast;
    };
    ip::Delivery deliver(unsigned interface, const tern::net::Ipv4Header& header, bool to_broadcast,
                         const uint8_t* payload, size_t length) override
    {
        if (header.protocol != accept_protocol)
            return ip::Delivery::no_server;
        if (busy)
            return ip::Delivery::busy;
        deliveries.push_back({interface, header, Bytes(payload, payload + length), to_broadcast});
        return ip::Delivery::taken;
    }
    uint8_t accept_protocol = 17;
    bool busy = false;
    std::vector<Delivery> deliveries;
};

class RecordingEcho : public ip::EchoListener {
public:
    void echo_reply(const ip::EchoReply& reply) override { replies.push_back(reply); }
    std::vector<ip::EchoReply> replies;
};

// A stack with eth0 = 10.0.2.15/24 behind gateway 10.0.2.2, which is already
// in the ARP cache, as is the peer 10.0.2.99.
class StackTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        stack = std::make_unique<ip::IpStack>(nic);
        stack->set_upper(&upper);
        stack->set_echo_listener(&echo);
        ASSERT_EQ(stack->add_interface(our_mac).value_or(99), 0u);
        ASSERT_TRUE(stack->configure(0, our_ip, 24).ok());
        ASSERT_TRUE(stack->set_default_gateway(gateway_ip, 0).ok());
        learn(gateway_mac, gateway_ip);
        learn(peer_mac, peer_ip);
        nic.take();
        baseline = *stack->counters(0);
    }

    // The host `ip` asks for our MAC: the stack learns it and answers.
    void learn(const MacAddress& mac, Ipv4Address ip, uint64_t at = 0)
    {
        stack->on_frame(0, ethernet(MacAddress::broadcast(), mac, 0x0806, arp(1, mac, ip, MacAddress{}, our_ip)).data(),
                        14 + 28, at);
    }

    void feed(const Bytes& frame, uint64_t at = now, unsigned interface = 0)
    {
        stack->on_frame(interface, frame.data(), frame.size(), at);
    }

    // The drops (by reason) since SetUp, as "reason=count" text for readable failures.
    std::string drops_since_baseline(unsigned interface = 0) const
    {
        std::string text;
        const ip::Counters& c = *stack->counters(interface);
        for (size_t i = 0; i < ip::drop_reason_count; ++i) {
            const uint64_t d = c.drops[i] - (interface == 0 ? baseline.drops[i] : 0);
            if (d != 0)
                text += std::string(ip::drop_name(static_cast<ip::Drop>(i))) + "=" + std::to_string(d) + " ";
        }
        return text;
    }
    uint64_t dropped(ip::Drop reason, unsigned interface = 0) const
    {
        return stack->counters(interface)->dropped(reason) - (interface == 0 ? baseline.dropped(reason) : 0);
    }

    static constexpr uint64_t now = 1 * s;
    FakeNic nic;
    RecordingUpper upper;
    RecordingEcho echo;
    std::unique_ptr<ip::IpStack> stack;
    ip::Counters baseline;
};

} // namespace iptest
