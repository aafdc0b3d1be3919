// Physical page-frame allocator: one bit per 4 KiB frame. Fed from the
// firmware memory map (usable ranges) minus what is already taken (kernel
// image, boot information, modules). Builds for the host too: the bitmap is
// just memory handed to init().
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/result.hpp"
#include "sync/spinlock.hpp"

namespace kernel {

struct PhysRange {
    uint64_t base;
    uint64_t length;
    uint64_t end() const { return base + length; }
};

class FrameAllocator {
public:
    static constexpr uint64_t frame_size = 4096;
    static constexpr uint64_t no_limit = ~0ull;

    // Bytes of bitmap needed to track frames below `highest_address`.
    static size_t bitmap_bytes(uint64_t highest_address);

    // The lowest page-aligned range of `size` bytes at or above `minimum` that
    // lies inside one `usable` range and overlaps no `reserved` range.
    static tern::Result<uint64_t> find_free_range(const PhysRange* usable, size_t usable_count,
                                                  const PhysRange* reserved, size_t reserved_count, uint64_t size,
                                                  uint64_t minimum);

    // Every frame starts out taken; add_usable() then frees what may be used.
    void init(uint64_t* bitmap, uint64_t highest_address);
    // Frees the frames fully inside `range` (partial frames stay taken).
    void add_usable(PhysRange range);
    // Marks every frame touching `range` as taken.
    void reserve(PhysRange range);

    tern::Result<uint64_t> allocate();
    // `count` physically contiguous frames, the first aligned to `alignment`
    // (a power of two, at least one frame), ending at or below `limit`.
    tern::Result<uint64_t> allocate_contiguous(size_t count, uint64_t alignment = frame_size,
                                               uint64_t limit = no_limit);
    // Returning a frame that is not allocated is refused (Error::invalid_argument)
    // and changes nothing.
    tern::Result<void> free(uint64_t phys);
    tern::Result<void> free_contiguous(uint64_t phys, size_t count);

    size_t free_frames() const { return m_free_frames; }
    size_t total_frames() const { return m_usable_frames; }
    bool is_allocated(uint64_t phys) const;

private:
    bool test(size_t frame) const { return (m_bitmap[frame / 64] >> (frame % 64)) & 1; }
    void set(size_t frame) { m_bitmap[frame / 64] |= 1ull << (frame % 64); }
    void clear(size_t frame) { m_bitmap[frame / 64] &= ~(1ull << (frame % 64)); }

    mutable Spinlock m_lock;
    uint64_t* m_bitmap = nullptr;
    size_t m_frame_count = 0;
    size_t m_free_frames = 0;
    size_t m_usable_frames = 0;
    size_t m_search_hint = 0; // no free frame below this index
};

} // namespace kernel
