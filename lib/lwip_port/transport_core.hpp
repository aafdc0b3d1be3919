// What the tcp and udp servers' engines (servers/tcp, servers/udp) share:
// lwIP's clock and IP layer, the channel to ip (datagrams up as custom
// pbufs over ip's buffers, segments down, interface announcements), the
// applications' channels with their socket-id tables, the record of which
// of our buffers each application holds, and the step that drains every
// channel, runs lwIP's timers and publishes. An engine adds its protocol:
// what a delivered datagram and an application's message do, and what
// happens when an application or ip goes away.
//
// lwIP keeps its state in globals: one engine per process (host tests
// build each instance into its own isolated object).
#pragma once

#include <cstdint>

#include "base/result.hpp"
#include "channel/link.hpp"
#include "channel/outbox.hpp"
#include "channel/pool.hpp"
#include "lwip/err.h"
#include "lwip/pbuf.h"
#include "lwip_port/external_pbufs.hpp"
#include "lwip_port/ip_layer.hpp"
#include "proto/socket.hpp"

namespace tern::lwip {

// One socket as netstat and the status page see it (transport_control's
// socket_entry).
struct SocketEntry {
    uint32_t local_address = 0;
    uint16_t local_port = 0;
    uint32_t remote_address = 0;
    uint16_t remote_port = 0;
    uint8_t state = 0;          // tcp: transport_control::TcpState; udp: 0 bound, 1 connected
    uint32_t owner = 0;         // the client's process, 0 if none (a tcp socket closing)
    uint32_t receive_queue = 0; // bytes received, not yet consumed by the application
    uint32_t send_queue = 0;    // bytes not yet acknowledged (udp: always 0)
    uint64_t segments_in = 0;   // segments or datagrams
    uint64_t segments_out = 0;
};

class TransportCore {
public:
    using BufferRef = channel::BufferRef;
    using Link = channel::Link;
    using Message = channel::Message;
    using PoolOwner = channel::PoolOwner;

    static constexpr unsigned max_clients = 32;
    static constexpr unsigned outbox_capacity = 256;   // messages waiting for room on a full ring
    static constexpr unsigned max_rx_pbufs = 4096;     // ip's buffers lwIP may hold at once
    static constexpr uint16_t ip_holder = 1;           // our pool's holders: ip, then the clients
    static constexpr uint16_t first_client_holder = 2;
    using Outbox = channel::Outbox<outbox_capacity>;

    struct Client {
        bool used = false;
        bool lost = false;
        bool stall_counted = false;
        uint32_t process = 0;
        Outbox box;
        uint16_t sockets[socket_proto::max_sockets] = {}; // id -> the engine's socket index + 1
    };

    // What a client holds in one of our buffers (received bytes).
    struct Lent {
        uint16_t socket = 0; // the engine's socket index + 1 (0: none)
        uint32_t generation = 0;
        uint32_t length = 0;
    };

    // `pool` is ours: towards ip and towards the applications. `seed` varies
    // lwIP's random numbers (ports, initial sequence numbers).
    TransportCore(PoolOwner& pool, uint32_t seed);
    virtual ~TransportCore();
    TransportCore(const TransportCore&) = delete;
    TransportCore& operator=(const TransportCore&) = delete;

    // The life cycle runtime/transport_server.hpp drives.
    void ip_connected(Link* link);
    // ip is gone; true once nothing references its pool (else ask again).
    bool ip_lost();
    // A new client channel; its index, or -1 if there are too many.
    int add_client(Link* link, uint32_t process);
    // The client ended or closed its channel (what it sent before still
    // counts); true once nothing references its pool (else ask again).
    bool client_lost(int client);
    // A client that stopped reading its channel, or -1.
    int stalled_client();
    bool step(uint64_t now_ns);
    uint64_t next_deadline_ns() const;
    unsigned ip_buffers_held() const { return m_rx.in_use(); }

protected:
    // --- what the engine adds ---
    // A datagram from ip (a chain of custom pbufs over ip's buffers, ours to
    // free; the transport header is in the first) and its first deliver
    // message (addresses, interface).
    virtual void ip_datagram(const Message& first, pbuf* p) = 0;
    // A datagram dropped before it was whole (a bad buffer, no pbuf left, too
    // long): counted by the engine.
    virtual void count_undeliverable(bool no_pbuf) = 0;
    // One message from a client that is not `received` (handled here).
    virtual void client_message(Client& client, const Message& m) = 0;
    // A client's `received` gave back bytes of `socket` (the engine's index).
    virtual void bytes_consumed(uint16_t socket, uint32_t generation, uint32_t length) = 0;
    // A segment or datagram lwIP sends (IpOutput).
    virtual err_t send_to_ip(pbuf* p, uint32_t source, uint32_t destination) = 0;
    // The client is gone: its sockets close. True once nothing of its pool
    // is held.
    virtual bool release_client(int client) = 0;
    // ip is gone, before its buffers are let go.
    virtual void forget_ip() {}
    // Just before the step publishes what it produced.
    virtual void before_flush() {}
    // Counting, in the engine's own counters.
    virtual void count_ip_send_failed() = 0;
    virtual void count_client_stalled() = 0;
    virtual void count_bad_request() = 0;

    // --- helpers for the engine ---
    // A buffer of ip's goes back; with an ICMP code (net/icmp.hpp) for the
    // first buffer of a datagram nobody takes.
    void give_back_to_ip(const BufferRef& ref, uint8_t icmp_code = 0);
    // The ICMP code the next buffer lwIP frees goes back with (udp's "port
    // unreachable"; 0 after that one).
    void set_unreachable_code(uint8_t code) { m_unreachable = code; }
    // A datagram lwIP sends, copied into our buffers (a chain when it needs
    // several) and lent to ip with fill_checksum at `checksum_offset`;
    // `segment_size`: send words[2] (proto/ip.hpp). False (nothing sent) if
    // ip is gone or there are not enough buffers or slots.
    bool send_chain(pbuf* p, uint32_t source, uint32_t destination, uint64_t checksum_offset,
                    uint64_t segment_size = 0);
    // Whether a datagram's transport checksum is right, pseudo-header
    // included, summed over the chain.
    static bool checksum_valid(uint32_t source, uint32_t destination, uint8_t protocol, pbuf* p);
    uint16_t holder(int client) const { return static_cast<uint16_t>(first_client_holder + client); }
    int index_of(const Client& client) const { return static_cast<int>(&client - m_clients); }
    // Lends one of our buffers with received bytes of `socket` to `client`.
    void lend_to_client(Client& client, const BufferRef& ref, uint16_t socket, uint32_t generation);
    void send_result(Client& client, uint32_t id, uint32_t request, int error, uint64_t endpoint = 0);

    PoolOwner& m_pool;
    Outbox m_ip;
    bool m_ip_up = false;
    IpLayer m_layer;
    Client m_clients[max_clients];

private:
    struct Returns final : ExternalRelease<BufferRef> {
        explicit Returns(TransportCore& core) : core(core) {}
        void release(const BufferRef& ref) override;
        TransportCore& core;
    };
    class Output;

    bool drain_ip();
    void ip_deliver(const Message& m);
    bool drain_client(Client& client);
    void client_returned(Client& client, const Message& m);

    Returns m_returns{*this};
    ExternalPbufs<BufferRef, max_rx_pbufs> m_rx{m_returns};
    Lent* m_lent; // per buffer of our pool
    pbuf* m_incoming = nullptr; // a datagram from ip whose last buffer has not come yet
    Message m_incoming_first{};
    uint8_t m_unreachable = 0;
    uint64_t m_last_now_ns = 0;
};

} // namespace tern::lwip
