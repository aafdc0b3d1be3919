// lib/lwip_port's stand-in for lwIP's IPv4 layer, with lwIP in the udp
// server's configuration (servers/udp/lwipopts.h): interface announcements,
// routing, output to "ip", input from it through custom pbufs.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "lwip/init.h"
#include "lwip/ip4.h"
#include "lwip/stats.h"
#include "lwip/udp.h"
#include "lwip_port/external_pbufs.hpp"
#include "lwip_port/ip_layer.hpp"

extern "C" u32_t sys_now(void) { return 0; }
extern "C" uint32_t tern_lwip_random(void) { return 12345; }

namespace {

using tern::lwip::ExternalPbufs;
using tern::lwip::ExternalRelease;
using tern::lwip::from_lwip;
using tern::lwip::IpLayer;
using tern::lwip::IpOutput;
using tern::lwip::to_lwip;

constexpr uint32_t eth0_address = 0x0A00020F; // 10.0.2.15/24, the default route
constexpr uint32_t eth1_address = 0xC0A80702; // 192.168.7.2/16
constexpr uint8_t udp = 17;

struct Sent {
    uint32_t source;
    uint32_t destination;
    uint8_t protocol;
    std::vector<uint8_t> bytes;
};

class RecordingOutput final : public IpOutput {
public:
    err_t output(struct pbuf* p, uint32_t source, uint32_t destination, uint8_t protocol) override
    {
        Sent s{source, destination, protocol, std::vector<uint8_t>(p->tot_len)};
        pbuf_copy_partial(p, s.bytes.data(), p->tot_len, 0);
        sent.push_back(s);
        return ERR_OK;
    }
    std::vector<Sent> sent;
};

class ReleaseLog final : public ExternalRelease<int> {
public:
    void release(const int& cookie) override { released.push_back(cookie); }
    std::vector<int> released;
};

struct Received {
    uint32_t from;
    uint16_t port;
    std::vector<uint8_t> bytes;
};

class LwipIpLayer : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        static bool initialised = false; // lwIP's globals live as long as the process
        if (!initialised)
            lwip_init();
        initialised = true;
    }

    void SetUp() override
    {
        layer.set_output(&output);
        ASSERT_TRUE(layer.interface_changed(0, eth0_address, 24, 1500, true, true));
        ASSERT_TRUE(layer.interface_changed(1, eth1_address, 16, 9000, true, false));
    }

    void TearDown() override
    {
        for (struct udp_pcb* pcb : pcbs)
            udp_remove(pcb);
    }

    struct udp_pcb* bound(uint32_t address, uint16_t port)
    {
        struct udp_pcb* pcb = udp_new();
        EXPECT_NE(pcb, nullptr);
        const ip_addr_t local = to_lwip(address);
        EXPECT_EQ(udp_bind(pcb, &local, port), ERR_OK);
        udp_recv(pcb, [](void* arg, struct udp_pcb*, struct pbuf* p, const ip_addr_t* from, u16_t port) {
            Received r{from_lwip(*from), port, std::vector<uint8_t>(p->tot_len)};
            pbuf_copy_partial(p, r.bytes.data(), p->tot_len, 0);
            static_cast<LwipIpLayer*>(arg)->received.push_back(r);
            pbuf_free(p);
        }, this);
        pcbs.push_back(pcb);
        return pcb;
    }

    // A UDP datagram as ip delivers it: header (checksum 0) and payload.
    static std::vector<uint8_t> udp_datagram(uint16_t from_port, uint16_t to_port, const char* payload)
    {
        const size_t n = std::strlen(payload);
        std::vector<uint8_t> d(8 + n);
        d[0] = static_cast<uint8_t>(from_port >> 8);
        d[1] = static_cast<uint8_t>(from_port);
        d[2] = static_cast<uint8_t>(to_port >> 8);
        d[3] = static_cast<uint8_t>(to_port);
        d[4] = static_cast<uint8_t>(d.size() >> 8);
        d[5] = static_cast<uint8_t>(d.size());
        std::memcpy(d.data() + 8, payload, n);
        return d;
    }

    RecordingOutput output;
    ReleaseLog log;
    ExternalPbufs<int, 4> external{log};
    std::vector<struct udp_pcb*> pcbs;
    std::vector<Received> received;
    IpLayer layer; // last: it removes its netifs before the rest goes
};

TEST_F(LwipIpLayer, RoutesToTheLongestMatchingSubnetElseTheDefaultRoute)
{
    EXPECT_EQ(layer.route(0x0A000201), layer.netif(0)); // 10.0.2.1
    EXPECT_EQ(layer.route(0xC0A80101), layer.netif(1)); // 192.168.1.1
    EXPECT_EQ(layer.route(0x08080808), layer.netif(0)); // 8.8.8.8: default route
    EXPECT_EQ(layer.route(0xFFFFFFFF), layer.netif(0)); // limited broadcast
    EXPECT_EQ(layer.route(0x7F000001), nullptr);        // loopback
    EXPECT_EQ(layer.route(0), nullptr);

    // A narrower subnet inside eth0's wins.
    ASSERT_TRUE(layer.interface_changed(2, 0x0A000281, 25, 1500, true, false)); // 10.0.2.129/25
    EXPECT_EQ(layer.route(0x0A0002C8), layer.netif(2));                         // 10.0.2.200
    EXPECT_EQ(layer.route(0x0A000205), layer.netif(0));                         // 10.0.2.5

    // lwIP asks through ip4_route(), in network order.
    const ip_addr_t google = to_lwip(0x08080808);
    EXPECT_EQ(ip4_route(&google), layer.netif(0));
}

TEST_F(LwipIpLayer, NothingRoutesThroughALinkThatIsDownOrAnInterfaceWithoutAddress)
{
    ASSERT_TRUE(layer.interface_changed(0, eth0_address, 24, 1500, false, true));
    EXPECT_EQ(layer.route(0x0A000201), nullptr);
    EXPECT_EQ(layer.route(0x08080808), nullptr) << "the default route's link is down";
    EXPECT_EQ(layer.route(0xC0A80101), layer.netif(1));

    ASSERT_TRUE(layer.interface_changed(1, 0, 0, 1500, true, false));
    EXPECT_EQ(layer.route(0xC0A80101), nullptr);

    layer.forget_interfaces();
    ASSERT_TRUE(layer.interface_changed(1, eth1_address, 16, 1500, true, false));
    EXPECT_EQ(layer.route(0xC0A80101), layer.netif(1));
    EXPECT_EQ(layer.route(0x0A000201), nullptr) << "forgotten until announced again";
}

TEST_F(LwipIpLayer, RefusesAnnouncementsItCannotUse)
{
    EXPECT_FALSE(layer.interface_changed(IpLayer::max_interfaces, eth0_address, 24, 1500, true, false));
    EXPECT_FALSE(layer.interface_changed(0, eth0_address, 33, 1500, true, false));
    EXPECT_FALSE(layer.interface_changed(0, eth0_address, 24, IpLayer::minimum_mtu - 1, true, false));
    EXPECT_EQ(layer.route(0x0A000201), layer.netif(0)) << "unchanged";
    EXPECT_EQ(layer.netif(3), nullptr);
    EXPECT_EQ(layer.interface_of(layer.netif(1)), 1);
    EXPECT_EQ(layer.interface_of(nullptr), -1);
    EXPECT_EQ(layer.netif(1)->mtu, 9000);
}

TEST_F(LwipIpLayer, SentDatagramsReachTheOutputFromTheTransportHeaderOn)
{
    struct udp_pcb* pcb = bound(0, 5000);
    const u32_t xmit = lwip_stats.ip.xmit;
    struct pbuf* p = pbuf_alloc(PBUF_TRANSPORT, 3, PBUF_RAM);
    ASSERT_NE(p, nullptr);
    std::memcpy(p->payload, "abc", 3);
    const ip_addr_t to = to_lwip(0x0A000201);
    EXPECT_EQ(udp_sendto(pcb, p, &to, 53), ERR_OK);
    pbuf_free(p);

    ASSERT_EQ(output.sent.size(), 1u);
    const Sent& s = output.sent[0];
    EXPECT_EQ(s.source, eth0_address) << "UDP puts in the routed interface's address";
    EXPECT_EQ(s.destination, 0x0A000201u);
    EXPECT_EQ(s.protocol, udp);
    ASSERT_EQ(s.bytes.size(), 11u);
    EXPECT_EQ(s.bytes[0] << 8 | s.bytes[1], 5000);
    EXPECT_EQ(s.bytes[2] << 8 | s.bytes[3], 53);
    EXPECT_EQ(s.bytes[4] << 8 | s.bytes[5], 11);
    EXPECT_EQ(s.bytes[6] | s.bytes[7], 0) << "no checksum: ip fills it in";
    EXPECT_EQ(std::memcmp(s.bytes.data() + 8, "abc", 3), 0);
    EXPECT_EQ(lwip_stats.ip.xmit, xmit + 1);

    // Nowhere to go: lwIP's error, nothing sent.
    p = pbuf_alloc(PBUF_TRANSPORT, 1, PBUF_RAM);
    const ip_addr_t loopback = to_lwip(0x7F000001);
    EXPECT_EQ(udp_sendto(pcb, p, &loopback, 53), ERR_RTE);
    pbuf_free(p);
    EXPECT_EQ(output.sent.size(), 1u);
}

TEST_F(LwipIpLayer, WithoutAnOutputSendingFails)
{
    layer.set_output(nullptr);
    struct udp_pcb* pcb = bound(0, 5001);
    struct pbuf* p = pbuf_alloc(PBUF_TRANSPORT, 1, PBUF_RAM);
    const ip_addr_t to = to_lwip(0x0A000201);
    EXPECT_EQ(udp_sendto(pcb, p, &to, 53), ERR_IF);
    pbuf_free(p);
}

TEST_F(LwipIpLayer, DeliveredDatagramsReachThePcbWithoutACopyAndTheBufferComesBack)
{
    bound(eth0_address, 7000);
    std::vector<uint8_t> bytes = udp_datagram(1234, 7000, "ping");
    struct pbuf* p = external.wrap(bytes.data(), static_cast<uint16_t>(bytes.size()), 42);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->payload, bytes.data());
    EXPECT_EQ(external.in_use(), 1u);

    EXPECT_TRUE(layer.input(p, 0x0A000201, eth0_address, 0, udp));
    ASSERT_EQ(received.size(), 1u);
    EXPECT_EQ(received[0].from, 0x0A000201u);
    EXPECT_EQ(received[0].port, 1234);
    EXPECT_EQ(std::string(received[0].bytes.begin(), received[0].bytes.end()), "ping");
    EXPECT_EQ(log.released, std::vector<int>{42});
    EXPECT_EQ(external.in_use(), 0u);
}

TEST_F(LwipIpLayer, DroppedDatagramsGiveTheirBufferBackToo)
{
    std::vector<uint8_t> bytes = udp_datagram(1234, 7001, "x");
    const auto length = static_cast<uint16_t>(bytes.size());
    // No such interface, a protocol this lwIP lacks, no pcb on the port.
    EXPECT_FALSE(layer.input(external.wrap(bytes.data(), length, 1), 0x0A000201, eth0_address, 3, udp));
    EXPECT_FALSE(layer.input(external.wrap(bytes.data(), length, 2), 0x0A000201, eth0_address, 0, 6));
    EXPECT_TRUE(layer.input(external.wrap(bytes.data(), length, 3), 0x0A000201, eth0_address, 0, udp));
    EXPECT_EQ(log.released, (std::vector<int>{1, 2, 3}));
    EXPECT_TRUE(received.empty());
}

TEST_F(LwipIpLayer, ExternalPbufsRunOutAndComeBack)
{
    uint8_t bytes[8] = {};
    struct pbuf* held[4];
    for (int i = 0; i < 4; ++i) {
        held[i] = external.wrap(bytes, sizeof(bytes), i);
        ASSERT_NE(held[i], nullptr);
    }
    EXPECT_EQ(external.wrap(bytes, sizeof(bytes), 9), nullptr);
    pbuf_ref(held[2]);
    pbuf_free(held[2]); // still referenced
    EXPECT_TRUE(log.released.empty());
    pbuf_free(held[2]);
    EXPECT_EQ(log.released, std::vector<int>{2});
    struct pbuf* again = external.wrap(bytes, sizeof(bytes), 10);
    ASSERT_NE(again, nullptr);
    // A chain frees every link.
    pbuf_cat(held[0], held[1]);
    pbuf_free(held[0]);
    pbuf_free(held[3]);
    EXPECT_EQ(log.released, (std::vector<int>{2, 0, 1, 3}));
    EXPECT_EQ(external.in_use(), 1u);
    pbuf_free(again);
    EXPECT_EQ(external.in_use(), 0u);
}

TEST_F(LwipIpLayer, ANewAddressMovesBoundPcbsAsLwipDoes)
{
    struct udp_pcb* pcb = bound(eth0_address, 7002);
    ASSERT_TRUE(layer.interface_changed(0, 0x0A000210, 24, 1500, true, true)); // DHCP: 10.0.2.16
    EXPECT_EQ(from_lwip(pcb->local_ip), 0x0A000210u);
    EXPECT_EQ(from_lwip(*netif_ip4_addr(layer.netif(0))), 0x0A000210u);
    ASSERT_TRUE(layer.interface_changed(0, 0, 0, 1500, true, true)); // lease lost
    EXPECT_EQ(from_lwip(pcb->local_ip), 0x0A000210u) << "lwIP leaves UDP pcbs on the lost address";
    EXPECT_EQ(layer.route(0x08080808), nullptr);
}

TEST_F(LwipIpLayer, BroadcastsAreRecognisedPerSubnetExceptOnSlash31)
{
    bound(0, 7003);
    std::vector<uint8_t> bytes = udp_datagram(68, 7003, "b");
    EXPECT_TRUE(layer.input(external.wrap(bytes.data(), static_cast<uint16_t>(bytes.size()), 1), 0x0A000201,
                            0x0A0002FF, 0, udp)); // 10.0.2.255
    EXPECT_EQ(received.size(), 1u);

    // On a /31 the other end is no broadcast address: sending to it works
    // without SO_BROADCAST.
    ASSERT_TRUE(layer.interface_changed(2, 0xAC100000, 31, 1500, true, false)); // 172.16.0.0/31
    struct udp_pcb* pcb = bound(0, 7004);
    struct pbuf* p = pbuf_alloc(PBUF_TRANSPORT, 1, PBUF_RAM);
    const ip_addr_t peer = to_lwip(0xAC100001);
    EXPECT_EQ(udp_sendto(pcb, p, &peer, 9), ERR_OK);
    // ... while the subnet broadcast of a /24 needs it (IP_SOF_BROADCAST).
    const ip_addr_t broadcast = to_lwip(0x0A0002FF);
    EXPECT_EQ(udp_sendto(pcb, p, &broadcast, 9), ERR_VAL);
    pbuf_free(p);
}

} // namespace
