// netio on Linux's sockets: for the host tests of inetd, httpd and the
// shell's nc (tests/unit). Linux's errno numbers are the ones netio uses.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "netio.hpp"

namespace netio {
namespace {

int fail() { return -errno; }

sockaddr_in to_sockaddr(Endpoint endpoint)
{
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(endpoint.address);
    address.sin_port = htons(endpoint.port);
    return address;
}

Endpoint from_sockaddr(const sockaddr_in& address)
{
    return {ntohl(address.sin_addr.s_addr), ntohs(address.sin_port)};
}

} // namespace

int open(Kind kind, bool nonblocking)
{
    const int fd = ::socket(AF_INET, (kind == Kind::tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC |
                                         (nonblocking ? SOCK_NONBLOCK : 0),
                            0);
    return fd < 0 ? fail() : fd;
}

int set_reuse_address(int fd)
{
    const int one = 1;
    return ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ? fail() : 0;
}

int set_no_delay(int fd)
{
    const int one = 1;
    return ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ? fail() : 0;
}

int bind(int fd, Endpoint local)
{
    const sockaddr_in address = to_sockaddr(local);
    return ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) < 0 ? fail() : 0;
}

int listen(int fd, int backlog) { return ::listen(fd, backlog) < 0 ? fail() : 0; }

int accept(int fd, Endpoint* remote)
{
    sockaddr_in address{};
    socklen_t size = sizeof(address);
    const int connection = ::accept4(fd, reinterpret_cast<sockaddr*>(&address), &size, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (connection < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : fail();
    if (remote != nullptr)
        *remote = from_sockaddr(address);
    return connection;
}

int connect(int fd, Endpoint remote)
{
    const sockaddr_in address = to_sockaddr(remote);
    return ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) < 0 ? fail() : 0;
}

int pending_error(int fd)
{
    int error = 0;
    socklen_t size = sizeof(error);
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) < 0)
        return fail();
    return -error;
}

int64_t send(int fd, const void* data, size_t length)
{
    const ssize_t n = ::send(fd, data, length, MSG_NOSIGNAL);
    return n < 0 ? (errno == EWOULDBLOCK ? -EAGAIN : fail()) : n;
}

int64_t recv(int fd, void* buffer, size_t capacity)
{
    const ssize_t n = ::recv(fd, buffer, capacity, 0);
    return n < 0 ? (errno == EWOULDBLOCK ? -EAGAIN : fail()) : n;
}

int64_t send_to(int fd, const void* data, size_t length, Endpoint to)
{
    const sockaddr_in address = to_sockaddr(to);
    const ssize_t n =
        ::sendto(fd, data, length, MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
    return n < 0 ? (errno == EWOULDBLOCK ? -EAGAIN : fail()) : n;
}

int64_t receive_from(int fd, void* buffer, size_t capacity, Endpoint* from)
{
    sockaddr_in address{};
    socklen_t size = sizeof(address);
    const ssize_t n = ::recvfrom(fd, buffer, capacity, 0, reinterpret_cast<sockaddr*>(&address), &size);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : fail();
    if (from != nullptr)
        *from = from_sockaddr(address);
    return n;
}

int shutdown(int fd, int how) { return ::shutdown(fd, how) < 0 ? fail() : 0; }

int close(int fd) { return ::close(fd) < 0 ? fail() : 0; }

int poll(PollEntry* entries, size_t count, int timeout_ms)
{
    static_assert(sizeof(PollEntry) == sizeof(pollfd) && POLLIN == poll_in && POLLOUT == poll_out &&
                  POLLERR == poll_error && POLLHUP == poll_hangup && POLLNVAL == poll_invalid);
    const int n = ::poll(reinterpret_cast<pollfd*>(entries), count, timeout_ms);
    return n < 0 ? fail() : n;
}

uint64_t now_ms()
{
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
}

} // namespace netio
