// inetd's services in one event-driven loop: echo (RFC 862), discard
// (RFC 863) and chargen (RFC 864), each over TCP and UDP, on non-blocking
// sockets and poll (apps/netio). No system call of its own: main.cpp runs it
// on Tern (lib/socket), tests/unit/inetd_test.cpp on Linux's sockets.
//
// Echo never loses or reorders bytes and never buffers without bound: each
// connection has one ring buffer; while it is full the connection is not
// read (TCP's window then stops the peer), and while it holds bytes the
// connection is polled for writing. When the peer has finished sending, the
// rest is written and the connection closed gracefully. UDP echo holds a
// datagram the socket cannot take yet and stops reading until it goes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "netio.hpp"

namespace inetd {

enum class Service : uint8_t { echo, discard, chargen };
constexpr size_t service_count = 3;
const char* service_name(Service service);

struct Config {
    uint16_t tcp_port[service_count] = {7, 9, 19}; // 0: not served
    uint16_t udp_port[service_count] = {7, 9, 19};
    uint32_t address = 0;                            // listen on (0: any)
    size_t max_connections = 256;
    size_t echo_buffer = 64 * 1024; // per echo connection
    int backlog = 64;
};

struct Counters {
    uint64_t accepted = 0;
    uint64_t closed = 0;       // after the peer finished
    uint64_t reset = 0;        // ended by an error (reset, ...)
    uint64_t tcp_bytes_in = 0;
    uint64_t tcp_bytes_out = 0;
    uint64_t datagrams_in = 0;
    uint64_t datagrams_out = 0;
    uint64_t accept_errors = 0;
};

// The 95 printable ASCII characters in lines of 72, each line starting one
// character further (RFC 864): 95 different lines, then it repeats.
constexpr size_t chargen_line = 72;
constexpr size_t chargen_cycle = 95 * (chargen_line + 2);
// Byte `index` of the endless chargen stream.
char chargen_byte(uint64_t index);

class Inetd {
public:
    explicit Inetd(const Config& config);
    ~Inetd();
    Inetd(const Inetd&) = delete;
    Inetd& operator=(const Inetd&) = delete;

    // Opens every listening socket. 0, or -errno with the failing one named
    // in `what` ("tcp echo", ...).
    int start(const char** what);
    // One round: waits up to `timeout_ms` (-1: for ever) for something to do,
    // then serves every socket that is ready. 0, or the -errno of poll.
    int step(int timeout_ms);

    const Counters& counters() const { return m_counters; }
    size_t connections() const { return m_used; }

private:
    struct Connection;
    struct Datagram;

    void serve_connection(Connection& c, short revents);
    bool echo_read(Connection& c);
    bool echo_write(Connection& c);
    bool drain(Connection& c);
    bool chargen_write(Connection& c);
    void accept_all(Service service, int listener);
    void serve_udp(Service service, int fd, short revents);
    void end(Connection& c, bool error);

    Config m_config;
    int m_tcp[service_count];
    int m_udp[service_count];
    Connection* m_connections = nullptr; // max_connections slots
    size_t m_used = 0;
    Datagram* m_pending = nullptr; // per UDP service: a datagram the socket could not take yet
    uint8_t* m_scratch = nullptr;  // discard's and UDP's receive buffer
    netio::PollEntry* m_poll = nullptr;
    int* m_poll_owner = nullptr; // per poll entry: connection index, or -1-k for listener/UDP k
    Counters m_counters;
    uint64_t m_random = 0x9E3779B97F4A7C15ull; // UDP chargen lengths
};

} // namespace inetd
