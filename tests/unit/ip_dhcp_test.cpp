// servers/ip DHCP client: the state machine against a scripted server
// (DISCOVER → OFFER → REQUEST → ACK, renewal, rebinding, expiry, NAK),
// retransmission timing, malformed replies; then the same exchange through
// the stack as real frames.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>

#include "dhcp_client.hpp"
#include "ip_test_support.hpp"

namespace {

using namespace iptest;
using ip::DhcpClient;
using ip::DhcpLease;
using State = DhcpClient::State;

const Ipv4Address server_ip = gateway_ip;
const Ipv4Address offered_ip = our_ip;
const Ipv4Address dns_ip = ip4(10, 0, 2, 3);

struct Message {
    Bytes bytes;
    std::map<uint8_t, Bytes> options;

    uint8_t type() const { return options.count(53) ? options.at(53).at(0) : 0; }
    uint32_t xid() const { return get32(bytes, 4); }
    Ipv4Address ciaddr() const { return {get32(bytes, 12)}; }
    uint16_t flags() const { return get16(bytes, 10); }
    Ipv4Address option_address(uint8_t code) const { return {get32(options.at(code), 0)}; }
};

// Reads a client message the way a server would (by offsets, independently of lib/net).
Message read_message(const uint8_t* p, size_t n)
{
    Message m;
    m.bytes.assign(p, p + n);
    EXPECT_GE(n, 300u);
    EXPECT_EQ(p[0], 1);
    EXPECT_EQ(p[1], 1);
    EXPECT_EQ(p[2], 6);
    EXPECT_EQ(get_mac(m.bytes, 28), our_mac);
    EXPECT_EQ(get32(m.bytes, 236), 0x63825363u);
    size_t i = 240;
    while (i < n && p[i] != 255) {
        if (p[i] == 0) {
            ++i;
            continue;
        }
        m.options[p[i]] = Bytes(p + i + 2, p + i + 2 + p[i + 1]);
        i += 2 + p[i + 1];
    }
    EXPECT_LT(i, n) << "no End option";
    return m;
}

Bytes default_options()
{
    return {1, 4, 255, 255, 255, 0, 3, 4, 10, 0, 2, 2, 6, 4, 10, 0, 2, 3, 51, 4, 0, 1, 0x51, 0x80};
}

// A server reply: BOOTREPLY with message type and server id, then `extra` options.
Bytes reply(uint8_t type, uint32_t xid, Ipv4Address yiaddr, const Bytes& extra = default_options(),
            Ipv4Address server = server_ip)
{
    Bytes m(240);
    m[0] = 2;
    m[1] = 1;
    m[2] = 6;
    put32(m, 4, xid);
    put32(m, 16, yiaddr.value);
    put32(m, 20, server.value);
    put_mac(m, 28, our_mac);
    put32(m, 236, 0x63825363);
    const Bytes head = {53, 1, type, 54, 4, server.octet(0), server.octet(1), server.octet(2), server.octet(3)};
    m.insert(m.end(), head.begin(), head.end());
    m.insert(m.end(), extra.begin(), extra.end());
    m.push_back(255);
    return m;
}

class FakeHost : public ip::DhcpHost {
public:
    void dhcp_send(unsigned interface, Ipv4Address destination, const uint8_t* message, size_t length) override
    {
        EXPECT_EQ(interface, 0u);
        destinations.push_back(destination);
        sent.push_back(read_message(message, length));
    }
    void dhcp_bound(unsigned, const DhcpLease& lease) override { leases.push_back(lease); }
    void dhcp_lost(unsigned) override { ++lost; }

    std::vector<Message> sent;
    std::vector<Ipv4Address> destinations;
    std::vector<DhcpLease> leases;
    int lost = 0;
};

class IpDhcpClient : public ::testing::Test {
protected:
    void SetUp() override { client.start(host, 0, our_mac, 1234, 0); }

    bool receive(const Bytes& m, uint64_t at = 0) { return client.on_message(m.data(), m.size(), at); }

    // DISCOVER → OFFER → REQUEST → ACK at time `at`.
    void bind(uint64_t at = 0, const Bytes& ack_options = default_options())
    {
        ASSERT_TRUE(receive(reply(2, client.transaction_id(), offered_ip), at));
        ASSERT_TRUE(receive(reply(5, client.transaction_id(), offered_ip, ack_options), at));
        ASSERT_EQ(client.state(), State::bound);
    }

    FakeHost host;
    DhcpClient client;
};

TEST_F(IpDhcpClient, FullExchange)
{
    ASSERT_EQ(host.sent.size(), 1u);
    const Message discover = host.sent[0];
    EXPECT_EQ(host.destinations[0], Ipv4Address::broadcast());
    EXPECT_EQ(discover.type(), 1);
    EXPECT_EQ(discover.flags(), 0x8000);
    EXPECT_EQ(discover.xid(), client.transaction_id());
    EXPECT_EQ(discover.options.at(61), (Bytes{1, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56}));
    const Bytes& wanted = discover.options.at(55);
    for (uint8_t code : {1, 3, 6, 51})
        EXPECT_NE(std::find(wanted.begin(), wanted.end(), code), wanted.end()) << int(code);
    EXPECT_EQ(client.state(), State::selecting);

    ASSERT_TRUE(receive(reply(2, discover.xid(), offered_ip), 1 * s));
    ASSERT_EQ(host.sent.size(), 2u);
    const Message request = host.sent[1];
    EXPECT_EQ(request.type(), 3);
    EXPECT_EQ(request.xid(), discover.xid());
    EXPECT_EQ(request.option_address(50), offered_ip);
    EXPECT_EQ(request.option_address(54), server_ip);
    EXPECT_EQ(request.ciaddr(), Ipv4Address{});
    EXPECT_EQ(client.state(), State::requesting);

    ASSERT_TRUE(receive(reply(5, discover.xid(), offered_ip), 1 * s));
    EXPECT_EQ(client.state(), State::bound);
    ASSERT_EQ(host.leases.size(), 1u);
    const DhcpLease& lease = host.leases[0];
    EXPECT_EQ(lease.address, offered_ip);
    EXPECT_EQ(lease.prefix_length, 24);
    EXPECT_EQ(lease.router, gateway_ip);
    ASSERT_EQ(lease.dns_count, 1u);
    EXPECT_EQ(lease.dns[0], dns_ip);
    EXPECT_EQ(lease.server, server_ip);
    EXPECT_EQ(lease.lease_seconds, 86400u);
    EXPECT_EQ(lease.renewal_seconds, 43200u);
    EXPECT_EQ(lease.rebinding_seconds, 75600u);
    // Nothing more to say until T1.
    client.tick(43199 * s);
    EXPECT_EQ(host.sent.size(), 2u);
    EXPECT_FALSE(receive(reply(5, discover.xid(), offered_ip), 2 * s)); // a late duplicate ACK
}

TEST_F(IpDhcpClient, DiscoverBacksOffExponentially)
{
    std::vector<uint64_t> times;
    for (uint64_t t = 0; t <= 200 * s; t += 500 * ms) {
        const size_t before = host.sent.size();
        client.tick(t);
        if (host.sent.size() != before)
            times.push_back(t / s);
    }
    EXPECT_EQ(times, (std::vector<uint64_t>{4, 12, 28, 60, 124, 188}));
    for (const Message& m : host.sent) {
        EXPECT_EQ(m.type(), 1);
        EXPECT_EQ(m.xid(), client.transaction_id()); // retransmissions keep the transaction
    }
    EXPECT_EQ(get16(host.sent.back().bytes, 8), 188); // secs since the start
    EXPECT_EQ(client.next_event_ns(), 252 * s);
}

TEST_F(IpDhcpClient, UnansweredRequestStartsOver)
{
    const uint32_t first_xid = client.transaction_id();
    ASSERT_TRUE(receive(reply(2, first_xid, offered_ip)));
    host.sent.clear();
    for (uint64_t t = 0; t <= 60 * s; t += 500 * ms)
        client.tick(t);
    // REQUEST at 0 (from the offer), again at 4, 12, 28; then a new DISCOVER at 60.
    ASSERT_EQ(host.sent.size(), 4u);
    for (size_t i = 0; i < 3; ++i)
        EXPECT_EQ(host.sent[i].type(), 3);
    EXPECT_EQ(host.sent[3].type(), 1);
    EXPECT_NE(host.sent[3].xid(), first_xid);
    EXPECT_EQ(client.state(), State::selecting);
}

TEST_F(IpDhcpClient, NakStartsOver)
{
    const uint32_t first_xid = client.transaction_id();
    ASSERT_TRUE(receive(reply(2, first_xid, offered_ip)));
    ASSERT_TRUE(receive(reply(6, first_xid, Ipv4Address{}, {})));
    EXPECT_EQ(client.state(), State::selecting);
    EXPECT_EQ(host.sent.back().type(), 1);
    EXPECT_NE(client.transaction_id(), first_xid);
    EXPECT_TRUE(host.leases.empty());
}

TEST_F(IpDhcpClient, IgnoresEveryMalformedOrForeignReply)
{
    const uint32_t xid = client.transaction_id();
    auto damaged = [&](std::function<void(Bytes&)> damage, uint8_t type = 2) {
        Bytes m = reply(type, xid, offered_ip);
        damage(m);
        return m;
    };
    const MacAddress someone{{0x02, 9, 9, 9, 9, 9}};
    const std::vector<std::pair<const char*, Bytes>> offers = {
        {"empty", {}},
        {"239 bytes", damaged([](Bytes& m) { m.resize(239); })},
        {"other xid", reply(2, xid + 1, offered_ip)},
        {"other client", damaged([&](Bytes& m) { put_mac(m, 28, someone); })},
        {"a request", damaged([](Bytes& m) { m[0] = 1; })},
        {"hardware type", damaged([](Bytes& m) { m[1] = 6; })},
        {"hardware length", damaged([](Bytes& m) { m[2] = 16; })},
        {"magic", damaged([](Bytes& m) { m[239] ^= 1; })},
        {"no message type", damaged([](Bytes& m) { m[240] = 0, m[241] = 0, m[242] = 0; })},
        {"message type length 2", damaged([](Bytes& m) { m[241] = 2; })},
        {"option past the end", damaged([](Bytes& m) { m.pop_back(); m.push_back(51); m.push_back(200); })},
        {"lease of 3 bytes", reply(2, xid, offered_ip, {51, 3, 1, 2, 3})},
        {"mask of 5 bytes", reply(2, xid, offered_ip, {1, 5, 255, 255, 255, 0, 0})},
        {"router of 6 bytes", reply(2, xid, offered_ip, {3, 6, 10, 0, 2, 2, 0, 0})},
        {"offer of 0.0.0.0", reply(2, xid, Ipv4Address{})},
        {"offer of a broadcast", reply(2, xid, Ipv4Address::broadcast())},
        {"offer of multicast", reply(2, xid, ip4(239, 1, 1, 1))},
        {"an ACK while selecting", reply(5, xid, offered_ip)},
        {"no server id", damaged([](Bytes& m) { m[243] = 12; /* turn option 54 into a host name */ })},
        {"server id 0.0.0.0", reply(2, xid, offered_ip, default_options(), Ipv4Address{})},
    };
    for (const auto& [name, m] : offers) {
        EXPECT_FALSE(receive(m)) << name;
        EXPECT_EQ(client.state(), State::selecting) << name;
    }
    EXPECT_EQ(host.sent.size(), 1u);

    ASSERT_TRUE(receive(reply(2, xid, offered_ip)));
    const std::vector<std::pair<const char*, Bytes>> acks = {
        {"ACK from another server", reply(5, xid, offered_ip, default_options(), ip4(10, 0, 2, 4))},
        {"ACK for another address", reply(5, xid, ip4(10, 0, 2, 16))},
        {"ACK without lease time", reply(5, xid, offered_ip, {1, 4, 255, 255, 255, 0})},
        {"ACK with lease time 0", reply(5, xid, offered_ip, {51, 4, 0, 0, 0, 0})},
        {"ACK with a holey mask", reply(5, xid, offered_ip, {1, 4, 255, 0, 255, 0, 51, 4, 0, 0, 1, 0})},
        {"ACK with mask 0", reply(5, xid, offered_ip, {1, 4, 0, 0, 0, 0, 51, 4, 0, 0, 1, 0})},
        {"NAK from another server", reply(6, xid, Ipv4Address{}, {}, ip4(10, 0, 2, 4))},
        {"an OFFER while requesting", reply(2, xid, offered_ip)},
        {"other xid", reply(5, xid ^ 0x100, offered_ip)},
    };
    for (const auto& [name, m] : acks) {
        EXPECT_FALSE(receive(m)) << name;
        EXPECT_EQ(client.state(), State::requesting) << name;
    }
    EXPECT_TRUE(host.leases.empty());
    ASSERT_TRUE(receive(reply(5, xid, offered_ip)));
    EXPECT_EQ(client.state(), State::bound);
}

TEST_F(IpDhcpClient, OptionalFieldsAndDefaults)
{
    // No mask: the classful one; no router; a bad router and DNS entries are skipped;
    // server T1/T2 used when they make sense.
    bind(0, {3, 4, 255, 255, 255, 255, 6, 8, 0, 0, 0, 0, 10, 0, 2, 3, 51, 4, 0, 0, 0, 100, 58, 4, 0, 0, 0, 10, 59, 4,
             0, 0, 0, 20});
    const DhcpLease& lease = host.leases.at(0);
    EXPECT_EQ(lease.prefix_length, 8); // 10/8
    EXPECT_EQ(lease.router, Ipv4Address{});
    ASSERT_EQ(lease.dns_count, 1u);
    EXPECT_EQ(lease.dns[0], dns_ip);
    EXPECT_EQ(lease.renewal_seconds, 10u);
    EXPECT_EQ(lease.rebinding_seconds, 20u);
}

TEST_F(IpDhcpClient, RenewsRebindsAndLosesTheLease)
{
    bind(0, {1, 4, 255, 255, 255, 0, 51, 4, 0, 0, 0x0E, 0x10}); // one hour: T1 30 min, T2 52.5 min
    host.sent.clear();
    client.tick(1799 * s);
    EXPECT_TRUE(host.sent.empty());
    client.tick(1800 * s);
    ASSERT_EQ(host.sent.size(), 1u);
    EXPECT_EQ(client.state(), State::renewing);
    EXPECT_EQ(host.destinations.back(), server_ip); // unicast to the server
    EXPECT_EQ(host.sent[0].type(), 3);
    EXPECT_EQ(host.sent[0].ciaddr(), offered_ip);
    EXPECT_EQ(host.sent[0].flags(), 0);
    EXPECT_EQ(host.sent[0].options.count(50), 0u); // no requested address or server id when renewing
    EXPECT_EQ(host.sent[0].options.count(54), 0u);
    // Retries after half the time to T2 (at least 60 s): at 2475 s.
    client.tick(2474 * s);
    EXPECT_EQ(host.sent.size(), 1u);
    client.tick(2475 * s);
    EXPECT_EQ(host.sent.size(), 2u);
    // T2: rebinding, broadcast.
    client.tick(3150 * s);
    EXPECT_EQ(client.state(), State::rebinding);
    EXPECT_EQ(host.destinations.back(), Ipv4Address::broadcast());
    // An ACK renews the lease from now.
    ASSERT_TRUE(receive(reply(5, client.transaction_id(), offered_ip, {1, 4, 255, 255, 255, 0, 51, 4, 0, 0, 0x0E, 0x10}),
                        3200 * s));
    EXPECT_EQ(client.state(), State::bound);
    EXPECT_EQ(host.leases.size(), 2u);
    // Then silence: renewing, rebinding, and at 3200 + 3600 s the lease is gone.
    for (uint64_t t = 3200 * s; t < 6800 * s; t += 10 * s)
        client.tick(t);
    EXPECT_EQ(host.lost, 0);
    client.tick(6800 * s);
    EXPECT_EQ(host.lost, 1);
    EXPECT_EQ(client.state(), State::selecting);
    EXPECT_EQ(host.sent.back().type(), 1);
}

TEST_F(IpDhcpClient, NakWhileRenewingLosesTheAddress)
{
    bind(0, {1, 4, 255, 255, 255, 0, 51, 4, 0, 0, 0x0E, 0x10});
    client.tick(1800 * s);
    ASSERT_TRUE(receive(reply(6, client.transaction_id(), Ipv4Address{}, {}), 1801 * s));
    EXPECT_EQ(host.lost, 1);
    EXPECT_EQ(client.state(), State::selecting);
}

TEST_F(IpDhcpClient, InfiniteLeaseNeverRenews)
{
    bind(0, {51, 4, 0xFF, 0xFF, 0xFF, 0xFF});
    host.sent.clear();
    client.tick(UINT64_MAX - 1);
    EXPECT_TRUE(host.sent.empty());
    EXPECT_EQ(client.state(), State::bound);
}

// The same exchange as frames through the stack, as QEMU's slirp does it.
class IpDhcpStack : public ::testing::Test {
protected:
    void SetUp() override
    {
        stack = std::make_unique<ip::IpStack>(nic);
        ASSERT_TRUE(stack->add_interface(our_mac).ok());
        ASSERT_TRUE(stack->start_dhcp(0, 42, 0).ok());
    }

    // The one DHCP message the stack just sent, checked down to the Ethernet header.
    Message take_message(bool broadcast = true)
    {
        auto sent = nic.take();
        EXPECT_EQ(sent.size(), 1u);
        if (sent.empty())
            return {};
        const Sent& f = sent[0];
        EXPECT_EQ(f.ethertype(), 0x0800);
        if (broadcast) {
            EXPECT_EQ(f.destination_mac(), MacAddress::broadcast());
            EXPECT_EQ(f.ip_source(), Ipv4Address{});
            EXPECT_EQ(f.ip_destination(), Ipv4Address::broadcast());
        }
        EXPECT_EQ(f.protocol(), 17);
        const Bytes d = f.ip();
        EXPECT_EQ(ref_checksum(d, 0, 20), 0);
        const Bytes u = f.ip_payload();
        EXPECT_EQ(get16(u, 0), 68);
        EXPECT_EQ(get16(u, 2), 67);
        EXPECT_EQ(get16(u, 4), u.size());
        // The UDP checksum over the pseudo-header comes out right.
        Bytes check = udp(f.ip_source(), f.ip_destination(), 68, 67, Bytes(u.begin() + 8, u.end()));
        EXPECT_EQ(get16(check, 6), get16(u, 6));
        return read_message(u.data() + 8, u.size() - 8);
    }

    Bytes server_frame(const Bytes& message, Ipv4Address to = Ipv4Address::broadcast(), bool good_checksum = true)
    {
        IpFields f;
        f.src = server_ip;
        f.dst = to;
        f.protocol = 17;
        Bytes u = udp(server_ip, to, 67, 68, message);
        if (!good_checksum)
            u[6] ^= 0x55;
        return ethernet(to.is_broadcast() ? MacAddress::broadcast() : our_mac, gateway_mac, 0x0800, ipv4(f, u));
    }

    void feed(const Bytes& frame, uint64_t at = 0) { stack->on_frame(0, frame.data(), frame.size(), at); }

    FakeNic nic;
    std::unique_ptr<ip::IpStack> stack;
};

TEST_F(IpDhcpStack, ConfiguresTheInterfaceLikeQemuUserNetworking)
{
    const Message discover = take_message();
    EXPECT_EQ(discover.type(), 1);
    EXPECT_FALSE(stack->interface(0)->configured());
    const uint64_t generation = stack->generation();

    feed(server_frame(reply(2, discover.xid(), offered_ip)));
    const Message request = take_message();
    EXPECT_EQ(request.type(), 3);
    EXPECT_EQ(request.option_address(50), offered_ip);

    EXPECT_EQ(stack->generation(), generation) << "nothing transports need to hear yet";
    feed(server_frame(reply(5, discover.xid(), offered_ip)));
    EXPECT_TRUE(nic.take().empty());
    EXPECT_GT(stack->generation(), generation) << "bound: the address and default route to announce";
    EXPECT_EQ(stack->default_route_interface(), 0);
    const ip::Interface& eth0 = *stack->interface(0);
    EXPECT_EQ(eth0.address, offered_ip);
    EXPECT_EQ(eth0.prefix_length, 24);
    EXPECT_EQ(stack->dns_server(), dns_ip);
    const auto route = stack->routes().lookup(remote_ip);
    ASSERT_TRUE(route.ok());
    EXPECT_EQ(route.value().gateway, gateway_ip);
    EXPECT_EQ(stack->dhcp(0)->state(), State::bound);
    EXPECT_EQ(stack->counters(0)->total_drops(), 0u);

    // Now it is a host: a ping to the world asks for the gateway first.
    ASSERT_TRUE(stack->ping(remote_ip, 1, 1, 8, 1 * s).ok());
    auto sent = nic.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].ethertype(), 0x0806);
    EXPECT_EQ(get32(sent[0].frame, 14 + 14), offered_ip.value);
    EXPECT_EQ(get32(sent[0].frame, 14 + 24), gateway_ip.value);
}

TEST_F(IpDhcpStack, UnicastRepliesBeforeConfigurationAndBadDatagrams)
{
    const Message discover = take_message();
    // A broken UDP checksum, a wrong source port, a foreign xid: counted and ignored.
    feed(server_frame(reply(2, discover.xid(), offered_ip), Ipv4Address::broadcast(), false));
    EXPECT_EQ(stack->counters(0)->dropped(ip::Drop::udp_malformed), 1u);
    feed(server_frame(reply(2, discover.xid() + 1, offered_ip)));
    EXPECT_EQ(stack->counters(0)->dropped(ip::Drop::dhcp_ignored), 1u);
    EXPECT_TRUE(nic.take().empty());
    // An OFFER unicast to the address offered (not ours yet) is still taken.
    feed(server_frame(reply(2, discover.xid(), offered_ip), offered_ip));
    EXPECT_EQ(take_message().type(), 3);
    // Other traffic to that address is not for us yet.
    feed(ethernet(our_mac, peer_mac, 0x0800, ipv4({}, icmp(8, 0, 1, 1, {}))));
    EXPECT_EQ(stack->counters(0)->dropped(ip::Drop::ip_not_for_us), 1u);
}

TEST_F(IpDhcpStack, RenewalIsUnicastThroughArpAndLossDeconfigures)
{
    const Message discover = take_message();
    const Bytes one_hour = {1, 4, 255, 255, 255, 0, 3, 4, 10, 0, 2, 2, 51, 4, 0, 0, 0x0E, 0x10};
    feed(server_frame(reply(2, discover.xid(), offered_ip, one_hour)));
    take_message();
    feed(server_frame(reply(5, discover.xid(), offered_ip, one_hour)));
    ASSERT_TRUE(stack->interface(0)->configured());
    const uint64_t bound = stack->generation();
    stack->tick(1800 * s);
    auto sent = nic.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].ethertype(), 0x0806); // who has 10.0.2.2?
    Bytes answer = ethernet(our_mac, gateway_mac, 0x0806, arp(2, gateway_mac, gateway_ip, our_mac, offered_ip));
    feed(answer, 1800 * s);
    const Message renew = take_message(false);
    EXPECT_EQ(renew.type(), 3);
    EXPECT_EQ(renew.ciaddr(), offered_ip);

    stack->tick(3600 * s);
    EXPECT_FALSE(stack->interface(0)->configured());
    EXPECT_EQ(stack->routes().size(), 0u);
    EXPECT_GT(stack->generation(), bound) << "lost: announced";
    EXPECT_EQ(stack->default_route_interface(), -1);
    EXPECT_EQ(stack->dhcp(0)->state(), State::selecting);
}

// A renewed lease changes nothing the transport servers are told.
TEST_F(IpDhcpStack, RenewalAnnouncesNothingNew)
{
    const Message discover = take_message();
    const Bytes one_hour = {1, 4, 255, 255, 255, 0, 3, 4, 10, 0, 2, 2, 51, 4, 0, 0, 0x0E, 0x10};
    feed(server_frame(reply(2, discover.xid(), offered_ip, one_hour)));
    take_message();
    feed(server_frame(reply(5, discover.xid(), offered_ip, one_hour)));
    const uint64_t bound = stack->generation();
    stack->tick(1800 * s);
    ASSERT_EQ(nic.take().size(), 1u); // who has 10.0.2.2?
    feed(ethernet(our_mac, gateway_mac, 0x0806, arp(2, gateway_mac, gateway_ip, our_mac, offered_ip)), 1800 * s);
    const Message renew = take_message(false);
    ASSERT_EQ(renew.type(), 3);
    feed(server_frame(reply(5, renew.xid(), offered_ip, one_hour), offered_ip), 1800 * s);
    EXPECT_EQ(stack->dhcp(0)->state(), State::bound);
    EXPECT_EQ(stack->generation(), bound);
    EXPECT_EQ(stack->default_route_interface(), 0);
}

} // namespace
