#include <gtest/gtest.h>

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

} // namespace
