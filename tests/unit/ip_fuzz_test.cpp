// servers/ip under hostile input: tens of thousands of random and mutated
// frames. The stack must neither crash nor trip ASan/UBSan, must count every
// frame, must keep its memory fixed, and must still answer a ping after.
#include <gtest/gtest.h>

#include <random>

#include "ip_test_support.hpp"

namespace {

using namespace iptest;
using ip::Drop;

class IpFuzz : public StackTest {
protected:
    // Valid frames of every kind the stack understands, to mutate.
    std::vector<Bytes> seeds()
    {
        IpFields frag;
        frag.mf = true;
        frag.id = 0x3333;
        IpFields frag_end;
        frag_end.offset = 1480;
        frag_end.id = 0x3333;
        IpFields udp_fields;
        udp_fields.protocol = 17;
        IpFields options;
        options.options = {1, 1, 7, 7, 4, 0, 0, 0, 0, 0, 0, 0};
        IpFields unknown;
        unknown.protocol = 200;
        IpFields bcast;
        bcast.dst = Ipv4Address::broadcast();
        bcast.protocol = 17;
        return {
            echo_request_frame(1, 1, pattern(56)),
            echo_request_frame(2, 2, {}),
            echo_request_frame(3, 3, pattern(1472)),
            ip_frame(frag, Bytes(1480, 0x11)),
            ip_frame(frag_end, icmp(8, 0, 1, 1, pattern(40))),
            ip_frame(udp_fields, udp(peer_ip, our_ip, 1000, 2000, pattern(30))),
            ip_frame(options, icmp(8, 0, 4, 4, pattern(8))),
            ip_frame(unknown, pattern(40)),
            ethernet(MacAddress::broadcast(), peer_mac, 0x0800, ipv4(bcast, udp(peer_ip, Ipv4Address::broadcast(), 67, 68, pattern(300)))),
            ethernet(MacAddress::broadcast(), peer_mac, 0x0806, arp(1, peer_mac, peer_ip, MacAddress{}, our_ip)),
            ethernet(our_mac, gateway_mac, 0x0806, arp(2, gateway_mac, gateway_ip, our_mac, our_ip)),
            ethernet(MacAddress::broadcast(), peer_mac, 0x0806, arp(1, peer_mac, ip4(10, 0, 2, 7), MacAddress{}, ip4(10, 0, 2, 8))),
        };
    }

    // Fixes the IPv4 header checksum so mutations get past it to the deeper checks.
    static void fix_ip_checksum(Bytes& f)
    {
        if (f.size() < 34 || get16(f, 12) != 0x0800)
            return;
        const size_t header = (f[14] & 0xF) * 4u;
        if (header < 20 || 14 + header > f.size())
            return;
        put16(f, 24, 0);
        put16(f, 24, ref_checksum(f, 14, header));
    }

    Bytes mutate(const Bytes& seed, std::mt19937& rng)
    {
        Bytes f = seed;
        std::uniform_int_distribution<int> kind(0, 9);
        const int k = kind(rng);
        auto any = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
        switch (k) {
        case 0: // flip bits anywhere
            for (int i = 0, n = 1 + static_cast<int>(any(8)); i < n && !f.empty(); ++i)
                f[any(f.size())] ^= static_cast<uint8_t>(1u << any(8));
            break;
        case 1: // random bytes in the IP header, checksum fixed afterwards
            for (int i = 0, n = 1 + static_cast<int>(any(4)); i < n && f.size() > 34; ++i)
                f[14 + any(20)] = static_cast<uint8_t>(any(256));
            fix_ip_checksum(f);
            break;
        case 2: // truncate
            f.resize(any(f.size() + 1));
            break;
        case 3: // extend with garbage
            for (size_t i = 0, n = any(2000); i < n; ++i)
                f.push_back(static_cast<uint8_t>(any(256)));
            break;
        case 4: // lie about lengths: IHL, total length, UDP length
            if (f.size() > 40) {
                f[14] = static_cast<uint8_t>(0x40 | any(16));
                put16(f, 16, static_cast<uint16_t>(any(65536)));
                if (f.size() > 40)
                    put16(f, 38, static_cast<uint16_t>(any(65536)));
                fix_ip_checksum(f);
            }
            break;
        case 5: // fragment fields
            if (f.size() > 34) {
                put16(f, 18, static_cast<uint16_t>(any(65536)));
                put16(f, 20, static_cast<uint16_t>(any(65536)));
                fix_ip_checksum(f);
            }
            break;
        case 6: // ARP fields
            if (f.size() >= 42) {
                f[14 + 4] = static_cast<uint8_t>(any(256));
                f[14 + 5] = static_cast<uint8_t>(any(256));
                put16(f, 14 + 6, static_cast<uint16_t>(any(4)));
            }
            break;
        case 7: // addresses
            if (f.size() > 34) {
                put32(f, 26, static_cast<uint32_t>(rng()));
                if (any(2))
                    put32(f, 30, static_cast<uint32_t>(rng()));
                fix_ip_checksum(f);
            }
            break;
        case 8: // protocol
            if (f.size() > 34) {
                f[23] = static_cast<uint8_t>(any(256));
                fix_ip_checksum(f);
            }
            break;
        default: // ICMP type/code with a fixed ICMP checksum
            if (f.size() > 42 && f[23] == 1) {
                const size_t header = (f[14] & 0xF) * 4u;
                const size_t start = 14 + header;
                if (start + 8 <= f.size()) {
                    f[start] = static_cast<uint8_t>(any(20));
                    f[start + 1] = static_cast<uint8_t>(any(5));
                    put16(f, start + 2, 0);
                    put16(f, start + 2, ref_checksum(f, start, f.size() - start));
                }
            }
            break;
        }
        return f;
    }
};

TEST_F(IpFuzz, TenThousandRandomFramesThenPingStillWorks)
{
    std::mt19937 rng(20240601);
    upper.accept_protocol = 17;
    uint64_t at = now;
    constexpr int frames = 10000;
    size_t bytes = 0;
    for (int i = 0; i < frames; ++i) {
        std::uniform_int_distribution<size_t> length(0, 1600);
        Bytes f(length(rng));
        for (uint8_t& b : f)
            b = static_cast<uint8_t>(rng());
        // Half of them addressed to us, so they get past the MAC check.
        if (i % 2 == 0 && f.size() >= 14) {
            std::memcpy(f.data(), our_mac.bytes, 6);
            f[6] &= 0xFE;
            if (i % 4 == 0) {
                f[12] = 0x08;
                f[13] = static_cast<uint8_t>(i % 8 == 0 ? 0x00 : 0x06);
            }
        }
        bytes += f.size();
        feed(f, at);
        at += 100 * 1000;
        if (i % 100 == 0)
            stack->tick(at);
    }
    const ip::Counters& c = *stack->counters(0);
    EXPECT_EQ(c.rx_packets - baseline.rx_packets, static_cast<uint64_t>(frames));
    EXPECT_EQ(c.rx_bytes - baseline.rx_bytes, bytes);
    // Random bytes are almost never a valid frame for us: nearly all are counted drops.
    EXPECT_GE(c.total_drops() - baseline.total_drops(), static_cast<uint64_t>(frames) * 99 / 100);
    std::printf("random frames: %s\n", drops_since_baseline().c_str());

    nic.take();
    feed(echo_request_frame(0x1111, 1, pattern(56)), at);
    auto sent = nic.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].ip_payload(), icmp(0, 0, 0x1111, 1, pattern(56)));
}

TEST_F(IpFuzz, FiftyThousandMutatedFramesThenPingStillWorks)
{
    std::mt19937 rng(7);
    upper.accept_protocol = 17;
    const std::vector<Bytes> base = seeds();
    uint64_t at = now;
    constexpr int frames = 50000;
    for (int i = 0; i < frames; ++i) {
        const Bytes& seed = base[static_cast<size_t>(i) % base.size()];
        feed(mutate(seed, rng), at);
        at += 50 * 1000;
        if (i % 50 == 0)
            stack->tick(at);
    }
    EXPECT_EQ(stack->counters(0)->rx_packets - baseline.rx_packets, static_cast<uint64_t>(frames));
    std::printf("mutated frames: %s\n", drops_since_baseline().c_str());
    EXPECT_LE(stack->arp_cache().used(), ip::ArpCache::capacity);

    // Let ARP and reassembly settle, then the gateway pings us.
    at += 10 * s;
    stack->tick(at);
    nic.take();
    learn(gateway_mac, gateway_ip, at);
    nic.take();
    feed(echo_request_frame(0x2222, 9, pattern(56), gateway_ip), at);
    auto sent = nic.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].destination_mac(), gateway_mac);
    EXPECT_EQ(sent[0].ip_payload(), icmp(0, 0, 0x2222, 9, pattern(56)));
    // And we can still ping out.
    ASSERT_TRUE(stack->ping(gateway_ip, 1, 1, 56, at).ok());
    EXPECT_EQ(nic.take().size(), 1u);
}

} // namespace
