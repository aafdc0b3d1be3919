#include "proc/elf.hpp"

#include "base/bytes.hpp"

namespace kernel::elf {
namespace {

using tern::Error;

// ELF64 header fields (offsets into the file header).
constexpr size_t header_size = 64;
constexpr size_t ident_class = 4;
constexpr size_t ident_data = 5;
constexpr size_t ident_version = 6;
constexpr size_t offset_type = 16;
constexpr size_t offset_machine = 18;
constexpr size_t offset_version = 20;
constexpr size_t offset_entry = 24;
constexpr size_t offset_phoff = 32;
constexpr size_t offset_phentsize = 54;
constexpr size_t offset_phnum = 56;

constexpr uint8_t class_64 = 2;
constexpr uint8_t data_little_endian = 1;
constexpr uint32_t version_current = 1;
constexpr uint16_t type_executable = 2;
constexpr uint16_t machine_x86_64 = 62;
constexpr uint16_t phnum_extended = 0xFFFF; // the real count is elsewhere (not supported)

// Program header fields.
constexpr size_t program_header_size = 56;
constexpr size_t offset_p_type = 0;
constexpr size_t offset_p_flags = 4;
constexpr size_t offset_p_offset = 8;
constexpr size_t offset_p_vaddr = 16;
constexpr size_t offset_p_filesz = 32;
constexpr size_t offset_p_memsz = 40;

constexpr uint32_t pt_load = 1;
constexpr uint32_t pt_dynamic = 2;
constexpr uint32_t pt_interp = 3;
constexpr uint32_t pt_tls = 7;
constexpr uint32_t pf_x = 1;
constexpr uint32_t pf_w = 2;
constexpr uint32_t pf_r = 4;

constexpr uint64_t page_size = 4096;

template <typename T>
T field(const uint8_t* base, size_t offset)
{
    return tern::load_unaligned<T>(base + offset);
}

// Pages a segment occupies: [first, last] page numbers, inclusive, so a
// segment ending at user_end cannot overflow.
uint64_t first_page(const Segment& s) { return s.vaddr / page_size; }
uint64_t last_page(const Segment& s) { return (s.vaddr + s.memsz - 1) / page_size; }

bool pages_overlap(const Segment& a, const Segment& b)
{
    return first_page(a) <= last_page(b) && first_page(b) <= last_page(a);
}

tern::Result<void> check_header(const uint8_t* data, size_t size)
{
    if (size < header_size)
        return Error::malformed;
    if (data[0] != 0x7F || data[1] != 'E' || data[2] != 'L' || data[3] != 'F')
        return Error::malformed;
    if (data[ident_version] != version_current || field<uint32_t>(data, offset_version) != version_current)
        return Error::malformed;
    if (data[ident_class] != class_64 || data[ident_data] != data_little_endian)
        return Error::unsupported;
    if (field<uint16_t>(data, offset_machine) != machine_x86_64 || field<uint16_t>(data, offset_type) != type_executable)
        return Error::unsupported;
    return {};
}

// Reads one PT_LOAD program header into `out`, checking it on its own.
tern::Result<void> read_segment(const uint8_t* ph, size_t file_size, Segment& out)
{
    const auto flags = field<uint32_t>(ph, offset_p_flags);
    out.file_offset = field<uint64_t>(ph, offset_p_offset);
    out.vaddr = field<uint64_t>(ph, offset_p_vaddr);
    out.filesz = field<uint64_t>(ph, offset_p_filesz);
    out.memsz = field<uint64_t>(ph, offset_p_memsz);
    out.readable = (flags & pf_r) != 0;
    out.writable = (flags & pf_w) != 0;
    out.executable = (flags & pf_x) != 0;

    if (out.filesz > out.memsz)
        return Error::malformed;
    // In the file, without overflow.
    if (out.file_offset > file_size || out.filesz > file_size - out.file_offset)
        return Error::malformed;
    // Entirely in user space, without overflow.
    if (out.vaddr < user_begin || out.vaddr >= user_end || out.memsz > user_end - out.vaddr)
        return Error::malformed;
    if (out.vaddr % page_size != out.file_offset % page_size)
        return Error::malformed;
    if (out.writable && out.executable)
        return Error::unsupported;
    return {};
}

tern::Result<void> parse_image(const uint8_t* data, size_t size, Image& out)
{
    if (tern::Result<void> header = check_header(data, size); !header.ok())
        return header;

    const auto phoff = field<uint64_t>(data, offset_phoff);
    const auto phentsize = field<uint16_t>(data, offset_phentsize);
    const auto phnum = field<uint16_t>(data, offset_phnum);
    if (phnum == phnum_extended)
        return Error::unsupported;
    if (phnum == 0 || phentsize < program_header_size)
        return Error::malformed;
    // At most 65534 * 65535 bytes: no overflow in the product.
    const uint64_t table_size = uint64_t{phnum} * phentsize;
    if (phoff > size || table_size > size - phoff)
        return Error::malformed;

    for (size_t i = 0; i < phnum; ++i) {
        const uint8_t* ph = data + phoff + i * phentsize;
        const auto type = field<uint32_t>(ph, offset_p_type);
        if (type == pt_dynamic || type == pt_interp || type == pt_tls)
            return Error::unsupported;
        if (type != pt_load)
            continue; // notes, GNU_STACK and the like carry nothing to load
        Segment segment;
        if (tern::Result<void> checked = read_segment(ph, size, segment); !checked.ok())
            return checked;
        if (segment.memsz == 0)
            continue;
        for (size_t j = 0; j < out.segment_count; ++j) {
            if (pages_overlap(segment, out.segments[j]))
                return Error::malformed;
        }
        if (out.segment_count == max_segments)
            return Error::unsupported;
        out.segments[out.segment_count++] = segment;
    }
    // The entry point must lie in an executable segment (so there is at least one).
    out.entry = field<uint64_t>(data, offset_entry);
    for (size_t i = 0; i < out.segment_count; ++i) {
        const Segment& s = out.segments[i];
        if (s.executable && out.entry >= s.vaddr && out.entry - s.vaddr < s.memsz)
            return {};
    }
    return Error::malformed;
}

} // namespace

tern::Result<void> parse(const uint8_t* data, size_t size, Image& out)
{
    out = Image{};
    if (data == nullptr)
        return Error::invalid_argument;
    Image image{};
    tern::Result<void> result = parse_image(data, size, image);
    if (result.ok())
        out = image; // a failed parse leaves nothing half-filled behind
    return result;
}

} // namespace kernel::elf
