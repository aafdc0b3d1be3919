// Custom pbufs over buffers a peer lent us (ip's segments and datagrams):
// lwIP reads the bytes where they lie, in the peer's shared pool, and when
// lwIP frees the pbuf the buffer goes back to the peer through `release`.
// A fixed number of them, so the fast path never allocates.
#pragma once

#include <cstdint>

#include "channel/pool.hpp"
#include "lwip/pbuf.h"

namespace tern::lwip {

class PeerPbufs {
public:
    using Release = void (*)(void* context, const channel::BufferRef& ref);

    PeerPbufs(unsigned capacity, Release release, void* context);
    PeerPbufs(const PeerPbufs&) = delete;
    PeerPbufs& operator=(const PeerPbufs&) = delete;
    ~PeerPbufs();

    // A pbuf over `length` bytes at `bytes` (inside the buffer `ref` names),
    // or null if all are in use. pbuf_free() on it (by lwIP or us) calls
    // release(context, ref).
    pbuf* wrap(const channel::BufferRef& ref, uint8_t* bytes, uint16_t length);
    unsigned in_use() const { return m_in_use; }

private:
    struct Entry {
        pbuf_custom custom; // first: lwIP hands us back the pbuf inside it
        channel::BufferRef ref;
        PeerPbufs* owner;
        uint32_t next_free;
    };
    static void freed(pbuf* p);

    Entry* m_entries;
    unsigned m_capacity;
    uint32_t m_free;
    unsigned m_in_use = 0;
    Release m_release;
    void* m_context;
};

} // namespace tern::lwip
