// Reads a program image (a static ELF64 x86-64 executable from a boot module)
// into the list of segments to load. The file is untrusted input: every field
// is checked, nothing is read outside [data, data + size), and what comes out
// can be mapped without further checks. Pure, so the host tests run it.
//
// Loading a Segment: map the pages [align_down(vaddr), align_up(vaddr + memsz))
// fresh and zeroed, copy filesz bytes from data + file_offset to vaddr, and set
// the page permissions from the flags (never writable and executable at once:
// parse() refuses such a segment). Segments never share a page.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/result.hpp"

namespace kernel::elf {

// Where a program may be loaded: above the null page, below the end of the
// lower (user) half.
constexpr uint64_t user_begin = 0x1000;
constexpr uint64_t user_end = 0x0000800000000000;
constexpr size_t max_segments = 8;

struct Segment {
    uint64_t vaddr;
    uint64_t memsz;
    uint64_t file_offset;
    uint64_t filesz; // <= memsz; the rest is zero (.bss)
    bool readable;
    bool writable;
    bool executable;
};

struct Image {
    uint64_t entry;
    Segment segments[max_segments]; // in file order
    size_t segment_count;
};

// Errors: invalid_argument (no data); malformed (not a consistent ELF64 file:
// truncated, bad magic, tables or segments outside the file, sizes that
// overflow, segments outside user space or overlapping, the entry point not
// in an executable segment, no loadable segment); unsupported (a valid ELF we
// do not run: 32-bit, big-endian, another machine, not ET_EXEC, dynamic
// linking, thread-local storage, more than max_segments segments, a segment
// both writable and executable).
tern::Result<void> parse(const uint8_t* data, size_t size, Image& out);

} // namespace kernel::elf
