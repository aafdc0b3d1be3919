// The socket channel: how applications (through lib/socket) talk to the
// transport servers, tcp and udp.
//
// An application connects one channel to the service "tcp" and/or one to
// "udp" (runtime/channel.hpp), offering its own pool: the bytes it sends.
// The server offers its pool in the reply: the bytes it receives. All of the
// application's sockets on that server share the channel, named in every
// message by a socket id (words[0]).
//
// Socket ids: the application picks ids below accepted_base for the sockets
// it creates (a socket exists at the server from the first message that
// names it); the server picks ids from accepted_base up for connections
// accepted on a listening socket. An id is free again only once `closed`
// has arrived for it.
//
// Buffers: every buffer is given back on the reverse ring (`sent` for the
// application's, `received` for the server's), so both sides can count
// what the other holds. A message that lends a buffer names it in
// `buffer`; data larger than one buffer travels as a chain of messages of
// the same type, all but the last flagged `more` (UDP datagrams only: a TCP
// stream needs no boundaries).
//
// Results and errors: words carrying a result hold 0 (or a value) on
// success and a negative errno (the errno namespace below, Linux's numbers)
// on failure.
#pragma once

#include <cstdint>

namespace tern::socket_proto {

constexpr uint32_t max_sockets = 1024;    // ids 0 .. max_sockets-1 on one channel
constexpr uint32_t accepted_base = 512;   // ids the server picks start here

// An IPv4 endpoint in one word: address (host order) | port << 32.
constexpr uint64_t endpoint_word(uint32_t address, uint16_t port) { return address | uint64_t{port} << 32; }
constexpr uint32_t endpoint_address(uint64_t word) { return static_cast<uint32_t>(word); }
constexpr uint16_t endpoint_port(uint64_t word) { return static_cast<uint16_t>(word >> 32); }

namespace flags {
constexpr uint32_t more = 1u << 0; // send, data: the datagram goes on in the next message's buffer
} // namespace flags

enum Type : uint32_t {
    // --- application -> server; words[0] = socket id in every message ---

    // words[1] = local endpoint (address 0: any; port 0: the server picks
    // one). Answered by `result`; words[3] of the answer = the endpoint bound.
    bind = 1,
    // words[1] = backlog (connections accepted but not yet taken with
    // accept_taken). tcp only. Answered by `result`.
    listen = 2,
    // words[1] = remote endpoint. tcp: answered by `result` once the
    // connection is established or has failed (ECONNREFUSED, ETIMEDOUT,
    // ENETUNREACH); udp: sets the default destination and accepts only its
    // datagrams from then on, answered at once. words[3] of the answer =
    // the local endpoint.
    connect = 3,
    // A buffer (the application's pool) of bytes to send. tcp: the next
    // bytes of the stream; udp: one datagram (or a chain) to words[1]
    // (0: the connected destination). Never answered except by `sent`.
    send = 4,
    // words[1] = 0 reading, 1 writing, 2 both (SHUT_RD/WR/RDWR). Writing
    // ends after the bytes already sent. Answered by `result`.
    shutdown = 5,
    // The socket goes away (tcp: a graceful close; bytes already sent are
    // still delivered). Answered by `closed`, after which the id is free;
    // the server gives back every buffer of the application's it still
    // holds for this socket with `sent` sooner or later.
    close = 6,
    // words[1] = option (below), words[2] = value. Answered by `result`.
    set_option = 7,
    // A buffer of the server's given back (from `data`); tcp: words[1] =
    // how many of its bytes the application consumed (the receive window
    // opens by that much); the rest are dropped.
    received = 8,
    // tcp: the application took a connection that `accepted` announced
    // (words[0] = the listening socket): room for another in the backlog.
    accept_taken = 9,

    // --- server -> application ---

    // words[0] = socket, words[1] = the request type answered, words[2] = 0
    // or -errno, words[3] = an endpoint where the request says so.
    result = 16,
    // tcp: a new connection on listening socket words[0]: words[1] = its
    // socket id (>= accepted_base), words[2] = remote endpoint, words[3] =
    // local endpoint.
    accepted = 17,
    // A buffer (the server's pool) of received bytes. udp: one datagram (or a
    // chain) from words[1]; words[2] = the datagram's total length. Give it
    // back with `received`.
    data = 18,
    // tcp: the peer finished sending (FIN): no data after this.
    end = 19,
    // The connection failed after it was established: words[1] = -errno
    // (ECONNRESET, ETIMEDOUT, ...). No data after this; buffers still come
    // back, and the socket must still be closed.
    error = 20,
    // A buffer of the application's given back: its bytes were sent (tcp:
    // acknowledged by the peer), or words[1] = -errno if they never will be.
    sent = 21,
    // The socket id is free again.
    closed = 22,
};

// set_option's words[1].
namespace option {
constexpr uint64_t reuse_address = 1; // SO_REUSEADDR: value 0/1; before bind
constexpr uint64_t receive_buffer = 2; // SO_RCVBUF: bytes (tcp: the largest receive window)
constexpr uint64_t no_delay = 3;       // TCP_NODELAY: value 0/1
} // namespace option

// The errno values results carry (negated), Linux's numbers. Named in
// words, not macros, so that lwIP's and the C library's macros never clash;
// lib/socket gives applications the usual E... names.
namespace errno_value {
constexpr int bad_file = 9;                 // EBADF
constexpr int again = 11;                   // EAGAIN
constexpr int no_memory = 12;               // ENOMEM
constexpr int invalid = 22;                 // EINVAL
constexpr int pipe = 32;                    // EPIPE
constexpr int message_size = 90;            // EMSGSIZE
constexpr int protocol_option = 92;         // ENOPROTOOPT
constexpr int not_supported = 95;           // EOPNOTSUPP
constexpr int address_in_use = 98;          // EADDRINUSE
constexpr int address_not_available = 99;   // EADDRNOTAVAIL
constexpr int network_unreachable = 101;    // ENETUNREACH
constexpr int connection_aborted = 103;     // ECONNABORTED
constexpr int connection_reset = 104;       // ECONNRESET
constexpr int no_buffers = 105;             // ENOBUFS
constexpr int is_connected = 106;           // EISCONN
constexpr int not_connected = 107;          // ENOTCONN
constexpr int timed_out = 110;              // ETIMEDOUT
constexpr int connection_refused = 111;     // ECONNREFUSED
constexpr int host_unreachable = 113;       // EHOSTUNREACH
constexpr int already = 114;                // EALREADY
constexpr int in_progress = 115;            // EINPROGRESS
} // namespace errno_value

} // namespace tern::socket_proto

// The control protocol of the tcp and udp servers, for the shell (netstat)
// and the status page: ipc_call to the service "tcp" or "udp"; the reply
// has the same type with words[0] = result (>= 0, or -tern::sys::Error).
namespace tern::transport_control {

enum Op : uint32_t {
    // words[0] = entry number (0, 1, ...: every socket the server has,
    // including listening ones and connections closing without an owner).
    // Reply: words[1] = local endpoint, words[2] = remote endpoint
    // (socket_proto::endpoint_word), words[3] = state (tcp_state below; udp:
    // 0 bound, 1 connected) | owner's process id << 32 (0: none),
    // words[4] = bytes waiting to be read by the application | bytes not yet
    // acknowledged by the peer << 32, words[5] = segments or datagrams
    // received | sent << 32. not_found past the last entry.
    socket_entry = 0x5350'0001,
    // words[0] = counter number. Reply: words[1] = value, words[2..4] = its
    // name (up to 24 characters, NUL-padded, as ip_proto::DropName), words[5]
    // = 1 if it counts an error (a dropped segment, a reset sent, ...).
    // not_found past the last counter.
    counter = 0x5350'0002,
};

// TCP states, numbered as RFC 793 lists them (and as lwIP's enum tcp_state).
enum class TcpState : uint8_t {
    closed = 0,
    listen = 1,
    syn_sent = 2,
    syn_received = 3,
    established = 4,
    fin_wait_1 = 5,
    fin_wait_2 = 6,
    close_wait = 7,
    closing = 8,
    last_ack = 9,
    time_wait = 10,
};

inline const char* tcp_state_name(uint64_t state)
{
    static const char* const names[] = {"CLOSED",     "LISTEN",     "SYN_SENT",   "SYN_RECEIVED",
                                        "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT",
                                        "CLOSING",    "LAST_ACK",   "TIME_WAIT"};
    return state < sizeof(names) / sizeof(names[0]) ? names[state] : "?";
}

} // namespace tern::transport_control
