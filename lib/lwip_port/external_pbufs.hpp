// Zero-copy receive: bytes that live outside lwIP (a buffer ip lent us in
// its shared pool) wrapped in lwIP custom pbufs (PBUF_REF), so TCP and UDP
// read them where they are. When lwIP frees such a pbuf — at once, or much
// later for data queued out of order or waiting for the application — the
// owner's release() gets the cookie back (e.g. the BufferRef to return to
// ip). A fixed set of slots: no allocation on the fast path.
//
// Caveats:
// - release() runs inside whichever lwIP call freed the pbuf (tcp_input,
//   tcp_recved, pbuf_free, a timer...): it must not call back into lwIP;
//   record the cookie and return.
// - The bytes must stay valid and writable until then (tcp_input rewrites
//   the TCP header in place), and this object must outlive every pbuf it
//   made.
// - A slot is lent per buffer, not per datagram: lwIP may keep any part of
//   a chain (out-of-order queues, data the application has not taken), so
//   a server should bound how many it lets lwIP hold (TCP_OOSEQ_MAX_PBUFS)
//   and give the pool's owner its buffers back promptly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "lwip/pbuf.h"

namespace tern::lwip {

// Gets each wrapped buffer back once lwIP has let go of it.
template <typename Cookie>
class ExternalRelease {
public:
    virtual void release(const Cookie& cookie) = 0;

protected:
    ~ExternalRelease() = default;
};

template <typename Cookie, size_t Capacity>
class ExternalPbufs {
    static_assert(Capacity > 0);
    static_assert(std::is_trivially_copyable_v<Cookie>);

public:
    explicit ExternalPbufs(ExternalRelease<Cookie>& owner) : m_owner(owner)
    {
        for (size_t i = 0; i < Capacity; ++i)
            m_slots[i].next_free = i + 1 < Capacity ? &m_slots[i + 1] : nullptr;
        m_free = &m_slots[0];
    }
    ExternalPbufs(const ExternalPbufs&) = delete;
    ExternalPbufs& operator=(const ExternalPbufs&) = delete;

    // A pbuf over bytes[0, length) (reference count 1, type PBUF_REF), to
    // give to lwIP (IpLayer::input) or to chain behind another with
    // pbuf_cat(). nullptr when every slot is with lwIP: the caller copies
    // or drops, and keeps its buffer.
    struct pbuf* wrap(void* bytes, uint16_t length, const Cookie& cookie)
    {
        Slot* slot = m_free;
        if (slot == nullptr)
            return nullptr;
        m_free = slot->next_free;
        slot->next_free = nullptr;
        slot->owner = this;
        slot->cookie = cookie;
        slot->custom.custom_free_function = &ExternalPbufs::free_slot;
        struct pbuf* p = pbuf_alloced_custom(PBUF_RAW, length, PBUF_REF, &slot->custom, bytes, length);
        if (p == nullptr) { // cannot happen with PBUF_RAW and the whole range; keep the slot anyway
            slot->next_free = m_free;
            m_free = slot;
            return nullptr;
        }
        ++m_in_use;
        return p;
    }

    // Slots whose pbufs lwIP (or the caller) still holds.
    size_t in_use() const { return m_in_use; }
    static constexpr size_t capacity() { return Capacity; }

private:
    struct Slot {
        struct pbuf_custom custom; // first: lwIP hands &custom.pbuf to free_slot
        ExternalPbufs* owner;
        Slot* next_free;
        Cookie cookie;
    };
    static_assert(std::is_standard_layout_v<Slot>);
    static_assert(offsetof(Slot, custom) == 0);

    static void free_slot(struct pbuf* p)
    {
        // The pbuf is the first member of the pbuf_custom, which is the
        // first member of the (standard-layout) slot.
        Slot* slot = reinterpret_cast<Slot*>(p);
        ExternalPbufs* self = slot->owner;
        const Cookie cookie = slot->cookie;
        slot->next_free = self->m_free;
        self->m_free = slot;
        --self->m_in_use;
        self->m_owner.release(cookie);
    }

    ExternalRelease<Cookie>& m_owner;
    Slot m_slots[Capacity] = {};
    Slot* m_free = nullptr;
    size_t m_in_use = 0;
};

} // namespace tern::lwip
