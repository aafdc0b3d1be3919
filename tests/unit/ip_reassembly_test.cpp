// servers/ip fragmentation and reassembly: the Reassembler on its own and
// through the stack (out of order, overlaps, timeouts, a full table,
// fragments that never end).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "ip_test_support.hpp"
#include "reassembly.hpp"

namespace {

using namespace iptest;
using ip::Drop;
using ip::Reassembler;
using tern::net::Ipv4Check;
using tern::net::Ipv4Header;

// The fragments of `payload` as a sender with this MTU would cut them.
std::vector<Bytes> fragments(const IpFields& base, const Bytes& payload, size_t chunk)
{
    std::vector<Bytes> out;
    for (size_t offset = 0; offset < payload.size(); offset += chunk) {
        IpFields f = base;
        const size_t n = std::min(chunk, payload.size() - offset);
        f.offset = static_cast<uint16_t>(offset);
        f.mf = offset + n < payload.size();
        out.push_back(ipv4(f, Bytes(payload.begin() + static_cast<long>(offset),
                                    payload.begin() + static_cast<long>(offset + n))));
    }
    return out;
}

struct Added {
    Reassembler::AddResult result;
    Reassembler::Datagram datagram;
};

Added add(Reassembler& r, const Bytes& fragment, uint64_t at, unsigned interface = 0)
{
    Ipv4Header h;
    EXPECT_EQ(Ipv4Header::parse(fragment.data(), fragment.size(), h), Ipv4Check::ok);
    Added a;
    a.result = r.add(interface, h, fragment.data(), at, a.datagram);
    return a;
}

TEST(IpReassembler, InOrderAndShuffled)
{
    auto r = std::make_unique<Reassembler>();
    const Bytes payload = pattern(5000, 9);
    IpFields f;
    f.protocol = 17;
    auto parts = fragments(f, payload, 1480);
    ASSERT_EQ(parts.size(), 4u);
    std::mt19937 rng(1);
    for (int round = 0; round < 20; ++round) {
        std::shuffle(parts.begin(), parts.end(), rng);
        for (size_t i = 0; i < parts.size(); ++i) {
            Added a = add(*r, parts[i], 0);
            if (i + 1 < parts.size()) {
                EXPECT_EQ(a.result.outcome, Reassembler::Outcome::held);
                continue;
            }
            ASSERT_EQ(a.result.outcome, Reassembler::Outcome::complete);
            EXPECT_EQ(a.datagram.length, 20 + payload.size());
            EXPECT_EQ(a.datagram.header.total_length, 20 + payload.size());
            EXPECT_FALSE(a.datagram.header.is_fragment());
            EXPECT_EQ(a.datagram.header.protocol, 17);
            EXPECT_EQ(Bytes(a.datagram.bytes + 20, a.datagram.bytes + a.datagram.length), payload);
            // The header bytes are the first fragment's, ready to quote.
            EXPECT_EQ(a.datagram.bytes[0], 0x45);
            r->release(a.datagram);
        }
        EXPECT_EQ(r->in_flight(), 0u);
    }
}

TEST(IpReassembler, LargestDatagramAndOneTooLarge)
{
    auto r = std::make_unique<Reassembler>();
    IpFields f;
    Bytes payload = pattern(65515);
    auto parts = fragments(f, payload, 8 * 1000);
    Added a;
    for (const Bytes& p : parts)
        a = add(*r, p, 0);
    ASSERT_EQ(a.result.outcome, Reassembler::Outcome::complete);
    EXPECT_EQ(a.datagram.length, 65535u);
    r->release(a.datagram);

    // With a 24-byte first header the same payload would make 65539 bytes.
    f.options = {1, 1, 1, 1};
    f.id = 2;
    parts = fragments(f, payload, 8 * 1000);
    IpFields plain = f;
    plain.options.clear();
    // Only the first fragment carries options.
    const auto rebuilt = fragments(plain, payload, 8 * 1000);
    for (size_t i = 1; i < parts.size(); ++i)
        parts[i] = rebuilt[i];
    for (size_t i = 0; i < parts.size(); ++i)
        a = add(*r, parts[i], 0);
    EXPECT_EQ(a.result.outcome, Reassembler::Outcome::inconsistent);
}

TEST(IpReassembler, OverlapsAndDuplicatesDropTheDatagram)
{
    IpFields f;
    const Bytes payload = pattern(64);
    struct Case {
        const char* name;
        std::vector<std::pair<uint16_t, size_t>> pieces; // offset, length (the last piece is the end)
    } cases[] = {
        {"duplicate", {{0, 16}, {0, 16}}},
        {"overlap at start", {{16, 16}, {8, 16}}},
        {"overlap at end", {{0, 16}, {8, 16}}},
        {"inside", {{0, 32}, {8, 8}}},
        {"covering", {{8, 8}, {0, 32}}},
    };
    for (const Case& c : cases) {
        auto r = std::make_unique<Reassembler>();
        Reassembler::Outcome last{};
        for (auto [offset, length] : c.pieces) {
            IpFields g = f;
            g.offset = offset;
            g.mf = true;
            last = add(*r, ipv4(g, Bytes(payload.begin() + offset, payload.begin() + offset + length)), 0)
                       .result.outcome;
        }
        EXPECT_EQ(last, Reassembler::Outcome::overlap) << c.name;
        // The rest of that datagram is refused too, even pieces that would fit.
        IpFields end = f;
        end.offset = 48;
        EXPECT_EQ(add(*r, ipv4(end, Bytes(16, 0)), 0).result.outcome, Reassembler::Outcome::overlap) << c.name;
        EXPECT_EQ(r->in_flight(), 1u);
        // Until the timeout frees the slot, silently (already counted).
        int timeouts = 0;
        r->expire(Reassembler::timeout_ns, [&](const Reassembler::Expired&) { ++timeouts; });
        EXPECT_EQ(timeouts, 0);
        EXPECT_EQ(r->in_flight(), 0u);
    }
}

TEST(IpReassembler, ContradictoryLengthsDropTheDatagram)
{
    struct Piece {
        uint16_t offset;
        size_t length;
        bool mf;
    };
    struct Case {
        const char* name;
        std::vector<Piece> pieces;
    } cases[] = {
        {"beyond the end", {{16, 16, false}, {32, 8, true}}},
        {"two different ends", {{16, 8, false}, {32, 8, false}}},
        {"end before data", {{32, 16, true}, {8, 8, false}}},
    };
    for (const Case& c : cases) {
        auto r = std::make_unique<Reassembler>();
        Reassembler::Outcome last{};
        for (const Piece& p : c.pieces) {
            IpFields g;
            g.offset = p.offset;
            g.mf = p.mf;
            last = add(*r, ipv4(g, Bytes(p.length, 1)), 0).result.outcome;
        }
        EXPECT_EQ(last, Reassembler::Outcome::inconsistent) << c.name;
    }
}

TEST(IpReassembler, TimeoutReportsWhatCanBeQuoted)
{
    auto r = std::make_unique<Reassembler>();
    IpFields f;
    f.mf = true;
    add(*r, ipv4(f, pattern(16)), 1 * s, 2);
    IpFields g;
    g.id = 99;
    g.offset = 64;
    g.mf = true;
    add(*r, ipv4(g, pattern(16)), 2 * s, 1);
    std::vector<Reassembler::Expired> expired;
    r->expire(1 * s + Reassembler::timeout_ns - 1, [&](const Reassembler::Expired& e) { expired.push_back(e); });
    EXPECT_TRUE(expired.empty());
    r->expire(1 * s + Reassembler::timeout_ns, [&](const Reassembler::Expired& e) { expired.push_back(e); });
    ASSERT_EQ(expired.size(), 1u);
    EXPECT_EQ(expired[0].interface, 2u);
    EXPECT_TRUE(expired[0].has_first);
    EXPECT_EQ(expired[0].quote_length, 28u);
    EXPECT_EQ(expired[0].quote[0], 0x45);
    const Bytes data = pattern(16);
    EXPECT_EQ(Bytes(expired[0].quote + 20, expired[0].quote + 28), Bytes(data.begin(), data.begin() + 8));
    expired.clear();
    r->expire(10 * s, [&](const Reassembler::Expired& e) { expired.push_back(e); });
    ASSERT_EQ(expired.size(), 1u);
    EXPECT_FALSE(expired[0].has_first);
    EXPECT_EQ(r->in_flight(), 0u);
}

TEST(IpReassembler, FullTableEvictsTheOldest)
{
    auto r = std::make_unique<Reassembler>();
    for (uint16_t id = 0; id < Reassembler::max_datagrams; ++id) {
        IpFields f;
        f.id = id;
        f.mf = true;
        EXPECT_FALSE(add(*r, ipv4(f, Bytes(8, 0)), id * ms, id % 2).result.evicted);
    }
    IpFields f;
    f.id = 1000;
    f.mf = true;
    Added a = add(*r, ipv4(f, Bytes(8, 0)), 100 * ms);
    EXPECT_EQ(a.result.outcome, Reassembler::Outcome::held);
    EXPECT_TRUE(a.result.evicted);
    EXPECT_EQ(a.result.evicted_interface, 0u); // id 0, the oldest, came in on interface 0
    EXPECT_EQ(r->in_flight(), Reassembler::max_datagrams);
    // id 0's rest now starts a new collection (evicting id 1).
    IpFields end;
    end.id = 0;
    end.offset = 8;
    a = add(*r, ipv4(end, Bytes(8, 0)), 101 * ms);
    EXPECT_EQ(a.result.outcome, Reassembler::Outcome::held);
    EXPECT_TRUE(a.result.evicted);
    EXPECT_EQ(a.result.evicted_interface, 1u);
}

using IpFragmentation = StackTest;

TEST_F(IpFragmentation, LargeSendIsCutAtTheMtu)
{
    const Bytes payload = pattern(4000, 5);
    ASSERT_TRUE(stack->send_ip(peer_ip, 17, payload.data(), payload.size(), now).ok());
    auto sent = nic.take();
    ASSERT_EQ(sent.size(), 3u);
    Bytes joined;
    uint16_t id = get16(sent[0].ip(), 4);
    for (size_t i = 0; i < sent.size(); ++i) {
        const Bytes d = sent[i].ip();
        EXPECT_LE(d.size(), 1500u);
        EXPECT_EQ(ref_checksum(d, 0, 20), 0);
        EXPECT_EQ(get16(d, 4), id);
        const uint16_t flags = get16(d, 6);
        EXPECT_EQ((flags & 0x1FFF) * 8u, joined.size());
        EXPECT_EQ((flags & 0x2000) != 0, i + 1 < sent.size());
        const Bytes p = sent[i].ip_payload();
        if (i + 1 < sent.size()) {
            EXPECT_EQ(p.size(), 1480u);
        }
        joined.insert(joined.end(), p.begin(), p.end());
    }
    EXPECT_EQ(joined, payload);
}

TEST_F(IpFragmentation, OutOfOrderFragmentsAreReassembledAndAnswered)
{
    IpFields f;
    f.id = 0x5151;
    const Bytes data = pattern(3000, 1);
    auto parts = fragments(f, icmp(8, 0, 3, 4, data), 1480);
    ASSERT_EQ(parts.size(), 3u);
    feed(ethernet(our_mac, peer_mac, 0x0800, parts[2]));
    feed(ethernet(our_mac, peer_mac, 0x0800, parts[0]));
    EXPECT_TRUE(nic.take().empty());
    feed(ethernet(our_mac, peer_mac, 0x0800, parts[1]));
    auto sent = nic.take();
    ASSERT_EQ(sent.size(), 3u); // the reply, fragmented the same way
    Bytes reply;
    for (const Sent& s : sent) {
        Bytes p = s.ip_payload();
        reply.insert(reply.end(), p.begin(), p.end());
    }
    EXPECT_EQ(reply, icmp(0, 0, 3, 4, data));
    EXPECT_EQ(drops_since_baseline(), "");
}

TEST_F(IpFragmentation, TwoStacksTalkInFragments)
{
    // Our stack's fragments, shuffled, into a second stack on the peer's address.
    FakeNic peer_nic;
    auto peer = std::make_unique<ip::IpStack>(peer_nic);
    RecordingUpper peer_upper;
    peer->set_upper(&peer_upper);
    ASSERT_TRUE(peer->add_interface(peer_mac).ok());
    ASSERT_TRUE(peer->configure(0, peer_ip, 24).ok());
    const Bytes payload = pattern(20000, 77);
    ASSERT_TRUE(stack->send_ip(peer_ip, 17, payload.data(), payload.size(), now).ok());
    auto sent = nic.take();
    ASSERT_EQ(sent.size(), 14u);
    std::mt19937 rng(7);
    std::shuffle(sent.begin(), sent.end(), rng);
    for (const Sent& s : sent)
        peer->on_frame(0, s.frame.data(), s.frame.size(), now);
    ASSERT_EQ(peer_upper.deliveries.size(), 1u);
    EXPECT_EQ(peer_upper.deliveries[0].payload, payload);
    EXPECT_EQ(peer_upper.deliveries[0].header.source, our_ip);
}

TEST_F(IpFragmentation, OverlappingFragmentsAreDroppedAndCounted)
{
    IpFields f;
    f.id = 0x0BAD;
    const Bytes message = icmp(8, 0, 1, 1, pattern(100));
    IpFields a = f;
    a.mf = true;
    feed(ip_frame(a, Bytes(message.begin(), message.begin() + 64)));
    IpFields b = f;
    b.offset = 56; // overlaps the first by 8 bytes (a teardrop)
    feed(ip_frame(b, Bytes(message.begin() + 56, message.end())));
    EXPECT_EQ(dropped(Drop::fragment_overlap), 1u);
    // What would have completed it is refused too.
    IpFields c = f;
    c.offset = 64;
    feed(ip_frame(c, Bytes(message.begin() + 64, message.end())));
    EXPECT_EQ(dropped(Drop::fragment_overlap), 2u);
    EXPECT_TRUE(nic.take().empty());
    // No timeout is counted for it later.
    stack->tick(now + 10 * s);
    EXPECT_EQ(dropped(Drop::reassembly_timeout), 0u);
}

TEST_F(IpFragmentation, IncompleteDatagramsTimeOutWithAnIcmpError)
{
    IpFields f;
    f.mf = true;
    const Bytes first = ipv4(f, pattern(64));
    feed(ethernet(our_mac, peer_mac, 0x0800, first));
    IpFields g;
    g.id = 2;
    g.offset = 64;
    g.mf = true;
    feed(ip_frame(g, pattern(64)));
    stack->tick(now + Reassembler::timeout_ns - 1);
    EXPECT_EQ(dropped(Drop::reassembly_timeout), 0u);
    stack->tick(now + Reassembler::timeout_ns);
    EXPECT_EQ(dropped(Drop::reassembly_timeout), 2u);
    // Time exceeded (11/1) for the one whose first fragment we had, quoting it.
    auto sent = nic.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].ip_destination(), peer_ip);
    EXPECT_EQ(sent[0].ip_payload(), icmp(11, 1, 0, 0, Bytes(first.begin(), first.begin() + 28)));
}

TEST_F(IpFragmentation, EndlessFragmentsStayBounded)
{
    // A flood of datagrams that never complete: memory stays put, each
    // eviction is counted, and reassembly keeps working afterwards.
    uint64_t at = now;
    for (uint32_t i = 0; i < 5000; ++i) {
        IpFields f;
        f.id = static_cast<uint16_t>(i);
        f.src = ip4(10, 0, 2, static_cast<uint8_t>(100 + i % 50));
        f.offset = static_cast<uint16_t>((i * 8) % 60000);
        f.mf = true;
        feed(ip_frame(f, Bytes(8, 0)), at);
        at += 1000; // 1 µs apart
    }
    EXPECT_EQ(dropped(Drop::reassembly_full), 5000u - Reassembler::max_datagrams);
    // One datagram kept growing with new pieces for ever: also bounded.
    for (uint32_t i = 0; i < 8189; ++i) { // up to offset 65504, the last that fits
        IpFields f;
        f.id = 0xEEEE;
        f.offset = static_cast<uint16_t>(i * 8);
        f.mf = true;
        feed(ip_frame(f, Bytes(8, 0)), at);
    }
    IpFields past;
    past.id = 0xEEEE;
    past.offset = 65520;
    past.mf = true;
    feed(ip_frame(past, Bytes(8, 0)), at);
    EXPECT_EQ(dropped(Drop::ip_bad_fragment), 1u);
    // A real fragmented ping still works.
    IpFields p;
    p.id = 0x4444;
    auto parts = fragments(p, icmp(8, 0, 1, 2, pattern(2000)), 1480);
    for (const Bytes& part : parts)
        feed(ethernet(our_mac, peer_mac, 0x0800, part), at);
    EXPECT_EQ(nic.take().size(), 2u);
}

} // namespace
