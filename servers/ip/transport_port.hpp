// ip's end of one transport server's channel (proto/ip.hpp ip_transport),
// without the channel's set-up and wake-ups: datagrams going up split over
// buffers of ip's pool, datagrams coming down gathered from chains of the
// transport's buffers, and the interfaces' announcements. It only fills
// ring slots; the caller publishes them (main.cpp through tern::Channel,
// which wakes the transport), so the host tests drive it on plain rings.
#pragma once

#include <cstddef>
#include <cstdint>

#include "channel/message.hpp"
#include "ip_stack.hpp"

namespace ip {

class TransportPort {
public:
    using Message = tern::channel::Message;
    using BufferRef = tern::channel::BufferRef;
    using PoolOwner = tern::channel::PoolOwner;
    using PoolView = tern::channel::PoolView;
    using Producer = tern::channel::Producer<Message>;

    // The most buffers of one chain the transport may send (a datagram of
    // 65,515 bytes in 2 KiB buffers needs 32); fewer on a ring with fewer
    // than twice as many slots, since their send_done answers wait together.
    static constexpr uint32_t max_chain = 64;

    // A transport connected: `tx` is the ring to it, ip's buffers go up from
    // `pool` lent to `holder`, and its own come down in `peer_pool` (null if
    // it offered none: every send is refused).
    void open(uint8_t protocol, Producer& tx, PoolOwner& pool, PoolOwner::Holder holder, const PoolView* peer_pool);
    // It is gone: forget the partial chain (its buffers died with it).
    void close();
    bool is_open() const { return m_tx != nullptr; }
    uint8_t protocol() const { return m_protocol; }

    // --- Up
    // Copies a datagram's payload into as many buffers of ip's pool as it
    // needs and writes the deliver messages (a chain if more than one) into
    // the next slots of the ring, keeping the first `reserved` free slots
    // for answers. Returns how many slots it filled, for the caller to
    // publish; 0 if the buffers or slots are not all there (nothing is
    // taken: the datagram is dropped as transport_busy).
    uint32_t deliver(unsigned interface, const Ipv4Header& header, bool to_broadcast, const uint8_t* payload,
                     size_t length, uint32_t reserved);

    // --- Down
    // Buffers of a chain not complete yet, whose send_done answers are
    // still to come. A drain batch of n messages writes at most n + held()
    // answers (taken at the batch's start).
    uint32_t held() const { return m_chain.count; }
    // One message from the transport. A send (or the last of a chain) goes
    // to the stack now; its send_done answers, one per buffer, are appended
    // to answers[count++]. deliver_done gives the buffer back to ip's pool.
    void receive(const Message& m, IpStack& stack, uint64_t now_ns, Message* answers, uint32_t& count);

    // --- Announcements
    // If the stack's interfaces changed since they were last announced (or
    // never were since open()), writes one address message per interface
    // into the next free slots and returns how many, for the caller to
    // publish; 0 if there is nothing new or no room (try again later).
    uint32_t announce(const IpStack& stack);

private:
    struct Chain {
        Message first;                 // its words describe the datagram
        BufferRef buffers[max_chain];  // for the send_done answers
        Piece pieces[max_chain];       // the bytes, in place in the transport's pool
        uint32_t count = 0;
        size_t length = 0;
        bool refusing = false; // broken: the rest of it, up to its last buffer, is refused
    };

    uint32_t chain_limit() const;
    void add_to_chain(const Message& m, IpStack& stack, uint64_t now_ns, Message* answers, uint32_t& count);
    void finish_chain(int64_t result, Message* answers, uint32_t& count);
    int64_t send(IpStack& stack, uint64_t now_ns);
    static void answer(const BufferRef& buffer, int64_t result, Message* answers, uint32_t& count);

    uint8_t m_protocol = 0;
    Producer* m_tx = nullptr;
    PoolOwner* m_pool = nullptr;
    PoolOwner::Holder m_holder = 0;
    const PoolView* m_peer_pool = nullptr;
    Chain m_chain;
    bool m_announced = false;
    uint64_t m_announced_generation = 0;
};

} // namespace ip
