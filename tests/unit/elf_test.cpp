#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <random>
#include <vector>

#include "proc/elf.hpp"

namespace {

using kernel::elf::Image;
using tern::Error;

constexpr uint32_t pt_load = 1, pt_dynamic = 2, pt_interp = 3, pt_note = 4, pt_tls = 7;
constexpr uint32_t pf_x = 1, pf_w = 2, pf_r = 4;
constexpr uint64_t user_end = 0x0000800000000000;

struct SegmentSpec {
    uint32_t type;
    uint32_t flags;
    uint64_t offset, vaddr, filesz, memsz;
};

template <typename T>
void put(std::vector<uint8_t>& bytes, size_t offset, T value)
{
    std::memcpy(bytes.data() + offset, &value, sizeof(T));
}

size_t phdr(size_t index) { return 64 + index * 56; }

// A well-formed static x86-64 executable with the given program headers.
std::vector<uint8_t> make_elf(const std::vector<SegmentSpec>& segments, uint64_t entry)
{
    size_t size = phdr(segments.size());
    for (const SegmentSpec& s : segments) {
        if (s.type == pt_load)
            size = std::max<size_t>(size, s.offset + s.filesz);
    }
    std::vector<uint8_t> bytes(size);
    const uint8_t ident[] = {0x7F, 'E', 'L', 'F', 2, 1, 1};
    std::memcpy(bytes.data(), ident, sizeof(ident));
    put<uint16_t>(bytes, 16, 2);  // ET_EXEC
    put<uint16_t>(bytes, 18, 62); // x86-64
    put<uint32_t>(bytes, 20, 1);
    put<uint64_t>(bytes, 24, entry);
    put<uint64_t>(bytes, 32, 64); // phoff
    put<uint16_t>(bytes, 52, 64);
    put<uint16_t>(bytes, 54, 56);
    put<uint16_t>(bytes, 56, static_cast<uint16_t>(segments.size()));
    for (size_t i = 0; i < segments.size(); ++i) {
        const SegmentSpec& s = segments[i];
        put<uint32_t>(bytes, phdr(i), s.type);
        put<uint32_t>(bytes, phdr(i) + 4, s.flags);
        put<uint64_t>(bytes, phdr(i) + 8, s.offset);
        put<uint64_t>(bytes, phdr(i) + 16, s.vaddr);
        put<uint64_t>(bytes, phdr(i) + 24, s.vaddr);
        put<uint64_t>(bytes, phdr(i) + 32, s.filesz);
        put<uint64_t>(bytes, phdr(i) + 40, s.memsz);
        put<uint64_t>(bytes, phdr(i) + 48, 4096);
    }
    return bytes;
}

// Laid out like the programs user.ld links: text, rodata, data + bss.
std::vector<uint8_t> typical_elf()
{
    return make_elf({{pt_load, pf_r | pf_x, 0x1000, 0x400000, 0x100, 0x100},
                     {pt_load, pf_r, 0x2000, 0x401000, 0x20, 0x20},
                     {pt_load, pf_r | pf_w, 0x3000, 0x402000, 0x10, 0x2000}},
                    0x400010);
}

// Field offsets inside program header `i`.
size_t p_type(size_t i) { return phdr(i); }
size_t p_flags(size_t i) { return phdr(i) + 4; }
size_t p_offset(size_t i) { return phdr(i) + 8; }
size_t p_vaddr(size_t i) { return phdr(i) + 16; }
size_t p_filesz(size_t i) { return phdr(i) + 32; }
size_t p_memsz(size_t i) { return phdr(i) + 40; }

// Parses an exactly sized copy, so ASan sees any read past the end.
tern::Result<void> parse(const std::vector<uint8_t>& bytes, Image& image)
{
    const std::unique_ptr<uint8_t[]> exact(new uint8_t[bytes.size()]);
    std::copy(bytes.begin(), bytes.end(), exact.get());
    return kernel::elf::parse(exact.get(), bytes.size(), image);
}

// What every accepted image must satisfy, whatever the input was.
void expect_loadable(const Image& image, size_t file_size)
{
    ASSERT_GE(image.segment_count, 1u);
    ASSERT_LE(image.segment_count, kernel::elf::max_segments);
    bool entry_ok = false;
    for (size_t i = 0; i < image.segment_count; ++i) {
        const auto& s = image.segments[i];
        EXPECT_LE(s.filesz, s.memsz);
        EXPECT_LE(s.file_offset + s.filesz, file_size);
        EXPECT_GE(s.vaddr, 0x1000u);
        EXPECT_LE(s.vaddr + s.memsz, user_end);
        EXPECT_FALSE(s.writable && s.executable);
        for (size_t j = 0; j < i; ++j) {
            const auto& t = image.segments[j];
            const bool disjoint = (s.vaddr + s.memsz - 1) / 4096 < t.vaddr / 4096 ||
                                  (t.vaddr + t.memsz - 1) / 4096 < s.vaddr / 4096;
            EXPECT_TRUE(disjoint) << "segments " << j << " and " << i << " share a page";
        }
        entry_ok |= s.executable && image.entry >= s.vaddr && image.entry < s.vaddr + s.memsz;
    }
    EXPECT_TRUE(entry_ok);
}

TEST(Elf, ParsesATypicalProgram)
{
    const auto bytes = typical_elf();
    Image image;
    ASSERT_TRUE(parse(bytes, image).ok());
    EXPECT_EQ(image.entry, 0x400010u);
    ASSERT_EQ(image.segment_count, 3u);
    const auto& text = image.segments[0];
    EXPECT_EQ(text.vaddr, 0x400000u);
    EXPECT_EQ(text.file_offset, 0x1000u);
    EXPECT_EQ(text.filesz, 0x100u);
    EXPECT_TRUE(text.readable && text.executable && !text.writable);
    const auto& data = image.segments[2];
    EXPECT_EQ(data.memsz, 0x2000u);
    EXPECT_EQ(data.filesz, 0x10u);
    EXPECT_TRUE(data.readable && data.writable && !data.executable);
    expect_loadable(image, bytes.size());
}

TEST(Elf, IgnoresOtherHeadersAndEmptySegments)
{
    auto bytes = make_elf({{pt_note, 0, 0xFFFFFFFFFFFFFFFF, 0, 0xFFFFFFFF, 0}, // garbage, but only a note
                           {0x6474E551, pf_r | pf_w, 0, 0, 0, 0},                // PT_GNU_STACK
                           {pt_load, pf_r, 0, 0x500000, 0, 0},                   // nothing to load
                           {pt_load, pf_r | pf_x, 0x1000, 0x400000, 0x10, 0x10}},
                          0x400000);
    Image image;
    ASSERT_TRUE(parse(bytes, image).ok());
    ASSERT_EQ(image.segment_count, 1u);
    EXPECT_EQ(image.segments[0].vaddr, 0x400000u);
}

TEST(Elf, AcceptsTheEdgesOfUserSpaceAndEightSegments)
{
    // The last segment ends exactly at the top of user space.
    std::vector<SegmentSpec> segments;
    for (uint64_t i = 0; i < 7; ++i)
        segments.push_back({pt_load, pf_r, 0x1000, 0x1000 + i * 0x1000, 0x10, 0x10});
    segments.push_back({pt_load, pf_r | pf_x, 0x1000, user_end - 0x2000, 0x10, 0x2000});
    const auto bytes = make_elf(segments, user_end - 1);
    Image image;
    ASSERT_TRUE(parse(bytes, image).ok());
    EXPECT_EQ(image.segment_count, 8u);
    EXPECT_EQ(image.segments[0].vaddr, 0x1000u);
    expect_loadable(image, bytes.size());
}

struct BadCase {
    const char* name;
    std::function<void(std::vector<uint8_t>&)> mutate;
    Error expected;
};

TEST(Elf, RejectsMalformedAndUnsupportedFiles)
{
    const BadCase cases[] = {
        {"empty file", [](auto& b) { b.clear(); }, Error::malformed},
        {"truncated header", [](auto& b) { b.resize(63); }, Error::malformed},
        {"half a header", [](auto& b) { b.resize(40); }, Error::malformed},
        {"bad magic", [](auto& b) { b[1] = 'X'; }, Error::malformed},
        {"bad ident version", [](auto& b) { b[6] = 0; }, Error::malformed},
        {"bad version", [](auto& b) { put<uint32_t>(b, 20, 2); }, Error::malformed},
        {"32-bit class", [](auto& b) { b[4] = 1; }, Error::unsupported},
        {"big endian", [](auto& b) { b[5] = 2; }, Error::unsupported},
        {"machine i386", [](auto& b) { put<uint16_t>(b, 18, 3); }, Error::unsupported},
        {"type ET_DYN", [](auto& b) { put<uint16_t>(b, 16, 3); }, Error::unsupported},
        {"type ET_REL", [](auto& b) { put<uint16_t>(b, 16, 1); }, Error::unsupported},
        {"no program headers", [](auto& b) { put<uint16_t>(b, 56, 0); }, Error::malformed},
        {"extended phnum", [](auto& b) { put<uint16_t>(b, 56, 0xFFFF); }, Error::unsupported},
        {"phentsize too small", [](auto& b) { put<uint16_t>(b, 54, 32); }, Error::malformed},
        {"phdr table past the end", [](auto& b) { put<uint64_t>(b, 32, b.size() - 100); }, Error::malformed},
        {"phdr offset past the end", [](auto& b) { put<uint64_t>(b, 32, b.size() + 1); }, Error::malformed},
        {"phdr offset overflows", [](auto& b) { put<uint64_t>(b, 32, ~uint64_t{0} - 8); }, Error::malformed},
        {"phnum past the end", [](auto& b) { put<uint16_t>(b, 56, 1000); }, Error::malformed},
        {"phdr table truncated", [](auto& b) { b.resize(phdr(2) + 40); }, Error::malformed},
        {"segment past the end", [](auto& b) { put<uint64_t>(b, p_filesz(2), b.size() - 0x3000 + 1); },
         Error::malformed},
        {"segment offset past the end", [](auto& b) { put<uint64_t>(b, p_offset(1), 0x100000); }, Error::malformed},
        {"offset + filesz overflows",
         [](auto& b) {
             put<uint64_t>(b, p_offset(2), 0xFFFFFFFFFFFFF000);
             put<uint64_t>(b, p_filesz(2), 0x2000);
         },
         Error::malformed},
        {"filesz > memsz", [](auto& b) { put<uint64_t>(b, p_memsz(2), 0x8); }, Error::malformed},
        {"vaddr + memsz overflows", [](auto& b) { put<uint64_t>(b, p_memsz(2), ~uint64_t{0} - 0x100); },
         Error::malformed},
        {"kernel-half address", [](auto& b) { put<uint64_t>(b, p_vaddr(2), 0xFFFFFFFF80000000); }, Error::malformed},
        {"non-canonical address", [](auto& b) { put<uint64_t>(b, p_vaddr(2), user_end); }, Error::malformed},
        {"crosses the end of user space", [](auto& b) { put<uint64_t>(b, p_vaddr(2), user_end - 0x1000); },
         Error::malformed},
        {"null page", [](auto& b) { put<uint64_t>(b, p_vaddr(1), 0); }, Error::malformed},
        {"not page-congruent", [](auto& b) { put<uint64_t>(b, p_vaddr(1), 0x401010); }, Error::malformed},
        {"overlapping segments", [](auto& b) { put<uint64_t>(b, p_vaddr(1), 0x400000); }, Error::malformed},
        {"segments sharing a page",
         [](auto& b) {
             put<uint64_t>(b, p_vaddr(1), 0x400800);
             put<uint64_t>(b, p_offset(1), 0x2800);
             put<uint64_t>(b, p_filesz(1), 0);
         },
         Error::malformed},
        {"entry in a non-executable segment", [](auto& b) { put<uint64_t>(b, 24, 0x401000); }, Error::malformed},
        {"entry just past the text", [](auto& b) { put<uint64_t>(b, 24, 0x400100); }, Error::malformed},
        {"entry nowhere", [](auto& b) { put<uint64_t>(b, 24, 0); }, Error::malformed},
        {"writable and executable", [](auto& b) { put<uint32_t>(b, p_flags(0), pf_r | pf_w | pf_x); },
         Error::unsupported},
        {"dynamic", [](auto& b) { put<uint32_t>(b, p_type(1), pt_dynamic); }, Error::unsupported},
        {"interpreter", [](auto& b) { put<uint32_t>(b, p_type(1), pt_interp); }, Error::unsupported},
        {"thread-local storage", [](auto& b) { put<uint32_t>(b, p_type(1), pt_tls); }, Error::unsupported},
        {"nothing to load",
         [](auto& b) {
             for (size_t i = 0; i < 3; ++i)
                 put<uint32_t>(b, p_type(i), pt_note);
         },
         Error::malformed},
    };
    for (const BadCase& c : cases) {
        SCOPED_TRACE(c.name);
        auto bytes = typical_elf();
        c.mutate(bytes);
        Image image;
        image.segment_count = 99;
        const auto result = parse(bytes, image);
        ASSERT_FALSE(result.ok());
        EXPECT_EQ(result.error(), c.expected) << tern::error_name(result.error());
        EXPECT_EQ(image.segment_count, 0u) << "a failed parse must not leave segments behind";
    }
}

TEST(Elf, RejectsNineSegments)
{
    std::vector<SegmentSpec> segments;
    for (uint64_t i = 0; i < 9; ++i)
        segments.push_back({pt_load, pf_r | pf_x, 0x1000, 0x400000 + i * 0x1000, 0x10, 0x10});
    Image image;
    const auto result = parse(make_elf(segments, 0x400000), image);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error(), Error::unsupported);
}

TEST(Elf, RejectsNoData)
{
    Image image;
    const auto result = kernel::elf::parse(nullptr, 100, image);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error(), Error::invalid_argument);
}

// Random corruption of a valid file: never a crash or a read outside the
// buffer (ASan), and whatever is accepted is still loadable.
TEST(Elf, SurvivesRandomCorruption)
{
    std::mt19937 random(7);
    const auto original = typical_elf();
    for (int round = 0; round < 20000; ++round) {
        auto bytes = original;
        const int flips = 1 + static_cast<int>(random() % 4);
        for (int f = 0; f < flips; ++f) {
            // Mostly the headers, where the interesting fields are.
            const size_t at = random() % 4 != 0 ? random() % phdr(3) : random() % bytes.size();
            bytes[at] = static_cast<uint8_t>(random());
        }
        if (random() % 8 == 0)
            bytes.resize(random() % bytes.size());
        Image image;
        if (parse(bytes, image).ok())
            expect_loadable(image, bytes.size());
    }
}

TEST(Elf, ParsesHelloBuiltByTheUserToolchain)
{
    std::ifstream file(TERN_HELLO_ELF, std::ios::binary);
    ASSERT_TRUE(file) << "cannot open " << TERN_HELLO_ELF;
    const std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
    Image image;
    const auto result = parse(bytes, image);
    ASSERT_TRUE(result.ok()) << tern::error_name(result.error());
    expect_loadable(image, bytes.size());
    bool entry_in_rx = false;
    bool has_rw = false;
    for (size_t i = 0; i < image.segment_count; ++i) {
        const auto& s = image.segments[i];
        if (s.readable && s.executable && image.entry >= s.vaddr && image.entry < s.vaddr + s.memsz)
            entry_in_rx = true;
        has_rw |= s.readable && s.writable;
    }
    EXPECT_TRUE(entry_in_rx);
    EXPECT_TRUE(has_rw);
    EXPECT_EQ(image.segments[0].vaddr, 0x400000u); // lib/runtime/user.ld
}

} // namespace
