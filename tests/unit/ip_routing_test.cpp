// servers/ip routing table: longest prefix, metrics, default gateway, limits.
#include <gtest/gtest.h>

#include "ip_test_support.hpp"
#include "routing.hpp"

namespace {

using namespace iptest;
using ip::Route;
using ip::RoutingTable;

TEST(IpRouting, LongestPrefixWins)
{
    RoutingTable t;
    ASSERT_TRUE(t.add({.destination = ip4(10, 0, 0, 0), .prefix_length = 8, .interface = 1}).ok());
    ASSERT_TRUE(t.add({.destination = ip4(10, 0, 2, 0), .prefix_length = 24, .interface = 0}).ok());
    ASSERT_TRUE(t.add({.destination = ip4(10, 0, 2, 128), .prefix_length = 25, .gateway = ip4(10, 0, 2, 1),
                       .interface = 2})
                    .ok());
    ASSERT_TRUE(t.set_default_gateway(gateway_ip, 0).ok());

    struct Case {
        Ipv4Address to;
        unsigned interface;
        uint8_t prefix;
    } cases[] = {{ip4(10, 0, 2, 15), 0, 24}, {ip4(10, 0, 2, 200), 2, 25}, {ip4(10, 9, 9, 9), 1, 8},
                 {ip4(8, 8, 8, 8), 0, 0},    {ip4(10, 0, 2, 127), 0, 24}, {ip4(10, 0, 2, 128), 2, 25}};
    for (const Case& c : cases) {
        const auto r = t.lookup(c.to);
        ASSERT_TRUE(r.ok()) << to_text(c.to).text;
        EXPECT_EQ(r.value().interface, c.interface) << to_text(c.to).text;
        EXPECT_EQ(r.value().prefix_length, c.prefix) << to_text(c.to).text;
    }
    EXPECT_EQ(t.lookup(ip4(8, 8, 8, 8)).value().gateway, gateway_ip);
    EXPECT_TRUE(t.lookup(ip4(10, 0, 2, 1)).value().connected());
}

TEST(IpRouting, NoRouteWithoutDefault)
{
    RoutingTable t;
    EXPECT_EQ(t.lookup(our_ip).error(), tern::Error::not_found);
    ASSERT_TRUE(t.add({.destination = ip4(10, 0, 2, 0), .prefix_length = 24}).ok());
    EXPECT_EQ(t.lookup(ip4(10, 0, 3, 1)).error(), tern::Error::not_found);
}

TEST(IpRouting, MetricBreaksTiesAndSameRouteIsReplaced)
{
    RoutingTable t;
    ASSERT_TRUE(t.add({.destination = ip4(192, 168, 0, 0), .prefix_length = 16, .interface = 0, .metric = 10}).ok());
    ASSERT_TRUE(t.add({.destination = ip4(192, 168, 0, 0), .prefix_length = 16, .interface = 1, .metric = 5}).ok());
    EXPECT_EQ(t.lookup(ip4(192, 168, 1, 1)).value().interface, 1u);
    // Same destination, prefix and interface: replaced, not added.
    ASSERT_TRUE(t.add({.destination = ip4(192, 168, 7, 7), .prefix_length = 16, .interface = 1, .metric = 50}).ok());
    EXPECT_EQ(t.size(), 2u);
    EXPECT_EQ(t.lookup(ip4(192, 168, 1, 1)).value().interface, 0u);
    // Host bits are cleared.
    EXPECT_EQ(t.at(1).destination, ip4(192, 168, 0, 0));
}

TEST(IpRouting, DefaultGatewayIsReplacedAndValidated)
{
    RoutingTable t;
    ASSERT_TRUE(t.set_default_gateway(gateway_ip, 0).ok());
    ASSERT_TRUE(t.set_default_gateway(ip4(192, 168, 1, 1), 1).ok());
    EXPECT_EQ(t.size(), 1u);
    EXPECT_EQ(t.lookup(remote_ip).value().gateway, ip4(192, 168, 1, 1));
    EXPECT_FALSE(t.set_default_gateway(Ipv4Address::broadcast(), 0).ok());
    EXPECT_FALSE(t.set_default_gateway(Ipv4Address{}, 0).ok());
    EXPECT_FALSE(t.add({.prefix_length = 33}).ok());
}

TEST(IpRouting, FullTableAndRemoval)
{
    RoutingTable t;
    for (unsigned i = 0; i < RoutingTable::capacity; ++i)
        ASSERT_TRUE(t.add({.destination = ip4(10, static_cast<uint8_t>(i), 0, 0), .prefix_length = 16,
                           .interface = i % 2})
                        .ok());
    EXPECT_EQ(t.add({.destination = ip4(11, 0, 0, 0), .prefix_length = 8}).error(), tern::Error::out_of_memory);
    EXPECT_EQ(t.remove(ip4(10, 3, 0, 0), 16), 1u);
    EXPECT_FALSE(t.lookup(ip4(10, 3, 1, 1)).ok());
    EXPECT_EQ(t.remove_interface(1), RoutingTable::capacity / 2 - 1);
    EXPECT_EQ(t.size(), RoutingTable::capacity / 2);
    for (size_t i = 0; i < t.size(); ++i)
        EXPECT_EQ(t.at(i).interface, 0u);
}

} // namespace
