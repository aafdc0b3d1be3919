// apps/inetd's services (inetd.cpp) on Linux's sockets (apps/netio's POSIX
// binding), on 127.0.0.1 with free ports: the same code Tern runs on
// lib/socket, checked here with real TCP and UDP traffic.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "base/xorshift.hpp"
#include "inetd.hpp"

namespace {

constexpr uint32_t loopback = 0x7F000001;

uint16_t free_port(int type)
{
    const int fd = ::socket(AF_INET, type, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(loopback);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    socklen_t size = sizeof(address);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
    ::close(fd);
    return ntohs(address.sin_port);
}

sockaddr_in loopback_address(uint16_t port)
{
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(loopback);
    address.sin_port = htons(port);
    return address;
}

int connect_tcp(uint16_t port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    const sockaddr_in address = loopback_address(port);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
        ::close(fd);
        return -1;
    }
    timeval timeout{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    return fd;
}

std::vector<uint8_t> random_bytes(uint64_t seed, size_t length)
{
    std::vector<uint8_t> bytes(length);
    tern::XorshiftStream(seed).fill(bytes.data(), length);
    return bytes;
}

// Reads until the peer closes (or 10 s pass); the bytes, or what came before an error.
std::vector<uint8_t> read_to_end(int fd)
{
    std::vector<uint8_t> data;
    uint8_t buffer[65536];
    for (;;) {
        const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
        if (n <= 0)
            return data;
        data.insert(data.end(), buffer, buffer + n);
    }
}

// inetd in a thread of its own, on free ports.
class InetdTest : public ::testing::Test {
protected:
    void start(size_t max_connections = 256, size_t echo_buffer = 64 * 1024)
    {
        for (size_t k = 0; k < inetd::service_count; ++k) {
            config.tcp_port[k] = free_port(SOCK_STREAM);
            config.udp_port[k] = free_port(SOCK_DGRAM);
        }
        config.address = loopback;
        config.max_connections = max_connections;
        config.echo_buffer = echo_buffer;
        server = std::make_unique<inetd::Inetd>(config);
        const char* what = nullptr;
        ASSERT_EQ(server->start(&what), 0) << what;
        resume();
    }
    void resume()
    {
        stop = false;
        thread = std::thread([this] {
            while (!stop)
                ASSERT_EQ(server->step(20), 0);
        });
    }
    // Stops the thread, so the test may look at the server's state.
    void pause()
    {
        stop = true;
        if (thread.joinable())
            thread.join();
    }
    void TearDown() override { pause(); }

    uint16_t tcp(inetd::Service s) const { return config.tcp_port[static_cast<size_t>(s)]; }
    uint16_t udp(inetd::Service s) const { return config.udp_port[static_cast<size_t>(s)]; }

    // Sends `data` on `connections` echo connections at once and checks that
    // each gets exactly its bytes back and then the server's close.
    void concurrent_echo(size_t connections, size_t bytes)
    {
        struct Client {
            int fd;
            std::vector<uint8_t> data;
            size_t sent = 0, received = 0;
            bool shut = false, ended = false;
        };
        std::vector<Client> clients(connections);
        for (size_t i = 0; i < connections; ++i) {
            clients[i].fd = connect_tcp(tcp(inetd::Service::echo));
            ASSERT_GE(clients[i].fd, 0) << i;
            ::fcntl(clients[i].fd, F_SETFL, O_NONBLOCK);
            clients[i].data = random_bytes(i + 1, bytes);
        }
        std::vector<uint8_t> buffer(65536);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        size_t ended = 0;
        while (ended < connections) {
            ASSERT_LT(std::chrono::steady_clock::now(), deadline) << ended << " of " << connections << " done";
            std::vector<pollfd> fds;
            std::vector<size_t> owner;
            for (size_t i = 0; i < connections; ++i) {
                if (clients[i].ended)
                    continue;
                fds.push_back({clients[i].fd, static_cast<short>(POLLIN | (clients[i].shut ? 0 : POLLOUT)), 0});
                owner.push_back(i);
            }
            ASSERT_GE(::poll(fds.data(), fds.size(), 1000), 0);
            for (size_t e = 0; e < fds.size(); ++e) {
                Client& c = clients[owner[e]];
                if ((fds[e].revents & POLLOUT) && !c.shut) {
                    const ssize_t n = ::send(c.fd, c.data.data() + c.sent,
                                             std::min<size_t>(c.data.size() - c.sent, 16384), MSG_NOSIGNAL);
                    if (n > 0)
                        c.sent += static_cast<size_t>(n);
                    if (c.sent == c.data.size()) {
                        ::shutdown(c.fd, SHUT_WR);
                        c.shut = true;
                    }
                }
                if (fds[e].revents & (POLLIN | POLLHUP | POLLERR)) {
                    const ssize_t n = ::recv(c.fd, buffer.data(), buffer.size(), 0);
                    if (n > 0) {
                        ASSERT_LE(c.received + static_cast<size_t>(n), c.sent) << "more came back than was sent";
                        ASSERT_EQ(std::memcmp(buffer.data(), c.data.data() + c.received, static_cast<size_t>(n)), 0)
                            << "connection " << owner[e] << " at byte " << c.received;
                        c.received += static_cast<size_t>(n);
                    } else if (n == 0 || errno != EAGAIN) {
                        ASSERT_EQ(n, 0) << strerror(errno);
                        ASSERT_TRUE(c.shut) << "the server closed before we finished";
                        ASSERT_EQ(c.received, c.data.size()) << "connection " << owner[e];
                        c.ended = true;
                        ::close(c.fd);
                        ++ended;
                    }
                }
            }
        }
    }

    inetd::Config config;
    std::unique_ptr<inetd::Inetd> server;
    std::thread thread;
    std::atomic<bool> stop{false};
};

TEST(Chargen, PatternIsRfc864Lines)
{
    std::string first, second;
    for (uint64_t i = 0; i < 74; ++i)
        first += inetd::chargen_byte(i);
    for (uint64_t i = 74; i < 148; ++i)
        second += inetd::chargen_byte(i);
    EXPECT_EQ(first, " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg\r\n");
    EXPECT_EQ(second, "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefgh\r\n");
    // 95 lines, then it repeats.
    for (uint64_t i = 0; i < 74; ++i)
        EXPECT_EQ(inetd::chargen_byte(i), inetd::chargen_byte(i + inetd::chargen_cycle));
}

TEST_F(InetdTest, EchoSixtyFourConnectionsOfAMebibyteEach)
{
    start();
    concurrent_echo(64, 1 << 20);
    pause();
    EXPECT_EQ(server->connections(), 0u) << "every connection closed after its peer";
    EXPECT_EQ(server->counters().accepted, 64u);
    EXPECT_EQ(server->counters().closed, 64u);
    EXPECT_EQ(server->counters().reset, 0u);
    EXPECT_EQ(server->counters().tcp_bytes_in, 64u << 20);
    EXPECT_EQ(server->counters().tcp_bytes_out, 64u << 20);
}

TEST_F(InetdTest, EchoThroughASmallBufferWrapsAndKeepsOrder)
{
    start(256, 1000); // an odd size: the ring wraps in the middle of pieces
    concurrent_echo(16, 300000);
}

TEST_F(InetdTest, EchoStopsReadingWhileItCannotWrite)
{
    start(256, 4096);
    const int fd = connect_tcp(tcp(inetd::Service::echo));
    ASSERT_GE(fd, 0);
    ::fcntl(fd, F_SETFL, O_NONBLOCK);
    // Send without reading until nothing more is taken for a while.
    const std::vector<uint8_t> data = random_bytes(9, 64 << 20);
    size_t sent = 0;
    auto quiet_since = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - quiet_since < std::chrono::milliseconds(300) && sent < data.size()) {
        const ssize_t n = ::send(fd, data.data() + sent, std::min<size_t>(65536, data.size() - sent), MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<size_t>(n);
            quiet_since = std::chrono::steady_clock::now();
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }
    ASSERT_LT(sent, data.size()) << "the echo must push back, not swallow 64 MiB";
    pause();
    const auto& counters = server->counters();
    EXPECT_LE(counters.tcp_bytes_in - counters.tcp_bytes_out, 4096u) << "inetd buffers at most its ring";
    EXPECT_EQ(server->connections(), 1u);
    resume();
    // Now read it all back: every byte, in order.
    ::fcntl(fd, F_SETFL, 0);
    ::shutdown(fd, SHUT_WR);
    timeval timeout{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    const std::vector<uint8_t> back = read_to_end(fd);
    ::close(fd);
    ASSERT_EQ(back.size(), sent);
    EXPECT_TRUE(std::equal(back.begin(), back.end(), data.begin()));
}

TEST_F(InetdTest, AFullTableLeavesConnectionsInTheBacklogUntilOneCloses)
{
    start(2);
    int fds[3];
    for (int& fd : fds)
        ASSERT_GE(fd = connect_tcp(tcp(inetd::Service::echo)), 0); // the third waits in the backlog
    for (int i = 0; i < 3; ++i)
        ASSERT_EQ(::send(fds[i], "x", 1, 0), 1);
    char c;
    ASSERT_EQ(::recv(fds[0], &c, 1, 0), 1);
    ASSERT_EQ(::recv(fds[1], &c, 1, 0), 1);
    pollfd waiting{fds[2], POLLIN, 0};
    EXPECT_EQ(::poll(&waiting, 1, 300), 0) << "the third connection must not be served yet";
    ::shutdown(fds[0], SHUT_WR);
    EXPECT_EQ(::recv(fds[0], &c, 1, 0), 0) << "closed after the peer finished";
    EXPECT_EQ(::recv(fds[2], &c, 1, 0), 1) << "served once a slot was free";
    for (int fd : fds)
        ::close(fd);
}

TEST_F(InetdTest, APeerThatResetsEndsOnlyItsConnection)
{
    start();
    const int reset = connect_tcp(tcp(inetd::Service::echo));
    const int good = connect_tcp(tcp(inetd::Service::echo));
    ASSERT_GE(reset, 0);
    ASSERT_GE(good, 0);
    const std::vector<uint8_t> data = random_bytes(3, 1 << 20);
    size_t sent = 0;
    ::fcntl(reset, F_SETFL, O_NONBLOCK);
    for (int i = 0; i < 50; ++i) {
        const ssize_t n = ::send(reset, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n > 0)
            sent += static_cast<size_t>(n);
    }
    linger hard{1, 0};
    ::setsockopt(reset, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
    ::close(reset); // RST
    ASSERT_EQ(::send(good, "hello\n", 6, 0), 6);
    ::shutdown(good, SHUT_WR);
    const std::vector<uint8_t> back = read_to_end(good);
    EXPECT_EQ(std::string(back.begin(), back.end()), "hello\n");
    ::close(good);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    pause();
    while (server->connections() != 0 && std::chrono::steady_clock::now() < deadline) {
        resume();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        pause();
    }
    EXPECT_EQ(server->connections(), 0u);
    EXPECT_EQ(server->counters().reset, 1u);
}

TEST_F(InetdTest, DiscardReadsEverythingAndClosesAfterThePeer)
{
    start();
    const int fd = connect_tcp(tcp(inetd::Service::discard));
    ASSERT_GE(fd, 0);
    const std::vector<uint8_t> data = random_bytes(5, 3 << 20);
    size_t sent = 0;
    while (sent < data.size()) {
        const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, 0);
        ASSERT_GT(n, 0);
        sent += static_cast<size_t>(n);
    }
    ::shutdown(fd, SHUT_WR);
    EXPECT_TRUE(read_to_end(fd).empty()) << "discard answers nothing";
    ::close(fd);
    pause();
    EXPECT_EQ(server->counters().tcp_bytes_in, 3u << 20);
    EXPECT_EQ(server->counters().closed, 1u);
}

TEST_F(InetdTest, ChargenSendsThePatternUntilThePeerCloses)
{
    start();
    const int fd = connect_tcp(tcp(inetd::Service::chargen));
    ASSERT_GE(fd, 0);
    std::vector<uint8_t> got;
    uint8_t buffer[65536];
    while (got.size() < 200000) {
        const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
        ASSERT_GT(n, 0);
        got.insert(got.end(), buffer, buffer + n);
    }
    for (size_t i = 0; i < got.size(); ++i)
        ASSERT_EQ(static_cast<char>(got[i]), inetd::chargen_byte(i)) << "byte " << i;
    ::close(fd);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    pause();
    while (server->connections() != 0 && std::chrono::steady_clock::now() < deadline) {
        resume();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        pause();
    }
    EXPECT_EQ(server->connections(), 0u);
}

TEST_F(InetdTest, UdpEchoDiscardAndChargen)
{
    start();
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    timeval timeout{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    const sockaddr_in echo = loopback_address(udp(inetd::Service::echo));
    std::vector<uint8_t> reply(70000);
    for (size_t size : {size_t{1}, size_t{2}, size_t{1472}, size_t{1473}, size_t{8192}, size_t{65507}}) {
        const std::vector<uint8_t> data = random_bytes(size, size);
        ASSERT_EQ(::sendto(fd, data.data(), size, 0, reinterpret_cast<const sockaddr*>(&echo), sizeof(echo)),
                  static_cast<ssize_t>(size));
        const ssize_t n = ::recv(fd, reply.data(), reply.size(), 0);
        ASSERT_EQ(n, static_cast<ssize_t>(size));
        EXPECT_TRUE(std::equal(data.begin(), data.end(), reply.begin())) << size;
    }
    // Discard: no answer; chargen: up to 512 pattern characters.
    const sockaddr_in discard = loopback_address(udp(inetd::Service::discard));
    ASSERT_EQ(::sendto(fd, "x", 1, 0, reinterpret_cast<const sockaddr*>(&discard), sizeof(discard)), 1);
    const sockaddr_in chargen = loopback_address(udp(inetd::Service::chargen));
    for (int i = 0; i < 5; ++i) {
        ASSERT_EQ(::sendto(fd, "x", 1, 0, reinterpret_cast<const sockaddr*>(&chargen), sizeof(chargen)), 1);
        const ssize_t n = ::recv(fd, reply.data(), reply.size(), 0);
        ASSERT_GE(n, 0);
        ASSERT_LE(n, 512);
        for (ssize_t j = 0; j < n; ++j)
            ASSERT_EQ(static_cast<char>(reply[static_cast<size_t>(j)]), inetd::chargen_byte(static_cast<uint64_t>(j)));
    }
    ::close(fd);
    pause();
    EXPECT_EQ(server->counters().datagrams_in, 6u + 1 + 5);
    EXPECT_EQ(server->counters().datagrams_out, 6u + 5);
}

TEST_F(InetdTest, StartReportsAPortInUse)
{
    start();
    inetd::Inetd second(config);
    const char* what = nullptr;
    EXPECT_EQ(second.start(&what), -netio::err::address_in_use);
    ASSERT_NE(what, nullptr);
    EXPECT_STREQ(what, "tcp echo");
}

} // namespace
