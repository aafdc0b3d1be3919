// lib/base/sha256 against digests computed with Python's hashlib, and the
// xorshift64* byte stream (lib/base/xorshift.hpp) that nc -n sends, against
// the same generator written in Python (tests/integration/socket_scenario.py).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/sha256.hpp"
#include "base/xorshift.hpp"

namespace {

using tern::Sha256;

std::string hex_of(const void* data, size_t length)
{
    return Sha256::hex(tern::sha256(data, length)).text;
}

std::string hex_of(const std::string& text) { return hex_of(text.data(), text.size()); }

// Feeds `data` in pieces whose sizes cycle through `sizes`.
std::string hex_in_pieces(const std::vector<uint8_t>& data, const std::vector<size_t>& sizes)
{
    Sha256 hash;
    size_t offset = 0;
    for (size_t i = 0; offset < data.size(); ++i) {
        size_t piece = sizes[i % sizes.size()];
        if (piece > data.size() - offset)
            piece = data.size() - offset;
        hash.update(data.data() + offset, piece);
        offset += piece;
    }
    EXPECT_EQ(hash.length(), data.size());
    return Sha256::hex(hash.finish()).text;
}

std::vector<uint8_t> stream(uint64_t seed, size_t length)
{
    std::vector<uint8_t> bytes(length);
    tern::XorshiftStream(seed).fill(bytes.data(), length);
    return bytes;
}

TEST(Sha256, KnownVectors)
{
    EXPECT_EQ(hex_of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(hex_of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(hex_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(hex_of("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
                     "mnopqrstnopqrstu"),
              "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(Sha256, PaddingBoundaries)
{
    // Lengths around the 56-byte point where the length field no longer fits
    // in the last block, and around whole blocks.
    const std::pair<size_t, const char*> cases[] = {
        {55, "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072"},
        {56, "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e"},
        {57, "ae14a2563ccf969d99aca69ce6bb74981f734bbf9f655f73b8f06db68cab5217"},
        {63, "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2"},
        {64, "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c"},
        {65, "9537c5fdf120482f7d58d25e9ed583f52c02b4e304ea814db1633ad565aed7e9"},
        {119, "000b48d4edf0fa7bee3c6236ecd2785baa5db4eeb8bb54341b029e0d9fa5fb0c"},
        {120, "13f05a0b594787f5ecd315edc96141bd3243203d1b7d4f0836f37308b276ba98"},
        {128, "24da1b81d0b16df6428eee73c69fcb2a93c76bc6df706f0c6670fe6bfe800464"},
    };
    for (const auto& [length, expected] : cases)
        EXPECT_EQ(hex_of(std::string(length, 'x')), expected) << length << " bytes";
}

TEST(Sha256, AMillionAsInOddPieces)
{
    const std::vector<uint8_t> data(1000000, 'a');
    const char* expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    EXPECT_EQ(hex_in_pieces(data, {1000000}), expected);
    EXPECT_EQ(hex_in_pieces(data, {1}), expected);
    EXPECT_EQ(hex_in_pieces(data, {3, 61, 64, 65, 127, 7, 4093}), expected);
}

TEST(Sha256, FinishResetsForTheNextMessage)
{
    Sha256 hash;
    hash.update("abc", 3);
    const Sha256::Digest first = hash.finish();
    EXPECT_EQ(hash.length(), 0u);
    hash.update("abc", 3);
    EXPECT_EQ(hash.finish(), first);
    EXPECT_EQ(std::string(Sha256::hex(hash.finish()).text),
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(XorshiftStream, MatchesThePythonGenerator)
{
    const std::vector<uint8_t> first = stream(1, 16);
    EXPECT_EQ(hex_of(first.data(), 0), hex_of(""));
    const uint8_t expected[16] = {0x1d, 0xdd, 0x6c, 0x89, 0x4b, 0xce, 0xe4, 0x47,
                                  0x1d, 0x65, 0x79, 0xe0, 0xa8, 0xa6, 0xcf, 0xab};
    EXPECT_EQ(std::vector<uint8_t>(expected, expected + 16), first);
    // Seed 0 means the fixed non-zero state.
    const std::vector<uint8_t> zero = stream(0, 1000);
    EXPECT_EQ(hex_of(zero.data(), zero.size()), "6790374e3554c449a3975e6b9e76ab1ba22d8c6bf07aafd2450d658c2cb44305");
}

TEST(XorshiftStream, PiecesGiveTheSameBytes)
{
    const std::vector<uint8_t> whole = stream(42, 10007);
    tern::XorshiftStream generator(42);
    std::vector<uint8_t> pieces(whole.size());
    const size_t sizes[] = {1, 3, 8, 5, 17, 64, 2, 1000};
    size_t offset = 0;
    for (size_t i = 0; offset < pieces.size(); ++i) {
        size_t piece = sizes[i % 8] < pieces.size() - offset ? sizes[i % 8] : pieces.size() - offset;
        generator.fill(pieces.data() + offset, piece);
        offset += piece;
    }
    EXPECT_EQ(pieces, whole);
}

TEST(Sha256, MultiMebibyteStreamInOddPieces)
{
    // 3 MiB + 17 bytes of xorshift64* (seed 1); Python: hashlib.sha256 of the
    // same stream.
    const std::vector<uint8_t> data = stream(1, 3 * 1024 * 1024 + 17);
    const char* expected = "345de4f44743e982166fcefdc6d599f997da6f923610e71b5f0a9732d50f21de";
    EXPECT_EQ(hex_in_pieces(data, {data.size()}), expected);
    EXPECT_EQ(hex_in_pieces(data, {1, 63, 65, 4097, 13, 1460, 64, 2, 65537}), expected);
}

} // namespace
