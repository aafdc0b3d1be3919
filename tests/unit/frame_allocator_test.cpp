#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "mm/frame_allocator.hpp"

namespace {

using kernel::FrameAllocator;
using kernel::PhysRange;
constexpr uint64_t page = FrameAllocator::frame_size;
constexpr uint64_t mib = 1024 * 1024;

class FrameAllocatorTest : public ::testing::Test {
protected:
    void init(uint64_t highest)
    {
        m_bitmap.assign(FrameAllocator::bitmap_bytes(highest) / 8 + 1, 0);
        m_frames.init(m_bitmap.data(), highest);
    }
    std::vector<uint64_t> m_bitmap;
    FrameAllocator m_frames;
};

TEST_F(FrameAllocatorTest, OnlyUsableMinusReservedIsHandedOut)
{
    init(16 * mib);
    m_frames.add_usable({0, 0x9F000});             // low memory
    m_frames.add_usable({mib + 100, 8 * mib});     // unaligned start: first partial frame stays taken
    m_frames.reserve({0, mib});                    // real-mode area
    m_frames.reserve({2 * mib, 1 * mib + 1});      // "kernel image", one byte into the next frame

    const size_t expected = (8 * mib + mib + 100) / page - (mib + page) / page - (mib / page + 1);
    EXPECT_EQ(m_frames.free_frames(), expected);
    EXPECT_EQ(m_frames.total_frames(), expected);

    std::set<uint64_t> seen;
    for (;;) {
        auto frame = m_frames.allocate();
        if (!frame.ok()) {
            EXPECT_EQ(frame.error(), tern::Error::out_of_memory);
            break;
        }
        const uint64_t f = frame.value();
        EXPECT_EQ(f % page, 0u);
        EXPECT_GE(f, mib + page);
        EXPECT_LT(f, mib + 100 + 8 * mib);
        EXPECT_FALSE(f >= 2 * mib && f < 3 * mib + page) << std::hex << f;
        EXPECT_TRUE(seen.insert(f).second) << "frame handed out twice";
    }
    EXPECT_EQ(seen.size(), expected);
    EXPECT_EQ(m_frames.free_frames(), 0u);
}

TEST_F(FrameAllocatorTest, FreeReturnsFramesAndRefusesDoubleFree)
{
    init(4 * mib);
    m_frames.add_usable({mib, 3 * mib});
    auto a = m_frames.allocate();
    auto b = m_frames.allocate();
    ASSERT_TRUE(a.ok() && b.ok());
    const size_t free_now = m_frames.free_frames();
    EXPECT_TRUE(m_frames.free(a.value()).ok());
    EXPECT_EQ(m_frames.free_frames(), free_now + 1);
    EXPECT_EQ(m_frames.free(a.value()).error(), tern::Error::invalid_argument);
    EXPECT_EQ(m_frames.free(a.value() + 1).error(), tern::Error::invalid_argument);
    EXPECT_EQ(m_frames.free(64 * mib).error(), tern::Error::invalid_argument);
    EXPECT_EQ(m_frames.free_frames(), free_now + 1);
    auto again = m_frames.allocate();
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again.value(), a.value()); // lowest free frame first
}

TEST_F(FrameAllocatorTest, ContiguousRunsAreAlignedAndBounded)
{
    init(8 * mib);
    m_frames.add_usable({mib, 7 * mib});
    ASSERT_TRUE(m_frames.allocate().ok()); // make the start unaligned
    auto run = m_frames.allocate_contiguous(16, 64 * 1024);
    ASSERT_TRUE(run.ok());
    EXPECT_EQ(run.value() % (64 * 1024), 0u);
    for (uint64_t f = run.value(); f < run.value() + 16 * page; f += page)
        EXPECT_TRUE(m_frames.is_allocated(f));
    auto low = m_frames.allocate_contiguous(4, page, mib + 64 * 1024);
    ASSERT_TRUE(low.ok());
    EXPECT_LE(low.value() + 4 * page, mib + 64 * 1024);
    EXPECT_EQ(m_frames.allocate_contiguous(4096, page).error(), tern::Error::out_of_memory);
    EXPECT_EQ(m_frames.allocate_contiguous(0).error(), tern::Error::invalid_argument);
    EXPECT_EQ(m_frames.allocate_contiguous(1, 3 * page).error(), tern::Error::invalid_argument);
    const size_t before = m_frames.free_frames();
    EXPECT_TRUE(m_frames.free_contiguous(run.value(), 16).ok());
    EXPECT_EQ(m_frames.free_frames(), before + 16);
}

TEST(FrameAllocatorFindFreeRange, SkipsReservedRanges)
{
    const PhysRange usable[] = {{0, 0x9F000}, {mib, 15 * mib}};
    const PhysRange reserved[] = {{0, mib}, {2 * mib, mib}, {mib, 0x1000}};
    auto at = FrameAllocator::find_free_range(usable, 2, reserved, 3, 2 * mib, mib);
    ASSERT_TRUE(at.ok());
    EXPECT_EQ(at.value(), 3 * mib);
    auto small = FrameAllocator::find_free_range(usable, 2, reserved, 3, page, mib);
    ASSERT_TRUE(small.ok());
    EXPECT_EQ(small.value(), mib + 0x1000);
    auto low = FrameAllocator::find_free_range(usable, 2, reserved + 1, 2, page, page);
    ASSERT_TRUE(low.ok());
    EXPECT_EQ(low.value(), page);
    EXPECT_FALSE(FrameAllocator::find_free_range(usable, 2, reserved, 3, 64 * mib, 0).ok());
}

} // namespace
