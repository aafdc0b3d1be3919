// lib/socket over tcp against the fake server: lazy channel set-up, bind /
// listen / accept, connect (blocking, non-blocking, refused), send with the
// SO_SNDBUF credit and a shared pool, recv out of the server's buffers, end,
// error, shutdown, close with buffers still out, ids, options and poll.
#include "socket_test_support.hpp"

namespace {

using namespace socket_test;
namespace s = tern::sockets;

class Tcp : public SocketTest { };

TEST_F(Tcp, TheChannelOpensOnFirstUseAndAnUnusedSocketCostsNoMessage)
{
    EXPECT_FALSE(lib.link_open(Protocol::tcp));
    const int a = tcp_socket();
    const int b = tcp_socket();
    ASSERT_GE(a, s::SocketLibrary::first_fd);
    ASSERT_GE(b, 0);
    EXPECT_NE(a, b);
    EXPECT_TRUE(lib.link_open(Protocol::tcp));
    EXPECT_FALSE(lib.link_open(Protocol::udp)) << "udp untouched";
    EXPECT_EQ(platform.tcp.opens, 1);
    EXPECT_EQ(lib.close(a), 0);
    EXPECT_EQ(lib.close(b), 0);
    settle();
    EXPECT_TRUE(tcp().log.empty()) << "a socket the server never heard of is closed without a message";
    EXPECT_EQ(lib.close(a), -1);
    EXPECT_EQ(lib.last_error(), EBADF);
    expect_no_leaks();
}

TEST_F(Tcp, SocketRejectsWhatItCannotDo)
{
    EXPECT_EQ(lib.socket(99, s::SOCK_STREAM, 0), -1);
    EXPECT_EQ(lib.last_error(), EAFNOSUPPORT);
    EXPECT_EQ(lib.socket(s::AF_INET, 77, 0), -1);
    EXPECT_EQ(lib.last_error(), EINVAL);
    EXPECT_EQ(lib.socket(s::AF_INET, s::SOCK_STREAM, s::IPPROTO_UDP), -1);
    EXPECT_EQ(lib.last_error(), EPROTONOSUPPORT);
    platform.tcp.refuse_open = true;
    EXPECT_EQ(tcp_socket(), -1);
    EXPECT_EQ(lib.last_error(), ENETDOWN) << "no tcp server";
    platform.tcp.refuse_open = false;
    const int fd = tcp_socket();
    EXPECT_GE(fd, 0) << "the next socket() tries again";
    EXPECT_EQ(lib.close(fd), 0);
    expect_no_leaks();
}

TEST_F(Tcp, BindListenAndAcceptConnectionsInOrder)
{
    const int listener = tcp_socket();
    const auto any = address(s::INADDR_ANY, 0);
    ASSERT_EQ(lib.bind(listener, sa(any), sizeof any), 0);
    const uint64_t listener_id = last_id(tcp());
    s::sockaddr_in bound {};
    s::socklen_t length = sizeof bound;
    ASSERT_EQ(lib.getsockname(listener, sa(bound), &length), 0);
    EXPECT_EQ(length, sizeof bound);
    EXPECT_EQ(s::ntohs(bound.sin_port), 49152) << "the port the server picked";
    EXPECT_EQ(lib.bind(listener, sa(any), sizeof any), -1) << "bound already";
    EXPECT_EQ(lib.last_error(), EINVAL);
    ASSERT_EQ(lib.listen(listener, 8), 0);
    EXPECT_EQ(tcp().log.back().type, proto::listen);
    EXPECT_EQ(tcp().log.back().words[1], 8u);

    // Two connections arrive, and data for the second before anyone accepts.
    const uint64_t first = tcp().connection(listener_id, endpoint(10, 0, 2, 2, 1111), endpoint(10, 0, 2, 15, 49152));
    const uint64_t second = tcp().connection(listener_id, endpoint(10, 0, 2, 3, 2222), endpoint(10, 0, 2, 15, 49152));
    tcp().data(second, "early bytes");
    settle();

    s::sockaddr_in peer {};
    length = sizeof peer;
    const int a = lib.accept(listener, sa(peer), &length);
    ASSERT_GE(a, 0);
    EXPECT_EQ(s::ntohs(peer.sin_port), 1111);
    char text[s::INET_ADDRSTRLEN];
    EXPECT_STREQ(s::inet_ntop(s::AF_INET, &peer.sin_addr, text, sizeof text), "10.0.2.2");
    const int b = lib.accept(listener, nullptr, nullptr);
    ASSERT_GE(b, 0);
    settle();
    EXPECT_EQ(tcp().accept_taken[listener_id], 2) << "accept_taken names the listening socket";

    char buffer[64] = {};
    EXPECT_EQ(lib.recv(b, buffer, sizeof buffer, 0), 11);
    EXPECT_STREQ(buffer, "early bytes");
    ASSERT_EQ(lib.getpeername(a, sa(peer), &length), 0);
    EXPECT_EQ(s::ntohs(peer.sin_port), 1111);

    EXPECT_EQ(lib.send(a, "hello", 5, 0), 5);
    settle();
    EXPECT_TRUE(same_bytes(tcp().streams[first], "hello"));

    for (int fd : { a, b, listener })
        EXPECT_EQ(lib.close(fd), 0);
    settle();
    EXPECT_EQ(tcp().closes, (std::set<uint64_t> { listener_id, first, second }));
    expect_no_leaks();
}

TEST_F(Tcp, AcceptBlocksUntilAConnectionAndNonBlockingSaysEagain)
{
    const int listener = tcp_socket();
    const auto any = address(s::INADDR_ANY, 8080);
    ASSERT_EQ(lib.bind(listener, sa(any), sizeof any), 0);
    const uint64_t listener_id = last_id(tcp());
    ASSERT_EQ(lib.listen(listener, 0), 0);
    EXPECT_EQ(tcp().log.back().words[1], 1u) << "a backlog below 1 becomes 1";

    ASSERT_EQ(lib.fcntl(listener, s::F_SETFL, s::O_NONBLOCK), 0);
    EXPECT_EQ(lib.fcntl(listener, s::F_GETFL), s::O_RDWR | s::O_NONBLOCK);
    EXPECT_EQ(lib.accept(listener, nullptr, nullptr), -1);
    EXPECT_EQ(lib.last_error(), EAGAIN);
    s::pollfd p { listener, s::POLLIN, 0 };
    EXPECT_EQ(lib.poll(&p, 1, 0), 0);

    ASSERT_EQ(lib.fcntl(listener, s::F_SETFL, 0), 0);
    int waits = 0;
    platform.on_wait = [&] {
        if (++waits == 3)
            tcp().connection(listener_id, endpoint(10, 0, 2, 2, 5555));
    };
    const int fd = lib.accept(listener, nullptr, nullptr);
    EXPECT_GE(fd, 0) << "accept slept until the connection came";
    EXPECT_GE(waits, 3);
    platform.on_wait = nullptr;

    tcp().connection(listener_id, endpoint(10, 0, 2, 2, 5556));
    platform.run();
    EXPECT_EQ(lib.poll(&p, 1, 0), 1);
    EXPECT_EQ(p.revents, s::POLLIN);
    const int second = lib.accept4(listener, nullptr, nullptr, s::SOCK_NONBLOCK);
    ASSERT_GE(second, 0);
    EXPECT_EQ(lib.fcntl(second, s::F_GETFL) & s::O_NONBLOCK, s::O_NONBLOCK);

    for (int f : { fd, second, listener })
        EXPECT_EQ(lib.close(f), 0);
    expect_no_leaks();
}

TEST_F(Tcp, ClosingAListenerClosesTheConnectionsNobodyAccepted)
{
    const int listener = tcp_socket();
    const auto any = address(s::INADDR_ANY, 8080);
    ASSERT_EQ(lib.bind(listener, sa(any), sizeof any), 0);
    const uint64_t listener_id = last_id(tcp());
    ASSERT_EQ(lib.listen(listener, 4), 0);
    const uint64_t a = tcp().connection(listener_id, endpoint(10, 0, 2, 2, 1));
    const uint64_t b = tcp().connection(listener_id, endpoint(10, 0, 2, 2, 2));
    tcp().data(a, pattern(1500)); // three buffers the library must give back
    settle();
    EXPECT_EQ(lib.peer_buffers_held(Protocol::tcp), 3u);
    tcp().defer_closed = true;
    EXPECT_EQ(lib.close(listener), 0);
    settle();
    EXPECT_EQ(tcp().closes, (std::set<uint64_t> { listener_id, a, b }));
    EXPECT_EQ(lib.peer_buffers_held(Protocol::tcp), 0u);
    // A connection announced while the listener's close is on its way.
    const uint64_t late = tcp().connection(listener_id, endpoint(10, 0, 2, 2, 3));
    settle();
    EXPECT_EQ(tcp().closes.count(late), 1u) << "closed at once";
    tcp().answer_closes();
    expect_no_leaks();
}

TEST_F(Tcp, BlockingConnectSucceeds)
{
    const int fd = tcp_socket();
    s::sockaddr_in peer {};
    s::socklen_t length = sizeof peer;
    EXPECT_EQ(lib.getpeername(fd, sa(peer), &length), -1);
    EXPECT_EQ(lib.last_error(), ENOTCONN);
    const auto to = s::make_address("10.0.2.2", 80);
    ASSERT_EQ(lib.connect(fd, sa(to), sizeof to), 0);
    EXPECT_EQ(tcp().log.back().type, proto::connect);
    EXPECT_EQ(tcp().log.back().words[1], endpoint(10, 0, 2, 2, 80)) << "host order in the endpoint word";
    ASSERT_EQ(lib.getpeername(fd, sa(peer), &length), 0);
    EXPECT_EQ(peer.sin_addr.s_addr, s::inet_addr("10.0.2.2"));
    s::sockaddr_in local {};
    ASSERT_EQ(lib.getsockname(fd, sa(local), &length), 0);
    EXPECT_EQ(s::ntohs(local.sin_port), 40000) << "the local endpoint from the result";
    EXPECT_EQ(lib.connect(fd, sa(to), sizeof to), -1);
    EXPECT_EQ(lib.last_error(), EISCONN);
    EXPECT_EQ(lib.close(fd), 0);
    expect_no_leaks();
}

TEST_F(Tcp, ConnectRefusedAndBadAddresses)
{
    const int fd = tcp_socket();
    tcp().connect_error = ECONNREFUSED;
    const auto to = address(0x0A000202, 81);
    EXPECT_EQ(lib.connect(fd, sa(to), sizeof to), -1);
    EXPECT_EQ(lib.last_error(), ECONNREFUSED);
    int error = -1;
    s::socklen_t length = sizeof error;
    ASSERT_EQ(lib.getsockopt(fd, s::SOL_SOCKET, s::SO_ERROR, &error, &length), 0);
    EXPECT_EQ(error, 0) << "a blocking connect reports its error itself, once";

    EXPECT_EQ(lib.connect(fd, nullptr, sizeof to), -1);
    EXPECT_EQ(lib.last_error(), EFAULT);
    EXPECT_EQ(lib.connect(fd, sa(to), 4), -1);
    EXPECT_EQ(lib.last_error(), EINVAL);
    auto wrong = to;
    wrong.sin_family = 10;
    EXPECT_EQ(lib.connect(fd, sa(wrong), sizeof wrong), -1);
    EXPECT_EQ(lib.last_error(), EAFNOSUPPORT);

    tcp().connect_error = 0;
    EXPECT_EQ(lib.connect(fd, sa(to), sizeof to), 0) << "a refused socket may try again";
    EXPECT_EQ(lib.close(fd), 0);
    expect_no_leaks();
}

TEST_F(Tcp, NonBlockingConnectCompletesThroughPollAndSoError)
{
    const int fd = tcp_socket(true);
    tcp().defer_connect = true;
    const auto to = address(0x0A000202, 80);
    EXPECT_EQ(lib.connect(fd, sa(to), sizeof to), -1);
    EXPECT_EQ(lib.last_error(), EINPROGRESS);
    const uint64_t id = last_id(tcp());
    EXPECT_EQ(lib.connect(fd, sa(to), sizeof to), -1);
    EXPECT_EQ(lib.last_error(), EALREADY);
    char byte;
    EXPECT_EQ(lib.recv(fd, &byte, 1, 0), -1);
    EXPECT_EQ(lib.last_error(), EAGAIN) << "not connected yet";

    s::pollfd p { fd, s::POLLOUT, 0 };
    EXPECT_EQ(lib.poll(&p, 1, 0), 0);
    const uint64_t before = platform.now;
    EXPECT_EQ(lib.poll(&p, 1, 25), 0) << "times out";
    EXPECT_GE(platform.now - before, 25'000'000u);

    tcp().answer_connect(id);
    platform.run();
    EXPECT_EQ(lib.poll(&p, 1, 0), 1);
    EXPECT_EQ(p.revents, s::POLLOUT);
    int error = -1;
    s::socklen_t length = sizeof error;
    ASSERT_EQ(lib.getsockopt(fd, s::SOL_SOCKET, s::SO_ERROR, &error, &length), 0);
    EXPECT_EQ(error, 0);
    EXPECT_EQ(lib.send(fd, "x", 1, 0), 1);

    // The same, refused: POLLOUT with POLLERR and POLLHUP, SO_ERROR once.
    const int other = tcp_socket(true);
    EXPECT_EQ(lib.connect(other, sa(to), sizeof to), -1);
    const uint64_t other_id = last_id(tcp());
    tcp().answer_connect(other_id, ECONNREFUSED);
    platform.run();
    s::pollfd q { other, s::POLLOUT, 0 };
    EXPECT_EQ(lib.poll(&q, 1, 0), 1);
    EXPECT_EQ(q.revents, s::POLLOUT | s::POLLERR | s::POLLHUP);
    ASSERT_EQ(lib.getsockopt(other, s::SOL_SOCKET, s::SO_ERROR, &error, &length), 0);
    EXPECT_EQ(error, ECONNREFUSED);
    ASSERT_EQ(lib.getsockopt(other, s::SOL_SOCKET, s::SO_ERROR, &error, &length), 0);
    EXPECT_EQ(error, 0) << "read once";

    EXPECT_EQ(lib.close(fd), 0);
    EXPECT_EQ(lib.close(other), 0);
    expect_no_leaks();
}

TEST_F(Tcp, WhileBusySendRecvAndPollTakeNoSystemCall)
{
    uint64_t id;
    const int fd = connected(id);
    const uint64_t waits = platform.waits;
    const uint64_t clock_reads = platform.clock_reads;
    const std::string data = pattern(40'000);
    std::string echo(40'000, '\0');
    size_t received = 0;
    for (size_t offset = 0; offset < data.size(); offset += 1000) {
        EXPECT_EQ(lib.send(fd, data.data() + offset, 1000, 0), 1000);
        platform.run(); // the server takes it and echoes it
        tcp().data(id, std::string(reinterpret_cast<const char*>(data.data() + offset), 1000));
        platform.run();
        s::pollfd p { fd, s::POLLIN | s::POLLOUT, 0 };
        EXPECT_EQ(lib.poll(&p, 1, 0), 1);
        EXPECT_EQ(p.revents, s::POLLIN | s::POLLOUT);
        const s::ssize_t n = lib.recv(fd, echo.data() + received, echo.size() - received, 0);
        ASSERT_GT(n, 0);
        received += static_cast<size_t>(n);
    }
    settle();
    EXPECT_TRUE(same_bytes(tcp().streams[id], data));
    EXPECT_TRUE(same_bytes(echo, data));
    EXPECT_EQ(platform.waits, waits) << "no sleep: the credit and the pool sufficed";
    EXPECT_EQ(platform.clock_reads, clock_reads) << "nor a look at the clock";
    EXPECT_EQ(platform.tcp.wakeups, 0u) << "the server never slept, so nobody was woken";
    EXPECT_EQ(lib.close(fd), 0);
    expect_no_leaks();
}

TEST_F(Tcp, ASleepingServerIsWokenOncePerBatch)
{
    uint64_t id;
    const int fd = connected(id);
    ASSERT_TRUE(tcp().rx.prepare_sleep()) << "the server announces sleep: its ring is empty";
    const std::string data = pattern(20'000);
    EXPECT_EQ(lib.send(fd, data.data(), data.size(), 0), 20'000);
    EXPECT_EQ(platform.tcp.wakeups, 1u) << "ten buffers, one batch, one wake-up";
    tcp().rx.end_sleep();
    EXPECT_EQ(lib.send(fd, "x", 1, 0), 1);
    EXPECT_EQ(platform.tcp.wakeups, 1u) << "awake: no more wake-ups";
    settle();
    EXPECT_TRUE(same_bytes(tcp().streams[id], data + "x"));
    EXPECT_EQ(lib.close(fd), 0);
    expect_no_leaks();
}

TEST_F(Tcp, BlockingSendWaitsForTheCreditAndNeverLendsMore)
{
    uint64_t id;
    const int fd = connected(id);
    const int credit = 8192;
    ASSERT_EQ(lib.setsockopt(fd, s::SOL_SOCKET, s::SO_SNDBUF, &credit, sizeof credit), 0);
    tcp().hold_sends = true;
    // The "peer" acknowledges whatever is outstanding each time we sleep.
    platform.on_wait = [&] { tcp().return_sends(); };
    const std::string data = pattern(100'000, 7);
    EXPECT_EQ(lib.send(fd, data.data(), data.size(), 0), static_cast<s::ssize_t>(data.size()));
    platform.on_wait = nullptr;
    tcp().return_sends();
    settle();
    EXPECT_TRUE(same_bytes(tcp().streams[id], data));
    EXPECT_LE(tcp().most_bytes_held, static_cast<uint64_t>(credit)) << "never more than SO_SNDBUF lent";
    EXPECT_EQ(tcp().most_bytes_held, static_cast<uint64_t>(credit)) << "and the credit was used";
    EXPECT_GT(platform.waits, 0u);
    EXPECT_EQ(lib.close(fd), 0);
    expect_no_leaks();
}

TEST_F(Tcp, NonBlockingSendGivesAPartialCountThenEagain)
{
    uint64_t id;
    const int fd = connected(id, true);
    const int credit = 5000;
    ASSERT_EQ(lib.setsockopt(fd, s::SOL_SOCKET, s::SO_SNDBUF, &credit, sizeof credit), 0);
    int value = 0;
    s::socklen_t length = sizeof value;
    ASSERT_EQ(lib.getsockopt(fd, s::SOL_SOCKET, s::SO_SNDBUF, &value, &length), 0);
    EXPECT_EQ(value, credit);
    tcp().hold_sends = true;
    const std::string data = pattern(12'000, 3);
    EXPECT_EQ(lib.send(fd, data.data(), data.size(), 0), 5000);
    EXPECT_EQ(lib.send(fd, data.data() + 5000, data.size() - 5000, 0), -1);
    EXPECT_EQ(lib.last_error(), EAGAIN);
    s::pollfd p { fd, s::POLLOUT, 0 };
    EXPECT_EQ(lib.poll(&p, 1, 0), 0) << "no credit: not writable";
    settle();
    EXPECT_EQ(tcp().held_bytes(), 5000u);

    tcp().return_sends();
    platform.run();
    EXPECT_EQ(lib.poll(&p, 1, 0), 1);
    EXPECT_EQ(p.revents, s::POLLOUT);
    EXPECT_EQ(lib.send(fd, data.data() + 5000, data.size() - 5000, s::MSG_DONTWAIT), 5000);
    settle();
    tcp().return_sends();
    settle();
    EXPECT_EQ(lib.send(fd, data.data() + 10000, data.size() - 10000, 0), 2000);
    tcp().return_sends();
    settle();
    EXPECT_TRUE(same_bytes(tcp().streams[id], data));
    EXPECT_EQ(lib.close(fd), 0);
    expect_no_leaks();
}

// All sockets of a server share the pool: when it is lent out, a socket
// with credit left still waits.
class TcpSmallPool : public SocketTest {
protected:
    static Config config()
    {
        Config c = small_config();
        c.pool_buffers = 8;
        return c;
    }
    TcpSmallPool()
        : SocketTest(config())
    {
    }
};

TEST_F(TcpSmallPool, AnExhaustedPoolBlocksEverySocket)
{
    uint64_t a_id, b_id;
    const int a = connected(a_id, true);
    const int b = connected(b_id, true);
    tcp().hold_sends = true;
    const std::string data = pattern(8 * 2048 + 100, 9);
    EXPECT_EQ(lib.send(a, data.data(), data.size(), 0), 8 * 2048) << "the whole pool";
    EXPECT_EQ(lib.send(b, "x", 1, 0), -1);
    EXPECT_EQ(lib.last_error(), EAGAIN) << "credit left, but no buffer";
    s::pollfd p { b, s::POLLOUT, 0 };
    EXPECT_EQ(lib.poll(&p, 1, 0), 0);
    settle();
    tcp().return_sends();
    settle();
    EXPECT_EQ(lib.send(b, "x", 1, 0), 1);
    tcp().return_sends();
    settle();
    EXPECT_TRUE(same_bytes(tcp().streams[a_id], data.substr(0, 8 * 2048)));
    EXPECT_TRUE(same_bytes(tcp().streams[b_id], "x"));
    EXPECT_EQ(lib.close(a), 0);
    EXPECT_EQ(lib.close(b), 0);
    expect_no_leaks();
}

TEST_F(Tcp, ReceiveCopiesOutAndGivesEachBufferBackOnceUsedUp)
{
    uint64_t id;
    const int fd = connected(id);
    const std::string data = pattern(3000, 5); // six 512-byte buffers of the server's
    tcp().data(id, data);
    settle();
    EXPECT_EQ(lib.peer_buffers_held(Protocol::tcp), 6u);

    std::string got(3000, '\0');
    EXPECT_EQ(lib.recv(fd, got.data(), 100, s::MSG_PEEK), 100);
    EXPECT_TRUE(same_bytes(got.substr(0, 100), data.substr(0, 100)));
    EXPECT_EQ(lib.recv(fd, got.data(), 1000, s::MSG_PEEK), 1000) << "a peek spans buffers";
    EXPECT_TRUE(same_bytes(got.substr(0, 1000), data.substr(0, 1000)));
    settle();
    EXPECT_EQ(tcp().received_messages, 0u) << "peeking consumes nothing";

    EXPECT_EQ(lib.recv(fd, got.data(), 700, 0), 700);
    settle();
    EXPECT_EQ(tcp().received_messages, 1u) << "one buffer used up, one half read";
    EXPECT_EQ(tcp().consumed[id], 512u);
    EXPECT_EQ(lib.recv(fd, got.data() + 700, 3000, 0), 2300);
    EXPECT_TRUE(same_bytes(got, data));
    settle();
    EXPECT_EQ(tcp().consumed[id], 3000u) << "every byte reported consumed";
    EXPECT_EQ(lib.peer_buffers_held(Protocol::tcp), 0u);

    EXPECT_EQ(lib.recv(fd, got.data(), 0, 0), 0);
    EXPECT_EQ(lib.close(fd), 0);
    expect_no_leaks();
}

TEST_F(Tcp, ReceiveBlocksNonBlockingSaysEagainAndWaitAllCollects)
{
    uint64_t id;
    const int fd = connected(id);
    char buffer[64];
    EXPECT_EQ(lib.recv(fd, buffer, sizeof buffer, s::MSG_DONTWAIT), -1);
    EXPECT_EQ(lib.last_error(), EAGAIN);

    int waits = 0;
    platform.on_wait = [&] {
        if (++waits == 2)
            tcp().data(id, "abc");
        if (waits == 4)
            tcp().data(id, "defgh");
    };
    EXPECT_EQ(lib.recv(fd, buffer, sizeof buffer, 0), 3) << "returns what is there";
    EXPECT_EQ(std::string(buffer, 3), "abc");
    EXPECT_EQ(lib.recv(fd, buffer, 5, s::MSG_WAITALL), 5);
    EXPECT_EQ(std::string(buffer, 5), "defgh");
    platform.on_wait = nullptr;

    // SO_RCVTIMEO: a blocking recv gives up with EAGAIN.
    const s::timeval timeout { 0, 200'000 };
    ASSERT_EQ(lib.setsockopt(fd, s::SOL_SOCKET, s::SO_RCVTIMEO, &timeout, sizeof timeout), 0);
    s::timeval read {};
    s::socklen_t length = sizeof read;
    ASSERT_EQ(lib.getsockopt(fd, s::SOL_SOCKET, s::SO_RCVTIMEO, &read, &length), 0);
    EXPECT_EQ(read.tv_usec, 200'000);
    const uint64_t before = platform.now;
    EXPECT_EQ(lib.recv(fd, buffer, sizeof buffer, 0), -1);
    EXPECT_EQ(lib.last_error(), EAGAIN);
    EXPECT_EQ(platform.now - before, 200'000'000u);
    EXPECT_EQ(lib.close(fd), 0);
    expect_no_leaks();
}

TEST_F(Tcp, EndOfStreamAfterTheData)
{
    uint64_t id;
    const int fd = connected(id);
    tcp().data(id, "last words");
    tcp().end(id);
    settle();
    s::pollfd p { fd, s::POLLIN, 0 };
    EXPECT_EQ(lib.poll(&p, 1, 0), 1);
    EXPECT_EQ(p.revents, s::POLLIN);
    char buffer[64];
    EXPECT_EQ(lib.recv(fd, buffer, sizeof buffer, 0), 10);
    EXPECT_EQ(lib.recv(fd, buffer, sizeof buffer, 0), 0) << "the end";
    EXPECT_EQ(lib.recv(fd, buffer, sizeof buffer, 0), 0) << "and again";
    EXPECT_EQ(lib.send(fd, "still", 5, 0), 5) << "our direction is still open";
    EXPECT_EQ(lib.shutdown(fd, s::SHUT_WR), 0);
    EXPECT_EQ(lib.poll(&p, 1, 0), 1);
    EXPECT_EQ(p.revents, s::POLLIN | s::POLLHUP) << "both directions done";
    EXPECT_EQ(lib.close(fd), 0);
    expect_no_leaks();
}

TEST_F(Tcp, AResetFailsTheConnectionOnceThenReadsEndAndWritesBreak)
{
    uint64_t id;
    const int fd = connected(id);
    tcp().data(id, "before");
    tcp().error(id, ECONNRESET);
    settle();
    s::pollfd p { fd, s::POLLIN | s::POLLOUT, 0 };
    EXPECT_EQ(lib.poll(&p, 1, 0), 1);
    EXPECT_EQ(p.revents, s::POLLIN | s::POLLOUT | s::POLLERR | s::POLLHUP);
    char buffer[64];
    EXPECT_EQ(lib.recv(fd, buffer, sizeof buffer, 0), 6) << "what came before the reset";
    EXPECT_EQ(lib.recv(fd, buffer, sizeof buffer, 0), -1);
    EXPECT_EQ(lib.last_error(), ECONNRESET);
    EXPECT_EQ(lib.recv(fd, buffer, sizeof buffer, 0), 0);
    EXPECT_EQ(lib.send(fd, "x", 1, 0), -1);
    EXPECT_EQ(lib.last_error(), EPIPE) << "the reset was reported already";
    EXPECT_EQ(lib.shutdown(fd, s::SHUT_RDWR), -1);
    EXPECT_EQ(lib.last_error(), ENOTCONN);
    EXPECT_EQ(lib.close(fd), 0);
    expect_no_leaks();
}

TEST_F(Tcp, ShutdownReadingDropsTheQueueShutdownWritingBreaksSend)
{
    uint64_t id;
    const int fd = connected(id);
    tcp().data(id, pattern(1200));
    settle();
    EXPECT_EQ(lib.shutdown(fd, 7), -1);
    EXPECT_EQ(lib.last_error(), EINVAL);
    ASSERT_EQ(lib.shutdown(fd, s::SHUT_RD), 0);
    settle();
    EXPECT_EQ(tcp().consumed[id], 1200u) << "dropped bytes count as read, so the window opens";
    EXPECT_EQ(lib.peer_buffers_held(Protocol::tcp), 0u);
    tcp().data(id, "more");
    settle();
    EXPECT_EQ(lib.peer_buffers_held(Protocol::tcp), 0u) << "given back as it comes";
    char buffer[8];
    EXPECT_EQ(lib.recv(fd, buffer, sizeof buffer, 0), 0);

    ASSERT_EQ(lib.shutdown(fd, s::SHUT_WR), 0);
    settle();
    EXPECT_EQ(tcp().shutdowns[id], (std::vector<uint64_t> { 0, 1 }));
    EXPECT_EQ(lib.send(fd, "x", 1, 0), -1);
    EXPECT_EQ(lib.last_error(), EPIPE);
    const int fresh = tcp_socket();
    EXPECT_EQ(lib.shutdown(fresh, s::SHUT_WR), -1);
    EXPECT_EQ(lib.last_error(), ENOTCONN);
    EXPECT_EQ(lib.close(fd), 0);
    EXPECT_EQ(lib.close(fresh), 0);
    expect_no_leaks();
}

TEST_F(Tcp, CloseFreesTheFdAtOnceAndEveryBufferComesBackLater)
{
    uint64_t id;
    const int fd = connected(id);
    tcp().hold_sends = true;
    tcp().sent_after_closed = true;
    tcp().defer_closed = true;
    const std::string data = pattern(10'000);
    EXPECT_EQ(lib.send(fd, data.data(), data.size(), 0), 10'000);
    tcp().data(id, pattern(700)); // unread at close
    settle();
    EXPECT_EQ(lib.close(fd), 0);
    char byte;
    EXPECT_EQ(lib.recv(fd, &byte, 1, 0), -1);
    EXPECT_EQ(lib.last_error(), EBADF) << "the fd is gone at once";
    settle();
    EXPECT_EQ(lib.peer_buffers_held(Protocol::tcp), 0u) << "unread buffers went back with the close";
    EXPECT_EQ(lib.socket_records(), 1u) << "the record waits for `closed`";
    tcp().data(id, "after close"); // data racing the close
    settle();
    EXPECT_EQ(lib.peer_buffers_held(Protocol::tcp), 0u);
    EXPECT_EQ(lib.own_buffers_lent(Protocol::tcp), 5u);
    tcp().answer_closes(); // `closed`, then the held buffers come back (sent_after_closed)
    expect_no_leaks();
    EXPECT_TRUE(same_bytes(tcp().streams[id], data)) << "bytes sent before close() still go";
}

TEST_F(Tcp, AnIdIsReusedOnlyAfterClosed)
{
    const int first = tcp_socket();
    const int one = 1;
    ASSERT_EQ(lib.setsockopt(first, s::SOL_SOCKET, s::SO_REUSEADDR, &one, sizeof one), 0);
    settle();
    const uint64_t first_id = last_id(tcp());
    tcp().defer_closed = true;
    ASSERT_EQ(lib.close(first), 0);
    settle();

    // Every other id of ours is still free: 511 sockets, none with first_id.
    std::vector<int> fds;
    for (uint32_t i = 0; i + 1 < proto::accepted_base; ++i) {
        const int fd = tcp_socket();
        ASSERT_GE(fd, 0) << i;
        ASSERT_EQ(lib.setsockopt(fd, s::SOL_SOCKET, s::SO_REUSEADDR, &one, sizeof one), 0);
        fds.push_back(fd);
    }
    settle();
    std::set<uint64_t> ids;
    for (const Message& m : tcp().log)
        if (m.type == proto::set_option)
            ids.insert(m.words[0]);
    EXPECT_EQ(ids.size(), proto::accepted_base);
    EXPECT_EQ(std::count_if(tcp().log.begin(), tcp().log.end(),
                  [&](const Message& m) { return m.type == proto::set_option && m.words[0] == first_id; }),
        1)
        << "first_id was not handed out again";
    EXPECT_EQ(tcp_socket(), -1);
    EXPECT_EQ(lib.last_error(), EMFILE) << "no id left";

    tcp().answer_closes();
    settle();
    const int again = tcp_socket();
    ASSERT_GE(again, 0) << "free again after `closed`";
    fds.push_back(again);
    tcp().defer_closed = false;
    for (int fd : fds)
        EXPECT_EQ(lib.close(fd), 0);
    expect_no_leaks();
}

TEST_F(Tcp, OptionsGoToTheServerAndReadBack)
{
    const int fd = tcp_socket();
    const int one = 1;
    const int rcvbuf = 32768;
    ASSERT_EQ(lib.setsockopt(fd, s::SOL_SOCKET, s::SO_REUSEADDR, &one, sizeof one), 0);
    ASSERT_EQ(lib.setsockopt(fd, s::SOL_SOCKET, s::SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
    ASSERT_EQ(lib.setsockopt(fd, s::IPPROTO_TCP, s::TCP_NODELAY, &one, sizeof one), 0);
    settle();
    const uint64_t id = last_id(tcp());
    EXPECT_EQ(tcp().options[id][proto::option::reuse_address], 1u);
    EXPECT_EQ(tcp().options[id][proto::option::receive_buffer], 32768u);
    EXPECT_EQ(tcp().options[id][proto::option::no_delay], 1u);

    int value = 0;
    s::socklen_t length = sizeof value;
    ASSERT_EQ(lib.getsockopt(fd, s::SOL_SOCKET, s::SO_REUSEADDR, &value, &length), 0);
    EXPECT_EQ(value, 1);
    ASSERT_EQ(lib.getsockopt(fd, s::SOL_SOCKET, s::SO_RCVBUF, &value, &length), 0);
    EXPECT_EQ(value, 32768);
    ASSERT_EQ(lib.getsockopt(fd, s::IPPROTO_TCP, s::TCP_NODELAY, &value, &length), 0);
    EXPECT_EQ(value, 1);
    ASSERT_EQ(lib.getsockopt(fd, s::SOL_SOCKET, s::SO_TYPE, &value, &length), 0);
    EXPECT_EQ(value, s::SOCK_STREAM);
    ASSERT_EQ(lib.getsockopt(fd, s::SOL_SOCKET, s::SO_SNDBUF, &value, &length), 0);
    EXPECT_EQ(value, 64 * 1024) << "the configured default";

    EXPECT_EQ(lib.setsockopt(fd, s::SOL_SOCKET, 999, &one, sizeof one), -1);
    EXPECT_EQ(lib.last_error(), ENOPROTOOPT);
    EXPECT_EQ(lib.setsockopt(fd, s::SOL_SOCKET, s::SO_REUSEADDR, &one, 2), -1);
    EXPECT_EQ(lib.last_error(), EINVAL);
    EXPECT_EQ(lib.setsockopt(fd, s::SOL_SOCKET, s::SO_ERROR, &one, sizeof one), -1);
    EXPECT_EQ(lib.last_error(), ENOPROTOOPT);
    length = 1;
    EXPECT_EQ(lib.getsockopt(fd, s::SOL_SOCKET, s::SO_TYPE, &value, &length), -1);
    EXPECT_EQ(lib.last_error(), EINVAL);
    EXPECT_EQ(lib.fcntl(fd, 99), -1);
    EXPECT_EQ(lib.last_error(), EINVAL);

    settle();
    EXPECT_EQ(lib.counters(Protocol::tcp).malformed, 0u) << "every result was expected";
    EXPECT_EQ(lib.close(fd), 0);
    expect_no_leaks();
}

TEST_F(Tcp, PollWaitsForAnyOfSeveralSockets)
{
    uint64_t a_id, b_id;
    const int a = connected(a_id);
    const int b = connected(b_id);
    s::pollfd fds[3] = { { a, s::POLLIN, 0 }, { -1, s::POLLIN, 0 }, { b, s::POLLIN, 0 } };
    int waits = 0;
    platform.on_wait = [&] {
        if (++waits == 3)
            tcp().data(b_id, "for b");
    };
    EXPECT_EQ(lib.poll(fds, 3, -1), 1);
    platform.on_wait = nullptr;
    EXPECT_EQ(fds[0].revents, 0);
    EXPECT_EQ(fds[1].revents, 0) << "a negative fd is skipped";
    EXPECT_EQ(fds[2].revents, s::POLLIN);

    s::pollfd bad { 999, s::POLLIN, 0 };
    EXPECT_EQ(lib.poll(&bad, 1, 0), 1);
    EXPECT_EQ(bad.revents, s::POLLNVAL);
    char buffer[8];
    EXPECT_EQ(lib.recv(b, buffer, sizeof buffer, 0), 5);
    EXPECT_EQ(lib.close(a), 0);
    EXPECT_EQ(lib.close(b), 0);
    expect_no_leaks();
}

} // namespace
