#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "allocation_stress.hpp"
#include "runtime/allocator.hpp"

namespace {

using tern::Allocator;
using Status = Allocator::Status;

// Pages from the host heap, zeroed like mem_map's. Checks that every unmap
// matches a map exactly, and can be told to run dry.
class FakePages final : public tern::PageSource {
public:
    ~FakePages()
    {
        for (const auto& [pages, count] : m_live)
            std::free(pages);
    }
    void* map_pages(size_t count) override
    {
        if (m_outstanding + count > m_limit)
            return nullptr;
        void* pages = std::aligned_alloc(4096, count * 4096);
        std::memset(pages, 0, count * 4096);
        m_live[pages] = count;
        m_outstanding += count;
        return pages;
    }
    void unmap_pages(void* pages, size_t count) override
    {
        auto it = m_live.find(pages);
        ASSERT_NE(it, m_live.end()) << "unmapping pages that were never mapped";
        EXPECT_EQ(it->second, count) << "unmapping a different size than was mapped";
        m_outstanding -= it->second;
        m_live.erase(it);
        std::free(pages);
    }
    size_t m_outstanding = 0;
    size_t m_limit = ~size_t{0};

private:
    std::map<void*, size_t> m_live;
};

struct AllocatorTest : ::testing::Test {
    FakePages pages;
    Allocator heap{pages};

    size_t usable(const void* pointer)
    {
        Status status;
        const size_t size = heap.usable_size(pointer, status);
        EXPECT_EQ(status, Status::ok);
        return size;
    }
};

TEST_F(AllocatorTest, BlocksDoNotOverlapAndEverythingComesBack)
{
    stress_allocations(
        5000,
        [&](size_t size) {
            void* block = heap.allocate(size);
            EXPECT_GE(block != nullptr ? usable(block) : 0, size);
            return block;
        },
        [&](void* block) { return heap.free(block) == Status::ok; },
        [](std::mt19937& random) { return random() % 8 == 0 ? random() % 30000 : random() % 600; });
    EXPECT_EQ(heap.bytes_in_use(), 0u);
    EXPECT_EQ(heap.pages_mapped(), pages.m_outstanding);
}

TEST_F(AllocatorTest, SizeClassesAndLargeBlocks)
{
    EXPECT_EQ(usable(heap.allocate(1)), 16u);
    EXPECT_EQ(usable(heap.allocate(17)), 32u);
    EXPECT_EQ(usable(heap.allocate(100)), 144u);
    EXPECT_EQ(usable(heap.allocate(Allocator::max_small)), Allocator::max_small);
    void* large = heap.allocate(Allocator::max_small + 1);
    EXPECT_EQ(usable(large), 4096u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(large) % 4096, 0u);
    void* zero_a = heap.allocate(0);
    void* zero_b = heap.allocate(0);
    EXPECT_NE(zero_a, nullptr);
    EXPECT_NE(zero_a, zero_b);
}

TEST_F(AllocatorTest, LargeBlocksGoBackToThePageSource)
{
    const size_t before = pages.m_outstanding;
    void* block = heap.allocate(100000);
    ASSERT_NE(block, nullptr);
    EXPECT_EQ(usable(block), 25u * 4096);
    EXPECT_GE(pages.m_outstanding, before + 25);
    ASSERT_EQ(heap.free(block), Status::ok);
    EXPECT_EQ(pages.m_outstanding, heap.pages_mapped());
    EXPECT_EQ(heap.bytes_in_use(), 0u);
}

TEST_F(AllocatorTest, DetectsDoubleFrees)
{
    void* a = heap.allocate(40);
    void* b = heap.allocate(40);
    ASSERT_EQ(heap.free(a), Status::ok);
    EXPECT_EQ(heap.free(a), Status::double_free);
    ASSERT_EQ(heap.free(b), Status::ok); // the page is empty now
    EXPECT_EQ(heap.free(b), Status::double_free);
    void* large = heap.allocate(10000);
    ASSERT_EQ(heap.free(large), Status::ok);
    EXPECT_EQ(heap.free(large), Status::not_allocated); // its pages are gone: never read
    EXPECT_EQ(heap.bytes_in_use(), 0u);
}

TEST_F(AllocatorTest, RefusesPointersItDidNotHandOut)
{
    int on_stack = 0;
    EXPECT_EQ(heap.free(&on_stack), Status::not_allocated);
    auto* small = static_cast<uint8_t*>(heap.allocate(48));
    auto* large = static_cast<uint8_t*>(heap.allocate(9000));
    EXPECT_EQ(heap.free(small + 1), Status::not_allocated);
    EXPECT_EQ(heap.free(small + 16), Status::not_allocated);          // inside the block
    const auto page = reinterpret_cast<uintptr_t>(small) & ~uintptr_t{4095};
    EXPECT_EQ(heap.free(reinterpret_cast<void*>(page)), Status::not_allocated);      // the page header
    EXPECT_EQ(heap.free(reinterpret_cast<void*>(page + 8192)), Status::not_allocated); // a fresh page
    EXPECT_EQ(heap.free(large + 4096), Status::not_allocated);
    Status status;
    EXPECT_EQ(heap.usable_size(small + 16, status), 0u);
    EXPECT_EQ(status, Status::not_allocated);
    // Nothing was disturbed.
    EXPECT_EQ(heap.free(small), Status::ok);
    EXPECT_EQ(heap.free(large), Status::ok);
    EXPECT_EQ(heap.free(nullptr), Status::ok);
    EXPECT_EQ(heap.bytes_in_use(), 0u);
}

TEST_F(AllocatorTest, NoticesAnOverwrittenPageHeader)
{
    auto* block = static_cast<uint8_t*>(heap.allocate(64));
    auto* header = reinterpret_cast<uint32_t*>(reinterpret_cast<uintptr_t>(block) & ~uintptr_t{4095});
    const uint32_t saved = *header;
    *header = 0xDEADBEEF;
    EXPECT_EQ(heap.free(block), Status::corrupted);
    *header = saved;
    EXPECT_EQ(heap.free(block), Status::ok);
}

TEST_F(AllocatorTest, WritesAfterFreeDoNotCorruptTheAllocator)
{
    std::vector<void*> blocks;
    for (int i = 0; i < 100; ++i)
        blocks.push_back(heap.allocate(32));
    ASSERT_EQ(heap.free(blocks[10]), Status::ok);
    std::memset(blocks[10], 0xFF, 32); // a use after free
    void* again = heap.allocate(32);
    EXPECT_EQ(again, blocks[10]);
    for (void* block : blocks)
        EXPECT_EQ(heap.free(block), Status::ok);
}

TEST_F(AllocatorTest, EmptyPagesServeOtherClasses)
{
    std::vector<void*> blocks;
    for (int i = 0; i < 2000; ++i)
        blocks.push_back(heap.allocate(16));
    for (void* block : blocks)
        ASSERT_EQ(heap.free(block), Status::ok);
    const size_t mapped = heap.pages_mapped();
    blocks.clear();
    for (int i = 0; i < 10; ++i)
        blocks.push_back(heap.allocate(2000));
    EXPECT_EQ(heap.pages_mapped(), mapped);
    for (void* block : blocks)
        ASSERT_EQ(heap.free(block), Status::ok);
}

TEST_F(AllocatorTest, AlignedBlocks)
{
    void* a = heap.allocate_aligned(100, 64);
    void* b = heap.allocate_aligned(100, 4096);
    void* c = heap.allocate_aligned(5, 8);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 64, 0u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b) % 4096, 0u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(c) % 16, 0u);
    EXPECT_EQ(heap.allocate_aligned(8, 3), nullptr);
    EXPECT_EQ(heap.allocate_aligned(8, 0), nullptr);
    EXPECT_EQ(heap.allocate_aligned(8, 8192), nullptr);
    for (void* block : {a, b, c})
        EXPECT_EQ(heap.free(block), Status::ok);
}

TEST_F(AllocatorTest, Reallocate)
{
    Status status;
    auto* block = static_cast<uint8_t*>(heap.reallocate(nullptr, 20, status));
    ASSERT_NE(block, nullptr);
    EXPECT_EQ(status, Status::ok);
    for (int i = 0; i < 20; ++i)
        block[i] = static_cast<uint8_t>(i);
    EXPECT_EQ(heap.reallocate(block, 30, status), block); // same class: in place
    auto* grown = static_cast<uint8_t*>(heap.reallocate(block, 5000, status));
    ASSERT_NE(grown, nullptr);
    EXPECT_NE(grown, block);
    for (int i = 0; i < 20; ++i)
        ASSERT_EQ(grown[i], i);
    EXPECT_EQ(heap.free(block), Status::double_free); // the old block was freed
    EXPECT_EQ(heap.reallocate(grown, 8000, status), grown); // same page count
    auto* shrunk = static_cast<uint8_t*>(heap.reallocate(grown, 10, status));
    ASSERT_NE(shrunk, nullptr);
    for (int i = 0; i < 10; ++i)
        ASSERT_EQ(shrunk[i], i);
    EXPECT_EQ(heap.reallocate(shrunk + 1, 10, status), nullptr);
    EXPECT_EQ(status, Status::not_allocated);
    // When the move fails the old block stays as it was.
    pages.m_limit = pages.m_outstanding;
    EXPECT_EQ(heap.reallocate(shrunk, 100000, status), nullptr);
    EXPECT_EQ(status, Status::ok);
    for (int i = 0; i < 10; ++i)
        ASSERT_EQ(shrunk[i], i);
    EXPECT_EQ(heap.free(shrunk), Status::ok);
    EXPECT_EQ(heap.bytes_in_use(), 0u);
}

TEST_F(AllocatorTest, OutOfMemoryGivesNullptr)
{
    EXPECT_EQ(heap.allocate(Allocator::max_size + 1), nullptr);
    pages.m_limit = 0;
    EXPECT_EQ(heap.allocate(10), nullptr);
    EXPECT_EQ(heap.allocate(10000), nullptr);
    EXPECT_EQ(heap.pages_mapped(), 0u);
    pages.m_limit = 3; // enough for the block, not for the mapping table
    EXPECT_EQ(heap.allocate(10000), nullptr);
    EXPECT_EQ(pages.m_outstanding, heap.pages_mapped());
    pages.m_limit = ~size_t{0};
    void* block = heap.allocate(10);
    ASSERT_NE(block, nullptr);
    EXPECT_EQ(heap.free(block), Status::ok);
}

TEST_F(AllocatorTest, ManyLargeBlocksGrowTheMappingTable)
{
    std::mt19937 random(3);
    std::vector<void*> blocks;
    for (int i = 0; i < 1000; ++i) {
        blocks.push_back(heap.allocate(4097));
        ASSERT_NE(blocks.back(), nullptr);
    }
    std::shuffle(blocks.begin(), blocks.end(), random);
    for (void* block : blocks) {
        ASSERT_EQ(heap.free(block), Status::ok);
        ASSERT_EQ(heap.free(block), Status::not_allocated);
    }
    EXPECT_EQ(heap.bytes_in_use(), 0u);
    EXPECT_EQ(pages.m_outstanding, heap.pages_mapped());
}

} // namespace
