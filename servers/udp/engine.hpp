// The udp server's logic: lwIP's UDP between ip's transport channel
// (proto/ip.hpp ip_transport) and the applications' socket channels
// (proto/socket.hpp). No system calls: the process around it
// (runtime/transport_server.hpp) gives it channel ends, its pool and the
// time; host tests run it against an in-memory ip.
//
// lwIP keeps its state in globals: one Engine per process.
//
// Data paths:
//   receive: ip lends a datagram in its pool (a chain of buffers when it is
//     larger than one) -> length and checksum checked here -> lwIP as custom
//     pbufs over ip's buffers (no copy) -> the payload copied into our pool
//     and lent to the application (a chain again when needed).
//   send: the application lends the datagram in its pool -> lwIP as
//     reference pbufs (no copy) -> lwIP's output, header and payload,
//     gathered into our pool and lent to ip, which fills in the checksum;
//     the application's buffers go back at once.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/result.hpp"
#include "channel/link.hpp"
#include "channel/outbox.hpp"
#include "channel/pool.hpp"

struct udp_pcb;
struct pbuf;

namespace udp {

using tern::channel::BufferRef;
using tern::channel::Link;
using tern::channel::Message;
using tern::channel::PoolOwner;

enum class Counter : uint8_t {
    datagrams_received,
    datagrams_sent,
    bad_length,          // the UDP length disagrees with the datagram
    bad_checksum,
    no_port,             // nobody bound the destination port
    receive_buffer_full, // the socket's application has not read enough: dropped
    no_buffer,           // no buffer or ring room towards the application: dropped
    no_pbuf,             // no pbuf to wrap a delivered buffer in
    ip_send_failed,      // ip refused a datagram (send_done with an error)
    no_ip_buffer,        // no buffer or slot towards ip for a datagram
    bad_request,         // malformed messages from applications
    client_stalled,      // a client that stopped reading its channel was dropped
    count,
};
const char* counter_name(Counter counter);
bool counter_is_error(Counter counter);

struct SocketEntry {
    uint32_t local_address = 0;
    uint16_t local_port = 0;
    uint32_t remote_address = 0;
    uint16_t remote_port = 0;
    uint8_t state = 0;          // 0 bound, 1 connected
    uint32_t owner = 0;         // the client's process
    uint32_t receive_queue = 0; // bytes the application holds, not yet given back
    uint32_t send_queue = 0;    // always 0: sends are copied at once
    uint64_t segments_in = 0;   // datagrams
    uint64_t segments_out = 0;
};

class Engine {
public:
    static constexpr unsigned max_clients = 32;
    static constexpr unsigned max_sockets = 256;         // all clients together
    static constexpr unsigned max_rx_pbufs = 1024;       // ip buffers lwIP may hold at once
    static constexpr unsigned max_chain = 40;            // buffers in one datagram (64 KiB / 2 KiB, and some)
    static constexpr uint16_t ip_holder = 1;             // our pool's holders: ip, then the clients
    static constexpr uint16_t first_client_holder = 2;
    static constexpr unsigned outbox_capacity = 256;
    static constexpr uint32_t default_receive_buffer = 256 * 1024;

    Engine(PoolOwner& pool, uint32_t seed);
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // The same life cycle as tcp::Engine (runtime/transport_server.hpp).
    void ip_connected(Link* link);
    bool ip_lost();
    int add_client(Link* link, uint32_t process);
    bool client_lost(int client);
    int stalled_client();
    bool step(uint64_t now_ns);
    uint64_t next_deadline_ns() const;

    uint64_t counter(Counter c) const { return m_counters[static_cast<unsigned>(c)]; }
    static unsigned counter_count() { return static_cast<unsigned>(Counter::count); }
    uint64_t counter_at(unsigned n) const { return m_counters[n]; }
    static const char* counter_label(unsigned n) { return counter_name(static_cast<Counter>(n)); }
    static bool counter_error(unsigned n) { return counter_is_error(static_cast<Counter>(n)); }
    tern::Result<SocketEntry> socket_entry(unsigned n) const;
    unsigned ip_buffers_held() const;

    // lwIP's callbacks land here (engine.cpp).
    struct Socket;
    int8_t send_to_ip(pbuf* p, uint32_t source, uint32_t destination);
    void received(Socket* socket, pbuf* p, uint32_t source, uint16_t port);

private:
    struct Client;
    struct Impl;
    using Outbox = tern::channel::Outbox<outbox_capacity>;
    static void give_back_to_ip(const BufferRef& ref);

    void count(Counter c, uint64_t n = 1) { m_counters[static_cast<unsigned>(c)] += n; }

    bool drain_ip();
    void ip_deliver(const Message& m);
    void ip_datagram(const Message& first, pbuf* p);
    bool drain_client(Client& client);
    void client_message(Client& client, const Message& m);
    Socket* socket_for(Client& client, uint32_t id, bool create);
    void close_socket(Socket* s);
    void request_bind(Socket* s, const Message& m);
    void request_connect(Socket* s, const Message& m);
    void request_send(Client& client, const Message& m);
    void send_datagram(Client& client, Socket* s, uint64_t destination);
    void request_option(Socket* s, const Message& m);
    void request_received(Client& client, const Message& m);
    void result(Socket* s, uint32_t request, int error, uint64_t endpoint = 0);
    void return_buffer(Client& client, const BufferRef& ref, uint32_t id, int error);

    PoolOwner& m_pool;
    uint64_t m_counters[static_cast<unsigned>(Counter::count)] = {};
    Impl* m_impl;
};

} // namespace udp
