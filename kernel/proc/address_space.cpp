#include "proc/address_space.hpp"

#include "arch/memory_layout.hpp"
#include "base/bytes.hpp"
#include "mm/memory.hpp"

namespace kernel {
namespace {

using arch::page_size;
namespace pte = arch::pte;

class TablesInDirectMap final : public arch::TableMemory {
public:
    tern::Result<uint64_t> allocate_table() override
    {
        auto frame = memory::frames().allocate();
        if (!frame.ok())
            return frame.error();
        __builtin_memset(arch::phys_to_virt(frame.value()), 0, page_size);
        return frame.value();
    }
    uint64_t* table_at(uint64_t phys) override { return arch::phys_to_ptr<uint64_t>(phys); }
};
TablesInDirectMap g_tables;

// Frees the lower-half tables below `table` (level 4 = PML4) and owned pages.
void free_tree(uint64_t table_phys, int level, bool lower_half_only)
{
    auto* table = arch::phys_to_ptr<uint64_t>(table_phys);
    const int entries = (level == 4 && lower_half_only) ? 256 : 512;
    for (int i = 0; i < entries; ++i) {
        const uint64_t entry = table[i];
        if ((entry & pte::present) == 0)
            continue;
        const uint64_t phys = entry & pte::address_mask;
        if (level == 1 || (level == 2 && (entry & pte::huge))) {
            if (entry & AddressSpace::owned_bit)
                (void)memory::frames().free(phys);
            continue;
        }
        free_tree(phys, level - 1, false);
    }
    (void)memory::frames().free(table_phys);
}

} // namespace

tern::Result<void> AddressSpace::create()
{
    auto root = g_tables.allocate_table();
    if (!root.ok())
        return root.error();
    // The kernel half is shared: the kernel's PML4 entries 256..511 all exist
    // from boot (memory::init), so copying them once is enough forever.
    const auto* kernel_root = arch::phys_to_ptr<uint64_t>(memory::kernel_tables().root());
    auto* mine = arch::phys_to_ptr<uint64_t>(root.value());
    for (int i = 256; i < 512; ++i)
        mine[i] = kernel_root[i];
    m_root = root.value();
    m_next_area = area_base;
    return {};
}

void AddressSpace::destroy()
{
    if (m_root == 0)
        return;
    free_tree(m_root, 4, true);
    m_root = 0;
}

tern::Result<void> AddressSpace::map_new(uint64_t virt, uint64_t size, bool writable, bool executable)
{
    if (!user_range_ok(virt, size) || virt % page_size != 0)
        return tern::Error::invalid_argument;
    arch::PageTableBuilder tables(g_tables, m_root);
    const uint64_t flags = pte::user | (writable ? pte::writable : 0) |
                           (executable || memory::efer_features() == 0 ? 0 : pte::no_execute) | owned_bit;
    for (uint64_t at = virt; at < virt + tern::align_up(size, page_size); at += page_size) {
        auto frame = g_tables.allocate_table(); // a zeroed frame
        if (!frame.ok()) {
            unmap(virt, at - virt);
            return frame.error();
        }
        auto mapped = tables.map(at, frame.value(), page_size, flags, true);
        if (!mapped.ok()) {
            (void)memory::frames().free(frame.value());
            unmap(virt, at - virt);
            return mapped.error();
        }
    }
    return {};
}

tern::Result<void> AddressSpace::map_frames(uint64_t virt, uint64_t phys, uint64_t size, bool writable, bool uncached,
                                            bool owned, bool executable)
{
    if (!user_range_ok(virt, size) || (virt | phys | size) % page_size != 0)
        return tern::Error::invalid_argument;
    const uint64_t flags = pte::user | (writable ? pte::writable : 0) |
                           (executable || memory::efer_features() == 0 ? 0 : pte::no_execute) |
                           (uncached ? pte::cache_disable | pte::write_through : 0) | (owned ? owned_bit : 0);
    arch::PageTableBuilder tables(g_tables, m_root);
    return tables.map(virt, phys, size, flags, true);
}

size_t AddressSpace::unmap(uint64_t virt, uint64_t size)
{
    if (!user_range_ok(virt, size))
        return 0;
    arch::PageTableBuilder tables(g_tables, m_root);
    size_t pages = 0;
    const uint64_t end = virt + size;
    for (uint64_t at = tern::align_down(virt, page_size); at < end; at += page_size) {
        // Step over whole unmapped 2 MiB stretches instead of page by page.
        const uint64_t stretch_end = tern::align_down(at, arch::large_page_size) + arch::large_page_size;
        if (at % arch::large_page_size == 0 && stretch_end <= end && tables.range_is_free(at, arch::large_page_size)) {
            at = stretch_end - page_size;
            continue;
        }
        auto t = tables.translate(at);
        if (!t.ok() || t.value().page_size != page_size)
            continue;
        (void)tables.unmap(at, page_size);
        if (t.value().flags & owned_bit)
            (void)memory::frames().free(tern::align_down(t.value().phys, page_size));
        ++pages;
    }
    return pages;
}

tern::Result<uint64_t> AddressSpace::allocate_area(uint64_t size)
{
    size = tern::align_up(size, page_size);
    // Leave an unmapped guard page between areas.
    if (size == 0 || size > area_end - m_next_area - page_size)
        return tern::Error::out_of_memory;
    const uint64_t at = m_next_area;
    m_next_area += size + page_size;
    return at;
}

tern::Result<arch::Translation> AddressSpace::translate(uint64_t virt) const
{
    arch::PageTableBuilder tables(g_tables, m_root);
    return tables.translate(virt);
}

bool AddressSpace::user_range_ok(uint64_t virt, size_t size) const
{
    return m_root != 0 && size > 0 && virt < user_end && size <= user_end - virt;
}

template <typename Fn>
bool AddressSpace::for_each_user_chunk(uint64_t user, size_t size, bool write, Fn fn) const
{
    if (size == 0)
        return true;
    if (!user_range_ok(user, size))
        return false;
    arch::PageTableBuilder tables(g_tables, m_root);
    // Check every page first, so a failed copy changes nothing.
    for (uint64_t page = tern::align_down(user, page_size); page < user + size; page += page_size) {
        auto t = tables.translate(page);
        if (!t.ok() || !(t.value().flags & pte::user) || (write && !(t.value().flags & pte::writable)))
            return false;
    }
    size_t done = 0;
    while (done < size) {
        const uint64_t at = user + done;
        const size_t chunk = static_cast<size_t>(
            (page_size - (at % page_size)) < (size - done) ? (page_size - (at % page_size)) : (size - done));
        fn(static_cast<uint8_t*>(arch::phys_to_virt(tables.translate(at).value().phys)), done, chunk);
        done += chunk;
    }
    return true;
}

bool AddressSpace::copy_in(void* kernel_dst, uint64_t user_src, size_t size) const
{
    auto* dst = static_cast<uint8_t*>(kernel_dst);
    return for_each_user_chunk(user_src, size, false,
                               [&](uint8_t* user, size_t offset, size_t n) { __builtin_memcpy(dst + offset, user, n); });
}

bool AddressSpace::copy_out(uint64_t user_dst, const void* kernel_src, size_t size) const
{
    const auto* src = static_cast<const uint8_t*>(kernel_src);
    return for_each_user_chunk(user_dst, size, true,
                               [&](uint8_t* user, size_t offset, size_t n) { __builtin_memcpy(user, src + offset, n); });
}

bool AddressSpace::copy_into_image(uint64_t user_dst, const void* kernel_src, size_t size) const
{
    const auto* src = static_cast<const uint8_t*>(kernel_src);
    return for_each_user_chunk(user_dst, size, false,
                               [&](uint8_t* user, size_t offset, size_t n) { __builtin_memcpy(user, src + offset, n); });
}

bool AddressSpace::copy_string_in(char* kernel_dst, uint64_t user_src, size_t capacity) const
{
    for (size_t i = 0; i + 1 < capacity; ++i) {
        char c;
        if (!copy_in(&c, user_src + i, 1))
            return false;
        kernel_dst[i] = c;
        if (c == '\0')
            return true;
    }
    if (capacity > 0)
        kernel_dst[capacity - 1] = '\0';
    return true;
}

} // namespace kernel
