#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <random>
#include <set>
#include <vector>

#include "allocation_stress.hpp"
#include "mm/heap.hpp"

namespace {

// Pages from the host heap. The kernel heap keeps small-block pages cached for
// reuse and never returns them, so whatever is left is released at the end.
class HostPages final : public kernel::PageSource {
public:
    ~HostPages()
    {
        for (void* pages : m_live)
            std::free(pages);
    }
    void* allocate_pages(size_t count) override
    {
        if (m_fail)
            return nullptr;
        m_outstanding += count;
        void* pages = std::aligned_alloc(4096, count * 4096);
        m_live.insert(pages);
        return pages;
    }
    void free_pages(void* pages, size_t count) override
    {
        EXPECT_EQ(m_live.erase(pages), 1u) << "freeing pages that were never handed out";
        m_outstanding -= count;
        std::free(pages);
    }
    size_t m_outstanding = 0;
    bool m_fail = false;

private:
    std::set<void*> m_live;
};

TEST(Heap, BlocksDoNotOverlapAndAreReused)
{
    HostPages pages;
    kernel::Heap heap(pages);
    stress_allocations(
        2000, [&](size_t size) { return heap.allocate(size); }, [&](void* block) { return heap.free(block); },
        [](std::mt19937& random) { return size_t{1} + random() % 9000; });
    EXPECT_EQ(heap.bytes_in_use(), 0u);
    // Small-block pages stay cached in the free lists; large runs went back.
    void* again = heap.allocate(24);
    EXPECT_NE(again, nullptr);
    EXPECT_TRUE(heap.free(again));
}

TEST(Heap, LargeAllocationsReturnTheirPages)
{
    HostPages pages;
    kernel::Heap heap(pages);
    void* big = heap.allocate(100000);
    ASSERT_NE(big, nullptr);
    EXPECT_EQ(pages.m_outstanding, (100000 + 16 + 4095) / 4096);
    EXPECT_TRUE(heap.free(big));
    EXPECT_EQ(pages.m_outstanding, 0u);
}

TEST(Heap, RefusesDoubleAndForeignFrees)
{
    HostPages pages;
    kernel::Heap heap(pages);
    void* block = heap.allocate(100);
    ASSERT_NE(block, nullptr);
    EXPECT_TRUE(heap.free(block));
    EXPECT_FALSE(heap.free(block));
    alignas(16) uint8_t foreign[64] = {};
    EXPECT_FALSE(heap.free(foreign + 16));
    EXPECT_FALSE(heap.free(foreign + 17));
    EXPECT_TRUE(heap.free(nullptr));
}

TEST(Heap, OutOfMemoryGivesNull)
{
    HostPages pages;
    kernel::Heap heap(pages);
    pages.m_fail = true;
    EXPECT_EQ(heap.allocate(10), nullptr);
    EXPECT_EQ(heap.allocate(1 << 20), nullptr);
    EXPECT_EQ(heap.allocate(~size_t{0}), nullptr);
    kernel::Heap unconfigured;
    EXPECT_EQ(unconfigured.allocate(10), nullptr);
}

} // namespace
