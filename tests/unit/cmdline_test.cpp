#include <gtest/gtest.h>

#include <cstring>

#include "cmdline.hpp"

namespace {

TEST(Cmdline, FindsValues)
{
    char value[16];
    ASSERT_TRUE(kernel::cmdline_value("quiet test=selftest smp=4", "test", value, sizeof(value)));
    EXPECT_STREQ(value, "selftest");
    ASSERT_TRUE(kernel::cmdline_value("  test=x   ", "test", value, sizeof(value)));
    EXPECT_STREQ(value, "x");
}

TEST(Cmdline, RejectsPrefixesMissingKeysAndOverlongValues)
{
    char value[4];
    EXPECT_FALSE(kernel::cmdline_value("testing=1 xtest=2", "test", value, sizeof(value)));
    EXPECT_FALSE(kernel::cmdline_value("", "test", value, sizeof(value)));
    EXPECT_FALSE(kernel::cmdline_value("test", "test", value, sizeof(value)));
    EXPECT_FALSE(kernel::cmdline_value("test=toolong", "test", value, sizeof(value)));
}

TEST(ProcessCmdline, AddsTheKernelWordsNamedForTheProcess)
{
    char out[64];
    EXPECT_EQ(kernel::process_cmdline("ip core=0", "ip", "test=processes ip.ip=192.168.7.2/24 ipx.a=1 ip.gw=192.168.7.1",
                                      out, sizeof(out)),
              std::strlen("ip core=0 ip=192.168.7.2/24 gw=192.168.7.1"));
    EXPECT_STREQ(out, "ip core=0 ip=192.168.7.2/24 gw=192.168.7.1");
    kernel::process_cmdline("e1000  pci=8086:*", "e1000-1", "e1000.x=1 e1000-1.y=2 .z ip. e1000-1.", out, sizeof(out));
    EXPECT_STREQ(out, "e1000 pci=8086:* y=2") << "only the process's own name; empty options are not words";
    kernel::process_cmdline("sh", "sh", "", out, sizeof(out));
    EXPECT_STREQ(out, "sh");
}

TEST(ProcessCmdline, KeepsOnlyWholeWordsThatFit)
{
    char out[16];
    kernel::process_cmdline("ip core=0", "ip", "ip.a=1 ip.long=0123456789 ip.b=2", out, sizeof(out));
    EXPECT_STREQ(out, "ip core=0 a=1") << "a word that does not fit ends the line";
    char tiny[4];
    kernel::process_cmdline("hello", "hello", "", tiny, sizeof(tiny));
    EXPECT_STREQ(tiny, "");
}

} // namespace
