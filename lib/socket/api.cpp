// The free functions of socket.hpp: one SocketLibrary per process, over
// Tern's channels (tern_platform.hpp).
#include "socket/library.hpp"
#include "socket/socket.hpp"
#include "socket/tern_platform.hpp"

namespace tern::sockets {

TernPlatform& process_platform()
{
    static TernPlatform platform;
    return platform;
}

SocketLibrary& process_sockets()
{
    static SocketLibrary library(process_platform());
    return library;
}

int socket_errno()
{
    return process_sockets().last_error();
}
int configure(const Config& config)
{
    return process_sockets().configure(config);
}

int socket(int domain, int type, int protocol)
{
    return process_sockets().socket(domain, type, protocol);
}
int bind(int fd, const sockaddr* address, socklen_t length)
{
    return process_sockets().bind(fd, address, length);
}
int listen(int fd, int backlog)
{
    return process_sockets().listen(fd, backlog);
}
int accept(int fd, sockaddr* address, socklen_t* length)
{
    return process_sockets().accept(fd, address, length);
}
int accept4(int fd, sockaddr* address, socklen_t* length, int flags)
{
    return process_sockets().accept4(fd, address, length, flags);
}
int connect(int fd, const sockaddr* address, socklen_t length)
{
    return process_sockets().connect(fd, address, length);
}
ssize_t send(int fd, const void* data, size_t length, int flags)
{
    return process_sockets().send(fd, data, length, flags);
}
ssize_t recv(int fd, void* buffer, size_t length, int flags)
{
    return process_sockets().recv(fd, buffer, length, flags);
}
ssize_t sendto(int fd, const void* data, size_t length, int flags, const sockaddr* to, socklen_t to_length)
{
    return process_sockets().sendto(fd, data, length, flags, to, to_length);
}
ssize_t recvfrom(int fd, void* buffer, size_t length, int flags, sockaddr* from, socklen_t* from_length)
{
    return process_sockets().recvfrom(fd, buffer, length, flags, from, from_length);
}
int shutdown(int fd, int how)
{
    return process_sockets().shutdown(fd, how);
}
int close(int fd)
{
    return process_sockets().close(fd);
}
int setsockopt(int fd, int level, int name, const void* value, socklen_t length)
{
    return process_sockets().setsockopt(fd, level, name, value, length);
}
int getsockopt(int fd, int level, int name, void* value, socklen_t* length)
{
    return process_sockets().getsockopt(fd, level, name, value, length);
}
int getsockname(int fd, sockaddr* address, socklen_t* length)
{
    return process_sockets().getsockname(fd, address, length);
}
int getpeername(int fd, sockaddr* address, socklen_t* length)
{
    return process_sockets().getpeername(fd, address, length);
}
int fcntl(int fd, int command, int argument)
{
    return process_sockets().fcntl(fd, command, argument);
}
int poll(pollfd* fds, nfds_t count, int timeout_ms)
{
    return process_sockets().poll(fds, count, timeout_ms);
}

} // namespace tern::sockets
