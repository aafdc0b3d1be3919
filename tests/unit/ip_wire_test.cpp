// lib/net: addresses, checksums and header parsing/writing, against
// independently built bytes (ip_test_support.hpp).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>
#include <functional>

#include "base/format.hpp"
#include "ip_test_support.hpp"
#include "net/arp.hpp"
#include "net/checksum.hpp"
#include "net/dhcp.hpp"
#include "net/ethernet.hpp"
#include "net/icmp.hpp"
#include "net/ipv4.hpp"
#include "net/udp.hpp"

namespace {

using namespace iptest;
using namespace tern::net;

TEST(IpWireChecksum, Rfc1071Example)
{
    // RFC 1071 section 3: the sum of these words is ddf2, so the checksum is 220d.
    const uint8_t data[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    EXPECT_EQ(internet_checksum(data, sizeof(data)), 0x220d);
    EXPECT_EQ(checksum_finish(checksum_add(0, data, sizeof(data))), 0x220d);
}

TEST(IpWireChecksum, OddLengthsPiecesAndVerification)
{
    for (size_t n = 0; n < 300; ++n) {
        Bytes b = pattern(n, static_cast<uint8_t>(n));
        EXPECT_EQ(internet_checksum(b.data(), n), ref_checksum(b.data(), n)) << n;
        if (n >= 2) {
            // Splitting at an even boundary gives the same sum.
            const size_t half = n / 4 * 2;
            EXPECT_EQ(checksum_finish(checksum_add(checksum_add(0, b.data(), half), b.data() + half, n - half)),
                      internet_checksum(b.data(), n));
        }
    }
    // Over data that carries its own checksum the result is 0.
    Bytes b = pattern(40);
    put16(b, 10, 0);
    put16(b, 10, internet_checksum(b.data(), b.size()));
    EXPECT_EQ(internet_checksum(b.data(), b.size()), 0);
    // Big inputs never lose a carry.
    Bytes ones(65535, 0xFF);
    EXPECT_EQ(internet_checksum(ones.data(), ones.size()), ref_checksum(ones.data(), ones.size()));
}

TEST(IpWireChecksum, FastSumAgreesWithTheDefinition)
{
    uint8_t data[4099];
    uint32_t state = 12345;
    for (auto& byte : data) {
        state = state * 1103515245 + 12345;
        byte = static_cast<uint8_t>(state >> 16);
    }
    for (size_t offset = 0; offset < 9; ++offset) {
        for (size_t length = 0; length + offset <= sizeof(data); length += (length < 64 ? 1 : 61)) {
            const auto fast = tern::net::checksum_finish(tern::net::checksum_add(7, data + offset, length));
            const auto slow = tern::net::checksum_finish(tern::net::checksum_add_slow(7, data + offset, length));
            ASSERT_EQ(fast, slow) << "offset " << offset << " length " << length;
        }
    }
    // The copying variant: the same sum, and the bytes copied, nothing past them.
    for (size_t offset = 0; offset < 9; ++offset) {
        for (size_t length = 0; length + offset <= sizeof(data); length += (length < 64 ? 1 : 61)) {
            std::vector<uint8_t> copy(length + 1, 0xA5);
            const auto sum = tern::net::checksum_copy(7, copy.data(), data + offset, length);
            ASSERT_EQ(tern::net::checksum_finish(sum),
                      tern::net::checksum_finish(tern::net::checksum_add_slow(7, data + offset, length)))
                << "offset " << offset << " length " << length;
            ASSERT_EQ(std::memcmp(copy.data(), data + offset, length), 0) << "offset " << offset << " length " << length;
            ASSERT_EQ(copy[length], 0xA5) << "offset " << offset << " length " << length;
        }
    }
    // All ones: the end-around carry is exercised.
    std::memset(data, 0xFF, sizeof(data));
    EXPECT_EQ(tern::net::checksum_finish(tern::net::checksum_add(0, data, 4096)),
              tern::net::checksum_finish(tern::net::checksum_add_slow(0, data, 4096)));
}

TEST(IpWireAddress, TextForms)
{
    EXPECT_STREQ(to_text(Ipv4Address{}).text, "0.0.0.0");
    EXPECT_STREQ(to_text(Ipv4Address::broadcast()).text, "255.255.255.255");
    EXPECT_STREQ(to_text(our_ip).text, "10.0.2.15");
    EXPECT_STREQ(to_text(ip4(192, 168, 100, 9)).text, "192.168.100.9");
    EXPECT_STREQ(to_text(our_mac).text, "52:54:00:12:34:56");
    EXPECT_STREQ(to_text(MacAddress::broadcast()).text, "ff:ff:ff:ff:ff:ff");
    char line[64];
    tern::format_to(line, sizeof(line), "%s at %s", to_text(our_ip).text, to_text(our_mac).text);
    EXPECT_STREQ(line, "10.0.2.15 at 52:54:00:12:34:56");
}

TEST(IpWireAddress, ParsesStrictDottedQuads)
{
    struct Case {
        const char* text;
        bool ok;
        uint32_t value;
    } cases[] = {
        {"10.0.2.15", true, 0x0A00020F},   {"0.0.0.0", true, 0},          {"255.255.255.255", true, 0xFFFFFFFF},
        {"001.2.3.4", true, 0x01020304},   {"", false, 0},                {"1.2.3", false, 0},
        {"1.2.3.4.5", false, 0},           {"256.1.1.1", false, 0},       {"1.2.3.4 ", false, 0},
        {"1..3.4", false, 0},              {"a.b.c.d", false, 0},         {"1.2.3.0004", false, 0},
        {"-1.2.3.4", false, 0},            {"1.2.3.4/24", false, 0},      {"99999999999.1.1.1", false, 0},
    };
    for (const Case& c : cases) {
        const auto r = parse_ipv4(c.text);
        EXPECT_EQ(r.ok(), c.ok) << c.text;
        if (c.ok && r.ok()) {
            EXPECT_EQ(r.value().value, c.value) << c.text;
        }
    }
}

TEST(IpWireAddress, ClassesAndPrefixes)
{
    EXPECT_TRUE(our_ip.is_unicast());
    EXPECT_FALSE(Ipv4Address{}.is_unicast());
    EXPECT_FALSE(ip4(224, 0, 0, 1).is_unicast());
    EXPECT_FALSE(ip4(240, 0, 0, 1).is_unicast());
    EXPECT_FALSE(ip4(127, 0, 0, 1).is_unicast());
    EXPECT_FALSE(Ipv4Address::broadcast().is_unicast());
    EXPECT_EQ(prefix_mask(0), 0u);
    EXPECT_EQ(prefix_mask(24), 0xFFFFFF00u);
    EXPECT_EQ(prefix_mask(32), 0xFFFFFFFFu);
    EXPECT_EQ(mask_prefix_length(ip4(255, 255, 255, 0)), 24);
    EXPECT_EQ(mask_prefix_length(ip4(0, 0, 0, 0)), 0);
    EXPECT_EQ(mask_prefix_length(ip4(255, 255, 255, 255)), 32);
    EXPECT_EQ(mask_prefix_length(ip4(255, 0, 255, 0)), -1);
    EXPECT_EQ(mask_prefix_length(ip4(255, 255, 255, 1)), -1);
    EXPECT_TRUE(same_prefix(our_ip, gateway_ip, 24));
    EXPECT_FALSE(same_prefix(our_ip, remote_ip, 8));
}

TEST(IpWireIpv4, ParsesWhatTheReferenceBuilds)
{
    IpFields f;
    f.protocol = 17;
    f.id = 0xBEEF;
    f.ttl = 3;
    f.df = true;
    f.options = {1, 1, 1, 0}; // NOP NOP NOP END
    Bytes d = ipv4(f, pattern(11));
    d.resize(d.size() + 5, 0); // link padding after the datagram
    Ipv4Header h;
    ASSERT_EQ(Ipv4Header::parse(d.data(), d.size(), h), Ipv4Check::ok);
    EXPECT_EQ(h.header_length, 24);
    EXPECT_EQ(h.total_length, 24 + 11);
    EXPECT_EQ(h.payload_length(), 11);
    EXPECT_EQ(h.identification, 0xBEEF);
    EXPECT_TRUE(h.dont_fragment);
    EXPECT_FALSE(h.is_fragment());
    EXPECT_EQ(h.ttl, 3);
    EXPECT_EQ(h.protocol, 17);
    EXPECT_EQ(h.source, peer_ip);
    EXPECT_EQ(h.destination, our_ip);
}

TEST(IpWireIpv4, WriteMatchesTheReference)
{
    Ipv4Header h;
    h.total_length = 20 + 100;
    h.identification = 0x1234;
    h.more_fragments = true;
    h.fragment_offset = 1480;
    h.ttl = 64;
    h.protocol = 1;
    h.source = peer_ip;
    h.destination = our_ip;
    uint8_t out[20];
    h.write(out);
    IpFields f;
    f.mf = true;
    f.offset = 1480;
    Bytes expected = ipv4(f, {});
    put16(expected, 2, 120);
    put16(expected, 10, 0);
    put16(expected, 10, ref_checksum(expected, 0, 20));
    EXPECT_EQ(Bytes(out, out + 20), expected);
}

// Every way a header can be wrong, each with the verdict it must get.
TEST(IpWireIpv4, RejectsEveryBadField)
{
    struct Case {
        const char* name;
        std::function<void(Bytes&)> damage;
        Ipv4Check expected;
    };
    auto fix_checksum = [](Bytes& b) {
        const size_t header = (b[0] & 0xF) * 4u;
        put16(b, 10, 0);
        put16(b, 10, ref_checksum(b, 0, header));
    };
    const Case cases[] = {
        {"short", [](Bytes& b) { b.resize(19); }, Ipv4Check::truncated},
        {"version 6", [&](Bytes& b) { b[0] = 0x65; fix_checksum(b); }, Ipv4Check::bad_version},
        {"version 0", [&](Bytes& b) { b[0] = 0x05; }, Ipv4Check::bad_version},
        {"IHL 4", [&](Bytes& b) { b[0] = 0x44; }, Ipv4Check::bad_header_length},
        {"IHL 0", [&](Bytes& b) { b[0] = 0x40; }, Ipv4Check::bad_header_length},
        {"IHL past the data", [&](Bytes& b) { b[0] = 0x4F; b.resize(40); }, Ipv4Check::bad_header_length},
        {"total < header", [&](Bytes& b) { put16(b, 2, 19); fix_checksum(b); }, Ipv4Check::bad_total_length},
        {"total > data", [&](Bytes& b) { put16(b, 2, static_cast<uint16_t>(b.size() + 1)); fix_checksum(b); },
         Ipv4Check::bad_total_length},
        {"total 65535", [&](Bytes& b) { put16(b, 2, 65535); fix_checksum(b); }, Ipv4Check::bad_total_length},
        {"checksum", [&](Bytes& b) { b[10] ^= 1; }, Ipv4Check::bad_checksum},
        {"flipped address bit", [&](Bytes& b) { b[13] ^= 0x40; }, Ipv4Check::bad_checksum},
        {"reserved flag", [&](Bytes& b) { b[6] |= 0x80; fix_checksum(b); }, Ipv4Check::bad_flags},
        {"option past header", [&](Bytes& b) { b[0] = 0x46; b.insert(b.begin() + 20, {7, 9, 0, 0}); put16(b, 2, static_cast<uint16_t>(b.size())); fix_checksum(b); },
         Ipv4Check::bad_options},
        {"option length 1", [&](Bytes& b) { b[0] = 0x46; b.insert(b.begin() + 20, {7, 1, 0, 0}); put16(b, 2, static_cast<uint16_t>(b.size())); fix_checksum(b); },
         Ipv4Check::bad_options},
        {"option without length", [&](Bytes& b) { b[0] = 0x46; b.insert(b.begin() + 20, {1, 1, 1, 7}); put16(b, 2, static_cast<uint16_t>(b.size())); fix_checksum(b); },
         Ipv4Check::bad_options},
        {"MF with odd payload", [&](Bytes& b) { b[6] = 0x20; fix_checksum(b); }, Ipv4Check::bad_fragment},
        {"empty fragment", [&](Bytes& b) { b[6] = 0x20; put16(b, 2, 20); fix_checksum(b); }, Ipv4Check::bad_fragment},
        {"offset past 65535", [&](Bytes& b) { put16(b, 6, 0x1FFF); fix_checksum(b); }, Ipv4Check::bad_fragment},
    };
    for (const Case& c : cases) {
        Bytes b = ipv4({}, pattern(13));
        c.damage(b);
        Ipv4Header h;
        EXPECT_EQ(Ipv4Header::parse(b.data(), b.size(), h), c.expected) << c.name;
    }
}

TEST(IpWireArp, ParsesAndRejects)
{
    Bytes good = arp(1, peer_mac, peer_ip, MacAddress{}, our_ip);
    ArpPacket p;
    ASSERT_EQ(ArpPacket::parse(good.data(), good.size(), p), ArpCheck::ok);
    EXPECT_EQ(p.operation, ArpOperation::request);
    EXPECT_EQ(p.sender_mac, peer_mac);
    EXPECT_EQ(p.sender_ip, peer_ip);
    EXPECT_EQ(p.target_ip, our_ip);
    uint8_t written[28];
    p.write(written);
    EXPECT_EQ(Bytes(written, written + 28), good);

    struct Case {
        size_t at;
        uint8_t value;
        ArpCheck expected;
    } cases[] = {{1, 6, ArpCheck::bad_hardware}, {4, 8, ArpCheck::bad_hardware}, {2, 0x86, ArpCheck::bad_protocol},
                 {5, 16, ArpCheck::bad_protocol}, {7, 3, ArpCheck::bad_operation}, {7, 0, ArpCheck::bad_operation}};
    for (const Case& c : cases) {
        Bytes b = good;
        b[c.at] = c.value;
        EXPECT_EQ(ArpPacket::parse(b.data(), b.size(), p), c.expected) << c.at;
    }
    EXPECT_EQ(ArpPacket::parse(good.data(), 27, p), ArpCheck::truncated);
}

TEST(IpWireUdp, ChecksumAgreesWithReference)
{
    Bytes d = udp(peer_ip, our_ip, 1234, 68, pattern(33));
    EXPECT_TRUE(udp_checksum_valid(peer_ip, our_ip, d.data(), static_cast<uint16_t>(d.size())));
    const uint16_t sent = get16(d, 6);
    put16(d, 6, 0);
    EXPECT_EQ(udp_checksum(peer_ip, our_ip, d.data(), static_cast<uint16_t>(d.size())), sent);
    // 0 means "no checksum".
    EXPECT_TRUE(udp_checksum_valid(peer_ip, our_ip, d.data(), static_cast<uint16_t>(d.size())));
    put16(d, 6, sent ^ 0x100);
    EXPECT_FALSE(udp_checksum_valid(peer_ip, our_ip, d.data(), static_cast<uint16_t>(d.size())));
    UdpHeader h;
    EXPECT_TRUE(UdpHeader::parse(d.data(), d.size(), h));
    EXPECT_EQ(h.destination_port, 68);
    put16(d, 4, 7);
    EXPECT_FALSE(UdpHeader::parse(d.data(), d.size(), h));
    put16(d, 4, static_cast<uint16_t>(d.size() + 1));
    EXPECT_FALSE(UdpHeader::parse(d.data(), d.size(), h));
}

TEST(IpWireDhcp, ParsesOptions)
{
    const uint8_t options[] = {53, 1, 5,          1, 4, 255, 255, 255, 0,   0, 3, 8, 10, 0, 2, 2, 10, 0, 2, 1,
                               6,  4, 10, 0, 2, 3, 51, 4, 0, 1, 81, 128, 54, 4, 10, 0, 2, 2, 99, 2, 1, 2, 255, 77};
    dhcp::Options o;
    ASSERT_TRUE(dhcp::parse_options(options, sizeof(options), o));
    EXPECT_TRUE(o.has_message_type);
    EXPECT_EQ(o.message_type, dhcp::MessageType::ack);
    EXPECT_EQ(o.subnet_mask, ip4(255, 255, 255, 0));
    EXPECT_EQ(o.router, gateway_ip);
    ASSERT_EQ(o.dns_count, 1u);
    EXPECT_EQ(o.dns[0], ip4(10, 0, 2, 3));
    EXPECT_EQ(o.lease_time, 86400u);
    EXPECT_EQ(o.server_id, gateway_ip);
    EXPECT_FALSE(o.has_renewal_time);
}

TEST(IpWireDhcp, RejectsBadOptionLengths)
{
    const std::vector<Bytes> bad = {
        {53, 2, 5, 5},          // message type of 2 bytes
        {53, 1, 0},             // message type 0
        {53, 1, 9},             // message type 9
        {1, 3, 255, 255, 0},    // 3-byte mask
        {3, 0},                 // empty router list
        {3, 5, 1, 2, 3, 4, 5},  // router list not a multiple of 4
        {6, 6, 1, 2, 3, 4, 5, 6},
        {51, 2, 0, 1},          // short lease time
        {54, 8, 1, 2, 3, 4, 5, 6, 7, 8},
        {58, 1, 1},
        {59, 5, 1, 1, 1, 1, 1},
        {12, 10, 'x'},          // runs past the end
        {12},                   // no length byte
    };
    for (const Bytes& b : bad) {
        dhcp::Options o;
        EXPECT_FALSE(dhcp::parse_options(b.data(), b.size(), o)) << int(b[0]);
    }
    // Pads, unknown options and a missing End are fine.
    const Bytes ok = {0, 0, 200, 3, 1, 2, 3, 53, 1, 2};
    dhcp::Options o;
    EXPECT_TRUE(dhcp::parse_options(ok.data(), ok.size(), o));
    EXPECT_EQ(o.message_type, dhcp::MessageType::offer);
}

TEST(IpWireDhcp, OptionWriterNeverOverflows)
{
    uint8_t buffer[8];
    dhcp::OptionWriter w(buffer, sizeof(buffer));
    w.add_u8(53, 1);
    EXPECT_FALSE(w.failed());
    w.add_address(50, our_ip);
    EXPECT_TRUE(w.failed());
    EXPECT_EQ(w.length(), 3u);
}

} // namespace
