// The udp server's engine against another instance of itself (two isolated
// lwIP instances, see transport_instance.hpp) through an in-memory ip, with
// scripted applications; every test ends with no buffer or pbuf held.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "net/udp.hpp"
#include "transport_test_support.hpp"

extern "C" transport_test::TransportEngine* tern_udp_instance_a(tern::channel::PoolOwner* pool, uint32_t seed);
extern "C" transport_test::TransportEngine* tern_udp_instance_b(tern::channel::PoolOwner* pool, uint32_t seed);

namespace {

using namespace transport_test;
namespace sp = tern::socket_proto;
namespace ev = tern::socket_proto::errno_value;

constexpr uint32_t address_a = EnginePair::address_a;
constexpr uint32_t address_b = EnginePair::address_b;

class UdpEngine : public ::testing::Test, protected EnginePair {
protected:
    UdpEngine() : EnginePair(tern::net::ip_protocol::udp, 2048, tern_udp_instance_a, tern_udp_instance_b) { settle(); }

    void TearDown() override
    {
        if (HasFailure())
            return;
        settle();
        expect_nothing_held();
    }

    // Steps until nothing moves.
    void settle()
    {
        for (int i = 0; i < 100000; ++i) {
            const bool worked = step();
            now += 1'000;
            if (!worked)
                return;
        }
        ADD_FAILURE() << "the engines never settled";
    }

    uint64_t bind(App& app, uint32_t id, uint16_t port)
    {
        app.request(sp::bind, id, sp::endpoint_word(0, port));
        settle();
        Message m;
        EXPECT_TRUE(app.take(sp::result, id, &m));
        EXPECT_EQ(m.words[2], 0u);
        return m.words[3];
    }

    void close(App& app, uint32_t id)
    {
        app.request(sp::close, id);
        settle();
        EXPECT_TRUE(app.take(sp::closed, id));
    }

};

TEST_F(UdpEngine, DatagramsOfEverySizeArriveWhole)
{
    bind(app_b, 1, 7);
    std::mt19937 rng(5);
    const size_t sizes[] = {0, 1, 2, 1471, 1472, 2047, 2048, 2049, 8192, 20000, 65507};
    for (size_t size : sizes) {
        std::vector<uint8_t> data(size);
        for (auto& byte : data)
            byte = static_cast<uint8_t>(rng());
        app_b.received.clear();
        app_b.data_messages.clear();
        ASSERT_TRUE(app_a.send(2, data.data(), data.size(), 2048, sp::endpoint_word(address_b, 7), true));
        settle();
        EXPECT_EQ(app_b.received[1], data) << size << " bytes";
        ASSERT_FALSE(app_b.data_messages.empty()) << size << " bytes";
        EXPECT_EQ(app_b.data_messages.front().words[2], size);
        EXPECT_EQ(sp::endpoint_address(app_b.data_messages.front().words[1]), address_a);
    }
    EXPECT_TRUE(app_a.send_errors.empty());
    EXPECT_EQ(b->counter("datagrams_received"), std::size(sizes));
    close(app_a, 2);
    close(app_b, 1);
}

TEST_F(UdpEngine, TooLargeADatagramIsRefusedWithMessageSize)
{
    std::vector<uint8_t> data(65508);
    ASSERT_TRUE(app_a.send(2, data.data(), data.size(), 2048, sp::endpoint_word(address_b, 7), true));
    settle();
    ASSERT_FALSE(app_a.send_errors.empty());
    EXPECT_EQ(app_a.send_errors.back(), -ev::message_size);
    close(app_a, 2);
}

TEST_F(UdpEngine, BadChecksumsAndLengthsAndClosedPortsAreCounted)
{
    bind(app_b, 1, 7);
    std::vector<uint8_t> d(8 + 4, 0xAB);
    tern::net::UdpHeader{.source_port = 1000, .destination_port = 7, .length = 12, .checksum = 0}.write(d.data());
    auto bad = d;
    ip.inject(1, bad, true, 6);
    bad = d;
    bad[6] = 0x12;
    bad[7] = 0x34;
    ip.inject(1, bad, false, 6);
    auto too_long = d;
    tern::net::store_be16(too_long.data() + 4, 40);
    ip.inject(1, too_long, true, 6);
    auto elsewhere = d;
    tern::net::store_be16(elsewhere.data() + 2, 99);
    ip.inject(1, elsewhere, true, 6);
    settle();
    EXPECT_EQ(b->counter("datagrams_received"), 2u); // the good one and the one for port 99
    EXPECT_EQ(b->counter("bad_checksum"), 1u);
    EXPECT_EQ(b->counter("bad_length"), 1u);
    EXPECT_EQ(b->counter("no_port"), 1u);
    ASSERT_EQ(ip.unreachable.size(), 1u); // ip is asked for ICMP port unreachable
    EXPECT_EQ(ip.unreachable[0], 3u);
    EXPECT_EQ(app_b.received[1].size(), 4u);
    close(app_b, 1);
}

TEST_F(UdpEngine, AFullReceiveBufferDropsAndCounts)
{
    bind(app_b, 1, 7);
    app_b.request(sp::set_option, 1, sp::option::receive_buffer, 4096);
    app_b.hold = true;
    std::vector<uint8_t> data(1000, 1);
    for (int i = 0; i < 10; ++i)
        ASSERT_TRUE(app_a.send(2, data.data(), data.size(), 2048, sp::endpoint_word(address_b, 7)));
    settle();
    EXPECT_EQ(app_b.received[1].size(), 4000u);
    EXPECT_EQ(b->counter("receive_buffer_full"), 6u);
    for (const Message& m : app_b.data_messages)
        app_b.give_back(m);
    app_b.hold = false;
    settle();
    close(app_a, 2);
    close(app_b, 1);
}

TEST_F(UdpEngine, ConnectedSocketsSendWithoutAnAddressAndFilterSenders)
{
    const uint64_t b_end = bind(app_b, 1, 7);
    (void)b_end;
    app_a.request(sp::connect, 2, sp::endpoint_word(address_b, 7));
    settle();
    Message m;
    ASSERT_TRUE(app_a.take(sp::result, 2, &m));
    EXPECT_EQ(m.words[2], 0u);
    const uint8_t ping[] = "ping";
    ASSERT_TRUE(app_a.send(2, ping, 4));
    settle();
    ASSERT_EQ(app_b.received[1].size(), 4u);
    const uint64_t a_end = app_b.data_messages.back().words[1];
    const uint8_t pong[] = "pong";
    ASSERT_TRUE(app_b.send(1, pong, 4, 2048, a_end));
    settle();
    EXPECT_EQ(app_a.received[2].size(), 4u);
    // Unconnected sending without an address: ENOTCONN.
    ASSERT_TRUE(app_b.send(1, pong, 4));
    settle();
    ASSERT_FALSE(app_b.send_errors.empty());
    EXPECT_EQ(app_b.send_errors.back(), -ev::not_connected);
    close(app_a, 2);
    close(app_b, 1);
}

TEST_F(UdpEngine, ABindingInUseIsRefused)
{
    bind(app_b, 1, 53);
    app_b.request(sp::bind, 2, sp::endpoint_word(0, 53));
    settle();
    Message m;
    ASSERT_TRUE(app_b.take(sp::result, 2, &m));
    EXPECT_EQ(static_cast<int64_t>(m.words[2]), -ev::address_in_use);
    close(app_b, 1);
    close(app_b, 2);
}

} // namespace
