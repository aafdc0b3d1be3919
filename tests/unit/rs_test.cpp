#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "data_store.hpp"
#include "service_table.hpp"

namespace {

namespace sys = tern::sys;

TEST(RsModuleCmdline, ParsesEveryOption)
{
    rs::ServiceConfig c;
    const char* error = nullptr;
    ASSERT_TRUE(rs::parse_module_cmdline("e1000 core=1 priv=devices,crash pci=00:03.0 heartbeat=250 restart=never "
                                         "start=manual mtu=1500",
                                         c, error))
        << error;
    EXPECT_STREQ(c.name, "e1000");
    EXPECT_EQ(c.core, 1);
    EXPECT_EQ(c.privileges, sys::privilege::devices | sys::privilege::crash);
    EXPECT_EQ(c.pci_device, (3u << 3));
    EXPECT_EQ(c.heartbeat_ms, 250u);
    EXPECT_EQ(c.restart, rs::RestartPolicy::never);
    EXPECT_TRUE(c.manual_start);

    ASSERT_TRUE(rs::parse_module_cmdline("sh", c, error));
    EXPECT_EQ(c.core, -1);
    EXPECT_EQ(c.restart, rs::RestartPolicy::always);
    EXPECT_EQ(c.pci_device, ~0u);
}

TEST(RsModuleCmdline, RejectsBadValuesWithAMessage)
{
    const char* bad[] = {"",
                         "x core=",
                         "x core=999",
                         "x core=1a",
                         "x priv=root",
                         "x restart=sometimes",
                         "x heartbeat=5",
                         "x start=later",
                         "x pci=0:3",
                         "x pci=00:20.0",
                         "x pci=8086:100",
                         "x pci=8086:100e,",
                         "x pci=8086:100e;8086:100f",
                         "x pci=8086:100e0",
                         "x pci=8086:*x",
                         "x pciclass=02",
                         "x pciclass=02000",
                         "a-name-that-is-far-too-long"};
    for (const char* cmdline : bad) {
        rs::ServiceConfig c;
        const char* error = nullptr;
        EXPECT_FALSE(rs::parse_module_cmdline(cmdline, c, error)) << cmdline;
        EXPECT_NE(error, nullptr) << cmdline;
    }
}

TEST(RsModuleCmdline, PciIdListsMatchEveryFunctionInOrder)
{
    rs::ServiceConfig c;
    const char* error = nullptr;
    ASSERT_TRUE(rs::parse_module_cmdline("e1000 pci=8086:100e,8086:100f priv=devices", c, error)) << error;
    ASSERT_EQ(c.pci_id_count, 2u);
    EXPECT_EQ(c.pci_ids[1].device, 0x100F);
    EXPECT_EQ(c.pci_device, ~0u);
    const sys::PciInfo functions[] = {
        {0x0000, 0x8086, 0x1237, 6, 0, 0, 0, 0},
        {0x0018, 0x8086, 0x100E, 2, 0, 0, 11, 0},
        {0x0020, 0x1AF4, 0x1000, 2, 0, 0, 10, 0},
        {0x0100, 0x8086, 0x100F, 2, 0, 0, 10, 0},
    };
    uint32_t found[4] = {};
    ASSERT_EQ(rs::match_pci(c, functions, 4, found, 4), 2u);
    EXPECT_EQ(found[0], 0x18u);
    EXPECT_EQ(found[1], 0x100u);
    EXPECT_EQ(rs::match_pci(c, functions, 4, found, 1), 2u) << "counts beyond max";

    const rs::ServiceConfig first = rs::pci_instance(c, found[0], 0);
    EXPECT_STREQ(first.name, "e1000");
    EXPECT_EQ(first.pci_device, 0x18u);
    const rs::ServiceConfig second = rs::pci_instance(c, found[1], 1);
    EXPECT_STREQ(second.name, "e1000-1");
    EXPECT_EQ(second.pci_device, 0x100u);
    EXPECT_EQ(second.privileges, sys::privilege::devices);

    ASSERT_TRUE(rs::parse_module_cmdline("e1000 pci=8086:* pciclass=0200", c, error)) << error;
    EXPECT_EQ(c.pci_class, 0x0200);
    ASSERT_EQ(rs::match_pci(c, functions, 4, found, 4), 2u) << "Intel Ethernet controllers only";
    EXPECT_EQ(found[0], 0x18u);
    EXPECT_EQ(found[1], 0x100u);

    ASSERT_TRUE(rs::parse_module_cmdline("a-sixteen-chars pci=8086:100e", c, error));
    EXPECT_STREQ(rs::pci_instance(c, 0, 12).name, "a-sixteen-cha-12"); // 16 characters at most
}

TEST(RsServiceTable, HeartbeatsFindHungServicesAfterTwoMisses)
{
    rs::ServiceTable table;
    rs::ServiceConfig c;
    const char* error;
    ASSERT_TRUE(rs::parse_module_cmdline("a heartbeat=100", c, error));
    rs::Service* a = table.add(c, 0);
    ASSERT_TRUE(rs::parse_module_cmdline("b heartbeat=50", c, error));
    rs::Service* b = table.add(c, 1);
    ASSERT_TRUE(rs::parse_module_cmdline("c", c, error));
    rs::Service* quiet = table.add(c, 2);
    a->endpoint = 0x10001;
    b->endpoint = 0x10002;
    quiet->endpoint = 0x10003;
    EXPECT_EQ(table.heartbeat_period_ms(), 50u);
    EXPECT_EQ(table.by_endpoint(0x10002), b);
    EXPECT_EQ(table.by_name("c"), quiet);
    EXPECT_EQ(table.by_name("cc"), nullptr);

    rs::Service* ping[8];
    rs::Service* hung[8];
    size_t pings, hungs;
    table.heartbeat_round(ping, pings, hung, hungs);
    EXPECT_EQ(pings, 2u);
    EXPECT_EQ(hungs, 0u);
    table.pong(*a); // a answers, b does not
    table.heartbeat_round(ping, pings, hung, hungs);
    EXPECT_EQ(hungs, 0u); // b: first miss
    table.pong(*a);
    table.heartbeat_round(ping, pings, hung, hungs);
    ASSERT_EQ(hungs, 1u);
    EXPECT_EQ(hung[0], b);
}

TEST(RsDataStore, PutGetOverwriteAndFull)
{
    rs::DataStore store;
    rs::DataStore::Key key{};
    rs::DataStore::Value value{}, out{};
    std::memcpy(key, "crashtest", 9);
    value[0] = 42;
    EXPECT_FALSE(store.get(key, out));
    EXPECT_TRUE(store.put(key, value));
    ASSERT_TRUE(store.get(key, out));
    EXPECT_EQ(out[0], 42);
    value[0] = 43;
    EXPECT_TRUE(store.put(key, value));
    ASSERT_TRUE(store.get(key, out));
    EXPECT_EQ(out[0], 43);
    EXPECT_EQ(store.size(), 1u);
    for (size_t i = 1; i < rs::DataStore::capacity; ++i) {
        rs::DataStore::Key k{};
        std::memcpy(k, &i, sizeof(i));
        EXPECT_TRUE(store.put(k, value));
    }
    rs::DataStore::Key extra{};
    std::memcpy(extra, "one-too-many", 12);
    EXPECT_FALSE(store.put(extra, value));
    EXPECT_TRUE(store.put(key, value)); // an existing key still updates
}

} // namespace

namespace {

TEST(RsRestartPacing, QuickFailuresBackOffButRequestedEndsDoNot)
{
    constexpr uint64_t ms = 1000000;
    rs::Service s;
    uint64_t now = 5000 * ms;
    std::vector<uint64_t> delays;
    for (int i = 0; i < 12; ++i) {
        s.started_ns = now - 50 * ms; // died 50 ms after its start
        delays.push_back(rs::restart_delay_ns(s, now));
        now += 100 * ms;
    }
    EXPECT_EQ(delays[0], 0u);
    EXPECT_EQ(delays[2], 0u);
    EXPECT_EQ(delays[3], 10 * ms);
    EXPECT_EQ(delays[4], 20 * ms);
    EXPECT_EQ(delays[5], 40 * ms);
    EXPECT_EQ(delays[11], 1000 * ms); // capped

    s.ended_on_request = true; // crash injection or a hang rs detected
    EXPECT_EQ(rs::restart_delay_ns(s, now), 0u);
    EXPECT_FALSE(s.ended_on_request);
    EXPECT_EQ(s.quick_failures, 0u);

    s.started_ns = now - 5000 * ms; // ran a while: the count starts over
    s.quick_failures = 9;
    EXPECT_EQ(rs::restart_delay_ns(s, now), 0u);
    EXPECT_EQ(s.quick_failures, 0u);
}

} // namespace
