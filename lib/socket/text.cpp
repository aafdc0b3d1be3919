// The text side of the socket API: errno names and messages, and IPv4
// addresses to and from dotted quads (lib/net does the parsing).
#include "net/address.hpp"
#include "socket/socket.hpp"

namespace tern::sockets {
namespace {

struct ErrnoText {
    int value;
    const char* name;
    const char* text;
};

constexpr ErrnoText errno_texts[] = {
    { 0, "0", "Success" },
    { EPERM, "EPERM", "Operation not permitted" },
    { EINTR, "EINTR", "Interrupted system call" },
    { EIO, "EIO", "Input/output error" },
    { EBADF, "EBADF", "Bad file descriptor" },
    { EAGAIN, "EAGAIN", "Resource temporarily unavailable" },
    { ENOMEM, "ENOMEM", "Cannot allocate memory" },
    { EFAULT, "EFAULT", "Bad address" },
    { EBUSY, "EBUSY", "Device or resource busy" },
    { EINVAL, "EINVAL", "Invalid argument" },
    { ENFILE, "ENFILE", "Too many open files in system" },
    { EMFILE, "EMFILE", "Too many open files" },
    { ENOSPC, "ENOSPC", "No space left on device" },
    { EPIPE, "EPIPE", "Broken pipe" },
    { EPROTO, "EPROTO", "Protocol error" },
    { ENOTSOCK, "ENOTSOCK", "Socket operation on non-socket" },
    { EDESTADDRREQ, "EDESTADDRREQ", "Destination address required" },
    { EMSGSIZE, "EMSGSIZE", "Message too long" },
    { EPROTOTYPE, "EPROTOTYPE", "Protocol wrong type for socket" },
    { ENOPROTOOPT, "ENOPROTOOPT", "Protocol not available" },
    { EPROTONOSUPPORT, "EPROTONOSUPPORT", "Protocol not supported" },
    { ESOCKTNOSUPPORT, "ESOCKTNOSUPPORT", "Socket type not supported" },
    { EOPNOTSUPP, "EOPNOTSUPP", "Operation not supported" },
    { EAFNOSUPPORT, "EAFNOSUPPORT", "Address family not supported by protocol" },
    { EADDRINUSE, "EADDRINUSE", "Address already in use" },
    { EADDRNOTAVAIL, "EADDRNOTAVAIL", "Cannot assign requested address" },
    { ENETDOWN, "ENETDOWN", "Network is down" },
    { ENETUNREACH, "ENETUNREACH", "Network is unreachable" },
    { ENETRESET, "ENETRESET", "Network dropped connection on reset" },
    { ECONNABORTED, "ECONNABORTED", "Software caused connection abort" },
    { ECONNRESET, "ECONNRESET", "Connection reset by peer" },
    { ENOBUFS, "ENOBUFS", "No buffer space available" },
    { EISCONN, "EISCONN", "Transport endpoint is already connected" },
    { ENOTCONN, "ENOTCONN", "Transport endpoint is not connected" },
    { ETIMEDOUT, "ETIMEDOUT", "Connection timed out" },
    { ECONNREFUSED, "ECONNREFUSED", "Connection refused" },
    { EHOSTUNREACH, "EHOSTUNREACH", "No route to host" },
    { EALREADY, "EALREADY", "Operation already in progress" },
    { EINPROGRESS, "EINPROGRESS", "Operation now in progress" },
};

const ErrnoText* find(int error)
{
    for (const ErrnoText& entry : errno_texts) {
        if (entry.value == error)
            return &entry;
    }
    return nullptr;
}

size_t length_of(const char* text)
{
    size_t n = 0;
    while (text[n] != '\0')
        ++n;
    return n;
}

} // namespace

const char* errno_name(int error)
{
    const ErrnoText* entry = find(error);
    return entry != nullptr ? entry->name : "E?";
}

const char* strerror(int error)
{
    const ErrnoText* entry = find(error);
    return entry != nullptr ? entry->text : "Unknown error";
}

int inet_pton(int af, const char* src, void* dst)
{
    if (af != AF_INET)
        return -1;
    if (src == nullptr || dst == nullptr)
        return 0;
    const auto parsed = net::parse_ipv4(src, length_of(src));
    if (!parsed.ok())
        return 0;
    const in_addr address { htonl(parsed.value().value) };
    __builtin_memcpy(dst, &address, sizeof address);
    return 1;
}

const char* inet_ntop(int af, const void* src, char* dst, socklen_t size)
{
    if (af != AF_INET || src == nullptr || dst == nullptr)
        return nullptr;
    in_addr address;
    __builtin_memcpy(&address, src, sizeof address);
    const net::Ipv4Text text = net::to_text(net::Ipv4Address { ntohl(address.s_addr) });
    const size_t needed = length_of(text.text) + 1;
    if (size < needed)
        return nullptr;
    __builtin_memcpy(dst, text.text, needed);
    return dst;
}

in_addr_t inet_addr(const char* text)
{
    in_addr address {};
    return inet_pton(AF_INET, text, &address) == 1 ? address.s_addr : INADDR_NONE;
}

sockaddr_in make_address(in_addr_t ip_host_order, uint16_t port)
{
    sockaddr_in address {};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(ip_host_order);
    return address;
}

sockaddr_in make_address(const char* ip, uint16_t port)
{
    sockaddr_in address = make_address(INADDR_ANY, port);
    address.sin_addr.s_addr = inet_addr(ip);
    return address;
}

} // namespace tern::sockets
