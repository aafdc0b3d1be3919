// A process's address space: its own page tables whose upper half is the
// kernel's (shared), and a lower half of user mappings. Pages the process owns
// (its image, stack, anonymous memory, DMA buffers) carry a software bit in
// their page-table entry and are freed with the address space; shared-memory
// and device pages are not.
#pragma once

#include <cstddef>
#include <cstdint>

#include "arch/page_table.hpp"
#include "base/result.hpp"

namespace kernel {

class AddressSpace {
public:
    static constexpr uint64_t user_end = 0x0000800000000000;
    static constexpr uint64_t owned_bit = 1ull << 9; // available-to-software PTE bit

    // Areas handed out by allocate_area(): anonymous memory, shared memory, MMIO.
    static constexpr uint64_t area_base = 0x0000100000000000;
    static constexpr uint64_t area_end = 0x0000700000000000;
    static constexpr uint64_t stack_top = 0x00007FFFFFF00000;
    static constexpr uint64_t stack_size = 256 * 1024;
    static constexpr uint64_t crash_page = 0x00007FFFFFFF0000; // see proc/crash.cpp

    tern::Result<void> create();
    void destroy(); // frees every owned page and every table
    bool valid() const { return m_root != 0; }
    uint64_t root() const { return m_root; }

    // Maps fresh zeroed frames (owned) at `virt`.
    tern::Result<void> map_new(uint64_t virt, uint64_t size, bool writable, bool executable);
    // Maps existing frames (not owned unless `owned`).
    tern::Result<void> map_frames(uint64_t virt, uint64_t phys, uint64_t size, bool writable, bool uncached,
                                  bool owned, bool executable = false);
    // Unmaps [virt, virt+size), freeing owned frames. Returns how many pages were mapped.
    size_t unmap(uint64_t virt, uint64_t size);
    // A free virtual range of `size` bytes in the area region (bump allocation).
    tern::Result<uint64_t> allocate_area(uint64_t size);
    // The end of the areas handed out so far (nothing is mapped above it there).
    uint64_t areas_end() const { return m_next_area; }

    // Copies between the kernel and this address space through the direct
    // map, after checking every page is a present user page (writable when
    // writing). Never faults.
    bool copy_in(void* kernel_dst, uint64_t user_src, size_t size) const;
    bool copy_out(uint64_t user_dst, const void* kernel_src, size_t size) const;
    // Writes into the process's pages whatever their protection (loading its image).
    bool copy_into_image(uint64_t user_dst, const void* kernel_src, size_t size) const;
    // Reads a NUL-terminated string of at most `capacity - 1` characters.
    bool copy_string_in(char* kernel_dst, uint64_t user_src, size_t capacity) const;

    tern::Result<arch::Translation> translate(uint64_t virt) const;

private:
    bool user_range_ok(uint64_t virt, size_t size) const;
    template <typename Fn>
    bool for_each_user_chunk(uint64_t user, size_t size, bool write, Fn fn) const;

    uint64_t m_root = 0;
    uint64_t m_next_area = area_base;
};

} // namespace kernel
