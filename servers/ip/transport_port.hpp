// ip's end of one transport server's channel (proto/ip.hpp ip_transport),
// without the channel's set-up and wake-ups: datagrams going up split over
// buffers of ip's pool, datagrams coming down gathered from chains of the
// transport's buffers, and the interfaces' announcements. It only fills
// ring slots; the caller publishes them (main.cpp through tern::Channel,
// which wakes the transport), so the host tests drive it on plain rings.
// Deliveries stay pending until the caller takes them (once per batch of
// frames from the driver), so that consecutive TCP segments can be merged.
#pragma once

#include <cstddef>
#include <cstdint>

#include "channel/message.hpp"
#include "ip_stack.hpp"
#include "net/checksum.hpp"
#include "net/tcp.hpp"

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
    // the ring slots after the pending ones, keeping `reserved` more free for
    // answers. TCP and UDP checksums are summed during the copy and a right
    // one is flagged (deliver_checksum_verified). A TCP segment that goes on
    // from the last pending delivery's segment is appended to it instead
    // (receive offload, proto/ip.hpp). False if the buffers or slots are not
    // all there: nothing is taken, the datagram is dropped (transport_busy).
    bool deliver(unsigned interface, const Ipv4Header& header, bool to_broadcast, const uint8_t* payload,
                 size_t length, uint32_t reserved);
    // Slots written since the last call (none can grow afterwards), for the
    // caller to publish before it writes anything else on the ring.
    uint32_t take_pending();
    // TCP segments appended to an earlier one so far, and pure ACKs that
    // took the place of the one before them.
    uint64_t merged_segments() const { return m_merged_segments; }
    uint64_t merged_acks() const { return m_merged_acks; }

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
    // after the pending slots (take_pending() has them); false if there is
    // nothing new or no room (try again later).
    bool announce(const IpStack& stack);

private:
    struct Chain {
        Message first;                 // its words describe the datagram
        BufferRef buffers[max_chain];  // for the send_done answers
        Piece pieces[max_chain];       // the bytes, in place in the transport's pool
        uint32_t count = 0;
        size_t length = 0;
        bool refusing = false; // broken: the rest of it, up to its last buffer, is refused
    };

    // The last pending delivery, while a TCP segment may still be appended
    // to it. Its buffers are the last `count` unlent ones; the slots of those
    // appended are written when it closes.
    struct Merge {
        bool open = false;
        uint32_t first_slot = 0; // after the published ones
        uint32_t count = 0;      // buffers (and slots)
        uint32_t segments = 0;
        size_t length = 0;       // TCP header and data so far
        size_t data_size = 0;    // the first segment's data bytes: a shorter one ends the merge
        uint32_t next_sequence = 0;
        bool push = false;       // the last one had PSH
        Ipv4Header ip;           // as kept in front of the first buffer
        uint8_t header[tern::net::tcp_max_header_size] = {}; // the first segment's TCP header
        uint8_t header_length = 0;
        uint64_t words0 = 0;
        uint64_t words1 = 0;
    };

    // Buffers of pending deliveries are lent only when the caller takes them
    // (a transport cannot give back or touch what it cannot see yet), and
    // their refs live here, not in the shared ring slots the peer could
    // overwrite. More than ip's pool has (1,024).
    static constexpr uint32_t max_unlent = 1024;

    // The last pending delivery when it is a pure ACK (no data, only the
    // ACK flag): a later one of the connection that acknowledges more takes
    // its place. Its buffer is the last unlent one.
    struct AckMerge {
        bool open = false;
        uint32_t slot = 0;
        uint64_t words0 = 0;
        uint64_t words1 = 0;
        uint32_t segments = 0;
        uint8_t header[tern::net::tcp_max_header_size] = {};
        uint8_t header_length = 0;
    };

    bool append(const Ipv4Header& header, const uint8_t* payload, size_t length, uint32_t reserved);
    bool replace_ack(const Ipv4Header& header, const uint8_t* payload, size_t length);
    void open_ack_merge(uint32_t slot, const uint8_t* payload, uint8_t header_length, uint64_t words0,
                        uint64_t words1);
    void open_merge(uint32_t first_slot, uint32_t count, const Ipv4Header& ip, const uint8_t* payload,
                    size_t length, const tern::net::TcpHeader& tcp, uint64_t words0, uint64_t words1);
    void close_merge();
    bool room_for(uint32_t buffers, uint32_t slots, uint32_t reserved);
    uint32_t buffers_for(const BufferRef& last, size_t length) const;
    bool take_buffers(uint32_t count);
    void drop_buffers(uint32_t from);
    tern::net::ChecksumSum copy_in(uint32_t last, const uint8_t* data, size_t length);
    void write_deliver(uint32_t slot, const BufferRef& buffer, bool more, uint64_t words0, uint64_t words1,
                       size_t length);

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
    uint32_t m_pending = 0; // slots written, not yet published
    BufferRef m_unlent[max_unlent];
    uint32_t m_unlent_count = 0;
    Merge m_merge;
    AckMerge m_ack;
    uint64_t m_merged_segments = 0;
    uint64_t m_merged_acks = 0;
    bool m_announced = false;
    uint64_t m_announced_generation = 0;
};

} // namespace ip
