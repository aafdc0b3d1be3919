// The kernel heap: power-of-two size classes from 16 bytes to 2 KiB carved
// out of 4 KiB pages, and whole page runs for anything larger. Every block
// carries a 16-byte header with its size class, so free() needs no size and a
// corrupted or foreign pointer is detected instead of silently accepted.
// Builds for the host too: pages come from a PageSource.
#pragma once

#include <cstddef>
#include <cstdint>

#include "sync/spinlock.hpp"

namespace kernel {

class PageSource {
public:
    // `count` contiguous, writable 4 KiB pages, or nullptr.
    virtual void* allocate_pages(size_t count) = 0;
    virtual void free_pages(void* pages, size_t count) = 0;

protected:
    ~PageSource() = default;
};

class Heap {
public:
    static constexpr size_t page_size = 4096;
    static constexpr size_t header_size = 16;
    static constexpr int class_count = 8; // 16, 32, ..., 2048 bytes including the header

    explicit Heap(PageSource& pages) : m_pages(&pages) {}
    Heap() = default;
    void set_page_source(PageSource& pages) { m_pages = &pages; }

    void* allocate(size_t size);
    // Returns false (and changes nothing) for a pointer this heap did not hand out.
    bool free(void* pointer);

    size_t bytes_in_use() const { return m_bytes_in_use; }

private:
    struct FreeBlock {
        FreeBlock* next;
    };
    static size_t class_size(int size_class) { return size_t{16} << size_class; }

    mutable Spinlock m_lock;
    PageSource* m_pages = nullptr;
    FreeBlock* m_free[class_count] = {};
    size_t m_bytes_in_use = 0;
};

} // namespace kernel
