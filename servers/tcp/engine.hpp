// The tcp server's logic: lwIP's TCP between ip's transport channel
// (proto/ip.hpp ip_transport) and the applications' socket channels
// (proto/socket.hpp). No system calls: the process around it (main.cpp)
// gives it channel ends (channel::Link), its pool and the time; host tests
// run it against an in-memory ip and another instance of itself.
//
// lwIP keeps its state in globals, so there is one Engine per process (the
// host tests build each instance into its own isolated object).
//
// Data paths:
//   receive: ip lends a segment in its pool -> checked here (lib/net/tcp.hpp)
//     -> lwIP as a custom pbuf over ip's buffer (no copy) -> in-order bytes
//     copied into our pool, packed into full buffers, lent to the
//     application; the window is SO_RCVBUF's room (update_window), so it
//     opens as the application gives buffers back.
//   send: the application lends bytes in its pool -> tcp_write without a
//     copy (lwIP references them until they are acknowledged; then they go
//     back with `sent`) -> each segment lwIP emits is gathered, header and
//     data, into one buffer of our pool and lent to ip, which fills in the
//     checksum.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/result.hpp"
#include "channel/pool.hpp"
#include "lwip_port/transport_core.hpp"

struct tcp_pcb;

namespace tcp {


// Drop and event counters (netstat -s, the status page).
enum class Counter : uint8_t {
    segments_received,
    segments_sent,
    bad_length,       // shorter than a header, or a bad data offset
    bad_checksum,
    bad_options,      // malformed TCP options
    no_pbuf,          // no pbuf to wrap a delivered buffer in
    ip_send_failed,   // ip refused a segment (send_done with an error)
    no_ip_buffer,     // a segment lwIP emitted found no buffer or slot towards ip
    half_open_reaped, // SYN_RECEIVED connections aborted to make room (SYN floods)
    backlog_full,     // connections refused: the listener's backlog was full
    bad_request,      // malformed messages from applications
    client_stalled,   // a client that stopped reading its channel was dropped
    connections_accepted,
    connections_opened,
    connections_failed, // ended with an error (reset, timeout)
    acks_merged,      // pure ACKs replaced by a later one before they left (send_to_ip)
    segments_merged,  // received segments ip appended to the one before (receive offload)
    large_segments_sent, // segments over one frame, cut by the NIC (segmentation offload)
    count,
};
const char* counter_name(Counter counter);
bool counter_is_error(Counter counter);

using SocketEntry = tern::lwip::SocketEntry;

class Engine final : public tern::lwip::TransportCore {
public:
    static constexpr unsigned max_sockets = 1024;        // all clients together, closing ones included
    static constexpr unsigned max_send_entries = 16384;  // application buffers held, all sockets
    static constexpr unsigned half_open_limit = 64;      // per listener, before the oldest is reaped
    static constexpr uint32_t default_receive_buffer = 1024 * 1024;
    // Receive memory of all connections together (update_window), and the
    // window every connection gets regardless.
    static constexpr uint64_t receive_memory = 2 * 1024 * 1024;
    static constexpr uint32_t min_window = 4 * 1460;

    // `pool` is ours: segments to ip and received bytes to applications
    // share it. `seed` varies initial sequence numbers and ports. The life
    // cycle (ip_connected, client_lost, step, ...) is TransportCore's.
    Engine(PoolOwner& pool, uint32_t seed);
    ~Engine() override;

    // --- introspection ---
    uint64_t counter(Counter c) const { return m_counters[static_cast<unsigned>(c)]; }
    // The same by number, for the control protocol (runtime/transport_server.hpp).
    static unsigned counter_count() { return static_cast<unsigned>(Counter::count); }
    uint64_t counter_at(unsigned n) const { return m_counters[n]; }
    static const char* counter_label(unsigned n) { return counter_name(static_cast<Counter>(n)); }
    static bool counter_error(unsigned n) { return counter_is_error(static_cast<Counter>(n)); }
    // Socket `n` (0, 1, ...) of all lwIP knows, or not_found past the last.
    tern::Result<SocketEntry> socket_entry(unsigned n) const;
    // Buffers of the client's pool we hold (sends not yet acknowledged).
    unsigned client_buffers_held(int client) const;

    // --- lwIP's callbacks land here (engine.cpp) ---
    struct Socket;
    int8_t accepted(Socket* listener, tcp_pcb* pcb, int8_t err);
    int8_t connected(Socket* socket, int8_t err);
    int8_t received(Socket* socket, pbuf* p, int8_t err);
    int8_t acknowledged(Socket* socket, uint32_t bytes);
    void failed(Socket* socket, int8_t err);
    void destroyed(Socket* socket);

private:
    struct SendEntry;

    // TransportCore
    void ip_datagram(const Message& first, pbuf* p) override;
    void count_undeliverable(bool no_pbuf) override { count(no_pbuf ? Counter::no_pbuf : Counter::bad_length); }
    void client_message(Client& client, const Message& m) override;
    void bytes_consumed(uint16_t socket, uint32_t generation, uint32_t length) override;
    err_t send_to_ip(pbuf* p, uint32_t source, uint32_t destination) override;
    bool release_client(int client) override;
    void forget_ip() override;
    void before_flush() override;
    void count_ip_send_failed() override { count(Counter::ip_send_failed); }
    void count_client_stalled() override { count(Counter::client_stalled); }
    void count_bad_request() override { count(Counter::bad_request); }

    void count(Counter c, uint64_t n = 1) { m_counters[static_cast<unsigned>(c)] += n; }
    class WireMss;
    void use_segmentation(Socket& s);
    static uint16_t sending_mss(const Socket& s);
    Socket* socket_of(uint32_t local, uint32_t remote, uint16_t local_port, uint16_t remote_port) const;
    uint16_t wire_mss(uint32_t source, uint32_t destination, const uint8_t* header) const;

    // clients
    Socket* socket_for(Client& client, uint32_t id, bool create);
    Socket* new_socket(int client, uint32_t id);
    void free_socket(Socket* socket);
    void request_bind(Client& client, Socket* s, const Message& m);
    void request_listen(Client& client, Socket* s, const Message& m);
    void request_connect(Client& client, Socket* s, const Message& m);
    void request_send(Client& client, Socket* s, const Message& m);
    void request_shutdown(Client& client, Socket* s, const Message& m);
    void request_close(Client& client, uint32_t id, Socket* s);
    void request_option(Client& client, Socket* s, const Message& m);
    void start_window(Socket* s);
    void update_window(Socket* s);
    void open_window(Socket* s, uint32_t bytes);
    void orphan(Socket* s);
    bool attach_new_pcb(Socket* s);
    void attach(Socket* s, tcp_pcb* pcb);
    void detach_pcb(Socket* s);

    // moving data
    void push_sends(Socket* s);
    void push_received(Socket* s);
    void finish_if_done(Socket* s);
    void return_sends(Socket* s, int error);
    void mark(Socket* s);
    void flush_marked();
    void reap_half_open(uint16_t port);

    // output
    void emit_segment(const BufferRef& ref, uint32_t source, uint32_t destination);
    void emit_waiting_acks();
    void result(Socket* s, uint32_t request, int error, uint64_t endpoint = 0);
    void event(Socket* s, uint32_t type, uint64_t word1 = 0);

    uint64_t m_counters[static_cast<unsigned>(Counter::count)] = {};

    struct Impl;
    Impl* m_impl; // tables (engine.cpp), allocated once at start
};

} // namespace tcp
