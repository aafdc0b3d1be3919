// What the socket library needs from the system, behind two small
// interfaces so that its logic (library.hpp) runs unchanged in Tern programs
// (tern_platform.hpp: channels, system calls) and in host tests (a scripted
// fake server on in-memory rings).
#pragma once

#include "base/result.hpp"
#include "channel/message.hpp"
#include "channel/pool.hpp"
#include "channel/ring.hpp"

#include <cstdint>

namespace tern::sockets {

enum class Protocol : uint8_t { tcp = 0, udp = 1 };
constexpr uint32_t protocol_count = 2;

// The sizes of a channel the library asks for.
struct LinkSizes {
    uint32_t pool_buffers;
    uint32_t buffer_size;
    uint32_t ring_slots;
};

// One server's channel: two rings, our pool (the bytes we send) and a view
// of the server's (the bytes we receive).
class ServerLink {
public:
    virtual ~ServerLink() = default;

    // Connects to the server, offering our pool (made on the first open and
    // kept across reopens). May block in the kernel for the server's answer.
    virtual Result<void> open(const LinkSizes& sizes) = 0;
    // Lets go of the channel (the server ended, or broke the rings); the
    // rings and the peer's pool are gone afterwards, our pool stays.
    virtual void close() = 0;

    virtual channel::Producer<channel::Message>& tx() = 0;
    virtual channel::Consumer<channel::Message>& rx() = 0;
    // Publishes `count` filled tx slots / frees `count` read rx slots and
    // wakes the server if it sleeps waiting for them.
    virtual void publish(uint32_t count) = 0;
    virtual void release(uint32_t count) = 0;

    virtual channel::PoolOwner& pool() = 0;
    // The bytes of one of our buffers (no checks: it is ours).
    virtual uint8_t* data(const channel::BufferRef& ref) = 0;
    // The server's pool, or null if it offered none.
    virtual const channel::PoolView* peer_pool() = 0;
};

class Platform {
public:
    virtual ~Platform() = default;

    virtual ServerLink& link(Protocol protocol) = 0;
    // Nanoseconds on a monotonic clock.
    virtual uint64_t now_ns() = 0;

    // What a sleep waits for, per protocol: the server publishing on rx,
    // and (when our outgoing messages did not fit) room on tx.
    struct WaitFor {
        bool rx[protocol_count];
        bool tx[protocol_count];
    };
    // Sleeps until something in `what` happens, something else wakes the
    // process, or `deadline_ns` (UINT64_MAX: none) passes; may return early
    // for no reason. Returns a bit per protocol (1 << Protocol) whose server
    // has ended: the caller closes those links.
    virtual uint32_t wait(const WaitFor& what, uint64_t deadline_ns) = 0;
};

} // namespace tern::sockets
