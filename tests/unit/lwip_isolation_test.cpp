// Two lwIPs in one process: each built as an isolated object (only its
// entry is global, tern_add_isolated_instance), so their globals are apart.
// They then talk TCP to each other through the port's IpLayer, the test
// carrying datagrams between them as ip would.
#include <gtest/gtest.h>

#include <cstring>

#include "lwip_instance.hpp"

namespace {

using lwip_test::Datagram;
using lwip_test::Instance;

constexpr uint32_t address_a = 0x0A000001; // 10.0.0.1
constexpr uint32_t address_b = 0x0A000002; // 10.0.0.2
constexpr uint8_t tcp = 6;

// Moves what each instance sent to the other until neither sends more;
// how many datagrams moved.
unsigned carry(Instance& a, Instance& b)
{
    unsigned moved = 0;
    for (bool busy = true; busy;) {
        busy = false;
        Datagram d;
        while (a.next_output(d)) {
            EXPECT_TRUE(b.input(d, 0));
            busy = true;
            ++moved;
        }
        while (b.next_output(d)) {
            EXPECT_TRUE(a.input(d, 0));
            busy = true;
            ++moved;
        }
    }
    return moved;
}

class LwipIsolation : public ::testing::Test {
protected:
    void SetUp() override
    {
        a.start(address_a, 24);
        b.start(address_b, 24);
    }

    Instance& a = *lwip_instance_a();
    Instance& b = *lwip_instance_b();
};

TEST_F(LwipIsolation, EntriesAreDistinctObjects) { EXPECT_NE(&a, &b); }

TEST_F(LwipIsolation, AListeningPcbIsOnlyInItsOwnLwip)
{
    const unsigned a_listening = a.listening_pcbs();
    const unsigned b_listening = b.listening_pcbs();
    const unsigned b_listen_used = b.listen_pcbs_used();
    const unsigned b_tcp_used = b.tcp_pcbs_used();

    ASSERT_TRUE(a.listen(8080));

    EXPECT_EQ(a.listening_pcbs(), a_listening + 1);
    EXPECT_GE(a.listen_pcbs_used(), 1u);
    EXPECT_EQ(b.listening_pcbs(), b_listening);
    EXPECT_EQ(b.listen_pcbs_used(), b_listen_used);
    EXPECT_EQ(b.tcp_pcbs_used(), b_tcp_used);
}

TEST_F(LwipIsolation, TheTwoTalkTcpThroughTheIpLayer)
{
    ASSERT_TRUE(a.listen(80));
    const unsigned a_active = a.active_pcbs();
    ASSERT_EQ(b.connect(address_a, 80), 0);

    // B's SYN, as ip gets it: addresses in host order, from the TCP header on.
    Datagram syn;
    ASSERT_TRUE(b.next_output(syn));
    EXPECT_EQ(syn.source, address_b); // lwIP took the interface's address at connect
    EXPECT_EQ(syn.destination, address_a);
    EXPECT_EQ(syn.protocol, tcp);
    ASSERT_GE(syn.length, 20);
    EXPECT_EQ(syn.bytes[2], 0);  // destination port 80, network order
    EXPECT_EQ(syn.bytes[3], 80);
    EXPECT_EQ(syn.bytes[13] & 0x12, 0x02); // SYN, no ACK
    EXPECT_EQ(syn.bytes[16] | syn.bytes[17], 0) << "the checksum is left to ip";
    ASSERT_TRUE(a.input(syn, 0));
    EXPECT_EQ(a.active_pcbs(), a_active + 1) << "A has the half-open connection";

    carry(a, b);
    ASSERT_TRUE(a.established());
    ASSERT_TRUE(b.established());

    ASSERT_TRUE(b.write("hello from B"));
    ASSERT_TRUE(a.write("and A answers"));
    carry(a, b);
    char text[64] = {};
    EXPECT_EQ(a.take_received(text, sizeof(text)), std::strlen("hello from B"));
    EXPECT_STREQ(text, "hello from B");
    std::memset(text, 0, sizeof(text));
    EXPECT_EQ(b.take_received(text, sizeof(text)), std::strlen("and A answers"));
    EXPECT_STREQ(text, "and A answers");

    // Delayed ACKs go out on lwIP's fast timer; then all is quiet.
    a.advance(250);
    b.advance(250);
    carry(a, b);
    EXPECT_EQ(a.buffers_with_lwip(), 0u) << "every received buffer went back";
    EXPECT_EQ(b.buffers_with_lwip(), 0u);
    EXPECT_GT(a.buffers_released(), 0u);
}

TEST_F(LwipIsolation, NoRouteFailsTheConnect)
{
    // Only 10.0.0.0/24, no default route: lwIP's tcp_connect gets ERR_RTE (-4).
    EXPECT_EQ(b.connect(0xC0A80101, 80), -4); // 192.168.1.1
}

TEST_F(LwipIsolation, ADatagramOnAnUnknownInterfaceIsDroppedAndItsBufferReturned)
{
    Datagram d;
    d.source = address_b;
    d.destination = address_a;
    d.protocol = tcp;
    d.length = 20;
    const unsigned released = a.buffers_released();
    EXPECT_FALSE(a.input(d, 3));
    EXPECT_EQ(a.buffers_released(), released + 1);
    EXPECT_EQ(a.buffers_with_lwip(), 0u);
}

TEST_F(LwipIsolation, AnAddressChangeAbortsTheConnectionsOnTheOldOne)
{
    ASSERT_TRUE(a.listen(81));
    ASSERT_EQ(b.connect(address_a, 81), 0);
    carry(a, b);
    ASSERT_TRUE(a.established());
    const unsigned active = a.active_pcbs();

    a.start(0x0A000003, 24); // DHCP gave A another address
    EXPECT_FALSE(a.established());
    EXPECT_EQ(a.active_pcbs(), active - 1);
    // lwIP said so to the peer with a RST from the old address.
    Datagram rst;
    ASSERT_TRUE(a.next_output(rst));
    EXPECT_EQ(rst.source, address_a);
    EXPECT_EQ(rst.destination, address_b);
    EXPECT_EQ(rst.bytes[13] & 0x04, 0x04);
    ASSERT_TRUE(b.input(rst, 0));
    EXPECT_FALSE(b.established());

    a.start(address_a, 24);
}

} // namespace
