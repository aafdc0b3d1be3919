#include "lwip_port/peer_pbufs.hpp"

namespace tern::lwip {

namespace {
constexpr uint32_t none = 0xFFFFFFFF;
}

PeerPbufs::PeerPbufs(unsigned capacity, Release release, void* context)
    : m_entries(new Entry[capacity]), m_capacity(capacity), m_free(0), m_release(release), m_context(context)
{
    for (unsigned i = 0; i < capacity; ++i) {
        m_entries[i].owner = this;
        m_entries[i].next_free = i + 1 < capacity ? i + 1 : none;
    }
}

PeerPbufs::~PeerPbufs() { delete[] m_entries; }

pbuf* PeerPbufs::wrap(const channel::BufferRef& ref, uint8_t* bytes, uint16_t length)
{
    if (m_free == none)
        return nullptr;
    Entry& e = m_entries[m_free];
    m_free = e.next_free;
    ++m_in_use;
    e.ref = ref;
    e.custom.custom_free_function = freed;
    return pbuf_alloced_custom(PBUF_RAW, length, PBUF_REF, &e.custom, bytes, length);
}

void PeerPbufs::freed(pbuf* p)
{
    // pbuf_custom starts with its pbuf, and Entry with its pbuf_custom.
    auto* e = reinterpret_cast<Entry*>(p);
    PeerPbufs& self = *e->owner;
    const channel::BufferRef ref = e->ref;
    e->next_free = self.m_free;
    self.m_free = static_cast<uint32_t>(e - self.m_entries);
    --self.m_in_use;
    self.m_release(self.m_context, ref);
}

} // namespace tern::lwip
