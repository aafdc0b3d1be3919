// lib/socket over udp against the fake server: sendto/recvfrom, datagrams
// as chains of buffers both ways (up to 65,507 bytes), truncation, connected
// sockets, readiness, the send credit, and asynchronous send errors.
#include "socket_test_support.hpp"

namespace {

using namespace socket_test;
namespace s = tern::sockets;

class Udp : public SocketTest { };

TEST_F(Udp, SendtoAndRecvfromOneDatagram)
{
    const int fd = udp_socket();
    ASSERT_GE(fd, 0);
    EXPECT_FALSE(lib.link_open(Protocol::tcp));
    const auto local = address(s::INADDR_ANY, 5353);
    ASSERT_EQ(lib.bind(fd, sa(local), sizeof local), 0);
    const uint64_t id = last_id(udp());
    EXPECT_EQ(udp().log.back().words[1], proto::endpoint_word(0, 5353));

    const auto to = s::make_address("10.0.2.3", 53);
    EXPECT_EQ(lib.sendto(fd, "query", 5, 0, sa(to), sizeof to), 5);
    settle();
    ASSERT_EQ(udp().datagrams.size(), 1u);
    EXPECT_EQ(udp().datagrams[0].id, id);
    EXPECT_EQ(udp().datagrams[0].to, endpoint(10, 0, 2, 3, 53));
    EXPECT_TRUE(same_bytes(udp().datagrams[0].bytes, "query"));
    EXPECT_EQ(udp().log.back().flags, 0u) << "one buffer: no `more`";

    udp().datagram(id, "answer", endpoint(10, 0, 2, 3, 53));
    settle();
    char buffer[64] = {};
    s::sockaddr_in from {};
    s::socklen_t length = sizeof from;
    EXPECT_EQ(lib.recvfrom(fd, buffer, sizeof buffer, 0, sa(from), &length), 6);
    EXPECT_STREQ(buffer, "answer");
    EXPECT_EQ(s::ntohs(from.sin_port), 53);
    EXPECT_EQ(from.sin_addr.s_addr, s::inet_addr("10.0.2.3"));

    // Empty datagrams exist too.
    EXPECT_EQ(lib.sendto(fd, nullptr, 0, 0, sa(to), sizeof to), 0);
    udp().datagram(id, "", endpoint(10, 0, 2, 3, 53));
    settle();
    EXPECT_TRUE(same_bytes(udp().datagrams.back().bytes, ""));
    EXPECT_EQ(lib.recv(fd, buffer, sizeof buffer, 0), 0);
    EXPECT_EQ(lib.close(fd), 0);
    expect_no_leaks();
}

TEST_F(Udp, LargeDatagramsTravelAsChainsBothWays)
{
    const int fd = udp_socket();
    const auto to = address(0x0A000203, 9);
    const std::string big = pattern(65507, 11);
    EXPECT_EQ(lib.sendto(fd, big.data(), big.size(), 0, sa(to), sizeof to), 65507);
    settle();
    const uint64_t id = last_id(udp());
    ASSERT_EQ(udp().datagrams.size(), 1u);
    EXPECT_TRUE(same_bytes(udp().datagrams[0].bytes, big));
    EXPECT_EQ(udp().datagrams[0].buffers, 32u) << "65507 bytes in 2048-byte buffers";
    EXPECT_EQ(lib.sendto(fd, big.data(), 65508, 0, sa(to), sizeof to), -1);
    EXPECT_EQ(lib.last_error(), EMSGSIZE);

    const std::string reply = pattern(5000, 12); // ten 512-byte buffers of the server's
    udp().datagram(id, reply, endpoint(10, 0, 2, 3, 9));
    settle();
    EXPECT_EQ(lib.peer_buffers_held(Protocol::udp), 10u);
    std::string got(8000, '\0');
    EXPECT_EQ(lib.recv(fd, got.data(), got.size(), s::MSG_PEEK), 5000);
    EXPECT_EQ(lib.recv(fd, got.data(), got.size(), 0), 5000);
    EXPECT_TRUE(same_bytes(got.substr(0, 5000), reply));
    settle();
    EXPECT_EQ(lib.peer_buffers_held(Protocol::udp), 0u);
    EXPECT_EQ(lib.close(fd), 0);
    expect_no_leaks();
}

TEST_F(Udp, RecvfromTruncatesLikePosixAndMsgTruncTellsTheRealLength)
{
    const int fd = udp_socket();
    const auto local = address(s::INADDR_ANY, 7);
    ASSERT_EQ(lib.bind(fd, sa(local), sizeof local), 0);
    const uint64_t id = last_id(udp());
    udp().datagram(id, pattern(1500, 1), endpoint(10, 0, 2, 2, 1000));
    udp().datagram(id, pattern(1500, 2), endpoint(10, 0, 2, 2, 1001));
    udp().datagram(id, "third", endpoint(10, 0, 2, 2, 1002));
    settle();
    char small[100];
    EXPECT_EQ(lib.recv(fd, small, sizeof small, 0), 100);
    EXPECT_TRUE(same_bytes(std::string(small, 100), pattern(1500, 1).substr(0, 100)));
    EXPECT_EQ(lib.recv(fd, small, sizeof small, s::MSG_TRUNC), 1500);
    EXPECT_TRUE(same_bytes(std::string(small, 100), pattern(1500, 2).substr(0, 100)));
    s::sockaddr_in from {};
    s::socklen_t length = sizeof from;
    EXPECT_EQ(lib.recvfrom(fd, small, sizeof small, 0, sa(from), &length), 5) << "the rest was dropped, not read";
    EXPECT_EQ(s::ntohs(from.sin_port), 1002);
    settle();
    EXPECT_EQ(lib.peer_buffers_held(Protocol::udp), 0u);
    EXPECT_EQ(lib.close(fd), 0);
    expect_no_leaks();
}

TEST_F(Udp, ConnectedSocketsSendWithoutAnAddress)
{
    const int fd = udp_socket();
    EXPECT_EQ(lib.send(fd, "x", 1, 0), -1);
    EXPECT_EQ(lib.last_error(), EDESTADDRREQ);
    const auto to = address(0x0A000202, 7);
    ASSERT_EQ(lib.connect(fd, sa(to), sizeof to), 0);
    const uint64_t id = last_id(udp());
    EXPECT_EQ(lib.send(fd, "ping", 4, 0), 4);
    settle();
    ASSERT_EQ(udp().datagrams.size(), 1u);
    EXPECT_EQ(udp().datagrams[0].to, 0u) << "0: the connected destination";
    s::sockaddr_in peer {};
    s::socklen_t length = sizeof peer;
    ASSERT_EQ(lib.getpeername(fd, sa(peer), &length), 0);
    EXPECT_EQ(s::ntohs(peer.sin_port), 7);

    udp().datagram(id, "pong", endpoint(10, 0, 2, 2, 7));
    settle();
    char buffer[8];
    EXPECT_EQ(lib.recv(fd, buffer, sizeof buffer, 0), 4);

    // A send the server could not make reaches a connected socket, once.
    udp().hold_sends = true;
    EXPECT_EQ(lib.send(fd, "lost", 4, 0), 4);
    settle();
    udp().return_sends(EHOSTUNREACH);
    settle();
    EXPECT_EQ(lib.counters(Protocol::udp).send_failures, 1u);
    s::pollfd p { fd, s::POLLIN, 0 };
    EXPECT_EQ(lib.poll(&p, 1, 0), 1);
    EXPECT_EQ(p.revents, s::POLLERR);
    EXPECT_EQ(lib.send(fd, "again", 5, 0), -1);
    EXPECT_EQ(lib.last_error(), EHOSTUNREACH);
    EXPECT_EQ(lib.send(fd, "again", 5, 0), 5);
    udp().return_sends();
    EXPECT_EQ(lib.close(fd), 0);
    expect_no_leaks();
}

TEST_F(Udp, NonBlockingReceiveAndPollReadiness)
{
    const int fd = udp_socket(true);
    const auto local = address(s::INADDR_ANY, 9999);
    ASSERT_EQ(lib.bind(fd, sa(local), sizeof local), 0);
    const uint64_t id = last_id(udp());
    char buffer[16];
    EXPECT_EQ(lib.recv(fd, buffer, sizeof buffer, 0), -1);
    EXPECT_EQ(lib.last_error(), EAGAIN);
    s::pollfd p { fd, s::POLLIN | s::POLLOUT, 0 };
    EXPECT_EQ(lib.poll(&p, 1, 0), 1);
    EXPECT_EQ(p.revents, s::POLLOUT);

    // Half a chain is not a datagram yet.
    Message first {};
    first.type = proto::data;
    first.flags = proto::flags::more;
    first.words[0] = id;
    first.words[1] = endpoint(10, 0, 2, 2, 1);
    first.words[2] = 600;
    first.buffer = udp().lend_buffer(512);
    udp().push(first);
    settle();
    p.events = s::POLLIN;
    EXPECT_EQ(lib.poll(&p, 1, 0), 0);
    Message second = first;
    second.flags = 0;
    second.buffer = udp().lend_buffer(88);
    udp().push(second);
    platform.run();
    EXPECT_EQ(lib.poll(&p, 1, 0), 1);
    EXPECT_EQ(p.revents, s::POLLIN);
    char whole[600];
    EXPECT_EQ(lib.recv(fd, whole, sizeof whole, 0), 600);
    EXPECT_EQ(lib.close(fd), 0);
    expect_no_leaks();
}

TEST_F(Udp, TheSendCreditAndPoolLimitDatagramsToo)
{
    const int fd = udp_socket(true);
    const int credit = 4096;
    ASSERT_EQ(lib.setsockopt(fd, s::SOL_SOCKET, s::SO_SNDBUF, &credit, sizeof credit), 0);
    udp().hold_sends = true;
    const auto to = address(0x0A000202, 7);
    const std::string data = pattern(3000);
    EXPECT_EQ(lib.sendto(fd, data.data(), data.size(), 0, sa(to), sizeof to), 3000);
    EXPECT_EQ(lib.sendto(fd, data.data(), data.size(), 0, sa(to), sizeof to), -1);
    EXPECT_EQ(lib.last_error(), EAGAIN) << "3000 + 3000 > SO_SNDBUF";
    EXPECT_EQ(lib.sendto(fd, data.data(), 1000, 0, sa(to), sizeof to), 1000) << "this one fits";
    settle();
    udp().return_sends();
    settle();
    // A datagram bigger than the credit goes when nothing else is out.
    const std::string big = pattern(20'000);
    EXPECT_EQ(lib.sendto(fd, big.data(), big.size(), 0, sa(to), sizeof to), 20'000);
    settle();
    udp().return_sends();

    // Blocking: waits until the server gives the buffers back.
    ASSERT_EQ(lib.fcntl(fd, s::F_SETFL, 0), 0);
    EXPECT_EQ(lib.sendto(fd, data.data(), data.size(), 0, sa(to), sizeof to), 3000);
    platform.on_wait = [&] { udp().return_sends(); };
    EXPECT_EQ(lib.sendto(fd, data.data(), data.size(), 0, sa(to), sizeof to), 3000);
    platform.on_wait = nullptr;
    settle();
    udp().return_sends();
    ASSERT_EQ(udp().datagrams.size(), 5u);
    EXPECT_TRUE(same_bytes(udp().datagrams[3].bytes, data));
    EXPECT_EQ(lib.close(fd), 0);
    expect_no_leaks();
}

TEST_F(Udp, TcpOnlyCallsAreRefused)
{
    const int fd = udp_socket();
    EXPECT_EQ(lib.listen(fd, 1), -1);
    EXPECT_EQ(lib.last_error(), EOPNOTSUPP);
    EXPECT_EQ(lib.accept(fd, nullptr, nullptr), -1);
    EXPECT_EQ(lib.last_error(), EOPNOTSUPP);
    const int one = 1;
    EXPECT_EQ(lib.setsockopt(fd, s::IPPROTO_TCP, s::TCP_NODELAY, &one, sizeof one), -1);
    EXPECT_EQ(lib.last_error(), ENOPROTOOPT);
    int type = 0;
    s::socklen_t length = sizeof type;
    ASSERT_EQ(lib.getsockopt(fd, s::SOL_SOCKET, s::SO_TYPE, &type, &length), 0);
    EXPECT_EQ(type, s::SOCK_DGRAM);
    const auto to = address(0x0A000202, 0);
    EXPECT_EQ(lib.sendto(fd, "x", 1, 0, sa(to), sizeof to), -1);
    EXPECT_EQ(lib.last_error(), EINVAL) << "port 0";
    EXPECT_EQ(lib.close(fd), 0);
    expect_no_leaks();
}

} // namespace
