#include "arch/page_table.hpp"

#include "arch/memory_layout.hpp"

namespace arch {
namespace {

constexpr int levels = 4;

unsigned index_at(uint64_t virt, int level) { return (virt >> (12 + 9 * (level - 1))) & 0x1FF; }
// Bytes covered by one entry at `level` (1 = 4 KiB page table entry).
uint64_t span_of(int level) { return 1ull << (12 + 9 * (level - 1)); }

} // namespace

bool PageTableBuilder::is_canonical(uint64_t virt)
{
    const uint64_t upper = virt >> 47;
    return upper == 0 || upper == 0x1FFFF;
}

tern::Result<uint64_t*> PageTableBuilder::entry_for(uint64_t virt, int level, bool create)
{
    uint64_t* table = m_memory->table_at(m_root);
    for (int l = levels; l > level; --l) {
        uint64_t& entry = table[index_at(virt, l)];
        if ((entry & pte::present) == 0) {
            if (!create)
                return tern::Error::not_found;
            auto frame = m_memory->allocate_table();
            if (!frame.ok())
                return frame.error();
            entry = frame.value() | pte::present | pte::writable | pte::user;
        } else if ((entry & pte::huge) != 0) {
            return tern::Error::busy;
        }
        table = m_memory->table_at(entry & pte::address_mask);
    }
    return &table[index_at(virt, level)];
}

tern::Result<Translation> PageTableBuilder::translate(uint64_t virt) const
{
    if (!is_canonical(virt))
        return tern::Error::invalid_argument;
    const uint64_t* table = m_memory->table_at(m_root);
    for (int l = levels; l >= 1; --l) {
        const uint64_t entry = table[index_at(virt, l)];
        if ((entry & pte::present) == 0)
            return tern::Error::not_found;
        const bool leaf = l == 1 || (l == 2 && (entry & pte::huge) != 0);
        if (leaf) {
            const uint64_t size = span_of(l);
            const uint64_t base = entry & pte::address_mask & ~(size - 1);
            return Translation{base + (virt & (size - 1)), entry & ~pte::address_mask, size};
        }
        table = m_memory->table_at(entry & pte::address_mask);
    }
    return tern::Error::not_found;
}

bool PageTableBuilder::range_is_free(uint64_t virt, uint64_t size) const
{
    if (size == 0)
        return true;
    const uint64_t last = virt + size - 1; // inclusive: a range may end at the very top
    uint64_t at = virt;
    for (;;) {
        // Walk down until a missing entry (a free gap of that level's span)
        // or a present leaf (the range is not free).
        const uint64_t* table = m_memory->table_at(m_root);
        uint64_t step = 0;
        for (int l = levels; l >= 1; --l) {
            const uint64_t entry = table[index_at(at, l)];
            if ((entry & pte::present) == 0) {
                step = span_of(l) - (at & (span_of(l) - 1));
                break;
            }
            if (l == 1 || (entry & pte::huge) != 0)
                return false;
            table = m_memory->table_at(entry & pte::address_mask);
        }
        if (step > last - at)
            break; // the free gap covers the rest of the range
        at += step;
    }
    return true;
}

tern::Result<void> PageTableBuilder::map(uint64_t virt, uint64_t phys, uint64_t size, uint64_t flags,
                                         bool small_pages_only)
{
    if (size == 0 || (virt | phys | size) & (page_size - 1))
        return tern::Error::invalid_argument;
    if (virt + (size - 1) < virt || !is_canonical(virt) || !is_canonical(virt + size - 1))
        return tern::Error::invalid_argument;
    if ((phys + size - 1) > pte::address_mask || (flags & ~pte::mapping_flags) != 0)
        return tern::Error::invalid_argument;
    if (!range_is_free(virt, size))
        return tern::Error::busy;

    while (size > 0) {
        const bool large = !small_pages_only && (virt % large_page_size) == 0 && (phys % large_page_size) == 0 &&
                           size >= large_page_size;
        const int level = large ? 2 : 1;
        auto entry = entry_for(virt, level, true);
        if (!entry.ok())
            return entry.error();
        *entry.value() = phys | flags | pte::present | (large ? pte::huge : 0);
        const uint64_t step = span_of(level);
        virt += step;
        phys += step;
        size -= step;
    }
    return {};
}

tern::Result<void> PageTableBuilder::unmap(uint64_t virt, uint64_t size)
{
    if ((virt | size) & (page_size - 1) || !is_canonical(virt))
        return tern::Error::invalid_argument;
    for (uint64_t at = virt; at < virt + size; at += large_page_size - (at & (large_page_size - 1))) {
        auto pd_entry = entry_for(at, 2, false);
        if (!pd_entry.ok() && pd_entry.error() == tern::Error::busy)
            return tern::Error::busy;
        if (pd_entry.ok() && (*pd_entry.value() & pte::huge) != 0)
            return tern::Error::busy;
    }
    for (uint64_t at = virt; at < virt + size; at += page_size) {
        auto entry = entry_for(at, 1, false);
        if (entry.ok())
            *entry.value() = 0;
    }
    return {};
}

} // namespace arch
