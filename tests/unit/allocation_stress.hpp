// A random mix of allocations and frees for the host tests of the kernel heap
// and the user allocator: every block is filled with its own byte and checked
// before it is freed, so overlapping or moved blocks show up.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

// `allocate(size)` returns a block or nullptr; `free(block)` returns whether the
// allocator accepted it; `next_size(random)` picks each size. Frees
// everything before it returns.
template <typename Allocate, typename Free, typename NextSize>
void stress_allocations(int rounds, Allocate allocate, Free free, NextSize next_size)
{
    std::mt19937 random(42);
    struct Block {
        uint8_t* data;
        size_t size;
        uint8_t fill;
    };
    std::vector<Block> blocks;
    auto check_and_free = [&](const Block& block) {
        for (size_t b = 0; b < block.size; ++b)
            ASSERT_EQ(block.data[b], block.fill);
        ASSERT_TRUE(free(block.data));
    };
    for (int i = 0; i < rounds; ++i) {
        const size_t size = next_size(random);
        auto* data = static_cast<uint8_t*>(allocate(size));
        ASSERT_NE(data, nullptr);
        ASSERT_EQ(reinterpret_cast<uintptr_t>(data) % 16, 0u);
        const auto fill = static_cast<uint8_t>(i);
        std::memset(data, fill, size);
        blocks.push_back({data, size, fill});
        if (random() % 3 == 0) { // free a random earlier block
            const size_t victim = random() % blocks.size();
            check_and_free(blocks[victim]);
            blocks.erase(blocks.begin() + static_cast<long>(victim));
        }
    }
    for (const Block& block : blocks)
        check_and_free(block);
}
