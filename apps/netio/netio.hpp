// netio: the socket calls Tern's network apps make (inetd, httpd, the shell's
// nc), in one shape with one error convention: results >= 0, or -errno with
// Linux's numbers (proto/socket.hpp errno_value). Two bindings:
//   netio_tern.cpp   on lib/socket, in Tern;
//   netio_posix.cpp  on Linux's sockets, so the host tests run the very same
//                    app logic against real TCP/UDP on 127.0.0.1.
// Addresses and ports are in host byte order.
#pragma once

#include <cstddef>
#include <cstdint>

#include "proto/socket.hpp"

namespace netio {

namespace err = tern::socket_proto::errno_value;
// ENETDOWN (not among the protocol's values): the socket library cannot
// reach the tcp or udp server, e.g. it is not running (yet).
constexpr int network_down = 100;

struct Endpoint {
    uint32_t address = 0; // 0: any
    uint16_t port = 0;
};

enum class Kind { tcp, udp };

// A new socket; non-blocking unless told otherwise.
int open(Kind kind, bool nonblocking = true);
int set_reuse_address(int fd);
int set_no_delay(int fd);
int bind(int fd, Endpoint local);
int listen(int fd, int backlog);
// A connection from the backlog, non-blocking; -EAGAIN when there is none.
int accept(int fd, Endpoint* remote);
// tcp: 0 when connected, -EINPROGRESS on a non-blocking socket (poll for
// poll_out, then pending_error()), or -errno. udp: the default destination.
int connect(int fd, Endpoint remote);
// The error a non-blocking connect ended with: 0 or -errno.
int pending_error(int fd);
// Bytes moved, 0 from recv at the end of the stream, or -errno (-EAGAIN:
// nothing now). Never raises SIGPIPE.
int64_t send(int fd, const void* data, size_t length);
int64_t recv(int fd, void* buffer, size_t capacity);
int64_t send_to(int fd, const void* data, size_t length, Endpoint to);
int64_t receive_from(int fd, void* buffer, size_t capacity, Endpoint* from);

constexpr int shut_read = 0, shut_write = 1, shut_both = 2;
int shutdown(int fd, int how);
int close(int fd);

// Linux's poll bits.
constexpr short poll_in = 0x001, poll_out = 0x004, poll_error = 0x008, poll_hangup = 0x010, poll_invalid = 0x020;
struct PollEntry {
    int fd;
    short events;
    short revents;
};
// How many entries have revents; 0 on timeout (-1: wait for ever).
int poll(PollEntry* entries, size_t count, int timeout_ms);

// Milliseconds from a fixed point (boot, on Tern).
uint64_t now_ms();

// "ECONNREFUSED" for 111 or -111; "E<number>" for others.
const char* error_name(int64_t error);

// The same calls behind virtual functions, for code that must also run
// against a fake (the shell's nc, in tests/unit/sh_shell_test.cpp). Each
// forwards to the binding's function; a fake overrides what it needs.
class Sockets {
public:
    virtual ~Sockets() = default;
    virtual int open(Kind kind) { return netio::open(kind); }
    virtual int set_reuse_address(int fd) { return netio::set_reuse_address(fd); }
    virtual int bind(int fd, Endpoint local) { return netio::bind(fd, local); }
    virtual int listen(int fd, int backlog) { return netio::listen(fd, backlog); }
    virtual int accept(int fd, Endpoint* remote) { return netio::accept(fd, remote); }
    virtual int connect(int fd, Endpoint remote) { return netio::connect(fd, remote); }
    virtual int pending_error(int fd) { return netio::pending_error(fd); }
    virtual int64_t send(int fd, const void* data, size_t length) { return netio::send(fd, data, length); }
    virtual int64_t recv(int fd, void* buffer, size_t capacity) { return netio::recv(fd, buffer, capacity); }
    virtual int shutdown(int fd, int how) { return netio::shutdown(fd, how); }
    virtual int close(int fd) { return netio::close(fd); }
    virtual int poll(PollEntry* entries, size_t count, int timeout_ms)
    {
        return netio::poll(entries, count, timeout_ms);
    }
};

} // namespace netio
