// base/word_copy.hpp: the freestanding memcpy/memset's loops, against the C
// library for every length up to 300 and every alignment of both ends.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "base/word_copy.hpp"

namespace {

std::vector<unsigned char> pattern(size_t n, unsigned seed)
{
    std::vector<unsigned char> bytes(n);
    for (size_t i = 0; i < n; ++i)
        bytes[i] = static_cast<unsigned char>((i * 131 + seed * 7 + 1) & 0xff);
    return bytes;
}

TEST(WordCopy, CopiesEveryLengthAndAlignmentWithoutTouchingNeighbours)
{
    constexpr size_t max_length = 300, slack = 16;
    for (size_t length = 0; length <= max_length; ++length) {
        for (size_t from = 0; from < 8; ++from) {
            for (size_t to = 0; to < 8; ++to) {
                const auto source = pattern(length + slack, static_cast<unsigned>(length));
                auto expected = pattern(length + 2 * slack, 99);
                auto actual = expected;
                std::memcpy(expected.data() + slack + to, source.data() + from, length);
                tern::base::copy_words(actual.data() + slack + to, source.data() + from, length);
                ASSERT_EQ(actual, expected) << "length " << length << " from +" << from << " to +" << to;
            }
        }
    }
}

TEST(WordCopy, FillsEveryLengthAndAlignmentWithoutTouchingNeighbours)
{
    constexpr size_t max_length = 300, slack = 16;
    for (size_t length = 0; length <= max_length; ++length) {
        for (size_t to = 0; to < 8; ++to) {
            for (const unsigned char value : {0x00, 0x5a, 0xff}) {
                auto expected = pattern(length + 2 * slack, 3);
                auto actual = expected;
                std::memset(expected.data() + slack + to, value, length);
                tern::base::fill_words(actual.data() + slack + to, value, length);
                ASSERT_EQ(actual, expected) << "length " << length << " at +" << to << " value " << int(value);
            }
        }
    }
}

} // namespace
