// Packet-buffer pools: fixed-size buffers in a shared-memory object, named in
// messages by BufferRef (pool, buffer index, offset, length), never by
// pointers, since each process maps the pool at its own address.
//
// The process that creates a pool owns it. It hands buffers to peers with the
// messages that carry them (lend) and takes them back when they return on the
// reverse ring (take_back). Who holds which buffer is recorded only in the
// owner's private memory, never in the shared object, so a peer can neither
// read nor forge it: the owner rejects a returned reference that is out of
// range or that the sender does not hold, and when a peer crashes it
// reclaims every buffer that peer held.
//
// A peer that receives references into somebody else's pool checks them
// against its own copy of the pool's geometry (PoolView) before touching the
// bytes.
//
// No system calls here; the same code runs in Tern processes and host tests.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/result.hpp"

namespace tern::channel {

struct BufferRef {
    uint32_t pool;   // the pool's id (PoolGeometry::id)
    uint32_t index;  // buffer number in the pool
    uint32_t offset; // first byte used, from the buffer's start
    uint32_t length; // bytes used
};
static_assert(sizeof(BufferRef) == 16);

// What both sides agree on when a pool is shared; each keeps its own copy.
struct PoolGeometry {
    uint32_t id;          // non-zero; unique among the pools a process uses
    uint32_t count;       // buffers
    uint32_t buffer_size; // bytes per buffer, a multiple of 64
    uint32_t reserved;
};
static_assert(sizeof(PoolGeometry) == 16);

constexpr uint32_t default_buffer_size = 2048;
constexpr uint32_t max_pool_buffers = 1u << 16;

bool valid_geometry(const PoolGeometry& geometry);
constexpr size_t pool_bytes(const PoolGeometry& geometry) { return size_t{geometry.count} * geometry.buffer_size; }

// A peer's view of a pool it has mapped: range checks, then addresses.
class PoolView {
public:
    Result<void> attach(void* memory, size_t bytes, const PoolGeometry& geometry);
    const PoolGeometry& geometry() const { return m_geometry; }
    // The bytes `ref` names, or malformed if any part lies outside the pool.
    Result<uint8_t*> bytes(const BufferRef& ref) const;
    uint8_t* buffer(uint32_t index) const { return m_base + size_t{index} * m_geometry.buffer_size; }

private:
    uint8_t* m_base = nullptr;
    PoolGeometry m_geometry{};
};

// The owner's side: allocation and the private record of who holds what.
class PoolOwner {
public:
    using Holder = uint16_t;
    static constexpr Holder self = 0;        // the owner; peers are numbered from 1
    static constexpr Holder nobody = 0xFFFF; // free

    PoolOwner() = default;
    PoolOwner(const PoolOwner&) = delete;
    PoolOwner& operator=(const PoolOwner&) = delete;
    ~PoolOwner();

    // `memory` is the pool's shared object (pool_bytes(geometry) bytes).
    Result<void> init(void* memory, size_t bytes, const PoolGeometry& geometry);
    const PoolView& view() const { return m_view; }
    const PoolGeometry& geometry() const { return m_view.geometry(); }

    // A free buffer, held by the owner: the whole buffer, or not_found if
    // none is free.
    Result<BufferRef> allocate();
    // Gives a buffer the owner holds back to the free list (not_owner if it
    // does not hold it, e.g. it is free already).
    Result<void> free(const BufferRef& ref);

    // The owner hands a buffer it holds to `peer` (with a message).
    Result<void> lend(const BufferRef& ref, Holder peer);
    // `peer` returned `ref`: accepted only if it is in range and `peer` holds
    // it; the owner holds it afterwards.
    Result<void> take_back(const BufferRef& ref, Holder peer);
    // `peer` is gone: everything it held becomes free. Returns how many.
    uint32_t reclaim(Holder peer);

    uint32_t free_count() const { return m_free_count; }
    uint32_t held_by(Holder holder) const;

private:
    Result<uint32_t> check(const BufferRef& ref, Holder expected) const;

    PoolView m_view;
    Holder* m_holders = nullptr;  // per buffer
    uint32_t* m_free = nullptr;   // stack of free buffer indices
    uint32_t m_free_count = 0;
};

} // namespace tern::channel
