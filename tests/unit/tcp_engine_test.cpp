// The tcp server's engine against another instance of itself: two lwIP
// instances (each isolated in its own object, see transport_instance.hpp)
// talking through an in-memory ip, with scripted applications on the
// socket channels. Every test ends with everything closed and checks that
// no buffer of any pool and no lwIP pbuf is left held.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "net/ipv4.hpp"
#include "net/tcp.hpp"
#include "transport_test_support.hpp"

extern "C" transport_test::TransportEngine* tern_tcp_instance_a(tern::channel::PoolOwner* pool, uint32_t seed);
extern "C" transport_test::TransportEngine* tern_tcp_instance_b(tern::channel::PoolOwner* pool, uint32_t seed);

namespace {

using namespace transport_test;
namespace sp = tern::socket_proto;
namespace ev = tern::socket_proto::errno_value;

constexpr uint32_t address_a = EnginePair::address_a;
constexpr uint32_t address_b = EnginePair::address_b;

class TcpEngine : public ::testing::Test, protected EnginePair {
protected:
    TcpEngine() : EnginePair(tern::net::ip_protocol::tcp, 4096, tern_tcp_instance_a, tern_tcp_instance_b) { run_for(10); }

    void TearDown() override
    {
        if (HasFailure())
            return;
        // TIME_WAIT and friends end in simulated time.
        run_until([&] {
            Entry e;
            return !a->socket_entry(0, e) && !b->socket_entry(0, e);
        }, 300'000);
        expect_nothing_held();
    }

    // Steps until `done` holds, moving simulated time to the next timer when
    // nothing moves; false after `limit_ms` of simulated time.
    template <typename Done>
    bool run_until(Done done, uint64_t limit_ms = 60'000)
    {
        const uint64_t end = now + limit_ms * 1'000'000;
        for (unsigned idle = 0; now < end;) {
            if (done())
                return true;
            if (step()) {
                idle = 0;
                continue;
            }
            uint64_t next = a->next_deadline_ns();
            if (b->next_deadline_ns() < next)
                next = b->next_deadline_ns();
            now = next != UINT64_MAX && next > now ? next : now + 1'000'000;
            if (++idle > 1'000'000)
                break;
        }
        return done();
    }
    void run_for(uint64_t ms)
    {
        const uint64_t end = now + ms * 1'000'000;
        run_until([&] { return now >= end; }, ms + 1);
    }

    // B listens on `port` (socket 1); A connects from socket 1; returns B's
    // accepted socket id.
    uint32_t connect_pair(uint16_t port = 7)
    {
        app_b.request(sp::bind, 1, sp::endpoint_word(0, port));
        app_b.request(sp::listen, 1, 8);
        Message m;
        EXPECT_TRUE(run_until([&] { return app_b.take(sp::result, 1, &m) && m.words[1] == sp::bind; }));
        EXPECT_EQ(m.words[2], 0u);
        EXPECT_TRUE(run_until([&] { return app_b.take(sp::result, 1, &m) && m.words[1] == sp::listen; }));
        EXPECT_EQ(m.words[2], 0u);
        app_a.request(sp::connect, 1, sp::endpoint_word(address_b, port));
        EXPECT_TRUE(run_until([&] { return app_a.take(sp::result, 1, &m); }));
        EXPECT_EQ(m.words[1], sp::connect);
        EXPECT_EQ(static_cast<int64_t>(m.words[2]), 0);
        EXPECT_EQ(sp::endpoint_address(m.words[3]), address_a);
        Message accepted;
        EXPECT_TRUE(run_until([&] { return app_b.take(sp::accepted, 1, &accepted); }));
        EXPECT_EQ(sp::endpoint_address(accepted.words[2]), address_a);
        EXPECT_EQ(sp::endpoint_port(accepted.words[3]), port);
        app_b.request(sp::accept_taken, 1);
        return static_cast<uint32_t>(accepted.words[1]);
    }

    void close(App& app, uint32_t id)
    {
        app.request(sp::close, id);
        EXPECT_TRUE(run_until([&] { return app.take(sp::closed, id); }));
    }

    // Closes what connect_pair() opened: both ends and B's listener.
    void close_pair(uint32_t server)
    {
        close(app_a, 1);
        close(app_b, server);
        close(app_b, 1);
    }

    // The in-memory ip offers segmentation offload from now on, and both
    // engines have heard of it.
    void segmentation_on()
    {
        ip.set_segmentation(true);
        while (step()) {
        }
    }

    static std::vector<uint8_t> random_bytes(size_t n, uint32_t seed)
    {
        std::mt19937 rng(seed);
        std::vector<uint8_t> v(n);
        for (auto& byte : v)
            byte = static_cast<uint8_t>(rng());
        return v;
    }

    // Sends `data` from app `from` socket `id`, as fast as its pool allows.
    void send_all(App& from, uint32_t id, const std::vector<uint8_t>& data, size_t piece, const std::function<bool()>& done)
    {
        size_t sent = 0;
        ASSERT_TRUE(run_until([&] {
            while (sent < data.size()) {
                const size_t n = data.size() - sent < piece ? data.size() - sent : piece;
                if (!from.send(id, data.data() + sent, n, piece))
                    break;
                sent += n;
            }
            return sent == data.size() && done();
        }, 600'000));
    }

    // SO_RCVBUF of 16 KiB on B: once B stops reading, no more than that
    // (and the segment in flight) arrives; then everything does.
    void small_receive_buffer_narrows_the_window()
    {
        const uint32_t server = connect_pair();
        app_b.request(sp::set_option, server, sp::option::receive_buffer, 16384);
        const auto first = random_bytes(1 << 20, 17);
        send_all(app_a, 1, first, 2048, [&] { return app_b.received[server].size() == first.size(); });
        // Now B stops reading: no more than its 16 KiB may arrive.
        app_b.data_messages.clear(); // all given back already
        app_b.hold = true;
        const size_t before = app_b.received[server].size();
        const auto second = random_bytes(256 << 10, 18);
        size_t sent = 0;
        run_until([&] {
            while (sent < second.size() && app_a.send(1, second.data() + sent, 2048))
                sent += 2048;
            return false;
        }, 3'000);
        const size_t parked = app_b.received[server].size() - before;
        EXPECT_GT(parked, 0u);
        EXPECT_LE(parked, 16384u + 1460u);
        app_b.hold = false;
        for (const Message& m : app_b.data_messages)
            app_b.give_back(m);
        send_all(app_a, 1, std::vector<uint8_t>(second.begin() + static_cast<long>(sent), second.end()), 2048,
                 [&] { return app_b.received[server].size() == first.size() + second.size(); });
        EXPECT_TRUE(std::equal(second.begin(), second.end(), app_b.received[server].begin() + static_cast<long>(before)));
        EXPECT_EQ(b->counter("bad_request"), 0u);
        close_pair(server);
    }
};

TEST_F(TcpEngine, ConnectSendCloseBothWays)
{
    const uint32_t server = connect_pair();
    const char hello[] = "hello, tern";
    ASSERT_TRUE(app_a.send(1, reinterpret_cast<const uint8_t*>(hello), sizeof(hello)));
    ASSERT_TRUE(run_until([&] { return app_b.received[server].size() == sizeof(hello); }));
    EXPECT_EQ(std::memcmp(app_b.received[server].data(), hello, sizeof(hello)), 0);
    ASSERT_TRUE(app_b.send(server, reinterpret_cast<const uint8_t*>(hello), 5));
    ASSERT_TRUE(run_until([&] { return app_a.received[1].size() == 5; }));

    // A closes: B sees the end of the stream, then closes too.
    close(app_a, 1);
    ASSERT_TRUE(run_until([&] { return app_b.take(sp::end, server); }));
    close(app_b, server);
    close(app_b, 1);
    EXPECT_TRUE(app_a.send_errors.empty());
}

TEST_F(TcpEngine, BulkTransferArrivesIntactInBothDirections)
{
    const uint32_t server = connect_pair();
    const auto one = random_bytes(3 << 20, 11);
    const auto two = random_bytes(1 << 20, 12);
    send_all(app_a, 1, one, 1000, [&] { return app_b.received[server].size() == one.size(); });
    send_all(app_b, server, two, 2048, [&] { return app_a.received[1].size() == two.size(); });
    EXPECT_TRUE(app_b.received[server] == one);
    EXPECT_TRUE(app_a.received[1] == two);
    // Received bytes come packed: far fewer buffers than segments.
    EXPECT_LT(app_b.data_messages.size(), one.size() / 1460);
    // ACKs of a batch leave as one.
    EXPECT_GT(b->counter("acks_merged"), 0u);
    close_pair(server);
}

// With segmentation offload announced, lwIP builds segments of up to 64 KiB
// and ip's NIC cuts them at the connection's MSS: the bytes arrive intact
// and far fewer segments leave the engine.
TEST_F(TcpEngine, LargeSegmentsWithSegmentationOffload)
{
    segmentation_on();
    const uint32_t server = connect_pair();
    const auto data = random_bytes(2 << 20, 23);
    send_all(app_a, 1, data, 2048, [&] { return app_b.received[server].size() == data.size(); });
    EXPECT_TRUE(app_b.received[server] == data);
    EXPECT_GT(ip.large_sends, 0u);
    EXPECT_GT(a->counter("large_segments_sent"), 0u);
    // The wire saw MSS-sized segments: about one per 1460 bytes.
    EXPECT_GE(a->counter("segments_sent"), data.size() / 1460);
    EXPECT_EQ(b->counter("bad_checksum"), 0u);
    close_pair(server);
}

// A receiver on such an interface still opens its window a few KiB at a
// time as its application reads: lwIP steps the window it announces by its
// MSS, and the raised one would make that 64 KiB (senders then stall).
// A peer without window scaling (QEMU's slirp) announces 64 KiB at most.
// lwIP sends whole segments only: segments as large as that window would go
// one at a time, each waiting for the last to be acknowledged. They are
// kept to a quarter of the peer's window, and grow when it does.
TEST_F(TcpEngine, WithSegmentationOffloadSegmentsStayWellInsideThePeersWindow)
{
    segmentation_on();
    ip.strip_window_scale = true;
    uint32_t server = connect_pair();
    const auto data = random_bytes(1 << 20, 26);
    send_all(app_a, 1, data, 2048, [&] { return app_b.received[server].size() == data.size(); });
    EXPECT_TRUE(app_b.received[server] == data);
    EXPECT_GT(ip.large_sends, 0u);
    EXPECT_LE(ip.largest_segment, 0xFFFFu / 4);
    EXPECT_GE(ip.largest_segment, 0xFFFFu / 4 / 1460 * 1460);
    close_pair(server);
    // With window scaling the peer's window grows to 1 MiB once it has
    // been announced (after the SYN's 64 KiB): the largest segments.
    ip.strip_window_scale = false;
    server = connect_pair(8);
    send_all(app_a, 1, data, 2048, [&] { return app_b.received[server].size() == data.size(); });
    ip.largest_segment = 0;
    send_all(app_a, 1, data, 2048, [&] { return app_b.received[server].size() == 2 * data.size(); });
    EXPECT_TRUE(std::equal(data.begin(), data.end(), app_b.received[server].begin() + static_cast<long>(data.size())));
    EXPECT_GT(ip.largest_segment, 0xFFFFu / 2);
    close_pair(server);
}

TEST_F(TcpEngine, WithSegmentationOffloadAReaderOpensTheWindowInSmallSteps)
{
    segmentation_on();
    const uint32_t server = connect_pair();
    app_b.hold = true; // B's application reads nothing for now: the window closes
    const auto data = random_bytes((1 << 20) + (400 << 10), 24); // more than the 1 MiB default window
    size_t sent = 0;
    run_until([&] {
        while (sent < data.size() && app_a.send(1, data.data() + sent, 2048))
            sent += 2048;
        return false;
    }, 2000);
    ASSERT_LT(app_b.received[server].size(), data.size()) << "the window never closed";
    const std::vector<uint8_t> before = ip.last_from[1];
    ASSERT_FALSE(before.empty());
    // The application reads 8 KiB: more than lwIP's update threshold, far less than 64 KiB.
    for (size_t i = 0; i < 4; ++i)
        app_b.give_back(app_b.data_messages[i]);
    run_for(5); // less than lwIP's delayed-ACK timer would need
    const std::vector<uint8_t>& after = ip.last_from[1];
    ASSERT_GE(after.size(), 16u);
    EXPECT_NE(after, before) << "no window update after the application read 8 KiB";
    EXPECT_GT(uint32_t{after[14]} << 8 | after[15], uint32_t{before[14]} << 8 | before[15]);
    app_b.hold = false;
    for (size_t i = 4; i < app_b.data_messages.size(); ++i)
        app_b.give_back(app_b.data_messages[i]);
    send_all(app_a, 1, std::vector<uint8_t>(data.begin() + static_cast<long>(sent), data.end()), 2048,
             [&] { return app_b.received[server].size() == data.size(); });
    EXPECT_TRUE(app_b.received[server] == data);
    close_pair(server);
}

// ip's receive offload hands tcp many segments as one: lwIP would count it
// as one and delay its ACK (up to its 250 ms timer) unless the application
// reads. The engine acknowledges at once, as for every second segment.
TEST_F(TcpEngine, ADeliveryOfSeveralSegmentsIsAcknowledgedAtOnce)
{
    segmentation_on();
    const uint32_t server = connect_pair();
    ip.deliver_large_whole = true;
    app_b.hold = true; // no reads: no window update can carry the ACK
    run_for(600);      // lwIP's delayed ACKs of the set-up are out
    const std::vector<uint8_t> before = ip.last_from[1];
    ASSERT_GE(before.size(), 12u);
    const auto data = random_bytes(3 * 1460, 31);
    ASSERT_TRUE(app_a.send(1, data.data(), data.size()));
    run_for(5); // far less than lwIP's delayed-ACK timer
    const std::vector<uint8_t>& after = ip.last_from[1];
    ASSERT_GE(after.size(), 12u);
    EXPECT_EQ(app_b.received[server].size(), data.size());
    EXPECT_EQ(tern::net::load_be32(after.data() + 8) - tern::net::load_be32(before.data() + 8), data.size())
        << "B has not acknowledged the delivery";
    ip.deliver_large_whole = false;
    app_b.hold = false;
    for (const Message& m : app_b.data_messages)
        app_b.give_back(m);
    close_pair(server);
}

// ip delivers a segment in several buffers when it reassembled it from
// fragments: the checksum is summed over the chain, lwIP gets the chain.
TEST_F(TcpEngine, SegmentsInSeveralBuffersArriveIntact)
{
    const uint32_t server = connect_pair();
    ip.piece = 500; // the header in the first piece, the data spread over three more
    const auto data = random_bytes(512 << 10, 19);
    send_all(app_a, 1, data, 2048, [&] { return app_b.received[server].size() == data.size(); });
    EXPECT_TRUE(app_b.received[server] == data);
    EXPECT_EQ(b->counter("bad_checksum"), 0u);
    EXPECT_EQ(b->counter("bad_length"), 0u);
    ip.piece = 0;
    close_pair(server);
}

TEST_F(TcpEngine, TheEndOfTheStreamComesAfterItsLastBytes)
{
    const uint32_t server = connect_pair();
    app_b.hold = true; // bytes pile up in B's engine, then the FIN arrives
    const auto data = random_bytes(200 << 10, 16);
    size_t sent = 0;
    while (sent < data.size() && app_a.send(1, data.data() + sent, 2048))
        sent += 2048;
    ASSERT_EQ(sent, data.size());
    close(app_a, 1);
    run_for(50);
    app_b.hold = false;
    for (const Message& m : app_b.data_messages)
        app_b.give_back(m);
    ASSERT_TRUE(run_until([&] { return app_b.take(sp::end, server); }));
    EXPECT_TRUE(app_b.received[server] == data);
    // Nothing after the end, and the end after the last data.
    size_t last_data = 0, end = 0;
    for (size_t i = 0; i < app_b.log.size(); ++i) {
        if (app_b.log[i] == sp::data)
            last_data = i;
        if (app_b.log[i] == sp::end)
            end = i;
    }
    EXPECT_LT(last_data, end);
    close(app_b, server);
    close(app_b, 1);
}

TEST_F(TcpEngine, LossIsRepairedByRetransmission)
{
    const uint32_t server = connect_pair();
    ip.drop_if = [](uint64_t n, unsigned) { return n % 7 == 3; };
    const auto data = random_bytes(1 << 20, 13);
    send_all(app_a, 1, data, 2048, [&] { return app_b.received[server].size() == data.size(); });
    EXPECT_TRUE(app_b.received[server] == data);
    EXPECT_GT(ip.dropped(), 50u);
    ip.drop_if = nullptr;
    close_pair(server);
}

// With segmentation offload lwIP's segments are many wire MSS long, but it
// sizes the congestion window after a loss in wire MSS (fast retransmit runs
// while it receives, WireMss). A window smaller than the next segment would
// never let it go: the sender stalled for good, nothing in flight.
TEST_F(TcpEngine, WithSegmentationOffloadLossDoesNotStallTheSender)
{
    segmentation_on();
    const uint32_t server = connect_pair();
    ip.drop_if = [](uint64_t n, unsigned from) { return from == 0 && n % 97 == 5; };
    const auto data = random_bytes(4 << 20, 27);
    send_all(app_a, 1, data, 2048, [&] { return app_b.received[server].size() == data.size(); });
    EXPECT_TRUE(app_b.received[server] == data);
    EXPECT_GT(ip.dropped(), 0u);
    EXPECT_GT(ip.large_sends, 0u);
    ip.drop_if = nullptr;
    close_pair(server);
}

TEST_F(TcpEngine, SlowReaderClosesTheWindowWithoutLosingBytes)
{
    const uint32_t server = connect_pair();
    app_b.hold = true; // B's application reads nothing for now
    const auto data = random_bytes(2 << 20, 14);
    size_t sent = 0;
    run_until([&] {
        while (sent < data.size() && app_a.send(1, data.data() + sent, 2048))
            sent += 2048;
        return false;
    }, 5'000);
    const size_t parked = app_b.received[server].size();
    EXPECT_GT(parked, 0u);
    EXPECT_LT(parked, data.size()); // the window stopped the sender
    // Reading again opens the window.
    app_b.hold = false;
    for (const Message& m : app_b.data_messages)
        app_b.give_back(m);
    send_all(app_a, 1, std::vector<uint8_t>(data.begin() + static_cast<long>(sent), data.end()), 2048,
             [&] { return app_b.received[server].size() == data.size(); });
    EXPECT_TRUE(app_b.received[server] == data);
    close_pair(server);
}

TEST_F(TcpEngine, ASmallReceiveBufferNarrowsTheWindow)
{
    small_receive_buffer_narrows_the_window();
}

// Without window scaling (QEMU's slirp offers none) lwIP announces 64 KiB at
// most. The window must reopen as bytes arrive while SO_RCVBUF has room, not
// only when the application reads: a reader a little behind would otherwise
// stall the sender at every 64 KiB, for a round trip through the application.
TEST_F(TcpEngine, WithoutWindowScalingTheWindowFollowsTheBufferNotTheReader)
{
    ip.strip_window_scale = true;
    const uint32_t server = connect_pair();
    app_b.hold = true; // B's application reads nothing for now
    const auto data = random_bytes(512 << 10, 25); // eight 64 KiB windows, half of SO_RCVBUF
    size_t sent = 0;
    EXPECT_TRUE(run_until([&] {
        while (sent < data.size() && app_a.send(1, data.data() + sent, 2048))
            sent += 2048;
        return app_b.received[server].size() == data.size();
    }, 5'000)) << "the window closed after " << app_b.received[server].size() << " bytes";
    // B still announces a whole unscaled window: 512 KiB of its 1 MiB are free.
    const std::vector<uint8_t>& last = ip.last_from[1];
    ASSERT_GE(last.size(), 20u);
    EXPECT_EQ(uint32_t{last[14]} << 8 | last[15], 0xFFFFu);
    EXPECT_TRUE(app_b.received[server] == data);
    app_b.hold = false;
    for (const Message& m : app_b.data_messages)
        app_b.give_back(m);
    close_pair(server);
}

TEST_F(TcpEngine, WithoutWindowScalingASmallReceiveBufferNarrowsTheWindow)
{
    ip.strip_window_scale = true;
    small_receive_buffer_narrows_the_window();
}

TEST_F(TcpEngine, ConnectingToAClosedPortIsRefused)
{
    app_a.request(sp::connect, 3, sp::endpoint_word(address_b, 9999));
    Message m;
    ASSERT_TRUE(run_until([&] { return app_a.take(sp::result, 3, &m); }));
    EXPECT_EQ(static_cast<int64_t>(m.words[2]), -ev::connection_refused);
    close(app_a, 3);
}

TEST_F(TcpEngine, BindingAPortTwiceIsAddressInUse)
{
    app_b.request(sp::bind, 1, sp::endpoint_word(0, 80));
    app_b.request(sp::bind, 2, sp::endpoint_word(0, 80));
    Message m;
    ASSERT_TRUE(run_until([&] { return app_b.take(sp::result, 2, &m); }));
    EXPECT_EQ(static_cast<int64_t>(m.words[2]), -ev::address_in_use);
    ASSERT_TRUE(app_b.take(sp::result, 1, &m));
    EXPECT_EQ(m.words[2], 0u);
    close(app_b, 1);
    close(app_b, 2);
}

TEST_F(TcpEngine, BadChecksumsAndMalformedOptionsAreCountedAndDropped)
{
    const uint32_t server = connect_pair();
    // A segment to B's listening port with a SYN: once with a broken
    // checksum, once with an option whose length runs past the header.
    std::vector<uint8_t> syn(24, 0);
    tern::net::store_be16(syn.data(), 40000);
    tern::net::store_be16(syn.data() + 2, 7);
    syn[12] = 6 << 4; // 24-byte header
    syn[13] = tern::net::tcp_flag::syn;
    tern::net::store_be16(syn.data() + 14, 1000);
    syn[20] = tern::net::tcp_option::mss;
    syn[21] = 4;
    tern::net::store_be16(syn.data() + 22, 1460);
    auto bad_sum = syn;
    bad_sum[16] = 0x12; // not the checksum
    ip.inject(1, bad_sum, false, 16);
    auto bad_options = syn;
    bad_options[21] = 9; // runs past the options
    ip.inject(1, bad_options, true, 16);
    auto short_header = syn;
    short_header[12] = 4 << 4; // 16 bytes: less than a header
    ip.inject(1, short_header, true, 16);
    run_for(10);
    EXPECT_EQ(b->counter("bad_checksum"), 1u);
    EXPECT_EQ(b->counter("bad_options"), 1u);
    EXPECT_EQ(b->counter("bad_length"), 1u);
    close_pair(server);
}

TEST_F(TcpEngine, ASynFloodDoesNotKeepARealConnectionOut)
{
    app_b.request(sp::bind, 1, sp::endpoint_word(0, 7));
    app_b.request(sp::listen, 1, 8);
    run_for(1);
    // SYNs from many ports at A's address that A never answers... A would
    // answer them with RST, so they come from an address nobody has.
    std::vector<uint8_t> syn(20, 0);
    tern::net::store_be16(syn.data() + 2, 7);
    syn[12] = 5 << 4;
    syn[13] = tern::net::tcp_flag::syn;
    tern::net::store_be16(syn.data() + 14, 1000);
    for (uint16_t port = 1; port <= 2000; ++port) {
        tern::net::store_be16(syn.data(), port);
        tern::net::store_be32(syn.data() + 4, port * 7919u);
        ip.inject(1, syn, true, 16);
        if (port % 500 == 0)
            run_for(1);
    }
    EXPECT_GT(b->counter("half_open_reaped"), 1000u);
    app_a.request(sp::connect, 1, sp::endpoint_word(address_b, 7));
    Message m;
    ASSERT_TRUE(run_until([&] { return app_a.take(sp::result, 1, &m); }));
    EXPECT_EQ(m.words[2], 0u);
    ASSERT_TRUE(run_until([&] { return app_b.take(sp::accepted, 1, &m); }));
    app_b.request(sp::accept_taken, 1);
    const uint32_t server = static_cast<uint32_t>(m.words[1]);
    close_pair(server);
}

TEST_F(TcpEngine, AnApplicationThatEndsLetsItsConnectionsFinish)
{
    const uint32_t server = connect_pair();
    const auto data = random_bytes(256 << 10, 15);
    size_t sent = 0;
    while (sent < data.size() && app_a.send(1, data.data() + sent, 2048))
        sent += 2048;
    // A's application is gone before its bytes are acknowledged: they are
    // still delivered, then A's side closes.
    int client = app_a.client();
    bool released = a->client_lost(client);
    ASSERT_TRUE(run_until([&] {
        released = released || a->client_lost(client);
        return released && app_b.received[server].size() == sent;
    })) << "released " << released << " received " << app_b.received[server].size() << " of " << sent
        << " A failed " << a->counter("connections_failed") << " B failed " << b->counter("connections_failed")
        << " B events " << app_b.events.size() << " first " << (app_b.events.empty() ? 0 : app_b.events.front().type);
    EXPECT_TRUE(std::equal(app_b.received[server].begin(), app_b.received[server].end(), data.begin()));
    ASSERT_TRUE(run_until([&] { return app_b.take(sp::end, server); }));
    close(app_b, server);
    close(app_b, 1);
    app_a.forget(); // its process is gone: nobody took its buffers back
}

} // namespace
