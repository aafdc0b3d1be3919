// lib/socket's text and byte-order helpers, and its errno numbers against
// the host's (both must be Linux's).
#include "socket_test_support.hpp"

namespace {

namespace s = tern::sockets;
namespace library_errno = socket_test::library_errno;

static_assert(library_errno::again == EAGAIN);
static_assert(library_errno::connection_refused == ECONNREFUSED);
static_assert(library_errno::connection_reset == ECONNRESET);
static_assert(library_errno::address_in_use == EADDRINUSE);
static_assert(library_errno::timed_out == ETIMEDOUT);
static_assert(library_errno::in_progress == EINPROGRESS);
static_assert(library_errno::pipe == EPIPE);
static_assert(library_errno::not_connected == ENOTCONN);
static_assert(library_errno::bad_file == EBADF);
static_assert(library_errno::invalid == EINVAL);
static_assert(library_errno::message_size == EMSGSIZE);
static_assert(library_errno::network_down == ENETDOWN);
static_assert(library_errno::connection_aborted == ECONNABORTED);
static_assert(library_errno::no_protocol_option == ENOPROTOOPT);
static_assert(library_errno::already == EALREADY);
static_assert(library_errno::is_connected == EISCONN);
static_assert(library_errno::destination_required == EDESTADDRREQ);
static_assert(library_errno::too_many_files == EMFILE);

TEST(SocketText, ByteOrder)
{
    EXPECT_EQ(s::htons(0x1234), 0x3412);
    EXPECT_EQ(s::ntohs(s::htons(8080)), 8080);
    EXPECT_EQ(s::htonl(0x0A00020F), 0x0F02000Au);
    EXPECT_EQ(s::ntohl(s::htonl(0xC0A80001u)), 0xC0A80001u);
}

TEST(SocketText, AddressesToAndFromText)
{
    s::in_addr address {};
    ASSERT_EQ(s::inet_pton(s::AF_INET, "10.0.2.15", &address), 1);
    const uint8_t* bytes = reinterpret_cast<const uint8_t*>(&address.s_addr);
    EXPECT_EQ(bytes[0], 10) << "network order: the first octet first";
    EXPECT_EQ(bytes[3], 15);
    char text[s::INET_ADDRSTRLEN];
    EXPECT_STREQ(s::inet_ntop(s::AF_INET, &address, text, sizeof text), "10.0.2.15");
    const s::in_addr widest { s::htonl(0xFFFFFFFF) };
    EXPECT_STREQ(s::inet_ntop(s::AF_INET, &widest, text, sizeof text), "255.255.255.255");
    EXPECT_EQ(s::inet_ntop(s::AF_INET, &widest, text, 15), nullptr) << "no room for the NUL";
    EXPECT_EQ(s::inet_ntop(10, &widest, text, sizeof text), nullptr);

    for (const char* bad : { "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "a.b.c.d", "1.2.3.4 ", "01234.1.1.1" })
        EXPECT_EQ(s::inet_pton(s::AF_INET, bad, &address), 0) << '"' << bad << '"';
    EXPECT_EQ(s::inet_pton(10, "::1", &address), -1);
    EXPECT_EQ(s::inet_addr("127.0.0.1"), s::htonl(s::INADDR_LOOPBACK));
    EXPECT_EQ(s::inet_addr("nonsense"), s::INADDR_NONE);

    const s::sockaddr_in a = s::make_address("192.168.1.2", 443);
    EXPECT_EQ(a.sin_family, s::AF_INET);
    EXPECT_EQ(a.sin_port, s::htons(443));
    EXPECT_EQ(a.sin_addr.s_addr, s::inet_addr("192.168.1.2"));
    EXPECT_EQ(s::make_address(0x7F000001, 1).sin_addr.s_addr, s::htonl(0x7F000001));
}

TEST(SocketText, ErrnoNamesAndMessages)
{
    EXPECT_STREQ(s::errno_name(ECONNREFUSED), "ECONNREFUSED");
    EXPECT_STREQ(s::errno_name(EAGAIN), "EAGAIN");
    EXPECT_STREQ(s::errno_name(12345), "E?");
    EXPECT_STREQ(s::strerror(ECONNRESET), "Connection reset by peer");
    EXPECT_STREQ(s::strerror(EINPROGRESS), "Operation now in progress");
    EXPECT_STREQ(s::strerror(-1), "Unknown error");
    // Every number socket_proto::errno_value names has a name.
    for (int e : { 9, 11, 12, 22, 32, 90, 92, 95, 98, 99, 101, 103, 104, 105, 106, 107, 110, 111, 113, 114, 115 })
        EXPECT_STRNE(s::errno_name(e), "E?") << e;
}

} // namespace
