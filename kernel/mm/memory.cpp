#include "mm/memory.hpp"

#include "arch/cpu.hpp"
#include "arch/memory_layout.hpp"
#include "base/bytes.hpp"
#include "log.hpp"
#include "sync/spinlock.hpp"

extern "C" char __kernel_phys_start[], __kernel_phys_end[];
extern "C" char __kernel_text_start[], __kernel_text_end[];
extern "C" char __kernel_rodata_start[], __kernel_rodata_end[];
extern "C" char __kernel_data_start[], __kernel_data_end[];

namespace kernel::memory {
namespace {

using arch::page_size;
namespace pte = arch::pte;

constexpr uint64_t one_mib = 1024 * 1024;
constexpr uint64_t four_gib = 4ull << 30;
constexpr size_t max_reserved = multiboot2::BootInfo::max_modules + 8;

FrameAllocator g_frames;
Heap g_heap;
Spinlock g_map_lock;
uint64_t g_low_page = 0;
uint64_t g_efer_features = 0;

using tern::align_down;
using tern::align_up;

class FrameTableMemory final : public arch::TableMemory {
public:
    tern::Result<uint64_t> allocate_table() override
    {
        auto frame = g_frames.allocate();
        if (!frame.ok())
            return frame.error();
        auto* table = static_cast<uint64_t*>(arch::phys_to_virt(frame.value()));
        for (size_t i = 0; i < 512; ++i)
            table[i] = 0;
        return frame.value();
    }
    uint64_t* table_at(uint64_t phys) override { return static_cast<uint64_t*>(arch::phys_to_virt(phys)); }
};

FrameTableMemory g_table_memory;
arch::PageTableBuilder g_tables(g_table_memory, 0);

class DirectMapPages final : public PageSource {
public:
    void* allocate_pages(size_t count) override
    {
        auto frames = count == 1 ? g_frames.allocate() : g_frames.allocate_contiguous(count);
        return frames.ok() ? arch::phys_to_virt(frames.value()) : nullptr;
    }
    void free_pages(void* pages, size_t count) override
    {
        (void)g_frames.free_contiguous(arch::virt_to_phys(pages), count);
    }
};

DirectMapPages g_heap_pages;

uint64_t sym(const char* symbol) { return reinterpret_cast<uint64_t>(symbol); }

// Direct-maps one physical range, skipping pages that are already mapped
// (firmware regions often share pages at their edges).
tern::Result<void> direct_map(uint64_t base, uint64_t end, uint64_t flags)
{
    base = align_down(base, page_size);
    end = align_up(end, page_size);
    uint64_t at = base;
    while (at < end) {
        // Largest chunk starting here that is still unmapped.
        uint64_t chunk_end = at;
        while (chunk_end < end) {
            const bool large = chunk_end % arch::large_page_size == 0 && chunk_end + arch::large_page_size <= end;
            if (large && g_tables.range_is_free(arch::direct_map_base + chunk_end, arch::large_page_size))
                chunk_end += arch::large_page_size;
            else if (g_tables.range_is_free(arch::direct_map_base + chunk_end, page_size))
                chunk_end += page_size;
            else
                break;
        }
        if (chunk_end > at) {
            auto mapped = g_tables.map(arch::direct_map_base + at, at, chunk_end - at, flags);
            if (!mapped.ok())
                return mapped.error();
            at = chunk_end;
        } else {
            at += page_size;
        }
    }
    return {};
}

tern::Result<void> map_kernel_image()
{
    struct Section {
        uint64_t start, end, flags;
    } sections[] = {
        {sym(__kernel_text_start), sym(__kernel_text_end), pte::global},
        {sym(__kernel_rodata_start), sym(__kernel_rodata_end), pte::global | pte::no_execute},
        {sym(__kernel_data_start), sym(__kernel_data_end), pte::global | pte::writable | pte::no_execute},
    };
    for (const Section& s : sections) {
        uint64_t flags = s.flags;
        if (g_efer_features == 0)
            flags &= ~pte::no_execute;
        auto mapped = g_tables.map(s.start, arch::virt_to_phys(reinterpret_cast<void*>(s.start)), s.end - s.start,
                                   flags, true);
        if (!mapped.ok()) {
            log("memory: cannot map kernel section 0x%lx..0x%lx: %s", s.start, s.end, tern::error_name(mapped.error()));
            return mapped.error();
        }
    }
    return {};
}

} // namespace

FrameAllocator& frames() { return g_frames; }
Heap& heap() { return g_heap; }
arch::PageTableBuilder& kernel_tables() { return g_tables; }
uint64_t low_page() { return g_low_page; }
uint64_t usable_bytes() { return g_frames.total_frames() * page_size; }
uint64_t efer_features() { return g_efer_features; }

tern::Result<void> init(const multiboot2::BootInfo& info, uint64_t info_phys)
{
    PhysRange usable[multiboot2::BootInfo::max_regions];
    size_t usable_count = 0;
    uint64_t highest = 0;
    for (size_t i = 0; i < info.region_count; ++i) {
        const auto& r = info.regions[i];
        if (r.type != multiboot2::MemoryType::available)
            continue;
        usable[usable_count++] = PhysRange{r.base, r.length};
        if (r.base + r.length > highest)
            highest = r.base + r.length;
    }

    // What must not be handed out: the real-mode area, the kernel image,
    // the boot information and the modules GRUB loaded.
    PhysRange reserved[max_reserved];
    size_t reserved_count = 0;
    reserved[reserved_count++] = PhysRange{0, one_mib};
    reserved[reserved_count++] = PhysRange{sym(__kernel_phys_start), sym(__kernel_phys_end) - sym(__kernel_phys_start)};
    reserved[reserved_count++] = PhysRange{info_phys, info.total_size};
    for (size_t i = 0; i < info.module_count; ++i)
        reserved[reserved_count++] = PhysRange{info.modules[i].start, info.modules[i].end - info.modules[i].start};

    // A page below 1 MiB for the AP trampoline, from memory the firmware calls usable.
    auto low = FrameAllocator::find_free_range(usable, usable_count, reserved + 1, reserved_count - 1, page_size,
                                               page_size);
    if (!low.ok() || low.value() + page_size > 0xA0000)
        return tern::Error::not_found;
    g_low_page = low.value();

    // The bitmap goes in the first free place above 1 MiB; the early page
    // tables reach only the first 4 GiB.
    const size_t bitmap_bytes = FrameAllocator::bitmap_bytes(highest);
    auto bitmap = FrameAllocator::find_free_range(usable, usable_count, reserved, reserved_count, bitmap_bytes, one_mib);
    if (!bitmap.ok() || bitmap.value() + bitmap_bytes > four_gib)
        return tern::Error::out_of_memory;
    g_frames.init(static_cast<uint64_t*>(arch::phys_to_virt(bitmap.value())), highest);
    for (size_t i = 0; i < usable_count; ++i)
        g_frames.add_usable(usable[i]);
    for (size_t i = 0; i < reserved_count; ++i)
        g_frames.reserve(reserved[i]);
    g_frames.reserve(PhysRange{bitmap.value(), bitmap_bytes});

    // No-execute pages if the CPU has them.
    if (arch::cpuid(0x80000001).edx & (1u << 20)) {
        arch::wrmsr(arch::msr::efer, arch::rdmsr(arch::msr::efer) | arch::efer_nxe);
        g_efer_features = arch::efer_nxe;
    }
    if (arch::cpuid(1).edx & (1u << 13))
        arch::write_cr4(arch::read_cr4() | (1u << 7)); // PGE: global kernel pages

    // The root table must lie below 4 GiB: APs load it from 32-bit code.
    auto root = g_frames.allocate_contiguous(1, page_size, four_gib);
    if (!root.ok())
        return root.error();
    __builtin_memset(arch::phys_to_virt(root.value()), 0, page_size);
    g_tables = arch::PageTableBuilder(g_table_memory, root.value());
    // Every kernel-half PML4 entry exists from now on, so a process's tables
    // can copy the kernel half once and still see every later kernel mapping.
    auto* root_table = arch::phys_to_ptr<uint64_t>(root.value());
    for (int i = 256; i < 512; ++i) {
        auto table = g_table_memory.allocate_table();
        if (!table.ok())
            return table.error();
        root_table[i] = table.value() | pte::present | pte::writable;
    }

    const uint64_t nx = g_efer_features != 0 ? pte::no_execute : 0;
    for (size_t i = 0; i < info.region_count; ++i) {
        const auto& r = info.regions[i];
        const bool ram = r.type == multiboot2::MemoryType::available ||
                         r.type == multiboot2::MemoryType::acpi_reclaimable ||
                         r.type == multiboot2::MemoryType::acpi_nvs;
        const uint64_t flags = pte::writable | pte::global | nx | (ram ? 0 : pte::cache_disable);
        auto mapped = direct_map(r.base, r.base + r.length, flags);
        if (!mapped.ok()) {
            log("memory: cannot direct-map 0x%lx..0x%lx: %s", r.base, r.base + r.length, tern::error_name(mapped.error()));
            return mapped.error();
        }
    }
    auto low_area = direct_map(0, one_mib, pte::writable | pte::global | nx);
    if (!low_area.ok())
        return low_area.error();
    auto image = map_kernel_image();
    if (!image.ok())
        return image.error();

    arch::write_cr3(g_tables.root());
    g_heap.set_page_source(g_heap_pages);
    return {};
}

void* map_physical(uint64_t phys, size_t size, bool uncached)
{
    if (size == 0 || phys + size < phys)
        return nullptr;
    SpinlockGuard guard(g_map_lock);
    const uint64_t flags = pte::writable | pte::global | (g_efer_features != 0 ? pte::no_execute : 0) |
                           (uncached ? pte::cache_disable | pte::write_through : 0);
    for (uint64_t page = align_down(phys, page_size); page < phys + size; page += page_size) {
        if (g_tables.translate(arch::direct_map_base + page).ok())
            continue;
        if (!g_tables.map(arch::direct_map_base + page, page, page_size, flags, true).ok())
            return nullptr;
    }
    return arch::phys_to_virt(phys);
}

} // namespace kernel::memory
