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
#include "channel/pool.hpp"
#include "lwip_port/transport_core.hpp"

struct udp_pcb;

namespace udp {


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

using SocketEntry = tern::lwip::SocketEntry;

class Engine final : public tern::lwip::TransportCore {
public:
    static constexpr unsigned max_sockets = 256; // all clients together
    static constexpr unsigned max_chain = 40;    // buffers in one datagram (64 KiB / 2 KiB, and some)
    static constexpr uint32_t default_receive_buffer = 256 * 1024;

    Engine(PoolOwner& pool, uint32_t seed);
    ~Engine() override;

    uint64_t counter(Counter c) const { return m_counters[static_cast<unsigned>(c)]; }
    static unsigned counter_count() { return static_cast<unsigned>(Counter::count); }
    uint64_t counter_at(unsigned n) const { return m_counters[n]; }
    static const char* counter_label(unsigned n) { return counter_name(static_cast<Counter>(n)); }
    static bool counter_error(unsigned n) { return counter_is_error(static_cast<Counter>(n)); }
    tern::Result<SocketEntry> socket_entry(unsigned n) const;

    // lwIP's callback lands here (engine.cpp).
    struct Socket;
    void received(Socket* socket, pbuf* p, uint32_t source, uint16_t port);

private:
    struct Impl;

    // TransportCore
    void ip_datagram(const Message& first, pbuf* p) override;
    void count_undeliverable(bool no_pbuf) override { count(no_pbuf ? Counter::no_pbuf : Counter::bad_length); }
    void client_message(Client& client, const Message& m) override;
    void bytes_consumed(uint16_t socket, uint32_t generation, uint32_t length) override;
    err_t send_to_ip(pbuf* p, uint32_t source, uint32_t destination) override;
    bool release_client(int client) override;
    void count_ip_send_failed() override { count(Counter::ip_send_failed); }
    void count_client_stalled() override { count(Counter::client_stalled); }
    void count_bad_request() override { count(Counter::bad_request); }

    void count(Counter c, uint64_t n = 1) { m_counters[static_cast<unsigned>(c)] += n; }
    Socket* socket_for(Client& client, uint32_t id, bool create);
    void close_socket(Socket* s);
    void request_bind(Socket* s, const Message& m);
    void request_connect(Socket* s, const Message& m);
    void request_send(Client& client, const Message& m);
    void send_datagram(Client& client, Socket* s, uint64_t destination);
    void request_option(Socket* s, const Message& m);
    void result(Socket* s, uint32_t request, int error, uint64_t endpoint = 0);
    void return_buffer(Client& client, const BufferRef& ref, uint32_t id, int error);

    uint64_t m_counters[static_cast<unsigned>(Counter::count)] = {};
    Impl* m_impl;
};

} // namespace udp
