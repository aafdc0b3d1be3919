// apps/httpd: request parsing and responses (http.cpp), the status page from
// a fake system (status_page.cpp), and the event loop (server.cpp) on
// Linux's sockets with slow, partial, oversized and malformed clients.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "http.hpp"
#include "proto/ip.hpp"
#include "proto/rs.hpp"
#include "proto/socket.hpp"
#include "server.hpp"

namespace {

namespace sys = tern::sys;
namespace control = tern::transport_control;
using httpd::Parse;

Parse parse(const std::string& text, httpd::Request& request)
{
    return httpd::parse_request(text.data(), text.size(), request);
}

Parse parse(const std::string& text)
{
    httpd::Request request;
    return parse(text, request);
}

void put_name(sys::Message& m, const char* name) { std::strncpy(reinterpret_cast<char*>(&m.words[2]), name, 24); }

// What rs, ip, tcp and udp would answer.
class FakeStatus final : public httpd::StatusSource {
public:
    static constexpr sys::Endpoint ip = 0x10002, tcp = 0x10003, udp = 0x10004;
    bool tcp_running = true, udp_running = true;
    std::vector<sys::Message> tcp_counters, tcp_sockets, udp_counters, udp_sockets;
    std::vector<sys::Message> rs_slots;
    std::map<uint64_t, sys::ProcessInfo> processes;

    FakeStatus()
    {
        tcp_counters = {counter("segments_in", 1234), counter("bad_checksum", 3, true), counter("bad_options", 2, true)};
        udp_counters = {counter("datagrams_in", 77)};
        sys::Message s{};
        s.words[1] = tern::socket_proto::endpoint_word(0x0A00020F, 7);
        s.words[2] = tern::socket_proto::endpoint_word(0x0A000202, 40000);
        s.words[3] = static_cast<uint64_t>(control::TcpState::established) | uint64_t{0x20009} << 32;
        s.words[4] = 10 | uint64_t{20} << 32;
        s.words[5] = 100 | uint64_t{90} << 32;
        tcp_sockets = {s};
        sys::Message u{};
        u.words[1] = tern::socket_proto::endpoint_word(0, 7);
        udp_sockets = {u};
        rs_slots = {status(0x10002, 0), status(0x20005, 3), status(0, 0)};
        process(0x10002, "ip");
        process(0x20005, "e1000");
        process(0x20009, "inetd");
    }
    static sys::Message counter(const char* name, uint64_t value, bool error = false)
    {
        sys::Message m{};
        m.words[1] = value;
        put_name(m, name);
        m.words[5] = error;
        return m;
    }
    static sys::Message status(uint64_t endpoint, uint64_t restarts)
    {
        sys::Message m{};
        m.words[1] = endpoint;
        m.words[2] = restarts;
        m.words[3] = restarts != 0 ? 51234 : 0;
        return m;
    }
    void process(uint64_t endpoint, const char* name)
    {
        sys::ProcessInfo info{};
        info.endpoint = endpoint;
        std::strncpy(info.name, name, sizeof(info.name) - 1);
        processes[sys::endpoint::slot(endpoint)] = info;
    }

    uint64_t uptime_ns() override { return 3723456000000; }
    int64_t lookup(const char* name) override
    {
        const std::string n = name;
        if (n == "ip")
            return ip;
        if (n == "tcp" && tcp_running)
            return tcp;
        if (n == "udp" && udp_running)
            return udp;
        return sys::error_code(sys::Error::not_found);
    }
    int64_t call(sys::Endpoint endpoint, sys::Message& m) override
    {
        const uint64_t index = m.words[0];
        auto answer = [&](const std::vector<sys::Message>& table) -> int64_t {
            if (index >= table.size())
                return sys::error_code(sys::Error::not_found);
            m = table[index];
            return 0;
        };
        if (endpoint == ip && m.type == tern::ip_proto::interface_traffic) {
            if (index != 0)
                return sys::error_code(sys::Error::not_found);
            m.words[1] = 10, m.words[2] = 1000, m.words[3] = 4, m.words[4] = 400, m.words[5] = 2;
            return 0;
        }
        if (endpoint == ip && m.type == tern::ip_proto::interface_drop) {
            if (m.words[1] >= 2)
                return sys::error_code(sys::Error::not_found);
            m = counter(m.words[1] == 0 ? "runt" : "ip_bad_checksum", m.words[1] == 0 ? 0 : 2, true);
            return 0;
        }
        if (endpoint == tcp)
            return answer(m.type == control::counter ? tcp_counters : tcp_sockets);
        if (endpoint == udp)
            return answer(m.type == control::counter ? udp_counters : udp_sockets);
        return sys::error_code(sys::Error::dead_endpoint);
    }
    int64_t rs_status(uint64_t slot, sys::Message& m) override
    {
        if (slot >= rs_slots.size())
            return sys::error_code(sys::Error::not_found);
        m = rs_slots[slot];
        return 0;
    }
    int64_t proc_info(uint64_t slot, sys::ProcessInfo& info) override
    {
        auto it = processes.find(slot);
        if (it == processes.end())
            return sys::error_code(sys::Error::not_found);
        info = it->second;
        return 0;
    }
};

std::string text_of(const httpd::Output& out) { return std::string(out.data(), out.size()); }

// --- parsing --------------------------------------------------------------------------

TEST(HttpParse, CompleteRequests)
{
    httpd::Request r;
    const std::string get = "GET /status.txt?x=1 HTTP/1.1\r\nHost: 10.0.2.15\r\nUser-Agent: t\r\n\r\nbody";
    ASSERT_EQ(parse(get, r), Parse::complete);
    EXPECT_EQ(r.method, httpd::Method::get);
    EXPECT_STREQ(r.path, "/status.txt");
    EXPECT_TRUE(r.http11);
    EXPECT_TRUE(r.has_host);
    EXPECT_EQ(r.head_length, get.size() - 4);

    ASSERT_EQ(parse("\r\n\nHEAD / HTTP/1.0\n\n", r), Parse::complete) << "bare LF and leading empty lines";
    EXPECT_EQ(r.method, httpd::Method::head);
    EXPECT_FALSE(r.http11);
    EXPECT_FALSE(r.has_host);

    ASSERT_EQ(parse("GET http://tern/index.html HTTP/1.1\r\nhOsT: x\r\n\r\n", r), Parse::complete);
    EXPECT_STREQ(r.path, "/index.html");
    EXPECT_TRUE(r.has_host) << "header names are case-insensitive";
    ASSERT_EQ(parse("GET http://tern HTTP/1.0\r\n\r\n", r), Parse::complete);
    EXPECT_STREQ(r.path, "/");
    ASSERT_EQ(parse("POST /x HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", r), Parse::complete);
    EXPECT_EQ(r.method, httpd::Method::other);
}

TEST(HttpParse, EveryPrefixOfAGoodRequestIsIncomplete)
{
    const std::string get = "GET /status.txt HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n";
    for (size_t n = 0; n < get.size(); ++n)
        EXPECT_EQ(parse(get.substr(0, n)), Parse::incomplete) << n;
    EXPECT_EQ(parse(get), Parse::complete);
}

TEST(HttpParse, GarbageIsRefusedAsSoonAsItShows)
{
    EXPECT_EQ(parse("\x16\x03\x01"), Parse::bad) << "a TLS hello";
    EXPECT_EQ(parse("get / HTTP/1.0\r\n\r\n"), Parse::bad);
    EXPECT_EQ(parse("GET  / HTTP/1.0\r\n\r\n"), Parse::bad);
    EXPECT_EQ(parse("GET / HTTP/1.0 \r\n\r\n"), Parse::bad);
    EXPECT_EQ(parse("GET /a\tb HTTP/1.0\r\n\r\n"), Parse::bad);
    EXPECT_EQ(parse("GET x HTTP/1.0\r\n\r\n"), Parse::bad);
    EXPECT_EQ(parse("GET / FTP/1.0\r\n\r\n"), Parse::bad);
    EXPECT_EQ(parse("GET / HTTP/1.x\r\n\r\n"), Parse::bad);
    EXPECT_EQ(parse("GET / HTTP/1.0\r\r\n\r\n"), Parse::bad);
    EXPECT_EQ(parse("GET / HTTP/1.0\r\nHost a\r\n\r\n"), Parse::bad);
    EXPECT_EQ(parse("GET / HTTP/1.0\r\n: empty\r\n\r\n"), Parse::bad);
    EXPECT_EQ(parse("GET / HTTP/1.0\r\nA: b\r\n folded\r\n\r\n"), Parse::bad);
    EXPECT_EQ(parse(std::string("GET / HTTP/1.0\r\nA: b\0c\r\n\r\n", 26)), Parse::bad);
    EXPECT_EQ(parse("ABCDEFGHIJKLMNOPQ / HTTP/1.0\r\n\r\n"), Parse::bad) << "a method longer than 16";
    EXPECT_EQ(parse("GET / HTTP/2.0\r\n\r\n"), Parse::bad_version);
    EXPECT_EQ(parse("GET / HTTP/0.9\r\n\r\n"), Parse::bad_version);
    EXPECT_EQ(parse("GET /" + std::string(300, 'a') + " HTTP/1.0\r\n\r\n"), Parse::target_too_long);
}

// --- responses and the page -------------------------------------------------------------

struct Response {
    int status = 0;
    std::map<std::string, std::string> headers;
    std::string body;
};

Response split(const std::string& raw)
{
    Response r;
    const size_t end = raw.find("\r\n\r\n");
    EXPECT_NE(end, std::string::npos) << raw;
    if (end == std::string::npos)
        return r;
    r.status = std::atoi(raw.substr(9, 3).c_str());
    EXPECT_EQ(raw.substr(0, 9), "HTTP/1.1 ");
    size_t pos = raw.find("\r\n") + 2;
    while (pos < end) {
        const size_t line_end = raw.find("\r\n", pos);
        const std::string line = raw.substr(pos, line_end - pos);
        const size_t colon = line.find(": ");
        r.headers[line.substr(0, colon)] = line.substr(colon + 2);
        pos = line_end + 2;
    }
    r.body = raw.substr(end + 4);
    return r;
}

Response respond(FakeStatus& status, const std::string& request_text)
{
    httpd::Request request;
    EXPECT_EQ(parse(request_text, request), Parse::complete);
    httpd::Output out;
    const int code = httpd::respond(status, request, out);
    Response r = split(text_of(out));
    EXPECT_EQ(r.status, code);
    return r;
}

TEST(HttpRespond, StatusTextHasEveryFactOnItsOwnLine)
{
    FakeStatus status;
    const Response r = respond(status, "GET /status.txt HTTP/1.0\r\n\r\n");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.headers.at("Content-Type"), "text/plain; charset=utf-8");
    EXPECT_EQ(r.headers.at("Connection"), "close");
    EXPECT_EQ(r.headers.at("Content-Length"), std::to_string(r.body.size()));
    for (const char* line : {"uptime_ms 3723456\n", "ip.running 1\n", "ip.eth0.rx_packets 10\n", "ip.eth0.rx_bytes 1000\n",
                             "ip.eth0.tx_packets 4\n", "ip.eth0.tx_bytes 400\n", "ip.eth0.errors 2\n",
                             "ip.eth0.drop.runt 0\n", "ip.eth0.drop.ip_bad_checksum 2\n", "tcp.running 1\n",
                             "tcp.segments_in 1234\n", "tcp.bad_checksum 3\n", "tcp.bad_options 2\n", "tcp.sockets 1\n",
                             "udp.running 1\n", "udp.datagrams_in 77\n", "udp.sockets 1\n",
                             "service.ip.restarts 0\n", "service.e1000.restarts 3\n", "service.e1000.endpoint 0x20005\n",
                             "socket tcp 10.0.2.15:7 10.0.2.2:40000 ESTABLISHED 10 20 inetd 100 90\n",
                             "socket udp 0.0.0.0:7 0.0.0.0:0 BOUND 0 0 - 0 0\n"})
        EXPECT_NE(r.body.find(line), std::string::npos) << line << "in:\n" << r.body;
    EXPECT_EQ(r.body.find("slot2"), std::string::npos) << "services never started and never restarted are left out";
}

TEST(HttpRespond, ServersThatAreNotRunningAreSaidSo)
{
    FakeStatus status;
    status.tcp_running = false;
    const Response text = respond(status, "GET /status.txt HTTP/1.0\r\n\r\n");
    EXPECT_NE(text.body.find("tcp.running 0\n"), std::string::npos);
    EXPECT_EQ(text.body.find("tcp.segments_in"), std::string::npos);
    EXPECT_NE(text.body.find("udp.running 1\n"), std::string::npos);
    const Response html = respond(status, "GET / HTTP/1.0\r\n\r\n");
    EXPECT_NE(html.body.find("tcp is not running"), std::string::npos);
}

TEST(HttpRespond, HtmlPageEscapesNames)
{
    FakeStatus status;
    status.tcp_counters.push_back(FakeStatus::counter("a<b>&\"c'", 5));
    status.process(0x20009, "<script>");
    const Response r = respond(status, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.headers.at("Content-Type"), "text/html; charset=utf-8");
    EXPECT_EQ(r.headers.at("Content-Length"), std::to_string(r.body.size()));
    EXPECT_NE(r.body.find("<title>Tern status</title>"), std::string::npos);
    EXPECT_NE(r.body.find("Up 0 d 01:02:03"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("&lt;script&gt;"), std::string::npos);
    EXPECT_EQ(r.body.find("<script>"), std::string::npos);
    EXPECT_NE(r.body.find("a_b___c_"), std::string::npos) << "counter names are reduced to plain characters";
    EXPECT_NE(r.body.find("e1000"), std::string::npos);
}

TEST(HttpRespond, ErrorsAndHead)
{
    FakeStatus status;
    EXPECT_EQ(respond(status, "GET /nope HTTP/1.0\r\n\r\n").status, 404);
    EXPECT_EQ(respond(status, "GET / HTTP/1.1\r\n\r\n").status, 400) << "HTTP/1.1 needs Host";
    const Response post = respond(status, "POST / HTTP/1.0\r\n\r\n");
    EXPECT_EQ(post.status, 405);
    EXPECT_EQ(post.headers.at("Allow"), "GET, HEAD");
    const Response head = respond(status, "HEAD /status.txt HTTP/1.0\r\n\r\n");
    const Response get = respond(status, "GET /status.txt HTTP/1.0\r\n\r\n");
    EXPECT_EQ(head.status, 200);
    EXPECT_TRUE(head.body.empty());
    EXPECT_EQ(head.headers.at("Content-Length"), std::to_string(get.body.size()));
    httpd::Output out;
    httpd::respond_error(408, out);
    const Response timeout = split(text_of(out));
    EXPECT_EQ(timeout.status, 408);
    EXPECT_EQ(timeout.body, "408 Request Timeout\n");
    EXPECT_EQ(timeout.headers.at("Content-Length"), "20");
}

// --- the event loop on real sockets ---------------------------------------------------

uint16_t free_port()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    socklen_t size = sizeof(address);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
    ::close(fd);
    return ntohs(address.sin_port);
}

class HttpdServerTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        config.port = free_port();
        config.address = INADDR_LOOPBACK;
        config.max_connections = 8;
        config.request_timeout_ms = 400;
        config.linger_ms = 300;
        config.send_timeout_ms = 500;
        server = std::make_unique<httpd::Server>(config, status);
        ASSERT_EQ(server->start(), 0);
        thread = std::thread([this] {
            while (!stop)
                ASSERT_EQ(server->step(20), 0);
        });
    }
    void TearDown() override
    {
        stop = true;
        thread.join();
    }

    int connect_client()
    {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = htons(config.port);
        EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
        timeval timeout{5, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
        return fd;
    }
    // Everything until the server closes; `closed` says whether it did (not a timeout or reset).
    static std::string read_all(int fd, bool* closed = nullptr)
    {
        std::string data;
        char buffer[4096];
        for (;;) {
            const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
            if (n <= 0) {
                if (closed != nullptr)
                    *closed = n == 0;
                return data;
            }
            data.append(buffer, static_cast<size_t>(n));
        }
    }
    std::string exchange(const std::string& request)
    {
        const int fd = connect_client();
        EXPECT_EQ(::send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
        bool closed = false;
        const std::string response = read_all(fd, &closed);
        EXPECT_TRUE(closed) << "the server closes after its response";
        ::close(fd);
        return response;
    }

    FakeStatus status;
    httpd::Config config;
    std::unique_ptr<httpd::Server> server;
    std::thread thread;
    std::atomic<bool> stop{false};
};

TEST_F(HttpdServerTest, ServesPagesAndErrors)
{
    const Response page = split(exchange("GET /status.txt HTTP/1.1\r\nHost: t\r\n\r\n"));
    EXPECT_EQ(page.status, 200);
    EXPECT_EQ(page.headers.at("Content-Length"), std::to_string(page.body.size()));
    EXPECT_NE(page.body.find("tcp.bad_checksum 3\n"), std::string::npos);
    EXPECT_EQ(split(exchange("GET /missing HTTP/1.0\r\n\r\n")).status, 404);
    EXPECT_EQ(split(exchange("\x01\x02garbage\r\n\r\n")).status, 400);
    EXPECT_EQ(split(exchange("GET / HTTP/3.0\r\n\r\n")).status, 505);
}

TEST_F(HttpdServerTest, ARequestInOneBytePieces)
{
    const std::string request = "GET / HTTP/1.0\r\nUser-Agent: slow\r\n\r\n";
    const int fd = connect_client();
    for (char c : request) {
        ASSERT_EQ(::send(fd, &c, 1, 0), 1);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    const Response r = split(read_all(fd));
    ::close(fd);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.headers.at("Content-Length"), std::to_string(r.body.size()));
}

TEST_F(HttpdServerTest, SlowAndOversizedRequestsAreAnswered)
{
    // Half a request, then nothing: 408 after the request timeout.
    const int slow = connect_client();
    ASSERT_EQ(::send(slow, "GET / HT", 8, 0), 8);
    const auto started = std::chrono::steady_clock::now();
    const Response timeout = split(read_all(slow));
    const auto waited = std::chrono::steady_clock::now() - started;
    ::close(slow);
    EXPECT_EQ(timeout.status, 408);
    EXPECT_GE(waited, std::chrono::milliseconds(300));
    EXPECT_LT(waited, std::chrono::milliseconds(3000));

    // A head that never ends: 431 once max_request bytes have come.
    const std::string huge = "GET / HTTP/1.0\r\nX: " + std::string(config.max_request, 'a');
    EXPECT_EQ(split(exchange(huge)).status, 431);

    // A client that closes half-way: 400 (and the server goes on).
    const int quitter = connect_client();
    ASSERT_EQ(::send(quitter, "GET / HTTP/1.0\r\nHost", 20, 0), 20);
    ::shutdown(quitter, SHUT_WR);
    EXPECT_EQ(split(read_all(quitter)).status, 400);
    ::close(quitter);
    EXPECT_EQ(split(exchange("GET / HTTP/1.0\r\n\r\n")).status, 200);
}

TEST_F(HttpdServerTest, AClientThatNeverReadsDoesNotHoldUpOthers)
{
    // A client that asks and then never reads: the server must not wait for
    // it (it writes only what the socket takes, and drops it at the deadline).
    const int fd = connect_client();
    int small = 4096;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    ASSERT_GT(::send(fd, "GET / HTTP/1.0\r\n\r\n", 18, 0), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    // Other clients were served meanwhile and after.
    EXPECT_EQ(split(exchange("GET /status.txt HTTP/1.0\r\n\r\n")).status, 200);
    ::close(fd);
}

TEST_F(HttpdServerTest, ManyClientsAtOnce)
{
    std::vector<std::thread> clients;
    std::atomic<int> ok{0};
    for (int i = 0; i < 24; ++i)
        clients.emplace_back([&] {
            const Response r = split(exchange("GET /status.txt HTTP/1.0\r\n\r\n"));
            if (r.status == 200 && r.headers.at("Content-Length") == std::to_string(r.body.size()))
                ++ok;
        });
    for (auto& t : clients)
        t.join();
    EXPECT_EQ(ok, 24) << "more clients than connection slots: the rest wait in the backlog";
}

} // namespace
