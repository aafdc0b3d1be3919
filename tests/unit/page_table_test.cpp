#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>

#include "arch/page_table.hpp"

namespace {

using arch::PageTableBuilder;
namespace pte = arch::pte;
using tern::Error;

constexpr uint64_t page = 4096;
constexpr uint64_t large = 2 * 1024 * 1024;

// Page tables on the host heap, with fake "physical" addresses.
class HostTables final : public arch::TableMemory {
public:
    tern::Result<uint64_t> allocate_table() override
    {
        if (m_limit == 0)
            return Error::out_of_memory;
        --m_limit;
        const uint64_t phys = m_next;
        m_next += page;
        auto* table = static_cast<uint64_t*>(std::aligned_alloc(page, page));
        std::memset(table, 0, page);
        m_tables[phys].reset(table);
        return phys;
    }
    uint64_t* table_at(uint64_t phys) override { return m_tables.at(phys).get(); }
    size_t count() const { return m_tables.size(); }
    void limit(size_t tables) { m_limit = tables; }

private:
    struct Free {
        void operator()(uint64_t* p) const { std::free(p); }
    };
    std::map<uint64_t, std::unique_ptr<uint64_t, Free>> m_tables;
    uint64_t m_next = 0x10000000;
    size_t m_limit = 1u << 20;
};

class PageTableTest : public ::testing::Test {
protected:
    PageTableTest() : m_builder(m_memory, m_memory.allocate_table().value()) {}
    HostTables m_memory;
    PageTableBuilder m_builder;
};

TEST_F(PageTableTest, SmallPagesTranslate)
{
    ASSERT_TRUE(m_builder.map(0x400000, 0x1234000, 3 * page, pte::writable | pte::user).ok());
    for (uint64_t i = 0; i < 3; ++i) {
        auto t = m_builder.translate(0x400000 + i * page + 0x10);
        ASSERT_TRUE(t.ok());
        EXPECT_EQ(t.value().phys, 0x1234000 + i * page + 0x10);
        EXPECT_EQ(t.value().page_size, page);
        EXPECT_TRUE(t.value().flags & pte::writable);
        EXPECT_TRUE(t.value().flags & pte::user);
    }
    EXPECT_EQ(m_builder.translate(0x403000).error(), Error::not_found);
    EXPECT_EQ(m_memory.count(), 4u); // PML4, PDPT, PD, PT
}

TEST_F(PageTableTest, LargePagesWhereAligned)
{
    const uint64_t virt = 0xFFFF800000000000;
    // 1 small page, then 2 large pages, then 1 small page.
    ASSERT_TRUE(m_builder.map(virt + large - page, large - page, 2 * large + 2 * page, pte::writable).ok());
    auto first = m_builder.translate(virt + large - page);
    auto middle = m_builder.translate(virt + large + 12345);
    auto last = m_builder.translate(virt + 3 * large);
    ASSERT_TRUE(first.ok() && middle.ok() && last.ok());
    EXPECT_EQ(first.value().page_size, page);
    EXPECT_EQ(middle.value().page_size, large);
    EXPECT_EQ(middle.value().phys, large + 12345);
    EXPECT_EQ(last.value().page_size, page);
    EXPECT_EQ(last.value().phys, 3 * large);
}

TEST_F(PageTableTest, KernelHalfAndNoExecute)
{
    const uint64_t kernel = 0xFFFFFFFF80200000;
    ASSERT_TRUE(m_builder.map(kernel, 0x200000, page, pte::no_execute | pte::global, true).ok());
    auto t = m_builder.translate(kernel);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t.value().phys, 0x200000u);
    EXPECT_TRUE(t.value().flags & pte::no_execute);
    EXPECT_FALSE(t.value().flags & pte::writable);
}

TEST_F(PageTableTest, OverlapsAreRefusedWithoutChanges)
{
    ASSERT_TRUE(m_builder.map(0x200000, 0x200000, large, pte::writable).ok()); // one large page
    const size_t tables = m_memory.count();
    EXPECT_EQ(m_builder.map(0x3FF000, 0x5000, 2 * page, 0).error(), Error::busy);
    EXPECT_EQ(m_builder.map(0x300000, 0x5000, page, 0).error(), Error::busy);
    EXPECT_TRUE(m_builder.translate(0x3FF000).ok());
    EXPECT_EQ(m_builder.translate(0x400000).error(), Error::not_found); // nothing half-mapped
    EXPECT_EQ(m_memory.count(), tables);
    EXPECT_EQ(m_builder.unmap(0x200000, page).error(), Error::busy); // large pages are not split
}

TEST_F(PageTableTest, BadArgumentsAreRefused)
{
    EXPECT_EQ(m_builder.map(0x1001, 0, page, 0).error(), Error::invalid_argument);
    EXPECT_EQ(m_builder.map(0x1000, 0x10, page, 0).error(), Error::invalid_argument);
    EXPECT_EQ(m_builder.map(0x1000, 0, 0, 0).error(), Error::invalid_argument);
    EXPECT_EQ(m_builder.map(0x0000800000000000, 0, page, 0).error(), Error::invalid_argument); // non-canonical
    EXPECT_EQ(m_builder.map(0x00007FFFFFFFF000, 0, 2 * page, 0).error(), Error::invalid_argument);
    EXPECT_EQ(m_builder.map(0x1000, 1ull << 52, page, 0).error(), Error::invalid_argument);
    EXPECT_EQ(m_builder.map(0x1000, 0, page, pte::huge).error(), Error::invalid_argument);
    EXPECT_EQ(m_builder.translate(0x0000800000000000).error(), Error::invalid_argument);
}

TEST_F(PageTableTest, UnmapRemovesSmallPages)
{
    ASSERT_TRUE(m_builder.map(0x10000, 0x50000, 4 * page, pte::writable).ok());
    ASSERT_TRUE(m_builder.unmap(0x11000, 2 * page).ok());
    EXPECT_TRUE(m_builder.translate(0x10000).ok());
    EXPECT_FALSE(m_builder.translate(0x11000).ok());
    EXPECT_FALSE(m_builder.translate(0x12000).ok());
    EXPECT_TRUE(m_builder.translate(0x13000).ok());
    EXPECT_TRUE(m_builder.range_is_free(0x11000, 2 * page));
    EXPECT_TRUE(m_builder.map(0x11000, 0x90000, page, 0).ok());
}

TEST_F(PageTableTest, OutOfTableMemoryIsReported)
{
    m_memory.limit(1);
    EXPECT_EQ(m_builder.map(0x7F0000000000, 0, page, 0).error(), Error::out_of_memory);
}

} // namespace

namespace {

TEST_F(PageTableTest, TopOfAddressSpaceDoesNotWrapAround)
{
    // A free range in the last PML4 slot must not "wrap" to address 0 while
    // checking, even when low memory is mapped.
    ASSERT_TRUE(m_builder.map(0, 0, page, 0).ok());
    EXPECT_TRUE(m_builder.range_is_free(0xFFFFFFFF80209000, 7 * page));
    EXPECT_TRUE(m_builder.map(0xFFFFFFFFFFFFE000, 0x1000, 2 * page, 0).ok());
}

} // namespace
