// servers/ip static configuration from boot options, and applying it.
#include <gtest/gtest.h>

#include "boot_config.hpp"
#include "ip_test_support.hpp"

namespace {

using namespace iptest;
using ip::BootConfig;
using Mode = ip::InterfaceBootConfig::Mode;

TEST(IpBootConfig, QemuStyleStaticConfiguration)
{
    BootConfig c;
    const char* error = nullptr;
    ASSERT_TRUE(ip::parse_boot_config("ip core=2 ip=10.0.2.15/24 gw=10.0.2.2 dns=10.0.2.3", c, error)) << error;
    EXPECT_EQ(c.interfaces[0].mode, Mode::static_address);
    EXPECT_EQ(c.interfaces[0].address, our_ip);
    EXPECT_EQ(c.interfaces[0].prefix_length, 24);
    EXPECT_EQ(c.interfaces[1].mode, Mode::dhcp);
    EXPECT_TRUE(c.has_gateway);
    EXPECT_EQ(c.gateway, gateway_ip);
    EXPECT_EQ(c.gateway_interface, 0u);
    EXPECT_TRUE(c.has_dns);
    EXPECT_EQ(c.dns, ip4(10, 0, 2, 3));
}

TEST(IpBootConfig, DefaultsAndSeveralInterfaces)
{
    BootConfig c;
    const char* error = nullptr;
    ASSERT_TRUE(ip::parse_boot_config("", c, error));
    for (const auto& i : c.interfaces)
        EXPECT_EQ(i.mode, Mode::dhcp);
    EXPECT_FALSE(c.has_gateway);
    ASSERT_TRUE(ip::parse_boot_config(nullptr, c, error));

    ASSERT_TRUE(ip::parse_boot_config("ip0=dhcp  ip1=192.168.7.1/24\tip2=off gw=192.168.7.254 ip=1.2.3.4/8 ip=dhcp", c,
                                      error))
        << error;
    EXPECT_EQ(c.interfaces[0].mode, Mode::dhcp); // the last word wins
    EXPECT_EQ(c.interfaces[1].mode, Mode::static_address);
    EXPECT_EQ(c.interfaces[1].address, ip4(192, 168, 7, 1));
    EXPECT_EQ(c.interfaces[2].mode, Mode::off);
    EXPECT_EQ(c.gateway_interface, 1u);
    ASSERT_TRUE(ip::parse_boot_config("ip=10.0.2.15/32", c, error));
    EXPECT_EQ(c.interfaces[0].prefix_length, 32);
}

TEST(IpBootConfig, RejectsBadValuesWithAMessage)
{
    const char* bad[] = {
        "ip=10.0.2.15",        "ip=10.0.2.15/",        "ip=10.0.2.15/0",   "ip=10.0.2.15/33",   "ip=10.0.2.15/2a",
        "ip=10.0.2.15/240",    "ip=10.0.2/24",         "ip=255.255.255.255/24", "ip=0.0.0.0/24", "ip=224.0.0.1/4",
        "ip=dhcpx",            "ip=",                  "ip9=10.0.0.1/8",   "ip4=10.0.0.1/8",    "gw=10.0.2.2",
        "ip=10.0.2.15/24 gw=10.0.3.1", "ip=10.0.2.15/24 gw=10.0.2.15", "ip=10.0.2.15/24 gw=x", "dns=",
        "dns=10.0.2.256",
    };
    for (const char* line : bad) {
        BootConfig c;
        const char* error = nullptr;
        EXPECT_FALSE(ip::parse_boot_config(line, c, error)) << line;
        EXPECT_NE(error, nullptr) << line;
    }
}

TEST(IpBootConfig, AppliesToTheStack)
{
    FakeNic nic;
    auto stack = std::make_unique<ip::IpStack>(nic);
    ASSERT_TRUE(stack->add_interface(our_mac).ok());
    MacAddress second = our_mac;
    second.bytes[5] = 0x57;
    ASSERT_TRUE(stack->add_interface(second).ok());
    BootConfig c;
    const char* error = nullptr;
    ASSERT_TRUE(ip::parse_boot_config("ip=10.0.2.15/24 gw=10.0.2.2 dns=10.0.2.3", c, error)) << error;
    ip::apply_boot_config(*stack, c, 99, 0);
    EXPECT_EQ(stack->interface(0)->address, our_ip);
    EXPECT_EQ(stack->routes().lookup(remote_ip).value().gateway, gateway_ip);
    EXPECT_EQ(stack->dns_server(), ip4(10, 0, 2, 3));
    EXPECT_FALSE(stack->dhcp(0)->active());
    // eth1 was left to DHCP: its DISCOVER is out.
    EXPECT_TRUE(stack->dhcp(1)->active());
    auto sent = nic.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].interface, 1u);
}

} // namespace
