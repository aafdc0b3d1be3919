// Channels for Tern processes: the rings and pools of lib/channel, set up
// over the control path (proto/channel.hpp) and woken through the kernel.
//
// A client:
//   tern::SharedPool pool;  pool.create(256);            // buffers it lends out
//   tern::Channel ch;       ch.connect(service, 256, &pool);
// A service, on an open request it received:
//   ch.accept(request, nullptr);
// Then each side fills ch.tx() and calls ch.publish(n), drains ch.rx() and
// calls ch.release(n); those two wake the peer (one system call) only when the
// peer announced that it sleeps. To sleep, add the rings to a WaitSet and
// call tern::wait(); a notification from endpoint::exits for which
// ch.peer_ended() is true says the other end is gone: close() and, if
// wanted, connect again once rs has restarted it.
#pragma once

#include <cstdint>

#include "base/result.hpp"
#include "channel/message.hpp"
#include "channel/pool.hpp"
#include "channel/ring.hpp"
#include "channel/wait_set.hpp"
#include "proto/syscall.hpp"

namespace tern {

// A packet-buffer pool this process owns, in shared memory it can grant.
class SharedPool {
public:
    SharedPool() = default;
    SharedPool(const SharedPool&) = delete;
    SharedPool& operator=(const SharedPool&) = delete;
    ~SharedPool();

    // `count` buffers of `buffer_size` bytes. The pool's id is unique among
    // the live processes (our slot and a counter).
    Result<void> create(uint32_t count, uint32_t buffer_size = channel::default_buffer_size);
    channel::PoolOwner& owner() { return m_owner; }
    const channel::PoolGeometry& geometry() const { return m_owner.geometry(); }
    uint64_t handle() const { return m_handle; }
    // The bytes of a buffer this process owns (no checks: it is ours).
    uint8_t* data(const channel::BufferRef& ref) const
    {
        return m_owner.view().buffer(ref.index) + ref.offset;
    }

private:
    channel::PoolOwner m_owner;
    uint64_t m_handle = 0;
    uint64_t m_address = 0;
};

class Channel {
public:
    using Message = channel::Message;

    Channel() = default;
    Channel(const Channel&) = delete;
    Channel& operator=(const Channel&) = delete;
    ~Channel() { close(); }

    // Asks `service` for a channel with `slots` slots per direction,
    // offering `pool` (may be null; granted read-write); `argument` goes
    // to the service's protocol. Blocks for the service's answer.
    Result<void> connect(sys::Endpoint service, uint32_t slots, SharedPool* pool, uint64_t argument = 0);
    // The same for the running service registered with rs as `name`
    // (not_found if rs knows no such running service).
    Result<void> connect(const char* name, uint32_t slots, SharedPool* pool, uint64_t argument = 0);
    // Answers an open request received by a service, accepting it (and
    // offering `pool`, may be null) if it is well-formed.
    Result<void> accept(const sys::Message& request, SharedPool* pool);
    // Tells the peer (Consumer::closed on its side, woken if it sleeps),
    // unmaps everything and forgets the peer; memory this side created is
    // freed once the peer has unmapped it too.
    void close();

    bool is_open() const { return m_peer != 0; }
    sys::Endpoint peer() const { return m_peer; }
    uint64_t argument() const { return m_argument; }
    // True if `message` is the kernel's notice that our peer ended.
    bool peer_ended(const sys::Message& message) const;
    // True once the peer has closed the channel and everything it sent has
    // been read: close() too.
    bool peer_closed() { return m_rx.closed() && m_rx.available() == 0; }

    channel::Producer<Message>& tx() { return m_tx; }
    channel::Consumer<Message>& rx() { return m_rx; }
    // The peer's pool (references in received messages point into it), or
    // null if it offered none.
    const channel::PoolView* peer_pool() const { return m_peer_pool_address != 0 ? &m_peer_pool : nullptr; }
    // The shared-memory handle of the peer's pool (for shm_physical), or 0.
    uint64_t peer_pool_handle() const { return m_peer_pool_handle; }

    // Publishes `count` filled tx slots / frees `count` read rx slots, and
    // wakes the peer if it sleeps waiting for them.
    void publish(uint32_t count)
    {
        if (m_tx.publish(count))
            wake_peer();
    }
    void release(uint32_t count)
    {
        if (m_rx.release(count))
            wake_peer();
    }
    // One message; false if the ring is full (or broken).
    bool send(const Message& message);

    // Notifications this side sent to wake its peer (each one system call).
    uint64_t wakeups() const { return m_wakeups; }

private:
    void wake_peer();
    Result<void> attach_rings(uint64_t address, uint32_t slots, bool client);

    sys::Endpoint m_peer = 0;
    uint64_t m_argument = 0;
    channel::Producer<Message> m_tx;
    channel::Consumer<Message> m_rx;
    uint64_t m_rings_address = 0;
    uint64_t m_rings_size = 0;
    uint64_t m_rings_handle = 0; // ours to release (client side), else 0
    channel::PoolView m_peer_pool;
    uint64_t m_peer_pool_address = 0;
    uint64_t m_peer_pool_handle = 0;
    uint64_t m_wakeups = 0;
};

// Sleeps until a peer publishes on a ring of `set` or a message or
// notification arrives (then in `out`; returns true). Returns false at
// once, without a system call, if a ring already has work.
bool wait(channel::WaitSet& set, sys::Message& out);

} // namespace tern
