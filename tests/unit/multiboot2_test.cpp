#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "boot/multiboot2.hpp"

namespace {

using kernel::multiboot2::BootInfo;
using kernel::multiboot2::MemoryType;
using tern::Error;

// Builds boot information the way GRUB lays it out: a size/reserved header,
// then 8-byte-aligned tags, then an end tag.
class InfoBuilder {
public:
    InfoBuilder() { m_bytes.resize(8); }

    InfoBuilder& tag(uint32_t type, const std::vector<uint8_t>& body)
    {
        append32(type);
        append32(static_cast<uint32_t>(8 + body.size()));
        m_bytes.insert(m_bytes.end(), body.begin(), body.end());
        while (m_bytes.size() % 8 != 0)
            m_bytes.push_back(0);
        return *this;
    }
    InfoBuilder& string_tag(uint32_t type, const std::string& text)
    {
        std::vector<uint8_t> body(text.begin(), text.end());
        body.push_back(0);
        return tag(type, body);
    }
    InfoBuilder& memory_map(const std::vector<std::pair<uint64_t, uint64_t>>& usable, uint32_t entry_size = 24)
    {
        std::vector<uint8_t> body;
        put32(body, entry_size);
        put32(body, 0);
        for (auto [base, length] : usable) {
            put64(body, base);
            put64(body, length);
            put32(body, 1);
            put32(body, 0);
            if (entry_size > 24)
                body.resize(body.size() + (entry_size - 24));
        }
        return tag(6, body);
    }
    InfoBuilder& module(uint32_t start, uint32_t end, const std::string& cmdline)
    {
        std::vector<uint8_t> body;
        put32(body, start);
        put32(body, end);
        body.insert(body.end(), cmdline.begin(), cmdline.end());
        body.push_back(0);
        return tag(3, body);
    }
    std::vector<uint64_t> finish(bool with_end = true)
    {
        if (with_end)
            tag(0, {});
        const auto total = static_cast<uint32_t>(m_bytes.size());
        std::memcpy(m_bytes.data(), &total, 4);
        std::vector<uint64_t> aligned((m_bytes.size() + 7) / 8);
        std::memcpy(aligned.data(), m_bytes.data(), m_bytes.size());
        return aligned;
    }

private:
    static void put32(std::vector<uint8_t>& v, uint32_t x) { v.insert(v.end(), (uint8_t*)&x, (uint8_t*)&x + 4); }
    static void put64(std::vector<uint8_t>& v, uint64_t x) { v.insert(v.end(), (uint8_t*)&x, (uint8_t*)&x + 8); }
    void append32(uint32_t x) { put32(m_bytes, x); }
    std::vector<uint8_t> m_bytes;
};

tern::Result<void> parse(const std::vector<uint64_t>& info, BootInfo& out)
{
    return kernel::multiboot2::parse(info.data(), info.size() * 8, out);
}

TEST(Multiboot2, ParsesCommandLineMemoryMapModulesAndRsdp)
{
    std::vector<uint8_t> rsdp(36, 0xAB);
    auto info = InfoBuilder()
                    .string_tag(1, "test=selftest")
                    .string_tag(2, "GRUB 2.06")
                    .memory_map({{0, 0x9FC00}, {0x100000, 0x1FF00000}})
                    .module(0x300000, 0x301000, "hello core=1")
                    .tag(15, rsdp)
                    .finish();
    BootInfo out;
    ASSERT_TRUE(parse(info, out).ok());
    EXPECT_STREQ(out.cmdline, "test=selftest");
    EXPECT_STREQ(out.bootloader, "GRUB 2.06");
    ASSERT_EQ(out.region_count, 2u);
    EXPECT_EQ(out.regions[1].base, 0x100000u);
    EXPECT_EQ(out.regions[1].length, 0x1FF00000u);
    EXPECT_EQ(out.regions[1].type, MemoryType::available);
    ASSERT_EQ(out.module_count, 1u);
    EXPECT_EQ(out.modules[0].start, 0x300000u);
    EXPECT_STREQ(out.modules[0].cmdline, "hello core=1");
    EXPECT_TRUE(out.rsdp_v2);
    EXPECT_EQ(out.rsdp_length, 36u);
}

TEST(Multiboot2, AcceptsLargerMemoryMapEntries)
{
    auto info = InfoBuilder().memory_map({{0x100000, 0x100000}, {0x400000, 0x1000}}, 32).finish();
    BootInfo out;
    ASSERT_TRUE(parse(info, out).ok());
    ASSERT_EQ(out.region_count, 2u);
    EXPECT_EQ(out.regions[1].base, 0x400000u);
}

TEST(Multiboot2, PrefersNewRsdpOverOld)
{
    auto info = InfoBuilder()
                    .memory_map({{0x100000, 0x100000}})
                    .tag(15, std::vector<uint8_t>(36, 2))
                    .tag(14, std::vector<uint8_t>(20, 1))
                    .finish();
    BootInfo out;
    ASSERT_TRUE(parse(info, out).ok());
    EXPECT_TRUE(out.rsdp_v2);
    EXPECT_EQ(static_cast<const uint8_t*>(out.rsdp)[0], 2);
}

struct Malformed {
    const char* name;
    std::vector<uint64_t> info;
    Error expected;
};

TEST(Multiboot2, RejectsMalformedInformation)
{
    auto no_end = InfoBuilder().memory_map({{0x100000, 0x1000}}).finish(false);
    auto unterminated = InfoBuilder().memory_map({{0x100000, 0x1000}}).tag(1, {'a', 'b', 'c', 'd'}).finish();
    auto bad_entry_size = InfoBuilder().memory_map({{0x100000, 0x1000}}, 20).finish();
    auto no_memory_map = InfoBuilder().string_tag(1, "x").finish();
    auto module_backwards = InfoBuilder().memory_map({{0x100000, 0x1000}}).module(0x2000, 0x1000, "m").finish();
    auto wrapping_region = InfoBuilder().memory_map({{~0ull - 10, 0x1000}}).finish();
    auto short_rsdp = InfoBuilder().memory_map({{0x100000, 0x1000}}).tag(15, std::vector<uint8_t>(20)).finish();
    auto oversized_tag = InfoBuilder().memory_map({{0x100000, 0x1000}}).finish();
    reinterpret_cast<uint32_t*>(oversized_tag.data())[3] = 0x10000; // first tag's size
    auto tiny_tag = InfoBuilder().memory_map({{0x100000, 0x1000}}).finish();
    reinterpret_cast<uint32_t*>(tiny_tag.data())[3] = 4;
    auto total_too_big = InfoBuilder().memory_map({{0x100000, 0x1000}}).finish();
    reinterpret_cast<uint32_t*>(total_too_big.data())[0] += 64;

    const Malformed cases[] = {
        {"no end tag", no_end, Error::malformed},
        {"unterminated string", unterminated, Error::malformed},
        {"memory map entry too small", bad_entry_size, Error::malformed},
        {"no memory map", no_memory_map, Error::not_found},
        {"module ends before it starts", module_backwards, Error::malformed},
        {"region wraps around", wrapping_region, Error::malformed},
        {"short ACPI 2 RSDP", short_rsdp, Error::malformed},
        {"tag larger than the information", oversized_tag, Error::malformed},
        {"tag smaller than its header", tiny_tag, Error::malformed},
        {"total size beyond the buffer", total_too_big, Error::malformed},
    };
    for (const Malformed& c : cases) {
        BootInfo out;
        auto result = parse(c.info, out);
        ASSERT_FALSE(result.ok()) << c.name;
        EXPECT_EQ(result.error(), c.expected) << c.name;
    }
}

TEST(Multiboot2, RejectsNullAndMisalignedPointers)
{
    BootInfo out;
    EXPECT_EQ(kernel::multiboot2::parse(nullptr, 64, out).error(), Error::invalid_argument);
    auto info = InfoBuilder().memory_map({{0x100000, 0x1000}}).finish();
    auto* misaligned = reinterpret_cast<const uint8_t*>(info.data()) + 4;
    EXPECT_EQ(kernel::multiboot2::parse(misaligned, 64, out).error(), Error::invalid_argument);
}

TEST(Multiboot2, ReportsTooManyModulesInsteadOfOverflowing)
{
    InfoBuilder builder;
    builder.memory_map({{0x100000, 0x1000}});
    for (size_t i = 0; i <= BootInfo::max_modules; ++i)
        builder.module(0x1000, 0x2000, "m");
    auto info = builder.finish();
    BootInfo out;
    EXPECT_EQ(parse(info, out).error(), Error::unsupported);
}

} // namespace
