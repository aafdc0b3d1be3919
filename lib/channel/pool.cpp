#include "channel/pool.hpp"

namespace tern::channel {

bool valid_geometry(const PoolGeometry& g)
{
    return g.id != 0 && g.count != 0 && g.count <= max_pool_buffers && g.buffer_size >= 64 &&
           g.buffer_size <= (1u << 20) && g.buffer_size % 64 == 0;
}

Result<void> PoolView::attach(void* memory, size_t bytes, const PoolGeometry& geometry)
{
    if (memory == nullptr || !valid_geometry(geometry) || bytes < pool_bytes(geometry))
        return Error::invalid_argument;
    m_base = static_cast<uint8_t*>(memory);
    m_geometry = geometry;
    return {};
}

Result<uint8_t*> PoolView::bytes(const BufferRef& ref) const
{
    const uint32_t size = m_geometry.buffer_size;
    if (m_base == nullptr || ref.pool != m_geometry.id || ref.index >= m_geometry.count || ref.offset > size ||
        ref.length > size - ref.offset)
        return Error::malformed;
    return buffer(ref.index) + ref.offset;
}

PoolOwner::~PoolOwner()
{
    delete[] m_holders;
    delete[] m_free;
}

Result<void> PoolOwner::init(void* memory, size_t bytes, const PoolGeometry& geometry)
{
    if (m_holders != nullptr)
        return Error::busy;
    if (const auto attached = m_view.attach(memory, bytes, geometry); !attached.ok())
        return attached.error();
    m_holders = new Holder[geometry.count];
    m_free = new uint32_t[geometry.count];
    if (m_holders == nullptr || m_free == nullptr)
        return Error::out_of_memory;
    // Hand out low indices first (the free list is a stack).
    for (uint32_t i = 0; i < geometry.count; ++i) {
        m_holders[i] = nobody;
        m_free[i] = geometry.count - 1 - i;
    }
    m_free_count = geometry.count;
    return {};
}

Result<BufferRef> PoolOwner::allocate()
{
    if (m_free_count == 0)
        return Error::not_found;
    const uint32_t index = m_free[--m_free_count];
    m_holders[index] = self;
    return BufferRef{geometry().id, index, 0, geometry().buffer_size};
}

// The buffer `ref` names, if it is in range and `expected` holds it.
Result<uint32_t> PoolOwner::check(const BufferRef& ref, Holder expected) const
{
    if (m_holders == nullptr || ref.pool != geometry().id || ref.index >= geometry().count)
        return Error::malformed;
    if (m_holders[ref.index] != expected)
        return Error::not_owner;
    return ref.index;
}

Result<void> PoolOwner::free(const BufferRef& ref)
{
    const uint32_t index = TRY(check(ref, self));
    m_holders[index] = nobody;
    m_free[m_free_count++] = index;
    return {};
}

Result<void> PoolOwner::lend(const BufferRef& ref, Holder peer)
{
    if (peer == self || peer == nobody)
        return Error::invalid_argument;
    const uint32_t index = TRY(check(ref, self));
    m_holders[index] = peer;
    return {};
}

Result<void> PoolOwner::take_back(const BufferRef& ref, Holder peer)
{
    if (peer == self || peer == nobody)
        return Error::invalid_argument;
    const uint32_t index = TRY(check(ref, peer));
    m_holders[index] = self;
    return {};
}

uint32_t PoolOwner::reclaim(Holder peer)
{
    if (peer == self || peer == nobody || m_holders == nullptr)
        return 0;
    uint32_t reclaimed = 0;
    for (uint32_t i = 0; i < geometry().count; ++i) {
        if (m_holders[i] == peer) {
            m_holders[i] = nobody;
            m_free[m_free_count++] = i;
            ++reclaimed;
        }
    }
    return reclaimed;
}

uint32_t PoolOwner::held_by(Holder holder) const
{
    uint32_t held = 0;
    for (uint32_t i = 0; m_holders != nullptr && i < geometry().count; ++i)
        held += m_holders[i] == holder ? 1 : 0;
    return held;
}

} // namespace tern::channel
