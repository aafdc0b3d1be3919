// netio on Tern's socket library (lib/socket): the calls return -1 with the
// reason in socket_errno(); netio hands back -errno instead.
#include "netio.hpp"
#include "runtime/sys.hpp"
#include "socket/socket.hpp"

namespace netio {
namespace {

namespace so = tern::sockets;

int fail() { return -so::socket_errno(); }

so::sockaddr_in to_sockaddr(Endpoint endpoint) { return so::make_address(endpoint.address, endpoint.port); }

Endpoint from_sockaddr(const so::sockaddr_in& address)
{
    return {so::ntohl(address.sin_addr.s_addr), so::ntohs(address.sin_port)};
}

int set_flag(int fd, int level, int name)
{
    const int one = 1;
    return so::setsockopt(fd, level, name, &one, sizeof(one)) < 0 ? fail() : 0;
}

} // namespace

int open(Kind kind, bool nonblocking)
{
    const int fd = so::socket(so::AF_INET, (kind == Kind::tcp ? so::SOCK_STREAM : so::SOCK_DGRAM) |
                                               (nonblocking ? so::SOCK_NONBLOCK : 0),
                              0);
    return fd < 0 ? fail() : fd;
}

int set_reuse_address(int fd) { return set_flag(fd, so::SOL_SOCKET, so::SO_REUSEADDR); }

int set_no_delay(int fd) { return set_flag(fd, so::IPPROTO_TCP, so::TCP_NODELAY); }

int bind(int fd, Endpoint local)
{
    const so::sockaddr_in address = to_sockaddr(local);
    return so::bind(fd, &address, sizeof(address)) < 0 ? fail() : 0;
}

int listen(int fd, int backlog) { return so::listen(fd, backlog) < 0 ? fail() : 0; }

int accept(int fd, Endpoint* remote)
{
    so::sockaddr_in address{};
    so::socklen_t size = sizeof(address);
    const int connection = so::accept4(fd, reinterpret_cast<so::sockaddr*>(&address), &size, so::SOCK_NONBLOCK);
    if (connection < 0)
        return fail();
    if (remote != nullptr)
        *remote = from_sockaddr(address);
    return connection;
}

int connect(int fd, Endpoint remote)
{
    const so::sockaddr_in address = to_sockaddr(remote);
    return so::connect(fd, &address, sizeof(address)) < 0 ? fail() : 0;
}

int pending_error(int fd)
{
    int error = 0;
    so::socklen_t size = sizeof(error);
    if (so::getsockopt(fd, so::SOL_SOCKET, so::SO_ERROR, &error, &size) < 0)
        return fail();
    return -error;
}

int64_t send(int fd, const void* data, size_t length)
{
    const so::ssize_t n = so::send(fd, data, length, 0);
    return n < 0 ? fail() : n;
}

int64_t recv(int fd, void* buffer, size_t capacity)
{
    const so::ssize_t n = so::recv(fd, buffer, capacity, 0);
    return n < 0 ? fail() : n;
}

int64_t send_to(int fd, const void* data, size_t length, Endpoint to)
{
    const so::sockaddr_in address = to_sockaddr(to);
    const so::ssize_t n = so::sendto(fd, data, length, 0, &address, sizeof(address));
    return n < 0 ? fail() : n;
}

int64_t receive_from(int fd, void* buffer, size_t capacity, Endpoint* from)
{
    so::sockaddr_in address{};
    so::socklen_t size = sizeof(address);
    const so::ssize_t n = so::recvfrom(fd, buffer, capacity, 0, &address, &size);
    if (n < 0)
        return fail();
    if (from != nullptr)
        *from = from_sockaddr(address);
    return n;
}

int shutdown(int fd, int how) { return so::shutdown(fd, how) < 0 ? fail() : 0; }

int close(int fd) { return so::close(fd) < 0 ? fail() : 0; }

int poll(PollEntry* entries, size_t count, int timeout_ms)
{
    static_assert(sizeof(PollEntry) == sizeof(so::pollfd) && so::POLLIN == poll_in && so::POLLOUT == poll_out &&
                  so::POLLERR == poll_error && so::POLLHUP == poll_hangup && so::POLLNVAL == poll_invalid);
    const int n = so::poll(reinterpret_cast<so::pollfd*>(entries), count, timeout_ms);
    return n < 0 ? fail() : n;
}

uint64_t now_ms() { return static_cast<uint64_t>(tern::sys::uptime()) / 1000000; }

} // namespace netio
