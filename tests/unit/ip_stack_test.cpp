// servers/ip stack core: table-driven malformed frames (each must bump
// exactly one drop counter and send nothing), ICMP echo both ways, protocol
// unreachable, delivery upwards, sending and routing, several interfaces,
// loopback.
#include <gtest/gtest.h>

#include <functional>

#include "ip_test_support.hpp"

namespace {

using namespace iptest;
using ip::Drop;

using IpStackInput = StackTest;

struct BadFrame {
    const char* name;
    std::function<Bytes()> make;
    Drop expected;
};

Bytes with_ip_byte(size_t at, uint8_t value, bool fix_checksum)
{
    Bytes frame = echo_request_frame(1, 1, pattern(16));
    frame[14 + at] = value;
    if (fix_checksum) {
        const size_t header = (frame[14] & 0xF) * 4u;
        put16(frame, 24, 0);
        if (header >= 20 && 14 + header <= frame.size())
            put16(frame, 24, ref_checksum(frame, 14, header));
    }
    return frame;
}

std::vector<BadFrame> bad_frames()
{
    const MacAddress other{{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}};
    const MacAddress multicast{{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}};
    IpFields from_ourselves;
    from_ourselves.src = our_ip;
    IpFields to_other;
    to_other.dst = ip4(10, 0, 2, 77);
    IpFields from_broadcast;
    from_broadcast.src = Ipv4Address::broadcast();
    IpFields from_subnet_broadcast;
    from_subnet_broadcast.src = ip4(10, 0, 2, 255);
    IpFields from_multicast;
    from_multicast.src = ip4(224, 0, 0, 5);
    IpFields from_zero;
    from_zero.src = Ipv4Address{};
    IpFields from_loopback;
    from_loopback.src = ip4(127, 0, 0, 1);
    IpFields to_multicast;
    to_multicast.dst = ip4(224, 0, 0, 1);
    IpFields odd_fragment;
    odd_fragment.mf = true;
    IpFields far_fragment;
    far_fragment.offset = 65528;
    IpFields bad_option;
    bad_option.options = {68, 40, 5, 0}; // timestamp option longer than the header

    return {
        {"empty", [] { return Bytes{}; }, Drop::runt},
        {"13 bytes", [] { return Bytes(13, 0xAB); }, Drop::runt},
        {"oversize", [] { return ethernet(our_mac, peer_mac, 0x0800, Bytes(1505, 0)); }, Drop::oversize},
        {"jumbo", [] { return ethernet(our_mac, peer_mac, 0x0800, Bytes(9000, 0)); }, Drop::oversize},
        {"IPv6", [] { return ethernet(our_mac, peer_mac, 0x86DD, Bytes(60, 0)); }, Drop::bad_ethertype},
        {"VLAN tag", [] { return ethernet(our_mac, peer_mac, 0x8100, Bytes(60, 0)); }, Drop::bad_ethertype},
        {"length field", [] { return ethernet(our_mac, peer_mac, 0x0040, Bytes(64, 0)); }, Drop::bad_ethertype},
        {"other MAC", [=] { return ethernet(other, peer_mac, 0x0800, Bytes(60, 0)); }, Drop::not_our_mac},
        {"multicast MAC", [=] { return ethernet(multicast, peer_mac, 0x0800, Bytes(60, 0)); }, Drop::not_our_mac},
        {"multicast source MAC", [=] { return ethernet(our_mac, multicast, 0x0800, Bytes(60, 0)); },
         Drop::bad_source_mac},
        {"broadcast source MAC", [] { return ethernet(our_mac, MacAddress::broadcast(), 0x0800, Bytes(60, 0)); },
         Drop::bad_source_mac},
        {"IP: nothing", [] { return ethernet(our_mac, peer_mac, 0x0800, {}); }, Drop::ip_truncated},
        {"IP: 19 bytes", [] { return ethernet(our_mac, peer_mac, 0x0800, Bytes(19, 0x45)); }, Drop::ip_truncated},
        {"IP: version 6", [] { return with_ip_byte(0, 0x65, true); }, Drop::ip_bad_version},
        {"IP: version 15", [] { return with_ip_byte(0, 0xF5, false); }, Drop::ip_bad_version},
        {"IP: IHL 0", [] { return with_ip_byte(0, 0x40, false); }, Drop::ip_bad_header_length},
        {"IP: IHL 4", [] { return with_ip_byte(0, 0x44, false); }, Drop::ip_bad_header_length},
        {"IP: IHL 15 > data",
         [] {
             Bytes f = echo_request_frame(1, 1, {});
             f[14] = 0x4F;
             return f;
         },
         Drop::ip_bad_header_length},
        {"IP: total 0", [] { return with_ip_byte(3, 0, true); }, Drop::ip_bad_total_length},
        {"IP: total 19", [] { return with_ip_byte(3, 19, true); }, Drop::ip_bad_total_length},
        {"IP: total beyond frame",
         [] {
             Bytes f = echo_request_frame(1, 1, pattern(16));
             put16(f, 16, 1000);
             put16(f, 24, 0);
             put16(f, 24, ref_checksum(f, 14, 20));
             return f;
         },
         Drop::ip_bad_total_length},
        {"IP: checksum", [] { return with_ip_byte(10, 0x55, false); }, Drop::ip_bad_checksum},
        {"IP: TTL changed, checksum not", [] { return with_ip_byte(8, 7, false); }, Drop::ip_bad_checksum},
        {"IP: reserved flag", [] { return with_ip_byte(6, 0x80, true); }, Drop::ip_bad_flags},
        {"IP: bad option", [=] { return ip_frame(bad_option, icmp(8, 0, 1, 1, {})); }, Drop::ip_bad_options},
        {"IP: odd-sized MF fragment", [=] { return ip_frame(odd_fragment, Bytes(13, 1)); }, Drop::ip_bad_fragment},
        {"IP: fragment past 65535", [=] { return ip_frame(far_fragment, Bytes(16, 1)); }, Drop::ip_bad_fragment},
        {"IP: source broadcast", [=] { return ip_frame(from_broadcast, icmp(8, 0, 1, 1, {})); },
         Drop::ip_bad_source},
        {"IP: source subnet broadcast", [=] { return ip_frame(from_subnet_broadcast, icmp(8, 0, 1, 1, {})); },
         Drop::ip_bad_source},
        {"IP: source multicast", [=] { return ip_frame(from_multicast, icmp(8, 0, 1, 1, {})); },
         Drop::ip_bad_source},
        {"IP: source 0.0.0.0", [=] { return ip_frame(from_zero, icmp(8, 0, 1, 1, {})); }, Drop::ip_bad_source},
        {"IP: source loopback", [=] { return ip_frame(from_loopback, icmp(8, 0, 1, 1, {})); }, Drop::ip_bad_source},
        {"IP: source is our own address", [=] { return ip_frame(from_ourselves, icmp(8, 0, 1, 1, {})); },
         Drop::ip_bad_source},
        {"IP: for another host", [=] { return ip_frame(to_other, icmp(8, 0, 1, 1, {})); }, Drop::ip_not_for_us},
        {"IP: multicast group", [=] { return ip_frame(to_multicast, icmp(8, 0, 1, 1, {})); }, Drop::ip_not_for_us},
        {"IP: unicast in link broadcast",
         [] { return ethernet(MacAddress::broadcast(), peer_mac, 0x0800, ipv4({}, icmp(8, 0, 1, 1, {}))); },
         Drop::ip_not_for_us},
        {"ICMP: 7 bytes", [] { return ip_frame({}, Bytes(7, 8)); }, Drop::icmp_truncated},
        {"ICMP: empty", [] { return ip_frame({}, {}); }, Drop::icmp_truncated},
        {"ICMP: checksum",
         [] {
             Bytes m = icmp(8, 0, 1, 1, pattern(10));
             m[9] ^= 0xFF;
             return ip_frame({}, m);
         },
         Drop::icmp_bad_checksum},
        {"ICMP: unknown type", [] { return ip_frame({}, icmp(42, 0, 0, 0, {})); }, Drop::icmp_ignored},
        {"ICMP: timestamp request", [] { return ip_frame({}, icmp(13, 0, 0, 0, Bytes(12, 0))); },
         Drop::icmp_ignored},
        {"ICMP: broadcast ping",
         [] {
             IpFields f;
             f.dst = Ipv4Address::broadcast();
             return ethernet(MacAddress::broadcast(), peer_mac, 0x0800, ipv4(f, icmp(8, 0, 1, 1, {})));
         },
         Drop::icmp_ignored},
        {"ICMP: subnet-broadcast ping",
         [] {
             IpFields f;
             f.dst = ip4(10, 0, 2, 255);
             return ethernet(MacAddress::broadcast(), peer_mac, 0x0800, ipv4(f, icmp(8, 0, 1, 1, {})));
         },
         Drop::icmp_ignored},
        {"UDP to broadcast, no server",
         [] {
             IpFields f;
             f.dst = Ipv4Address::broadcast();
             f.protocol = 17;
             return ethernet(MacAddress::broadcast(), peer_mac, 0x0800,
                             ipv4(f, udp(peer_ip, Ipv4Address::broadcast(), 5, 6, {})));
         },
         Drop::protocol_unreachable},
    };
}

TEST_F(IpStackInput, EveryMalformedFrameIsCountedUnderItsReasonAndAnswersNothing)
{
    upper.accept_protocol = 0xFF; // nothing above
    for (const BadFrame& c : bad_frames()) {
        const ip::Counters before = *stack->counters(0);
        const Bytes frame = c.make();
        feed(frame);
        EXPECT_TRUE(nic.take().empty()) << c.name;
        EXPECT_TRUE(upper.deliveries.empty()) << c.name;
        EXPECT_TRUE(echo.replies.empty()) << c.name;
        const ip::Counters& after = *stack->counters(0);
        EXPECT_EQ(after.rx_packets, before.rx_packets + 1) << c.name;
        EXPECT_EQ(after.rx_bytes, before.rx_bytes + frame.size()) << c.name;
        for (size_t i = 0; i < ip::drop_reason_count; ++i)
            EXPECT_EQ(after.drops[i] - before.drops[i], i == static_cast<size_t>(c.expected) ? 1u : 0u)
                << c.name << ": " << ip::drop_name(static_cast<Drop>(i));
    }
    // After all that, a ping still gets its answer.
    feed(echo_request_frame(7, 7, pattern(32)));
    EXPECT_EQ(nic.take().size(), 1u);
}

TEST_F(IpStackInput, DownInterfaceAndUnknownInterfaceDropEverything)
{
    stack->set_link(0, false);
    feed(echo_request_frame(1, 1, {}));
    EXPECT_TRUE(nic.take().empty());
    EXPECT_EQ(dropped(Drop::interface_down), 1u);
    EXPECT_FALSE(stack->send_ip(peer_ip, 17, pattern(4).data(), 4, now).ok());
    stack->set_link(0, true);
    feed(echo_request_frame(1, 1, {}), now, 3);
    EXPECT_EQ(stack->stack_counters().dropped(Drop::interface_down), 1u);
    feed(echo_request_frame(1, 1, {}));
    EXPECT_EQ(nic.take().size(), 1u);
}

TEST_F(IpStackInput, FramesWithFcsOrPaddingAreFine)
{
    Bytes frame = echo_request_frame(1, 2, pattern(1472));
    frame.resize(frame.size() + 4, 0xEE); // an FCS the NIC did not strip
    ASSERT_EQ(frame.size(), 1518u);
    feed(frame);
    auto sent = nic.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].ip_payload().size(), 8u + 1472u);
    Bytes small = echo_request_frame(1, 3, {});
    small.resize(60, 0); // Ethernet padding after a 28-byte datagram
    feed(small);
    sent = nic.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(get16(sent[0].frame, 16), 28); // total length of the reply
    EXPECT_EQ(drops_since_baseline(), "");
}

TEST_F(IpStackInput, EchoRequestGetsAnExactReply)
{
    const Bytes data = pattern(56, 3);
    feed(echo_request_frame(0x4242, 17, data));
    auto sent = nic.take();
    ASSERT_EQ(sent.size(), 1u);
    const Sent& r = sent[0];
    EXPECT_EQ(r.interface, 0u);
    EXPECT_EQ(r.destination_mac(), peer_mac);
    EXPECT_EQ(get_mac(r.frame, 6), our_mac);
    EXPECT_EQ(r.ethertype(), 0x0800);
    const Bytes d = r.ip();
    EXPECT_EQ(d[0], 0x45);
    EXPECT_EQ(ref_checksum(d, 0, 20), 0); // header checksum right
    EXPECT_EQ(get16(d, 6) & 0xBFFF, 0);   // not a fragment
    EXPECT_EQ(d[8], 64);
    EXPECT_EQ(r.protocol(), 1);
    EXPECT_EQ(r.ip_source(), our_ip);
    EXPECT_EQ(r.ip_destination(), peer_ip);
    EXPECT_EQ(r.ip_payload(), icmp(0, 0, 0x4242, 17, data)); // type 0, same id/seq/data, checksum right
    EXPECT_EQ(drops_since_baseline(), "");
}

TEST_F(IpStackInput, EchoRequestWithOptionsAndOddPayload)
{
    IpFields f;
    f.options = {1, 1, 1, 1, 7, 7, 4, 0, 0, 0, 0, 0}; // NOPs and an empty record-route
    const Bytes data = pattern(33);
    feed(ip_frame(f, icmp(8, 0, 9, 9, data)));
    auto sent = nic.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].ip_payload(), icmp(0, 0, 9, 9, data));
}

TEST_F(IpStackInput, ReplyToARemoteHostGoesThroughTheGateway)
{
    feed(echo_request_frame(1, 1, pattern(8), remote_ip));
    auto sent = nic.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].destination_mac(), gateway_mac);
    EXPECT_EQ(sent[0].ip_destination(), remote_ip);
}

TEST_F(IpStackInput, UnknownProtocolGetsProtocolUnreachableQuotingTheHeader)
{
    IpFields f;
    f.protocol = 99;
    f.id = 0x7777;
    const Bytes datagram = ipv4(f, pattern(30));
    feed(ethernet(our_mac, peer_mac, 0x0800, datagram));
    EXPECT_EQ(dropped(Drop::protocol_unreachable), 1u);
    auto sent = nic.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].ip_destination(), peer_ip);
    EXPECT_EQ(sent[0].ip_source(), our_ip);
    EXPECT_EQ(sent[0].protocol(), 1);
    // Type 3 code 2, unused zero, then the original header and 8 bytes.
    const Bytes quote(datagram.begin(), datagram.begin() + 28);
    Bytes expected = icmp(3, 2, 0, 0, quote);
    EXPECT_EQ(sent[0].ip_payload(), expected);
}

TEST_F(IpStackInput, UdpAndTcpGoUpWhenSomebodyTakesThem)
{
    upper.accept_protocol = 17;
    IpFields f;
    f.protocol = 17;
    const Bytes payload = udp(peer_ip, our_ip, 1000, 7, pattern(20));
    feed(ip_frame(f, payload));
    ASSERT_EQ(upper.deliveries.size(), 1u);
    EXPECT_EQ(upper.deliveries[0].payload, payload);
    EXPECT_EQ(upper.deliveries[0].header.source, peer_ip);
    EXPECT_EQ(upper.deliveries[0].header.protocol, 17);
    EXPECT_TRUE(nic.take().empty());
    // TCP: nobody (yet), so protocol unreachable.
    f.protocol = 6;
    feed(ip_frame(f, pattern(20)));
    EXPECT_EQ(nic.take().size(), 1u);
    EXPECT_EQ(dropped(Drop::protocol_unreachable), 1u);
}

// A transport server with no room drops the datagram, counted, and no ICMP
// error goes out (the protocol is reachable; it is just busy).
TEST_F(IpStackInput, BusyTransportDropsWithoutAnIcmpError)
{
    upper.busy = true;
    IpFields f;
    f.protocol = 17;
    feed(ip_frame(f, udp(peer_ip, our_ip, 1000, 7, pattern(20))));
    EXPECT_TRUE(upper.deliveries.empty());
    EXPECT_TRUE(nic.take().empty());
    EXPECT_EQ(drops_since_baseline(), "transport_busy=1 ");
}

TEST_F(IpStackInput, IcmpErrorsAreRateLimited)
{
    IpFields f;
    f.protocol = 99;
    const Bytes frame = ip_frame(f, pattern(8));
    for (int i = 0; i < 200; ++i)
        feed(frame, now);
    EXPECT_EQ(nic.take().size(), ip::IpStack::icmp_error_burst);
    EXPECT_EQ(stack->stack_counters().dropped(Drop::icmp_rate_limited), 200 - ip::IpStack::icmp_error_burst);
    EXPECT_EQ(dropped(Drop::protocol_unreachable), 200u);
    // Tokens come back with time.
    feed(frame, now + 10 * ms);
    EXPECT_EQ(nic.take().size(), 1u);
}

TEST_F(IpStackInput, NoIcmpErrorAboutAnIcmpError)
{
    // An ICMP error nobody above wants is just ignored, never answered.
    feed(ip_frame({}, icmp(3, 1, 0, 0, pattern(28))));
    EXPECT_TRUE(nic.take().empty());
    EXPECT_EQ(dropped(Drop::icmp_ignored), 1u);
}

using IpStackOutput = StackTest;

TEST_F(IpStackOutput, SendIpBuildsAValidDatagram)
{
    const Bytes payload = pattern(100);
    ASSERT_TRUE(stack->send_ip(peer_ip, 17, payload.data(), payload.size(), now).ok());
    ASSERT_TRUE(stack->send_ip(peer_ip, 17, payload.data(), payload.size(), now).ok());
    auto sent = nic.take();
    ASSERT_EQ(sent.size(), 2u);
    const Bytes d = sent[0].ip();
    EXPECT_EQ(ref_checksum(d, 0, 20), 0);
    EXPECT_EQ(get16(d, 2), 120);
    EXPECT_EQ(sent[0].ip_payload(), payload);
    EXPECT_NE(get16(d, 4), get16(sent[1].ip(), 4)); // identification differs
    EXPECT_EQ(stack->source_for(peer_ip).value_or({}), our_ip);
    EXPECT_EQ(stack->source_for(remote_ip).value_or({}), our_ip);
}

TEST_F(IpStackOutput, ShortFramesArePadded)
{
    ASSERT_TRUE(stack->send_ip(peer_ip, 17, nullptr, 0, now).ok());
    auto sent = nic.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].frame.size(), 60u);
    EXPECT_EQ(get16(sent[0].frame, 16), 20);
}

TEST_F(IpStackOutput, ErrorsAreReportedAndCounted)
{
    struct Case {
        Ipv4Address to;
        size_t length;
        tern::Error error;
        Drop counted;
    } cases[] = {
        {ip4(224, 0, 0, 1), 4, tern::Error::unsupported, Drop::no_route},
        {Ipv4Address{}, 4, tern::Error::invalid_argument, Drop::no_route},
        {ip4(127, 0, 0, 1), 4, tern::Error::invalid_argument, Drop::no_route},
        {ip4(250, 1, 1, 1), 4, tern::Error::invalid_argument, Drop::no_route},
        {peer_ip, 65516, tern::Error::invalid_argument, Drop::too_big},
    };
    const Bytes big(70000, 0);
    for (const Case& c : cases) {
        const uint64_t before = stack->stack_counters().dropped(c.counted);
        const auto r = stack->send_ip(c.to, 17, big.data(), c.length, now);
        ASSERT_FALSE(r.ok()) << to_text(c.to).text;
        EXPECT_EQ(r.error(), c.error) << to_text(c.to).text;
        EXPECT_EQ(stack->stack_counters().dropped(c.counted), before + 1) << to_text(c.to).text;
    }
    stack->routes().remove(Ipv4Address{}, 0);
    EXPECT_EQ(stack->send_ip(remote_ip, 17, big.data(), 4, now).error(), tern::Error::not_found);
    EXPECT_FALSE(stack->source_for(remote_ip).ok());
    nic.refuse = true;
    EXPECT_EQ(stack->send_ip(peer_ip, 17, big.data(), 4, now).error(), tern::Error::busy);
    EXPECT_EQ(dropped(Drop::tx_failed), 1u);
    EXPECT_TRUE(nic.take().empty());
}

TEST_F(IpStackOutput, PingAndItsReplyWithRoundTripTime)
{
    ASSERT_TRUE(stack->ping(peer_ip, 0xABCD, 1, 56, 5 * s).ok());
    auto sent = nic.take();
    ASSERT_EQ(sent.size(), 1u);
    const Bytes request = sent[0].ip_payload();
    ASSERT_EQ(request.size(), 64u);
    EXPECT_EQ(request[0], 8);
    EXPECT_EQ(get16(request, 4), 0xABCD);
    EXPECT_EQ(get16(request, 6), 1);
    EXPECT_EQ(ref_checksum(request, 0, request.size()), 0);
    // The peer echoes it back 3 ms later.
    Bytes reply = request;
    reply[0] = 0;
    put16(reply, 2, 0);
    put16(reply, 2, ref_checksum(reply, 0, reply.size()));
    IpFields f;
    f.ttl = 63;
    feed(ip_frame(f, reply), 5 * s + 3 * ms);
    ASSERT_EQ(echo.replies.size(), 1u);
    const ip::EchoReply& e = echo.replies[0];
    EXPECT_EQ(e.source, peer_ip);
    EXPECT_EQ(e.identifier, 0xABCD);
    EXPECT_EQ(e.sequence, 1);
    EXPECT_EQ(e.payload_length, 56u);
    EXPECT_EQ(e.ttl, 63);
    EXPECT_TRUE(e.has_rtt);
    EXPECT_EQ(e.rtt_ns, 3 * ms);
}

TEST_F(IpStackOutput, PingSizesFromZeroToTheMaximum)
{
    for (size_t size : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{1472}, size_t{1473}}) {
        ASSERT_TRUE(stack->ping(peer_ip, 1, 1, size, now).ok()) << size;
        auto sent = nic.take();
        Bytes message;
        for (const Sent& fragment : sent) {
            Bytes p = fragment.ip_payload();
            message.insert(message.end(), p.begin(), p.end());
        }
        EXPECT_EQ(message.size(), 8 + size) << size;
        EXPECT_EQ(ref_checksum(message, 0, message.size()), 0) << size;
    }
    EXPECT_TRUE(stack->ping(peer_ip, 1, 1, ip::IpStack::max_ping_payload, now).ok());
    EXPECT_EQ(nic.take().size(), 45u); // 65515 bytes in 1480-byte fragments
    EXPECT_FALSE(stack->ping(peer_ip, 1, 1, ip::IpStack::max_ping_payload + 1, now).ok());
}

TEST_F(IpStackOutput, PingOurselvesThroughLoopback)
{
    ASSERT_TRUE(stack->ping(our_ip, 5, 6, 100, now).ok());
    EXPECT_TRUE(nic.take().empty()); // never on the wire
    ASSERT_EQ(echo.replies.size(), 1u);
    EXPECT_EQ(echo.replies[0].source, our_ip);
    EXPECT_EQ(echo.replies[0].sequence, 6);
    EXPECT_EQ(echo.replies[0].rtt_ns, 0u);
    // A big one goes through fragmentation and reassembly.
    ASSERT_TRUE(stack->ping(our_ip, 5, 7, 10000, now).ok());
    ASSERT_EQ(echo.replies.size(), 2u);
    EXPECT_EQ(echo.replies[1].payload_length, 10000u);
    EXPECT_EQ(drops_since_baseline(), "");
}

TEST_F(IpStackOutput, BroadcastsGoToTheBroadcastMac)
{
    for (Ipv4Address to : {Ipv4Address::broadcast(), ip4(10, 0, 2, 255)}) {
        ASSERT_TRUE(stack->send_ip(to, 17, pattern(8).data(), 8, now).ok()) << to_text(to).text;
        auto sent = nic.take();
        ASSERT_EQ(sent.size(), 1u);
        EXPECT_EQ(sent[0].destination_mac(), MacAddress::broadcast());
        EXPECT_EQ(sent[0].ip_destination(), to);
        EXPECT_EQ(sent[0].ip_source(), our_ip);
    }
}

TEST_F(IpStackOutput, LinkDownDropsWaitingPackets)
{
    ASSERT_TRUE(stack->send_ip(ip4(10, 0, 2, 40), 17, pattern(8).data(), 8, now).ok());
    nic.take();
    stack->set_link(0, false);
    EXPECT_EQ(dropped(Drop::interface_down), 1u);
    stack->set_link(0, true);
    const MacAddress mac{{0x02, 0, 0, 0, 0, 0x40}};
    feed(ethernet(our_mac, mac, 0x0806, arp(2, mac, ip4(10, 0, 2, 40), our_mac, our_ip)));
    EXPECT_TRUE(nic.take().empty()); // nothing left to flush
}

// An upper layer that answers from inside deliver(): the stack must cope.
class AnsweringUpper : public ip::Upper {
public:
    ip::Delivery deliver(unsigned, const tern::net::Ipv4Header& header, bool, const uint8_t* payload,
                         size_t length) override
    {
        if (header.protocol == 1) { // ICMP errors and other types
            icmp_types.push_back(payload[0]);
            return length >= 8 ? ip::Delivery::taken : ip::Delivery::no_server;
        }
        if (header.protocol != 17)
            return ip::Delivery::no_server;
        ++udp_received;
        if (header.source == our_ip)
            return ip::Delivery::taken; // from ourselves: do not answer (two echo servers would talk for ever)
        const Bytes answer = pattern(3000); // longer than the question: leaves in fragments
        (void)stack->send_ip(header.source, 17, answer.data(), answer.size(), 0);
        return ip::Delivery::taken;
    }
    ip::IpStack* stack = nullptr;
    std::vector<uint8_t> icmp_types;
    int udp_received = 0;
};

TEST_F(IpStackOutput, UpperMaySendFromInsideDeliverAndSeesIcmpErrors)
{
    AnsweringUpper answering;
    answering.stack = stack.get();
    stack->set_upper(&answering);
    IpFields f;
    f.protocol = 17;
    const Bytes payload = udp(peer_ip, our_ip, 1, 2, pattern(30));
    feed(ip_frame(f, payload));
    auto sent = nic.take();
    ASSERT_EQ(sent.size(), 3u);
    // Looped back to ourselves as well.
    ASSERT_TRUE(stack->send_ip(our_ip, 17, payload.data(), payload.size(), now).ok());
    EXPECT_TRUE(nic.take().empty());
    EXPECT_EQ(answering.udp_received, 2);
    // ICMP errors go up (TCP will want them); unknown types nobody takes are ignored.
    feed(ip_frame({}, icmp(3, 3, 0, 0, pattern(28))));
    feed(ip_frame({}, icmp(11, 0, 0, 0, pattern(28))));
    EXPECT_EQ(answering.icmp_types, (std::vector<uint8_t>{3, 11}));
    EXPECT_EQ(drops_since_baseline(), "");
}

TEST_F(IpStackOutput, NextDeadlineFollowsTheTimers)
{
    EXPECT_EQ(stack->next_deadline_ns(), UINT64_MAX); // idle: sleep until something comes
    ASSERT_TRUE(stack->send_ip(ip4(10, 0, 2, 41), 17, nullptr, 0, now).ok());
    EXPECT_EQ(stack->next_deadline_ns(), now + ip::ArpCache::retry_ns);
    IpFields f;
    f.mf = true;
    feed(ip_frame(f, pattern(8)), now - 1); // an older clock reading counts as the newest seen
    EXPECT_EQ(stack->next_deadline_ns(), now + ip::ArpCache::retry_ns);
    // Drive it by its own deadlines only: the ARP gives up, the fragment times out.
    int ticks = 0;
    for (uint64_t t = stack->next_deadline_ns(); t != UINT64_MAX && ticks < 20; t = stack->next_deadline_ns()) {
        stack->tick(t);
        ++ticks;
    }
    EXPECT_EQ(ticks, 4); // ARP at +1 s, +2 s, gives up at +3 s; reassembly at +5 s
    EXPECT_EQ(dropped(Drop::arp_unresolved), 1u);
    EXPECT_EQ(dropped(Drop::reassembly_timeout), 1u);
}

// Two NICs on two networks: each answers on its own, routes pick the right one.
TEST(IpStackInterfaces, TwoNetworks)
{
    FakeNic nic;
    auto stack = std::make_unique<ip::IpStack>(nic);
    const MacAddress mac1{{0x52, 0x54, 0x00, 0x00, 0x00, 0x02}};
    const MacAddress host1{{0x02, 0, 0, 0, 1, 1}};
    ASSERT_EQ(stack->add_interface(our_mac).value_or(9), 0u);
    ASSERT_EQ(stack->add_interface(mac1).value_or(9), 1u);
    ASSERT_TRUE(stack->configure(0, our_ip, 24).ok());
    ASSERT_TRUE(stack->configure(1, ip4(192, 168, 7, 1), 24).ok());
    ASSERT_TRUE(stack->set_default_gateway(gateway_ip, 0).ok());
    EXPECT_STREQ(stack->interface(1)->name, "eth1");

    // A ping on eth1 is answered on eth1, after ARP there.
    IpFields f;
    f.src = ip4(192, 168, 7, 9);
    f.dst = ip4(192, 168, 7, 1);
    Bytes frame = ethernet(mac1, host1, 0x0800, ipv4(f, icmp(8, 0, 1, 1, pattern(8))));
    stack->on_frame(1, frame.data(), frame.size(), 0);
    auto sent = nic.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].interface, 1u);
    EXPECT_EQ(sent[0].ethertype(), 0x0806); // who has 192.168.7.9?
    EXPECT_EQ(get32(sent[0].frame, 14 + 14), ip4(192, 168, 7, 1).value);
    Bytes answer = ethernet(mac1, host1, 0x0806, arp(2, host1, f.src, mac1, f.dst));
    stack->on_frame(1, answer.data(), answer.size(), 0);
    sent = nic.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].interface, 1u);
    EXPECT_EQ(sent[0].destination_mac(), host1);
    EXPECT_EQ(sent[0].ip_source(), ip4(192, 168, 7, 1));

    // The same frame on eth0 is not for eth0's MAC.
    stack->on_frame(0, frame.data(), frame.size(), 0);
    EXPECT_EQ(stack->counters(0)->dropped(Drop::not_our_mac), 1u);
    // Sends pick the interface by route.
    ASSERT_TRUE(stack->send_ip(ip4(192, 168, 7, 9), 17, nullptr, 0, 0).ok());
    ASSERT_TRUE(stack->send_ip(remote_ip, 17, nullptr, 0, 0).ok());
    sent = nic.take();
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(sent[0].interface, 1u);
    EXPECT_EQ(sent[1].interface, 0u);
    EXPECT_EQ(sent[1].ethertype(), 0x0806); // gateway not resolved yet
    EXPECT_EQ(stack->source_for(ip4(192, 168, 7, 9)).value_or({}), ip4(192, 168, 7, 1));
    // Weak host: eth1's address is local for ping from the stack itself.
    EXPECT_EQ(stack->source_for(ip4(192, 168, 7, 1)).value_or({}), ip4(192, 168, 7, 1));
    EXPECT_EQ(stack->counters(1)->tx_packets, 3u);
}

TEST(IpStackInterfaces, LimitsAndValidation)
{
    FakeNic nic;
    auto stack = std::make_unique<ip::IpStack>(nic);
    EXPECT_FALSE(stack->add_interface(MacAddress::broadcast()).ok());
    EXPECT_FALSE(stack->add_interface(MacAddress{}).ok());
    EXPECT_FALSE(stack->add_interface(our_mac, 9000).ok());
    for (unsigned i = 0; i < ip::max_interfaces; ++i) {
        MacAddress m = our_mac;
        m.bytes[5] = static_cast<uint8_t>(i);
        ASSERT_TRUE(stack->add_interface(m).ok());
    }
    EXPECT_EQ(stack->add_interface(our_mac).error(), tern::Error::out_of_memory);
    EXPECT_FALSE(stack->configure(0, Ipv4Address::broadcast(), 24).ok());
    EXPECT_FALSE(stack->configure(0, our_ip, 0).ok());
    EXPECT_FALSE(stack->configure(0, our_ip, 33).ok());
    EXPECT_FALSE(stack->configure(9, our_ip, 24).ok());
    EXPECT_EQ(stack->interface(9), nullptr);
    EXPECT_EQ(stack->counters(9), nullptr);
    // Reconfiguring replaces the connected route; deconfiguring removes it.
    ASSERT_TRUE(stack->configure(0, our_ip, 24).ok());
    ASSERT_TRUE(stack->configure(0, ip4(10, 1, 0, 5), 16).ok());
    EXPECT_EQ(stack->routes().size(), 1u);
    stack->deconfigure(0);
    EXPECT_EQ(stack->routes().size(), 0u);
    EXPECT_FALSE(stack->interface(0)->configured());
}

TEST(IpStackSize, FitsComfortably)
{
    // Everything is fixed-size; main.cpp can make it static or allocate it once.
    EXPECT_LT(sizeof(ip::IpStack), size_t{1} << 20);
    std::printf("sizeof(IpStack) = %zu bytes\n", sizeof(ip::IpStack));
}

} // namespace

TEST_F(IpStackInput, DeviceDropsAreCountedOnlyUnderNicReasons)
{
    const ip::Counters before = *stack->counters(0);
    stack->count_device_drops(0, Drop::nic_oversize, 7);
    stack->count_device_drops(0, Drop::nic_oversize, 3);
    stack->count_device_drops(0, Drop::nic_missed, 2);
    stack->count_device_drops(0, Drop::ip_bad_checksum, 5); // not a device reason: ignored
    stack->count_device_drops(9, Drop::nic_errors, 1);      // no such interface: ignored
    const ip::Counters& c = *stack->counters(0);
    EXPECT_EQ(c.dropped(Drop::nic_oversize), 10u);
    EXPECT_EQ(c.dropped(Drop::nic_missed), 2u);
    EXPECT_EQ(c.dropped(Drop::ip_bad_checksum), 0u);
    EXPECT_EQ(c.errors() - before.errors(), 10u); // oversize is broken input; missed is not
    EXPECT_EQ(c.policy_drops() - before.policy_drops(), 2u);
    EXPECT_EQ(c.rx_packets, before.rx_packets); // the stack never saw these frames
}

// Without offload the stack computes every checksum itself.
TEST_F(IpStackInput, WithoutOffloadTheStackComputesTheChecksum)
{
    feed(echo_request_frame(0x4242, 18, pattern(56, 3)));
    auto sent = nic.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_FALSE(sent[0].offload.requested());
    EXPECT_EQ(sent[0].as_given, sent[0].frame);
    EXPECT_EQ(sent[0].ip_payload(), icmp(0, 0, 0x4242, 18, pattern(56, 3)));
}

// With offload the echo reply leaves its ICMP checksum to the NIC: the field
// holds 0 (the seed) and the request covers the ICMP message.
TEST_F(IpStackInput, WithOffloadTheNicComputesTheEchoReplyChecksum)
{
    stack->set_tx_checksum_offload(0, true);
    const Bytes data = pattern(1000, 5);
    feed(echo_request_frame(0x4242, 19, data));
    auto sent = nic.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].offload.start, 34);
    EXPECT_EQ(sent[0].offload.offset, 36);
    EXPECT_EQ(get16(sent[0].as_given, 36), 0);
    EXPECT_EQ(ref_checksum(sent[0].as_given, 14, 20), 0); // the IP header checksum is still ours
    EXPECT_EQ(sent[0].ip_payload(), icmp(0, 0, 0x4242, 19, data));
    EXPECT_EQ(drops_since_baseline(), "");
}

// Fragmented datagrams, packets waiting for ARP, and loopback never ask the
// NIC: each gets a correct checksum from the stack.
TEST_F(IpStackOutput, OffloadOnlyForSingleFramesToTheWire)
{
    stack->set_tx_checksum_offload(0, true);
    ASSERT_TRUE(stack->ping(peer_ip, 1, 1, 3000, now).ok()); // three fragments
    auto sent = nic.take();
    ASSERT_EQ(sent.size(), 3u);
    Bytes message;
    for (const Sent& fragment : sent) {
        EXPECT_FALSE(fragment.offload.requested());
        Bytes p = fragment.ip_payload();
        message.insert(message.end(), p.begin(), p.end());
    }
    EXPECT_EQ(ref_checksum(message, 0, message.size()), 0);

    const Ipv4Address stranger = ip4(10, 0, 2, 77); // on the subnet, not in the ARP cache
    const MacAddress stranger_mac{{0x52, 0x55, 0x0a, 0x00, 0x02, 0x4d}};
    ASSERT_TRUE(stack->ping(stranger, 1, 2, 56, now).ok());
    sent = nic.take();
    ASSERT_EQ(sent.size(), 1u); // the ARP request; the ping waits
    feed(ethernet(our_mac, stranger_mac, 0x0806, arp(2, stranger_mac, stranger, our_mac, our_ip)));
    sent = nic.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_FALSE(sent[0].offload.requested());
    const Bytes icmp_message = sent[0].ip_payload();
    EXPECT_EQ(ref_checksum(icmp_message, 0, icmp_message.size()), 0);
}
