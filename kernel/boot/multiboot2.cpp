#include "boot/multiboot2.hpp"

#include "base/bytes.hpp"

namespace kernel::multiboot2 {
namespace {

enum TagType : uint32_t {
    tag_end = 0,
    tag_cmdline = 1,
    tag_bootloader = 2,
    tag_module = 3,
    tag_mmap = 6,
    tag_acpi_old = 14,
    tag_acpi_new = 15,
};

// A string field must end with a NUL inside its tag.
const char* checked_string(const uint8_t* start, const uint8_t* end)
{
    for (const uint8_t* p = start; p < end; ++p) {
        if (*p == 0)
            return reinterpret_cast<const char*>(start);
    }
    return nullptr;
}

} // namespace

tern::Result<void> parse(const void* info, size_t available, BootInfo& out)
{
    out = BootInfo{};
    const auto* base = static_cast<const uint8_t*>(info);
    if (info == nullptr || available < 8 || reinterpret_cast<uintptr_t>(info) % 8 != 0)
        return tern::Error::invalid_argument;
    const uint32_t total = tern::load_unaligned<uint32_t>(base);
    if (total < 16 || total > available)
        return tern::Error::malformed;
    out.total_size = total;

    bool saw_end = false;
    for (size_t offset = 8; offset + 8 <= total;) {
        const uint8_t* tag = base + offset;
        const uint32_t type = tern::load_unaligned<uint32_t>(tag);
        const uint32_t size = tern::load_unaligned<uint32_t>(tag + 4);
        if (size < 8 || size > total - offset)
            return tern::Error::malformed;
        const uint8_t* body = tag + 8;
        const uint8_t* tag_end_ptr = tag + size;

        switch (type) {
        case tag_end:
            saw_end = true;
            break;
        case tag_cmdline:
        case tag_bootloader: {
            const char* text = checked_string(body, tag_end_ptr);
            if (text == nullptr)
                return tern::Error::malformed;
            (type == tag_cmdline ? out.cmdline : out.bootloader) = text;
            break;
        }
        case tag_module: {
            if (size < 17)
                return tern::Error::malformed;
            Module module{tern::load_unaligned<uint32_t>(body), tern::load_unaligned<uint32_t>(body + 4), checked_string(body + 8, tag_end_ptr)};
            if (module.cmdline == nullptr || module.end < module.start)
                return tern::Error::malformed;
            if (out.module_count == BootInfo::max_modules)
                return tern::Error::unsupported;
            out.modules[out.module_count++] = module;
            break;
        }
        case tag_mmap: {
            if (size < 16)
                return tern::Error::malformed;
            const uint32_t entry_size = tern::load_unaligned<uint32_t>(body);
            if (entry_size < 24 || entry_size % 8 != 0)
                return tern::Error::malformed;
            for (const uint8_t* e = body + 8; e + entry_size <= tag_end_ptr; e += entry_size) {
                MemoryRegion region{tern::load_unaligned<uint64_t>(e), tern::load_unaligned<uint64_t>(e + 8), MemoryType(tern::load_unaligned<uint32_t>(e + 16))};
                if (region.length == 0)
                    continue;
                if (region.base + region.length < region.base)
                    return tern::Error::malformed;
                if (out.region_count == BootInfo::max_regions)
                    return tern::Error::unsupported;
                out.regions[out.region_count++] = region;
            }
            break;
        }
        case tag_acpi_old:
        case tag_acpi_new: {
            // Prefer the ACPI 2.0+ RSDP (XSDT) when the loader gives both.
            const size_t length = size - 8;
            const size_t needed = type == tag_acpi_new ? 36 : 20;
            if (length < needed)
                return tern::Error::malformed;
            if (type == tag_acpi_new || out.rsdp == nullptr) {
                out.rsdp = body;
                out.rsdp_length = length;
                out.rsdp_v2 = type == tag_acpi_new;
            }
            break;
        }
        default:
            break; // tags we do not use
        }
        if (saw_end)
            break;
        offset += (size + 7) & ~7u;
    }
    if (!saw_end)
        return tern::Error::malformed;
    if (out.region_count == 0)
        return tern::Error::not_found; // cannot run without a memory map
    return {};
}

} // namespace kernel::multiboot2
