#include <gtest/gtest.h>

#include <string>

#include "base/format.hpp"

namespace {

std::string fmt(const char* f, auto... args)
{
    char buffer[128];
    tern::format_to(buffer, sizeof(buffer), f, args...);
    return buffer;
}

TEST(Format, IntegersInEveryBase)
{
    EXPECT_EQ(fmt("%d %u %x %X", -42, 42u, 0xbeefu, 0xbeefu), "-42 42 beef BEEF");
    EXPECT_EQ(fmt("%ld", static_cast<long>(INT64_MIN)), "-9223372036854775808");
    EXPECT_EQ(fmt("%lu", static_cast<unsigned long>(UINT64_MAX)), "18446744073709551615");
    EXPECT_EQ(fmt("%zu", sizeof(uint64_t)), "8");
}

TEST(Format, WidthAndPadding)
{
    EXPECT_EQ(fmt("[%5d]", 42), "[   42]");
    EXPECT_EQ(fmt("[%-5d]", 42), "[42   ]");
    EXPECT_EQ(fmt("[%05d]", -42), "[-0042]");
    EXPECT_EQ(fmt("%016lx", 0xdead0000ul), "00000000dead0000");
    EXPECT_EQ(fmt("[%6s]", "ab"), "[    ab]");
}

TEST(Format, StringsCharsPointersPercent)
{
    EXPECT_EQ(fmt("%s %c %%", "tern", 'x'), "tern x %");
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-overflow"
    EXPECT_EQ(fmt("%s", static_cast<const char*>(nullptr)), "(null)");
#pragma GCC diagnostic pop
    EXPECT_EQ(fmt("%p", reinterpret_cast<void*>(0x1000)), "0x0000000000001000");
    EXPECT_EQ(fmt("%q"), "%q");
}

TEST(Format, TruncatesSafelyAndReportsFullLength)
{
    char buffer[8];
    const size_t n = tern::format_to(buffer, sizeof(buffer), "%s", "0123456789");
    EXPECT_EQ(n, 10u);
    EXPECT_STREQ(buffer, "0123456");
    EXPECT_EQ(tern::format_to(nullptr, 0, "%d", 12345), 5u);
}

} // namespace
