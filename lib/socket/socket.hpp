// The socket API of Tern applications: POSIX-shaped calls over channels to
// the tcp and udp servers (proto/socket.hpp). How it works: README.md here.
//
//   using namespace tern::sockets;
//   int fd = socket(AF_INET, SOCK_STREAM, 0);
//   sockaddr_in to{};  to.sin_family = AF_INET;  to.sin_port = htons(80);
//   inet_pton(AF_INET, "10.0.2.2", &to.sin_addr);
//   if (connect(fd, &to, sizeof to) < 0) print("%s\n", strerror(socket_errno()));
//
// Calls return -1 and leave the reason in socket_errno() (Linux's numbers,
// the E... names below), as POSIX calls leave it in errno. Names live in
// tern::sockets, not in macros; Tern programs have no C library, so nothing
// clashes. (Host code that includes system headers must include this one
// first, and then use the E... names unqualified: the host's macros have the
// same values.)
#pragma once

#if defined(EAGAIN) || defined(O_NONBLOCK) || defined(POLLIN) || defined(SOL_SOCKET)
#error "include socket/socket.hpp before the C library's headers: their macros clash with its names"
#endif

#include "proto/socket.hpp"

#include <cstddef>
#include <cstdint>

namespace tern::sockets {

using socklen_t = uint32_t;
using ssize_t = long;
using nfds_t = unsigned long;
using in_addr_t = uint32_t;
using in_port_t = uint16_t;
using sa_family_t = uint16_t;

// --- errno values (Linux's numbers) ---
namespace errno_value = socket_proto::errno_value;
constexpr int EPERM = 1;
constexpr int EINTR = 4;
constexpr int EIO = 5;
constexpr int EBADF = errno_value::bad_file;
constexpr int EAGAIN = errno_value::again;
constexpr int EWOULDBLOCK = EAGAIN;
constexpr int ENOMEM = errno_value::no_memory;
constexpr int EFAULT = 14;
constexpr int EBUSY = 16;
constexpr int EINVAL = errno_value::invalid;
constexpr int ENFILE = 23;
constexpr int EMFILE = 24;
constexpr int ENOSPC = 28;
constexpr int EPIPE = errno_value::pipe;
constexpr int EPROTO = 71;
constexpr int ENOTSOCK = 88;
constexpr int EDESTADDRREQ = 89;
constexpr int EMSGSIZE = errno_value::message_size;
constexpr int EPROTOTYPE = 91;
constexpr int ENOPROTOOPT = errno_value::protocol_option;
constexpr int EPROTONOSUPPORT = 93;
constexpr int ESOCKTNOSUPPORT = 94;
constexpr int EOPNOTSUPP = errno_value::not_supported;
constexpr int EAFNOSUPPORT = 97;
constexpr int EADDRINUSE = errno_value::address_in_use;
constexpr int EADDRNOTAVAIL = errno_value::address_not_available;
constexpr int ENETDOWN = 100;
constexpr int ENETUNREACH = errno_value::network_unreachable;
constexpr int ENETRESET = 102;
constexpr int ECONNABORTED = errno_value::connection_aborted;
constexpr int ECONNRESET = errno_value::connection_reset;
constexpr int ENOBUFS = errno_value::no_buffers;
constexpr int EISCONN = errno_value::is_connected;
constexpr int ENOTCONN = errno_value::not_connected;
constexpr int ETIMEDOUT = errno_value::timed_out;
constexpr int ECONNREFUSED = errno_value::connection_refused;
constexpr int EHOSTUNREACH = errno_value::host_unreachable;
constexpr int EALREADY = errno_value::already;
constexpr int EINPROGRESS = errno_value::in_progress;

// "ECONNREFUSED" for ECONNREFUSED; "E?" for a number it does not know.
const char* errno_name(int error);
// "Connection refused" for ECONNREFUSED, as the C library's strerror.
const char* strerror(int error);

// --- socket(), levels, options, flags ---
constexpr int AF_UNSPEC = 0;
constexpr int AF_INET = 2;
constexpr int PF_INET = AF_INET;
constexpr int SOCK_STREAM = 1;
constexpr int SOCK_DGRAM = 2;
constexpr int SOCK_NONBLOCK = 04000; // or'ed into socket()'s type, accept4()'s flags
constexpr int SOCK_CLOEXEC = 02000000; // accepted and ignored (no exec)
constexpr int IPPROTO_IP = 0;
constexpr int IPPROTO_TCP = 6;
constexpr int IPPROTO_UDP = 17;

constexpr int SOL_SOCKET = 1;
constexpr int SO_REUSEADDR = 2; // int 0/1, before bind
constexpr int SO_TYPE = 3; // get only: SOCK_STREAM or SOCK_DGRAM
constexpr int SO_ERROR = 4; // get only: the pending error, cleared by reading it
constexpr int SO_SNDBUF = 7; // int bytes: how much may be lent to the server unacknowledged
constexpr int SO_RCVBUF = 8; // int bytes: the server's receive buffer (tcp: the largest window)
constexpr int SO_RCVTIMEO = 20; // timeval: blocking recv/recvfrom/accept give up with EAGAIN
constexpr int SO_SNDTIMEO = 21; // timeval: blocking send/sendto give up with EAGAIN (or a partial count)
constexpr int TCP_NODELAY = 1; // level IPPROTO_TCP, int 0/1

constexpr int SHUT_RD = 0;
constexpr int SHUT_WR = 1;
constexpr int SHUT_RDWR = 2;

constexpr int MSG_PEEK = 0x2; // recv: leave the bytes queued
constexpr int MSG_TRUNC = 0x20; // recv (udp): return the datagram's real length
constexpr int MSG_DONTWAIT = 0x40; // this call does not block
constexpr int MSG_WAITALL = 0x100; // recv (tcp): block until `length` bytes, the end or an error
constexpr int MSG_NOSIGNAL = 0x4000; // accepted and ignored (there are no signals)

constexpr int F_GETFL = 3;
constexpr int F_SETFL = 4;
constexpr int O_RDWR = 2;
constexpr int O_NONBLOCK = 04000;

constexpr short POLLIN = 0x1;
constexpr short POLLPRI = 0x2;
constexpr short POLLOUT = 0x4;
constexpr short POLLERR = 0x8; // always reported: a pending error (SO_ERROR)
constexpr short POLLHUP = 0x10; // always reported: the connection is over (both ways)
constexpr short POLLNVAL = 0x20; // always reported: not an open socket

// --- addresses: network byte order in the structures, as in POSIX ---
constexpr in_addr_t INADDR_ANY = 0;
constexpr in_addr_t INADDR_LOOPBACK = 0x7F000001; // host order, as the C library's
constexpr in_addr_t INADDR_BROADCAST = 0xFFFFFFFF;
constexpr in_addr_t INADDR_NONE = 0xFFFFFFFF;
constexpr socklen_t INET_ADDRSTRLEN = 16;

struct in_addr {
    in_addr_t s_addr; // network order
};
struct sockaddr {
    sa_family_t sa_family;
    char sa_data[14];
};
struct sockaddr_in {
    sa_family_t sin_family; // AF_INET
    in_port_t sin_port; // network order
    in_addr sin_addr; // network order
    uint8_t sin_zero[8];
};
static_assert(sizeof(sockaddr_in) == 16 && sizeof(sockaddr) == 16);

struct timeval {
    long tv_sec;
    long tv_usec;
};

struct pollfd {
    int fd; // < 0: ignored (revents 0)
    short events; // POLLIN | POLLOUT
    short revents; // what is ready, plus POLLERR/POLLHUP/POLLNVAL
};

constexpr uint16_t htons(uint16_t v)
{
    return __builtin_bswap16(v);
}
constexpr uint16_t ntohs(uint16_t v)
{
    return __builtin_bswap16(v);
}
constexpr uint32_t htonl(uint32_t v)
{
    return __builtin_bswap32(v);
}
constexpr uint32_t ntohl(uint32_t v)
{
    return __builtin_bswap32(v);
}

// "10.0.2.15" -> *dst (an in_addr, network order): 1; not a dotted quad: 0;
// af other than AF_INET: -1. (These text helpers leave socket_errno() alone.)
int inet_pton(int af, const char* src, void* dst);
// *src (an in_addr) -> "10.0.2.15" in dst: dst, or nullptr if `size` is too
// small (INET_ADDRSTRLEN always fits) or af is not AF_INET.
const char* inet_ntop(int af, const void* src, char* dst, socklen_t size);
// The address in network order, or INADDR_NONE.
in_addr_t inet_addr(const char* text);
// An AF_INET address in one line: make_address("10.0.2.2", 80); a bad text
// gives INADDR_NONE.
sockaddr_in make_address(const char* ip, uint16_t port);
sockaddr_in make_address(in_addr_t ip_host_order, uint16_t port);

// --- the calls (lib/socket/api.cpp, Tern programs only) ---
int socket(int domain, int type, int protocol);
int bind(int fd, const sockaddr* address, socklen_t length);
int listen(int fd, int backlog);
int accept(int fd, sockaddr* address, socklen_t* length);
int accept4(int fd, sockaddr* address, socklen_t* length, int flags);
int connect(int fd, const sockaddr* address, socklen_t length);
ssize_t send(int fd, const void* data, size_t length, int flags);
ssize_t recv(int fd, void* buffer, size_t length, int flags);
ssize_t sendto(int fd, const void* data, size_t length, int flags, const sockaddr* to, socklen_t to_length);
ssize_t recvfrom(int fd, void* buffer, size_t length, int flags, sockaddr* from, socklen_t* from_length);
int shutdown(int fd, int how);
int close(int fd);
int setsockopt(int fd, int level, int name, const void* value, socklen_t length);
int getsockopt(int fd, int level, int name, void* value, socklen_t* length);
int getsockname(int fd, sockaddr* address, socklen_t* length);
int getpeername(int fd, sockaddr* address, socklen_t* length);
int fcntl(int fd, int command, int argument = 0);
int poll(pollfd* fds, nfds_t count, int timeout_ms);

// sockaddr_in without the cast.
inline int bind(int fd, const sockaddr_in* address, socklen_t length)
{
    return bind(fd, reinterpret_cast<const sockaddr*>(address), length);
}
inline int connect(int fd, const sockaddr_in* address, socklen_t length)
{
    return connect(fd, reinterpret_cast<const sockaddr*>(address), length);
}
inline int accept(int fd, sockaddr_in* address, socklen_t* length)
{
    return accept(fd, reinterpret_cast<sockaddr*>(address), length);
}
inline ssize_t sendto(int fd, const void* data, size_t length, int flags, const sockaddr_in* to, socklen_t to_length)
{
    return sendto(fd, data, length, flags, reinterpret_cast<const sockaddr*>(to), to_length);
}
inline ssize_t recvfrom(int fd, void* buffer, size_t length, int flags, sockaddr_in* from, socklen_t* from_length)
{
    return recvfrom(fd, buffer, length, flags, reinterpret_cast<sockaddr*>(from), from_length);
}

// The reason the last failed call failed (this process's errno).
int socket_errno();

// Sizes of what the library sets up on first use of a protocol; effective
// only before the first socket() of that protocol (then EBUSY).
struct Config {
    uint32_t pool_buffers = 1024; // our pool per server: the bytes we send
    uint32_t buffer_size = 2048; // bytes per buffer (a multiple of 64)
    uint32_t ring_slots = 1024; // per direction, a power of two
    uint32_t send_buffer = 1024 * 1024; // default SO_SNDBUF
};
int configure(const Config& config);

} // namespace tern::sockets
