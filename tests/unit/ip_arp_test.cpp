// servers/ip ARP: the cache on its own, then the stack answering, learning,
// resolving with a queue, retrying and giving up.
#include <gtest/gtest.h>

#include "arp_cache.hpp"
#include "ip_test_support.hpp"

namespace {

using namespace iptest;
using ip::ArpCache;
using ip::Drop;

TEST(IpArpCache, ResolveUpdateLookup)
{
    ArpCache c;
    ArpCache::Evicted evicted;
    EXPECT_EQ(c.lookup(0, peer_ip, 0), nullptr);
    EXPECT_EQ(c.update(0, peer_ip, peer_mac, 0), ArpCache::Update::absent); // merge only: nothing learned
    EXPECT_EQ(c.resolve(0, peer_ip, 0, evicted), ArpCache::Resolve::started);
    EXPECT_FALSE(evicted.any);
    EXPECT_EQ(c.resolve(0, peer_ip, 0, evicted), ArpCache::Resolve::pending);
    EXPECT_EQ(c.lookup(0, peer_ip, 0), nullptr);
    EXPECT_EQ(c.update(0, peer_ip, peer_mac, 5), ArpCache::Update::resolved);
    ASSERT_NE(c.lookup(0, peer_ip, 5), nullptr);
    EXPECT_EQ(*c.lookup(0, peer_ip, 5), peer_mac);
    EXPECT_EQ(c.lookup(1, peer_ip, 5), nullptr); // per interface
    EXPECT_EQ(c.update(0, peer_ip, gateway_mac, 6), ArpCache::Update::refreshed);
    EXPECT_EQ(*c.lookup(0, peer_ip, 6), gateway_mac);
}

TEST(IpArpCache, EntriesExpireAfterTheirLifetime)
{
    ArpCache c;
    ASSERT_TRUE(c.insert(0, peer_ip, peer_mac, 10 * s));
    EXPECT_NE(c.lookup(0, peer_ip, 10 * s + ArpCache::lifetime_ns - 1), nullptr);
    EXPECT_EQ(c.lookup(0, peer_ip, 10 * s + ArpCache::lifetime_ns), nullptr);
    int requests = 0, failures = 0;
    c.tick(10 * s + ArpCache::lifetime_ns, [&](unsigned, Ipv4Address) { ++requests; },
           [&](unsigned, Ipv4Address) { ++failures; });
    EXPECT_EQ(c.used(), 0u);
    EXPECT_EQ(requests + failures, 0);
}

TEST(IpArpCache, RetriesThenFails)
{
    ArpCache c;
    ArpCache::Evicted evicted;
    ASSERT_EQ(c.resolve(0, peer_ip, 0, evicted), ArpCache::Resolve::started); // request 1 goes out now
    std::vector<uint64_t> requests;
    int failures = 0;
    for (uint64_t t = 0; t <= 5 * s; t += 100 * ms)
        c.tick(t, [&](unsigned, Ipv4Address) { requests.push_back(t); }, [&](unsigned, Ipv4Address ip) {
            EXPECT_EQ(ip, peer_ip);
            ++failures;
        });
    EXPECT_EQ(requests, (std::vector<uint64_t>{1 * s, 2 * s}));
    EXPECT_EQ(failures, 1);
    EXPECT_EQ(c.used(), 0u);
}

TEST(IpArpCache, FullCacheEvictsOldestResolvedThenOldestIncomplete)
{
    ArpCache c;
    for (unsigned i = 0; i < ArpCache::capacity; ++i)
        ASSERT_TRUE(c.insert(0, ip4(10, 0, 3, static_cast<uint8_t>(i)), peer_mac, 100 + i));
    ASSERT_TRUE(c.insert(0, ip4(10, 0, 4, 1), peer_mac, 1000));
    EXPECT_EQ(c.lookup(0, ip4(10, 0, 3, 0), 1000), nullptr); // the oldest went
    EXPECT_NE(c.lookup(0, ip4(10, 0, 3, 1), 1000), nullptr);

    // Full of incomplete entries: learning cannot evict them, a new
    // resolution evicts the one that started first.
    ArpCache pending;
    ArpCache::Evicted evicted;
    for (unsigned i = 0; i < ArpCache::capacity; ++i) {
        ASSERT_EQ(pending.resolve(0, ip4(10, 0, 3, static_cast<uint8_t>(i)), 100 - i, evicted),
                  ArpCache::Resolve::started);
        ASSERT_FALSE(evicted.any);
    }
    EXPECT_FALSE(pending.insert(0, ip4(10, 0, 4, 1), peer_mac, 200));
    EXPECT_EQ(pending.resolve(1, ip4(10, 0, 4, 1), 200, evicted), ArpCache::Resolve::started);
    ASSERT_TRUE(evicted.any);
    EXPECT_EQ(evicted.interface, 0u);
    EXPECT_EQ(evicted.ip, ip4(10, 0, 3, ArpCache::capacity - 1));
    EXPECT_EQ(pending.resolve(1, ip4(10, 0, 4, 1), 200, evicted), ArpCache::Resolve::pending);
}

using IpArp = StackTest;

TEST_F(IpArp, AnswersRequestsForOurAddress)
{
    const MacAddress asker{{0x02, 0, 0, 0, 0, 0x77}};
    feed(ethernet(MacAddress::broadcast(), asker, 0x0806, arp(1, asker, ip4(10, 0, 2, 77), MacAddress{}, our_ip)));
    auto sent = nic.take();
    ASSERT_EQ(sent.size(), 1u);
    Bytes expected = ethernet(asker, our_mac, 0x0806, arp(2, our_mac, our_ip, asker, ip4(10, 0, 2, 77)));
    expected.resize(60, 0);
    EXPECT_EQ(sent[0].frame, expected);
    EXPECT_EQ(stack->counters(0)->tx_packets, baseline.tx_packets + 1);
    EXPECT_EQ(drops_since_baseline(), "");
    // And it learned the asker.
    ASSERT_TRUE(stack->send_ip(ip4(10, 0, 2, 77), 17, pattern(4).data(), 4, now).ok());
    sent = nic.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].destination_mac(), asker);
}

TEST_F(IpArp, AnswersProbesButDoesNotLearnZero)
{
    const MacAddress prober{{0x02, 0, 0, 0, 0, 0x78}};
    feed(ethernet(MacAddress::broadcast(), prober, 0x0806, arp(1, prober, Ipv4Address{}, MacAddress{}, our_ip)));
    auto sent = nic.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(get16(sent[0].frame, 20), 2); // reply
    EXPECT_EQ(stack->arp_cache().used(), 2u);
}

TEST_F(IpArp, IgnoresRequestsForOthersWithoutLearning)
{
    const MacAddress other{{0x02, 0, 0, 0, 0, 0x79}};
    feed(ethernet(MacAddress::broadcast(), other, 0x0806, arp(1, other, ip4(10, 0, 2, 79), MacAddress{}, peer_ip)));
    EXPECT_TRUE(nic.take().empty());
    EXPECT_EQ(dropped(Drop::arp_not_for_us), 1u);
    EXPECT_EQ(stack->arp_cache().used(), 2u);
    // But a known sender's new MAC is taken (merge): the gateway moved.
    const MacAddress moved{{0x02, 0, 0, 0, 0, 0x80}};
    feed(ethernet(MacAddress::broadcast(), moved, 0x0806, arp(1, moved, gateway_ip, MacAddress{}, peer_ip)));
    EXPECT_EQ(dropped(Drop::arp_not_for_us), 1u);
    ASSERT_TRUE(stack->send_ip(remote_ip, 17, pattern(4).data(), 4, now).ok());
    EXPECT_EQ(nic.take().at(0).destination_mac(), moved);
}

TEST_F(IpArp, ResolvesQueuesAndFlushesInOrder)
{
    const Ipv4Address fresh = ip4(10, 0, 2, 50);
    const MacAddress fresh_mac{{0x02, 0, 0, 0, 0, 0x50}};
    for (uint8_t i = 0; i < 3; ++i) {
        Bytes data(10, i);
        ASSERT_TRUE(stack->send_ip(fresh, 17, data.data(), data.size(), now).ok());
    }
    auto sent = nic.take();
    ASSERT_EQ(sent.size(), 1u); // one request for three packets
    Bytes request = ethernet(MacAddress::broadcast(), our_mac, 0x0806, arp(1, our_mac, our_ip, MacAddress{}, fresh));
    request.resize(60, 0);
    EXPECT_EQ(sent[0].frame, request);

    feed(ethernet(our_mac, fresh_mac, 0x0806, arp(2, fresh_mac, fresh, our_mac, our_ip)));
    sent = nic.take();
    ASSERT_EQ(sent.size(), 3u);
    for (uint8_t i = 0; i < 3; ++i) {
        EXPECT_EQ(sent[i].destination_mac(), fresh_mac);
        EXPECT_EQ(sent[i].ip_destination(), fresh);
        EXPECT_EQ(sent[i].ip_payload(), Bytes(10, i));
    }
    EXPECT_EQ(drops_since_baseline(), "");
}

TEST_F(IpArp, RetriesThenDropsQueuedPackets)
{
    const Ipv4Address silent = ip4(10, 0, 2, 51);
    ASSERT_TRUE(stack->send_ip(silent, 17, pattern(8).data(), 8, now).ok());
    ASSERT_TRUE(stack->send_ip(silent, 17, pattern(8).data(), 8, now).ok());
    size_t requests = nic.take().size();
    for (uint64_t t = now; t < now + 10 * s; t += 100 * ms) {
        stack->tick(t);
        requests += nic.take().size();
    }
    EXPECT_EQ(requests, ArpCache::max_requests);
    EXPECT_EQ(dropped(Drop::arp_unresolved), 2u);
    EXPECT_EQ(stack->arp_cache().used(), 2u);
}

TEST_F(IpArp, QueueIsBounded)
{
    const Ipv4Address silent = ip4(10, 0, 2, 52);
    size_t accepted = 0;
    for (size_t i = 0; i < ip::IpStack::pending_capacity + 5; ++i)
        accepted += stack->send_ip(silent, 17, pattern(8).data(), 8, now).ok();
    EXPECT_EQ(accepted, ip::IpStack::pending_capacity);
    EXPECT_EQ(dropped(Drop::arp_queue_full), 5u);
}

TEST_F(IpArp, SilentNextHopsCannotBlockResolution)
{
    // Many on-link hosts that never answer ARP (say, spoofed ping sources).
    for (unsigned i = 0; i < 2 * ArpCache::capacity; ++i)
        (void)stack->send_ip(ip4(10, 0, 2, static_cast<uint8_t>(100 + i)), 17, pattern(8).data(), 8, now + i);
    nic.take();
    // The cache filled up (the two resolved entries made room first); every
    // further host evicted the oldest incomplete entry and its waiting packet.
    EXPECT_EQ(dropped(Drop::arp_unresolved), ArpCache::capacity);
    // A real host still gets resolved and served at once.
    const MacAddress real_mac{{0x02, 0, 0, 0, 0, 0x33}};
    const Ipv4Address real_ip = ip4(10, 0, 2, 33);
    ASSERT_TRUE(stack->send_ip(real_ip, 17, pattern(8).data(), 8, now + 1000).ok());
    EXPECT_EQ(nic.take().size(), 1u); // its request
    feed(ethernet(our_mac, real_mac, 0x0806, arp(2, real_mac, real_ip, our_mac, our_ip)), now + 1000);
    auto sent = nic.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].destination_mac(), real_mac);
}

TEST_F(IpArp, EntriesExpireAndAreResolvedAgain)
{
    const uint64_t later = now + ArpCache::lifetime_ns + 1 * s;
    stack->tick(later);
    EXPECT_EQ(stack->arp_cache().used(), 0u);
    ASSERT_TRUE(stack->send_ip(peer_ip, 17, pattern(8).data(), 8, later).ok());
    auto sent = nic.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].ethertype(), 0x0806);
}

TEST_F(IpArp, RejectsBogusPackets)
{
    struct Case {
        const char* name;
        Bytes payload;
        MacAddress source = peer_mac;
        Drop expected;
    };
    Bytes good = arp(1, peer_mac, peer_ip, MacAddress{}, our_ip);
    auto with = [&](size_t at, uint8_t value) {
        Bytes b = good;
        b[at] = value;
        return b;
    };
    const MacAddress multicast{{0x01, 0, 0x5e, 0, 0, 1}};
    const Case cases[] = {
        {"truncated", Bytes(good.begin(), good.begin() + 27), peer_mac, Drop::arp_malformed},
        {"empty", {}, peer_mac, Drop::arp_malformed},
        {"hardware type", with(1, 7), peer_mac, Drop::arp_malformed},
        {"hardware length 0", with(4, 0), peer_mac, Drop::arp_malformed},
        {"hardware length 255", with(4, 255), peer_mac, Drop::arp_malformed},
        {"protocol type", with(2, 0x86), peer_mac, Drop::arp_malformed},
        {"protocol length 16", with(5, 16), peer_mac, Drop::arp_malformed},
        {"operation 3", with(7, 3), peer_mac, Drop::arp_malformed},
        {"multicast sender", arp(1, multicast, peer_ip, MacAddress{}, our_ip), peer_mac, Drop::arp_bad_sender},
        {"zero sender MAC", arp(1, MacAddress{}, peer_ip, MacAddress{}, our_ip), peer_mac, Drop::arp_bad_sender},
        {"broadcast sender IP", arp(1, peer_mac, Ipv4Address::broadcast(), MacAddress{}, our_ip), peer_mac,
         Drop::arp_bad_sender},
        {"subnet broadcast sender IP", arp(1, peer_mac, ip4(10, 0, 2, 255), MacAddress{}, our_ip), peer_mac,
         Drop::arp_bad_sender},
        {"multicast sender IP", arp(1, peer_mac, ip4(224, 0, 0, 1), MacAddress{}, our_ip), peer_mac,
         Drop::arp_bad_sender},
        {"claims our address", arp(2, peer_mac, our_ip, MacAddress{}, our_ip), peer_mac, Drop::arp_conflict},
    };
    for (const Case& c : cases) {
        const ip::Counters before = *stack->counters(0);
        feed(ethernet(MacAddress::broadcast(), c.source, 0x0806, c.payload));
        EXPECT_TRUE(nic.take().empty()) << c.name;
        const ip::Counters& after = *stack->counters(0);
        for (size_t i = 0; i < ip::drop_reason_count; ++i)
            EXPECT_EQ(after.drops[i] - before.drops[i], i == static_cast<size_t>(c.expected) ? 1u : 0u)
                << c.name << ": " << ip::drop_name(static_cast<Drop>(i));
    }
    // Our cached peer is still there and right.
    ASSERT_TRUE(stack->send_ip(peer_ip, 17, pattern(4).data(), 4, now).ok());
    EXPECT_EQ(nic.take().at(0).destination_mac(), peer_mac);
}

} // namespace
