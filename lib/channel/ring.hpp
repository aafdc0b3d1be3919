// A single-producer single-consumer ring of cache-line-sized messages in
// memory that two processes share: the fast path between Tern's servers.
//
// Shared layout (ring_bytes(capacity) bytes, 64-byte aligned):
//
//   offset   0  head               next index the producer fills; written by the producer only
//   offset   4  closed             1: the producer will publish no more (end of stream)
//   offset  64  tail               next index the consumer reads; written by the consumer only
//   offset 128  consumer_sleeping  1: the consumer announced it is about to sleep
//   offset 192  producer_sleeping  1: the producer waits for free slots
//   offset 256  capacity slots of sizeof(T) == 64 bytes
//
// Indices are free-running 32-bit counters that wrap around; the slot of index
// i is i & (capacity - 1), and head - tail (mod 2^32) is the fill level. Each
// index and each flag has a cache line to itself, so the two sides never
// write to the same line on the fast path.
//
// Batches: a producer fills any number of slots and makes them visible with
// one store of head; a consumer copies out any number and frees them with one
// store of tail. Each side caches the other's index and reads the shared one
// only when its cached copy says the ring is full (or empty).
//
// Sleeping without lost wake-ups (a Dekker handshake, all seq_cst):
//   consumer: consumer_sleeping = 1; re-read head; still empty → sleep in the
//             kernel; otherwise withdraw (flag = 0) and go on.
//   producer: head = new head; read consumer_sleeping; 1 → exchange it to 0 and,
//             if it was still 1, ask the kernel to wake the consumer.
// In the single total order of seq_cst operations either the consumer's
// re-read sees the new head or the producer's read sees the flag, so a
// message can never sit in the ring while its consumer sleeps. When both
// sides are busy the flag stays 0 and nobody enters the kernel. The same
// handshake runs the other way for a producer waiting for space.
//
// The peer is not trusted: this side keeps its own copy of the capacity, its
// own index and the slots' geometry, and a shared index that could only come
// from a broken or hostile peer (more than `capacity` ahead or behind) turns
// the ring `broken()`, after which it moves nothing. Consumers copy messages
// out before looking at them, so a peer cannot change one mid-check.
//
// No system calls here: the caller does the waking and sleeping, so the same
// code runs in Tern processes and in host tests.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>

#include "base/result.hpp"

namespace tern::channel {

constexpr size_t cache_line = 64;

struct RingControl {
    alignas(cache_line) std::atomic<uint32_t> head;
    std::atomic<uint32_t> closed;
    alignas(cache_line) std::atomic<uint32_t> tail;
    alignas(cache_line) std::atomic<uint32_t> consumer_sleeping;
    alignas(cache_line) std::atomic<uint32_t> producer_sleeping;
};
static_assert(std::atomic<uint32_t>::is_always_lock_free);
static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));
static_assert(std::is_standard_layout_v<RingControl>);
static_assert(offsetof(RingControl, head) == 0);
static_assert(offsetof(RingControl, closed) == 4);
static_assert(offsetof(RingControl, tail) == 1 * cache_line);
static_assert(offsetof(RingControl, consumer_sleeping) == 2 * cache_line);
static_assert(offsetof(RingControl, producer_sleeping) == 3 * cache_line);
static_assert(sizeof(RingControl) == 4 * cache_line);

// What a ring slot may hold: exactly one cache line of plain data.
template <typename T>
constexpr bool is_slot_type =
    sizeof(T) == cache_line && alignof(T) == cache_line && std::is_trivially_copyable_v<T>;

constexpr uint32_t min_capacity = 2;
constexpr uint32_t max_capacity = 1u << 20;

constexpr bool valid_capacity(uint32_t capacity)
{
    return capacity >= min_capacity && capacity <= max_capacity && (capacity & (capacity - 1)) == 0;
}

// Bytes of shared memory a ring of `capacity` slots needs.
constexpr size_t ring_bytes(uint32_t capacity) { return sizeof(RingControl) + size_t{capacity} * cache_line; }

// Sets up a ring's shared control block before either side attaches (and
// before the memory is handed to the peer, which orders these stores). Both
// indices start at `first_index` (tests start near 2^32 to cross the wrap).
inline void ring_init(void* memory, uint32_t first_index = 0)
{
    auto* control = new (memory) RingControl;
    control->head.store(first_index, std::memory_order_relaxed);
    control->tail.store(first_index, std::memory_order_relaxed);
    control->closed.store(0, std::memory_order_relaxed);
    control->consumer_sleeping.store(0, std::memory_order_relaxed);
    control->producer_sleeping.store(0, std::memory_order_relaxed);
}

namespace detail {

// What both ends have: the shared control block, the slots and private copies
// of the geometry and of both indices.
template <typename T>
class RingEnd {
    static_assert(is_slot_type<T>, "ring slots are one cache line of trivially copyable data");

public:
    // `memory` holds `bytes` bytes, 64-byte aligned, set up by ring_init();
    // `capacity` is what the two sides agreed on, not read from the memory.
    Result<void> attach(void* memory, size_t bytes, uint32_t capacity)
    {
        if (memory == nullptr || reinterpret_cast<uintptr_t>(memory) % cache_line != 0 ||
            !valid_capacity(capacity) || bytes < ring_bytes(capacity))
            return Error::invalid_argument;
        m_control = static_cast<RingControl*>(memory);
        m_slots = reinterpret_cast<T*>(static_cast<char*>(memory) + sizeof(RingControl));
        m_mask = capacity - 1;
        m_broken = false;
        m_head = m_control->head.load(std::memory_order_acquire);
        m_tail = m_control->tail.load(std::memory_order_acquire);
        if (m_head - m_tail > capacity) {
            m_broken = true;
            return Error::malformed;
        }
        return {};
    }

    bool attached() const { return m_control != nullptr; }
    bool broken() const { return m_broken; }
    uint32_t capacity() const { return m_mask + 1; }
    RingControl* control() const { return m_control; }

protected:
    // A shared index is believable only if the fill level it implies is.
    bool check(uint32_t head, uint32_t tail)
    {
        if (head - tail > m_mask + 1)
            m_broken = true;
        return !m_broken;
    }

    // Clears `flag` if set; true when this call cleared it (so exactly one
    // side wakes the sleeper it announced).
    static bool take_flag(std::atomic<uint32_t>& flag)
    {
        return flag.load(std::memory_order_seq_cst) != 0 && flag.exchange(0, std::memory_order_seq_cst) != 0;
    }

    RingControl* m_control = nullptr;
    T* m_slots = nullptr;
    uint32_t m_mask = 0;
    uint32_t m_head = 0; // producer: its own head; consumer: the last head it read
    uint32_t m_tail = 0; // consumer: its own tail; producer: the last tail it read
    bool m_broken = true; // until attached: a detached end moves nothing
};

} // namespace detail

template <typename T>
class Producer : public detail::RingEnd<T> {
    using Base = detail::RingEnd<T>;
    using Base::m_control, Base::m_slots, Base::m_mask, Base::m_head, Base::m_tail;

public:
    // Slots this side may fill now. Reads the consumer's tail only when the
    // cached one says there is no room for `wanted`.
    uint32_t space(uint32_t wanted = 1)
    {
        if (this->broken())
            return 0;
        uint32_t free = m_mask + 1 - (m_head - m_tail);
        if (free < wanted) {
            const uint32_t tail = m_control->tail.load(std::memory_order_acquire);
            if (!this->check(m_head, tail))
                return 0;
            m_tail = tail;
            free = m_mask + 1 - (m_head - m_tail);
        }
        return free;
    }

    // The i-th slot after the published ones (i < space()): fill it in place,
    // then publish().
    T& slot(uint32_t i) { return m_slots[(m_head + i) & m_mask]; }

    // Makes the next `count` filled slots visible with one store. True when
    // the consumer had announced sleep and must now be woken by the caller.
    [[nodiscard]] bool publish(uint32_t count)
    {
        m_head += count;
        m_control->head.store(m_head, std::memory_order_seq_cst);
        return Base::take_flag(m_control->consumer_sleeping);
    }

    // Copies up to `count` messages in and publishes them as one batch;
    // returns how many fit. `*wake` tells whether the consumer must be woken.
    uint32_t push(const T* messages, uint32_t count, bool* wake)
    {
        const uint32_t room = space(count);
        const uint32_t n = count < room ? count : room;
        for (uint32_t i = 0; i < n; ++i)
            slot(i) = messages[i];
        *wake = n != 0 && publish(n);
        return n;
    }

    // Ends the stream: the consumer sees closed() once it has read what was
    // published. True when the consumer sleeps and must be woken to see it.
    [[nodiscard]] bool close()
    {
        if (!this->attached())
            return false;
        m_control->closed.store(1, std::memory_order_seq_cst);
        return Base::take_flag(m_control->consumer_sleeping);
    }

    // Sleeping while the ring is full: announce, and sleep only if the ring
    // is still full afterwards; then end_sleep() once awake.
    bool prepare_sleep()
    {
        if (!this->attached())
            return false;
        m_control->producer_sleeping.store(1, std::memory_order_seq_cst);
        const uint32_t tail = m_control->tail.load(std::memory_order_seq_cst);
        if (this->check(m_head, tail))
            m_tail = tail;
        if (m_head - m_tail != m_mask + 1 || this->broken()) {
            end_sleep();
            return false;
        }
        return true;
    }
    void end_sleep()
    {
        if (this->attached())
            m_control->producer_sleeping.store(0, std::memory_order_relaxed);
    }

    // True when the consumer has announced sleep (for tests and monitors).
    bool consumer_asleep() const
    {
        return this->attached() && m_control->consumer_sleeping.load(std::memory_order_relaxed) != 0;
    }
};

template <typename T>
class Consumer : public detail::RingEnd<T> {
    using Base = detail::RingEnd<T>;
    using Base::m_control, Base::m_slots, Base::m_mask, Base::m_head, Base::m_tail;

public:
    // Messages waiting. Reads the producer's head only when the cached one
    // says the ring is empty.
    uint32_t available()
    {
        if (this->broken())
            return 0;
        if (m_head == m_tail) {
            const uint32_t head = m_control->head.load(std::memory_order_acquire);
            if (!this->check(head, m_tail))
                return 0;
            m_head = head;
        }
        return m_head - m_tail;
    }

    // The producer closed the stream (read what is available() first).
    bool closed() const { return this->attached() && m_control->closed.load(std::memory_order_acquire) != 0; }

    // Copies the i-th waiting message (i < available()) out of shared memory.
    T read(uint32_t i) const { return m_slots[(m_tail + i) & m_mask]; }

    // Frees the first `count` read messages with one store. True when the
    // producer waits for space and must now be woken by the caller.
    [[nodiscard]] bool release(uint32_t count)
    {
        m_tail += count;
        m_control->tail.store(m_tail, std::memory_order_seq_cst);
        return Base::take_flag(m_control->producer_sleeping);
    }

    // Copies up to `count` messages out and frees them as one batch; returns
    // how many there were. `*wake` tells whether the producer must be woken.
    uint32_t pop(T* messages, uint32_t count, bool* wake)
    {
        const uint32_t waiting = available();
        const uint32_t n = count < waiting ? count : waiting;
        for (uint32_t i = 0; i < n; ++i)
            messages[i] = read(i);
        *wake = n != 0 && release(n);
        return n;
    }

    // Sleeping while the ring is empty: announce, and sleep only if it is
    // still empty (and not closed) afterwards; then end_sleep() once awake.
    // A closed ring never lets its consumer sleep: it must handle the end.
    bool prepare_sleep()
    {
        if (!this->attached())
            return false;
        m_control->consumer_sleeping.store(1, std::memory_order_seq_cst);
        const uint32_t head = m_control->head.load(std::memory_order_seq_cst);
        if (this->check(head, m_tail))
            m_head = head;
        if (m_head != m_tail || this->broken() || m_control->closed.load(std::memory_order_seq_cst) != 0) {
            end_sleep();
            return false;
        }
        return true;
    }
    void end_sleep()
    {
        if (this->attached())
            m_control->consumer_sleeping.store(0, std::memory_order_relaxed);
    }
};

} // namespace tern::channel
