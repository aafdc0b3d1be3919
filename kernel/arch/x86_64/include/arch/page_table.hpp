// Builds and inspects x86-64 4-level page tables. Pure logic: it reaches the
// tables through a TableMemory interface, so host tests run it on plain heap
// memory and the kernel runs it on physical frames through the direct map.
#pragma once

#include <cstdint>

#include "base/result.hpp"

namespace arch {

namespace pte {
constexpr uint64_t present = 1ull << 0;
constexpr uint64_t writable = 1ull << 1;
constexpr uint64_t user = 1ull << 2;
constexpr uint64_t write_through = 1ull << 3;
constexpr uint64_t cache_disable = 1ull << 4;
constexpr uint64_t huge = 1ull << 7; // 2 MiB page in a page directory
constexpr uint64_t global = 1ull << 8;
constexpr uint64_t software = 7ull << 9; // bits the CPU ignores, free for the kernel
constexpr uint64_t no_execute = 1ull << 63;
constexpr uint64_t address_mask = 0x000FFFFFFFFFF000ull;
// The flags a caller may ask for (the rest is managed by the builder).
constexpr uint64_t mapping_flags = writable | user | write_through | cache_disable | global | software | no_execute;
} // namespace pte

class TableMemory {
public:
    // A zero-filled, 4 KiB-aligned frame for a new table.
    virtual tern::Result<uint64_t> allocate_table() = 0;
    // Where the table at physical address `phys` can be accessed.
    virtual uint64_t* table_at(uint64_t phys) = 0;

protected:
    ~TableMemory() = default;
};

struct Translation {
    uint64_t phys;
    uint64_t flags; // the leaf entry's flag bits
    uint64_t page_size;
};

class PageTableBuilder {
public:
    constexpr PageTableBuilder(TableMemory& memory, uint64_t root_phys) : m_memory(&memory), m_root(root_phys) {}

    // Maps [virt, virt+size) to [phys, phys+size). Addresses and size must be
    // 4 KiB aligned; 2 MiB pages are used wherever both sides line up, unless
    // small_pages_only. Fails with Error::busy if any part is already mapped
    // (nothing is changed then) and Error::invalid_argument on bad addresses.
    tern::Result<void> map(uint64_t virt, uint64_t phys, uint64_t size, uint64_t flags, bool small_pages_only = false);
    // Removes 4 KiB mappings in [virt, virt+size); fails (without changes) if a
    // 2 MiB page lies in the range. Unmapped pages are skipped.
    tern::Result<void> unmap(uint64_t virt, uint64_t size);
    tern::Result<Translation> translate(uint64_t virt) const;
    uint64_t root() const { return m_root; }

    // True if no page in [virt, virt+size) is mapped.
    bool range_is_free(uint64_t virt, uint64_t size) const;

    static bool is_canonical(uint64_t virt);

private:
    tern::Result<uint64_t*> entry_for(uint64_t virt, int level, bool create);

    TableMemory* m_memory;
    uint64_t m_root;
};

} // namespace arch
