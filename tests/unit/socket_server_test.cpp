// lib/socket against a server that misbehaves or goes away: malformed
// messages are counted and never believed (and what they lend is given
// back), a full tx ring keeps messages in order, and a server whose channel
// ends takes its sockets down cleanly, returns every buffer, and the next
// socket() connects to its successor.
#include "socket_test_support.hpp"

namespace {

using namespace socket_test;
namespace s = tern::sockets;

class Server : public SocketTest { };

TEST_F(Server, MalformedMessagesAreCountedAndNeverBelieved)
{
    uint64_t id;
    const int fd = connected(id);
    const auto& counters = lib.counters(Protocol::tcp);

    Message unknown_type = tcp().make(77, id);
    tcp().push(unknown_type);
    // Data for an id we do not have: counted, and its buffer goes back.
    Message stray = tcp().make(proto::data, 300);
    stray.buffer = tcp().lend_buffer(10);
    tcp().push(stray);
    Message out_of_range = tcp().make(proto::data, 5000);
    out_of_range.buffer = tcp().lend_buffer(10);
    tcp().push(out_of_range);
    // References outside the server's pool.
    Message bad_index = tcp().make(proto::data, id);
    bad_index.buffer = BufferRef { tcp().pool->geometry().id, 9999, 0, 10 };
    tcp().push(bad_index);
    Message bad_length = tcp().make(proto::data, id);
    bad_length.buffer = tcp().lend_buffer(10);
    bad_length.buffer.length = 600; // past the 512-byte buffer
    tcp().push(bad_length);
    Message wrong_pool = tcp().make(proto::data, id);
    wrong_pool.buffer = BufferRef { 12345, 0, 0, 10 };
    tcp().push(wrong_pool);
    // A buffer lent twice.
    Message twice = tcp().make(proto::data, id);
    twice.buffer = tcp().lend_buffer(3);
    std::memcpy(tcp().pool->view().buffer(twice.buffer.index), "abc", 3);
    tcp().push(twice);
    tcp().push(twice);
    // `sent` for a buffer of ours the server never had.
    Message forged = tcp().make(proto::sent, id);
    forged.buffer = BufferRef { platform.tcp.app_pool().geometry().id, 3, 0, 100 };
    tcp().push(forged);
    // A result nobody waits for; a connection on a socket that is not listening.
    tcp().result(id, proto::bind);
    Message accepted = tcp().make(proto::accepted, id);
    accepted.words[1] = proto::accepted_base + 1;
    tcp().push(accepted);
    // An error with a positive word.
    Message bad_error = tcp().make(proto::error, 999);
    tcp().push(bad_error);
    settle();

    EXPECT_EQ(counters.unknown_socket, 3u) << "stray, out_of_range, bad_error";
    EXPECT_EQ(counters.bad_buffer, 5u) << "bad_index, bad_length, wrong_pool, twice, forged";
    EXPECT_EQ(counters.unexpected, 3u) << "unknown type, result, accepted";
    EXPECT_EQ(counters.malformed, 11u);
    EXPECT_EQ(tcp().buffers_lent_to_app(), 2u) << "bad_length's buffer is lost to the server; `twice` is queued";

    char buffer[16];
    EXPECT_EQ(lib.recv(fd, buffer, sizeof buffer, 0), 3) << "the good copy of `twice`";
    EXPECT_EQ(std::string(buffer, 3), "abc");
    // Life goes on.
    EXPECT_EQ(lib.send(fd, "fine", 4, 0), 4);
    settle();
    EXPECT_TRUE(same_bytes(tcp().streams[id], "fine"));
    EXPECT_EQ(tcp().buffers_lent_to_app(), 1u);
    // The server's own mistake is its own: take that buffer back by hand.
    EXPECT_TRUE(tcp().pool->take_back(bad_length.buffer, app_holder).ok());
    EXPECT_TRUE(tcp().pool->free(bad_length.buffer).ok());
    EXPECT_EQ(lib.close(fd), 0);
    expect_no_leaks();
}

TEST_F(Server, UdpChainsThatDoNotAddUpAreDropped)
{
    const int fd = udp_socket();
    const auto local = address(s::INADDR_ANY, 7);
    ASSERT_EQ(lib.bind(fd, sa(local), sizeof local), 0);
    const uint64_t id = last_id(udp());
    const uint64_t from = endpoint(10, 0, 2, 2, 1);
    auto piece = [&](uint32_t length, bool more, uint64_t total, uint64_t sender) {
        Message m = udp().make(proto::data, id);
        m.flags = more ? proto::flags::more : 0;
        m.buffer = udp().lend_buffer(length);
        m.words[1] = sender;
        m.words[2] = total;
        udp().push(m);
    };
    piece(100, false, 200, from); // shorter than its total
    piece(512, true, 600, from), piece(512, false, 600, from); // longer than its total
    piece(512, true, 1000, from), piece(100, false, 1000, endpoint(10, 0, 2, 2, 9)); // another sender mid-chain
    piece(10, false, 100'000, from); // a total no datagram has
    udp().datagram(id, "good", from);
    settle();
    const auto& counters = lib.counters(Protocol::udp);
    EXPECT_EQ(counters.bad_chain, 5u) << "the last piece of a broken chain fails too, as a chain of its own";
    EXPECT_EQ(lib.peer_buffers_held(Protocol::udp), 1u) << "only the good datagram is kept";
    char buffer[16];
    EXPECT_EQ(lib.recv(fd, buffer, sizeof buffer, s::MSG_DONTWAIT), 4);
    EXPECT_EQ(std::string(buffer, 4), "good");
    EXPECT_EQ(lib.recv(fd, buffer, sizeof buffer, s::MSG_DONTWAIT), -1);
    EXPECT_EQ(lib.last_error(), EAGAIN);
    EXPECT_EQ(lib.close(fd), 0);
    expect_no_leaks();
}

// A tx ring of 8 slots: what does not fit waits, in order, and goes out as
// the server makes room.
class SmallRing : public SocketTest {
protected:
    static Config config()
    {
        Config c = small_config();
        c.ring_slots = 8;
        return c;
    }
    SmallRing()
        : SocketTest(config())
    {
    }
};

TEST_F(SmallRing, MessagesThatDoNotFitWaitInOrder)
{
    uint64_t id;
    const int fd = connected(id);
    std::string sent;
    for (int i = 0; i < 40; ++i) {
        const std::string piece = "<" + std::to_string(i) + ">";
        EXPECT_EQ(lib.send(fd, piece.data(), piece.size(), 0), static_cast<s::ssize_t>(piece.size()));
        sent += piece;
    }
    EXPECT_GT(lib.backlog(Protocol::tcp), 0u);
    EXPECT_GE(lib.counters(Protocol::tcp).backlog_peak, 30u);
    settle();
    settle();
    EXPECT_TRUE(same_bytes(tcp().streams[id], sent));
    // A blocking call that finds the ring full waits for room.
    tcp().data(id, pattern(4000));
    for (int i = 0; i < 40; ++i)
        EXPECT_EQ(lib.send(fd, "y", 1, 0), 1);
    std::string got(4000, '\0');
    EXPECT_EQ(lib.recv(fd, got.data(), got.size(), s::MSG_WAITALL), 4000);
    EXPECT_TRUE(same_bytes(got, pattern(4000)));
    EXPECT_EQ(lib.close(fd), 0);
    expect_no_leaks();
    EXPECT_TRUE(same_bytes(tcp().streams[id], sent + std::string(40, 'y')));
}

TEST_F(Server, WhenTheServerEndsItsSocketsFailAndTheNextSocketReconnects)
{
    uint64_t a_id, b_id;
    const int a = connected(a_id);
    const int b = connected(b_id);
    const int listener = tcp_socket();
    const auto any = address(s::INADDR_ANY, 80);
    ASSERT_EQ(lib.bind(listener, sa(any), sizeof any), 0);
    const uint64_t listener_id = last_id(tcp());
    ASSERT_EQ(lib.listen(listener, 4), 0);
    tcp().connection(listener_id, endpoint(10, 0, 2, 2, 1)); // never accepted
    tcp().hold_sends = true;
    EXPECT_EQ(lib.send(b, pattern(6000).data(), 6000, 0), 6000);
    tcp().data(a_id, pattern(900));
    tcp().data(b_id, pattern(900));
    uint64_t closing_id;
    const int closing = connected(closing_id); // closed by us, `closed` never comes
    tcp().defer_closed = true;
    EXPECT_EQ(lib.close(closing), 0);
    const int u = udp_socket();
    const auto to = address(0x0A000202, 7);
    ASSERT_EQ(lib.connect(u, sa(to), sizeof to), 0);
    settle();
    EXPECT_GT(lib.own_buffers_lent(Protocol::tcp), 0u);
    EXPECT_GT(lib.peer_buffers_held(Protocol::tcp), 0u);

    // The tcp server dies while we block in recv on a.
    int waits = 0;
    platform.on_wait = [&] {
        if (++waits == 2)
            platform.end_server(Protocol::tcp);
    };
    char buffer[2000];
    EXPECT_EQ(lib.recv(a, buffer, sizeof buffer, 0), 900) << "queued data first";
    EXPECT_EQ(lib.recv(a, buffer, sizeof buffer, 0), -1);
    EXPECT_EQ(lib.last_error(), ECONNRESET);
    platform.on_wait = nullptr;
    EXPECT_FALSE(lib.link_open(Protocol::tcp));
    EXPECT_EQ(platform.tcp.closes, 1);
    EXPECT_EQ(lib.counters(Protocol::tcp).ended, 1u);
    EXPECT_EQ(lib.socket_records(), 4u) << "a, b, listener, u; the closing socket and the queued connection are gone";
    EXPECT_EQ(platform.tcp.app_pool().free_count(), platform.tcp.app_pool().geometry().count)
        << "every buffer the server held is ours again";

    EXPECT_EQ(lib.recv(a, buffer, sizeof buffer, 0), 0) << "after the reset: the end";
    EXPECT_EQ(lib.send(b, "x", 1, 0), -1);
    EXPECT_EQ(lib.last_error(), ECONNRESET);
    EXPECT_EQ(lib.send(b, "x", 1, 0), -1);
    EXPECT_EQ(lib.last_error(), EPIPE);
    EXPECT_EQ(lib.accept(listener, nullptr, nullptr), -1);
    EXPECT_EQ(lib.last_error(), ECONNRESET);
    s::pollfd p { listener, s::POLLIN, 0 };
    EXPECT_EQ(lib.poll(&p, 1, 0), 1);
    EXPECT_EQ(p.revents, s::POLLIN | s::POLLHUP);

    // udp is untouched.
    EXPECT_EQ(lib.send(u, "still", 5, 0), 5);

    // A new socket reaches the restarted server.
    tcp().hold_sends = false;
    tcp().defer_closed = false;
    uint64_t c_id;
    const int c = connected(c_id);
    EXPECT_EQ(platform.tcp.opens, 2);
    EXPECT_EQ(lib.send(c, "new", 3, 0), 3);
    settle();
    EXPECT_TRUE(same_bytes(tcp().streams[c_id], "new"));

    for (int fd : { a, b, listener, c, u })
        EXPECT_EQ(lib.close(fd), 0);
    expect_no_leaks();
}

TEST_F(Server, ABlockedConnectFailsWhenTheServerEnds)
{
    const int fd = tcp_socket();
    tcp().defer_connect = true;
    platform.on_wait = [&] { platform.end_server(Protocol::tcp); };
    const auto to = address(0x0A000202, 80);
    EXPECT_EQ(lib.connect(fd, sa(to), sizeof to), -1);
    EXPECT_EQ(lib.last_error(), ECONNRESET);
    platform.on_wait = nullptr;
    EXPECT_EQ(lib.close(fd), 0);
    expect_no_leaks();
}

TEST_F(Server, AClosedRingEndsTheChannelWithoutASleep)
{
    const int u = udp_socket();
    const auto local = address(s::INADDR_ANY, 7);
    ASSERT_EQ(lib.bind(u, sa(local), sizeof local), 0);
    const uint64_t id = last_id(udp());
    udp().datagram(id, "queued", endpoint(10, 0, 2, 2, 1));
    udp().close_channel();
    platform.run();
    char buffer[16];
    EXPECT_EQ(lib.recv(u, buffer, sizeof buffer, s::MSG_DONTWAIT), -1);
    EXPECT_EQ(lib.last_error(), ENETDOWN) << "the server's pool went with it";
    EXPECT_FALSE(lib.link_open(Protocol::udp));
    EXPECT_EQ(lib.recv(u, buffer, sizeof buffer, 0), -1) << "does not block";
    EXPECT_EQ(lib.last_error(), ENETDOWN);
    EXPECT_EQ(lib.close(u), 0);
    const int again = udp_socket();
    ASSERT_GE(again, 0);
    EXPECT_EQ(platform.udp.opens, 2);
    EXPECT_EQ(lib.close(again), 0);
    expect_no_leaks();
}

TEST_F(Server, ABrokenRingIsCountedAndEndsTheChannel)
{
    uint64_t id;
    const int fd = connected(id);
    auto* control = static_cast<tern::channel::RingControl*>(platform.tcp.to_app_ring());
    control->head.store(control->tail.load() + 100'000); // more than the ring holds
    char buffer[4];
    EXPECT_EQ(lib.recv(fd, buffer, sizeof buffer, s::MSG_DONTWAIT), -1);
    EXPECT_EQ(lib.last_error(), ECONNRESET);
    EXPECT_EQ(lib.counters(Protocol::tcp).malformed, 1u);
    EXPECT_EQ(lib.counters(Protocol::tcp).ended, 1u);
    EXPECT_EQ(lib.close(fd), 0);
    expect_no_leaks();
}

TEST_F(Server, AnUnaskedClosedAbortsTheSocket)
{
    uint64_t id;
    const int fd = connected(id);
    tcp().data(id, "bytes");
    tcp().closed(id);
    settle();
    EXPECT_EQ(lib.counters(Protocol::tcp).unexpected, 1u);
    EXPECT_EQ(lib.peer_buffers_held(Protocol::tcp), 0u) << "its queue went back";
    char buffer[8];
    EXPECT_EQ(lib.recv(fd, buffer, sizeof buffer, 0), -1);
    EXPECT_EQ(lib.last_error(), ECONNABORTED);
    EXPECT_EQ(lib.close(fd), 0);
    settle();
    EXPECT_EQ(tcp().closes.count(id), 0u) << "the id is the server's again: no close for it";
    expect_no_leaks();
}

TEST_F(Server, AServerWithoutAPoolCannotLendData)
{
    platform.tcp.offer_pool = false;
    uint64_t id;
    const int fd = connected(id);
    Message m = tcp().make(proto::data, id);
    m.buffer = tcp().lend_buffer(5);
    tcp().push(m);
    settle();
    EXPECT_EQ(lib.counters(Protocol::tcp).bad_buffer, 1u);
    EXPECT_TRUE(tcp().pool->take_back(m.buffer, app_holder).ok());
    EXPECT_TRUE(tcp().pool->free(m.buffer).ok());
    EXPECT_EQ(lib.close(fd), 0);
    expect_no_leaks();
}

} // namespace
