#include "mm/frame_allocator.hpp"

#include "base/bytes.hpp"

namespace kernel {

using tern::align_down;
using tern::align_up;
size_t FrameAllocator::bitmap_bytes(uint64_t highest_address)
{
    const uint64_t frames = align_up(highest_address, frame_size) / frame_size;
    return static_cast<size_t>(align_up(frames, 64) / 8);
}

tern::Result<uint64_t> FrameAllocator::find_free_range(const PhysRange* usable, size_t usable_count,
                                                       const PhysRange* reserved, size_t reserved_count,
                                                       uint64_t size, uint64_t minimum)
{
    size = align_up(size, frame_size);
    uint64_t best = no_limit;
    for (size_t u = 0; u < usable_count; ++u) {
        uint64_t start = align_up(usable[u].base > minimum ? usable[u].base : minimum, frame_size);
        const uint64_t end = align_down(usable[u].end(), frame_size);
        // Slide past every reserved range the candidate touches.
        bool moved = true;
        while (moved && start + size <= end) {
            moved = false;
            for (size_t r = 0; r < reserved_count; ++r) {
                if (start < reserved[r].end() && reserved[r].base < start + size) {
                    start = align_up(reserved[r].end(), frame_size);
                    moved = true;
                }
            }
        }
        if (start + size <= end && start < best)
            best = start;
    }
    if (best == no_limit)
        return tern::Error::out_of_memory;
    return best;
}

void FrameAllocator::init(uint64_t* bitmap, uint64_t highest_address)
{
    m_bitmap = bitmap;
    m_frame_count = align_up(highest_address, frame_size) / frame_size;
    const size_t words = bitmap_bytes(highest_address) / 8;
    for (size_t i = 0; i < words; ++i)
        m_bitmap[i] = ~0ull;
    m_free_frames = 0;
    m_usable_frames = 0;
    m_search_hint = 0;
}

void FrameAllocator::add_usable(PhysRange range)
{
    SpinlockGuard guard(m_lock);
    const uint64_t first = align_up(range.base, frame_size) / frame_size;
    const uint64_t last = align_down(range.end(), frame_size) / frame_size; // exclusive
    for (uint64_t f = first; f < last && f < m_frame_count; ++f) {
        if (test(f)) {
            clear(f);
            ++m_free_frames;
            ++m_usable_frames;
        }
    }
    m_search_hint = 0;
}

void FrameAllocator::reserve(PhysRange range)
{
    SpinlockGuard guard(m_lock);
    const uint64_t first = align_down(range.base, frame_size) / frame_size;
    const uint64_t last = align_up(range.end(), frame_size) / frame_size;
    for (uint64_t f = first; f < last && f < m_frame_count; ++f) {
        if (!test(f)) {
            set(f);
            --m_free_frames;
            --m_usable_frames;
        }
    }
}

tern::Result<uint64_t> FrameAllocator::allocate()
{
    SpinlockGuard guard(m_lock);
    for (size_t word = m_search_hint / 64; word * 64 < m_frame_count; ++word) {
        if (m_bitmap[word] == ~0ull)
            continue;
        const size_t frame = word * 64 + static_cast<size_t>(__builtin_ctzll(~m_bitmap[word]));
        if (frame >= m_frame_count)
            break;
        set(frame);
        --m_free_frames;
        m_search_hint = frame + 1;
        return frame * frame_size;
    }
    m_search_hint = m_frame_count;
    return tern::Error::out_of_memory;
}

tern::Result<uint64_t> FrameAllocator::allocate_contiguous(size_t count, uint64_t alignment, uint64_t limit)
{
    if (count == 0 || alignment < frame_size || (alignment & (alignment - 1)) != 0)
        return tern::Error::invalid_argument;
    SpinlockGuard guard(m_lock);
    const size_t step = static_cast<size_t>(alignment / frame_size);
    size_t limit_frames = m_frame_count;
    if (limit != no_limit && limit / frame_size < limit_frames)
        limit_frames = static_cast<size_t>(limit / frame_size);
    for (size_t start = 0; start + count <= limit_frames; start += step) {
        size_t run = 0;
        while (run < count && !test(start + run))
            ++run;
        if (run == count) {
            for (size_t f = start; f < start + count; ++f)
                set(f);
            m_free_frames -= count;
            return start * frame_size;
        }
        // Skip ahead past the taken frame, keeping the alignment.
        start = ((start + run) / step) * step;
    }
    return tern::Error::out_of_memory;
}

bool FrameAllocator::is_allocated(uint64_t phys) const
{
    const uint64_t frame = phys / frame_size;
    return frame >= m_frame_count || test(frame);
}

tern::Result<void> FrameAllocator::free(uint64_t phys) { return free_contiguous(phys, 1); }

tern::Result<void> FrameAllocator::free_contiguous(uint64_t phys, size_t count)
{
    if (phys % frame_size != 0 || count == 0)
        return tern::Error::invalid_argument;
    SpinlockGuard guard(m_lock);
    const uint64_t first = phys / frame_size;
    if (first >= m_frame_count || count > m_frame_count - first)
        return tern::Error::invalid_argument;
    for (uint64_t f = first; f < first + count; ++f) {
        if (!test(f))
            return tern::Error::invalid_argument; // double free: refuse, change nothing
    }
    for (uint64_t f = first; f < first + count; ++f)
        clear(f);
    m_free_frames += count;
    if (first < m_search_hint)
        m_search_hint = first;
    return {};
}

} // namespace kernel
