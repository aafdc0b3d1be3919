// httpd's event loop: non-blocking sockets and poll (apps/netio), one
// request per connection. A connection reads its request head (at most
// max_request bytes, within request_timeout_ms), gets its whole response
// (http.hpp) and has it written within send_timeout_ms; then its sending side
// is shut and what the client still sends is read and dropped until it
// closes or linger_ms pass, so the response is never cut short by a reset.
// Slow, partial, oversized and malformed requests end with 408, 431, 400 or
// 505; a connection that does not read its response is dropped.
#pragma once

#include <cstddef>
#include <cstdint>

#include "http.hpp"
#include "netio.hpp"

namespace httpd {

struct Config {
    uint16_t port = 80;
    uint32_t address = 0; // listen on (0: any)
    size_t max_connections = 32;
    size_t max_request = 8192; // bytes of a request head
    uint64_t request_timeout_ms = 10000;
    uint64_t send_timeout_ms = 30000;
    uint64_t linger_ms = 2000;
    int backlog = 32;
};

struct Counters {
    uint64_t connections = 0;
    uint64_t responses[6] = {}; // by class: [2] 2xx, [4] 4xx, [5] 5xx
    uint64_t timeouts = 0;      // 408s sent, and responses dropped unsent
    uint64_t resets = 0;        // connections ended by an error
};

class Server {
public:
    Server(const Config& config, StatusSource& source);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Opens the listening socket: 0 or -errno.
    int start();
    // One round: waits for sockets or the next deadline (at most
    // `max_wait_ms`, -1: no limit), then serves. 0 or the -errno of poll.
    int step(int max_wait_ms);

    const Counters& counters() const { return m_counters; }
    size_t connections() const { return m_used; }

private:
    struct Connection;

    void accept_all();
    void serve(Connection& c);
    void read_request(Connection& c);
    void start_response(Connection& c, int status, const Request* request);
    void write_response(Connection& c);
    void linger(Connection& c);
    void end(Connection& c, bool error);

    Config m_config;
    StatusSource& m_source;
    int m_listener = -1;
    Connection* m_connections = nullptr;
    size_t m_used = 0;
    netio::PollEntry* m_poll = nullptr;
    int* m_poll_owner = nullptr;
    uint8_t m_drain[4096];
    Counters m_counters;
};

} // namespace httpd
