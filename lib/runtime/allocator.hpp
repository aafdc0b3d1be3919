// The user-space allocator behind malloc/new (lib/runtime/malloc.cpp), kept
// free of system calls so the host tests run it against fake pages.
//
// Small blocks (up to 2016 bytes) come in twelve size classes. Each class
// carves whole 4 KiB pages: a 64-byte header (class, use count, a bitmap of
// allocated blocks) and then blocks that divide the remaining 4032 bytes
// exactly. Free memory is never linked through the blocks themselves, so a
// write after free cannot corrupt the allocator, and the bitmap catches a
// double free exactly. Pages come in chunks (16 pages, growing to 64) and are
// reused by any class once empty; chunks are kept for the process's lifetime.
//
// Larger blocks (and any alignment above 16) get their own page-aligned
// mapping, returned to the page source on free.
//
// Every mapping is recorded in a sorted table kept in pages of its own, so
// free() finds what a pointer belongs to by binary search and never reads
// memory through a pointer it did not hand out: a stray or repeated free is
// reported, never followed.
//
// Not thread-safe: a Tern process has one thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tern {

class PageSource {
public:
    // `count` contiguous, writable, zeroed 4 KiB pages, or nullptr.
    virtual void* map_pages(size_t count) = 0;
    virtual void unmap_pages(void* pages, size_t count) = 0;

protected:
    ~PageSource() = default;
};

class Allocator {
public:
    static constexpr size_t page_size = 4096;
    static constexpr size_t alignment = 16; // of every block
    static constexpr size_t max_small = 2016;
    static constexpr size_t max_size = size_t{1} << 40;
    static constexpr int class_count = 12;

    enum class Status {
        ok,
        not_allocated, // not a block this allocator handed out, or a large block freed already
        double_free,   // a small block that is free already
        corrupted,     // the header of the page the pointer is in was overwritten
    };

    constexpr explicit Allocator(PageSource& pages) : m_pages(&pages) {}
    Allocator(const Allocator&) = delete;
    Allocator& operator=(const Allocator&) = delete;

    // nullptr when out of memory or `size` > max_size. Size 0 gives a
    // distinct minimal block, as malloc(0) may.
    void* allocate(size_t size);
    // `align` a power of two up to page_size; nullptr otherwise.
    void* allocate_aligned(size_t size, size_t align);
    Status free(void* pointer); // nullptr: ok, nothing happens
    // The block grows or shrinks in place when it can, else moves. On failure
    // (status ok, nullptr returned) the old block is untouched. nullptr
    // allocates; size 0 gives a minimal block.
    void* reallocate(void* pointer, size_t size, Status& status);
    // How many bytes the live block at `pointer` can hold; 0 and a status
    // other than ok for anything else.
    size_t usable_size(const void* pointer, Status& status) const;

    // Bytes handed out (rounded up to the block size) and pages mapped from
    // the source (chunks, large blocks and the mapping table).
    size_t bytes_in_use() const { return m_bytes_in_use; }
    size_t pages_mapped() const { return m_pages_mapped; }

private:
    struct SmallPage;
    struct Mapping {
        uintptr_t base;
        size_t pages;
        bool large; // one large block, else a chunk of small pages
    };
    struct Block {
        Status status;
        SmallPage* page;  // small blocks
        size_t index;     // small blocks: position in the page
        size_t mapping;   // large blocks: index in the table
    };

    Block find(const void* pointer) const;
    size_t block_size(const Block& block) const;
    size_t find_mapping(uintptr_t address) const; // index, or m_mapping_count
    bool add_mapping(const Mapping& mapping);
    void remove_mapping(size_t index);
    void* map_recorded(size_t pages, bool large);
    void* map(size_t pages);
    void unmap(void* base, size_t pages);

    void* allocate_small(int size_class);
    SmallPage* take_page();
    void free_small(SmallPage* page, size_t index);
    void* allocate_large(size_t size);
    void free_large(size_t mapping);
    void link(SmallPage* page);
    void unlink(SmallPage* page);

    PageSource* m_pages;
    SmallPage* m_partial[class_count] = {}; // per class: pages with a free block
    SmallPage* m_empty = nullptr;  // pages with no block in use, for any class
    uintptr_t m_fresh = 0;         // the current chunk's untouched pages: [m_fresh, m_fresh_end)
    uintptr_t m_fresh_end = 0;
    size_t m_next_chunk_pages = 16;
    Mapping* m_mappings = nullptr; // sorted by base
    size_t m_mapping_count = 0;
    size_t m_mapping_capacity = 0;
    size_t m_table_pages = 0;
    size_t m_bytes_in_use = 0;
    size_t m_pages_mapped = 0;
};

} // namespace tern
