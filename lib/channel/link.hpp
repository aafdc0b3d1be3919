// One end of a channel as server logic sees it: the two rings, the peer's
// pool, and publish/release that wake the peer when it sleeps. In Tern a
// tern::Channel stands behind it (runtime/channel_link.hpp); host tests put
// rings in plain memory behind it, so the same logic runs in both.
#pragma once

#include <cstdint>

#include "channel/message.hpp"
#include "channel/pool.hpp"
#include "channel/ring.hpp"

namespace tern::channel {

class Link {
public:
    virtual Producer<Message>& tx() = 0;
    virtual Consumer<Message>& rx() = 0;
    // The peer's pool (references in received messages point into it), or
    // null if it offered none.
    virtual const PoolView* peer_pool() const = 0;
    // Publishes `count` filled tx slots / frees `count` read rx slots,
    // waking the peer if it sleeps.
    virtual void publish(uint32_t count) = 0;
    virtual void release(uint32_t count) = 0;

protected:
    ~Link() = default;
};

} // namespace tern::channel
