// servers/ip transport channel (proto/ip.hpp ip_transport) through
// ip::TransportPort on plain rings and pools: datagrams going up as chains
// (fragmented on the wire, reassembled), chains coming down (gathered across
// batches, refused whole when broken), fill_checksum with and without NIC
// offload (checked on the wire frames, fragments included), source address
// selection and refusal, and the interfaces' announcements.
#include <gtest/gtest.h>

#include <cstdlib>

#include "ip_test_support.hpp"
#include "proto/ip.hpp"
#include "proto/syscall.hpp"
#include "transport_port.hpp"

namespace {

using namespace iptest;
using ip::Drop;
using tern::channel::BufferRef;
using tern::channel::Message;
using tern::channel::PoolGeometry;
using tern::channel::PoolOwner;
using tern::channel::PoolView;
namespace transport = tern::ip_transport;
namespace sys = tern::sys;

constexpr uint8_t udp_protocol = 17;
constexpr uint8_t tcp_protocol = 6;
constexpr PoolOwner::Holder transport_holder = 16; // who holds ip's buffers lent up
constexpr uint64_t ok = 0;
const uint64_t refused = static_cast<uint64_t>(sys::error_code(sys::Error::invalid_argument));

// One direction of a channel: ring memory with both ends attached.
class Ring {
public:
    explicit Ring(uint32_t capacity)
        : m_memory(std::aligned_alloc(tern::channel::cache_line, tern::channel::ring_bytes(capacity)))
    {
        tern::channel::ring_init(m_memory);
        EXPECT_TRUE(producer.attach(m_memory, tern::channel::ring_bytes(capacity), capacity).ok());
        EXPECT_TRUE(consumer.attach(m_memory, tern::channel::ring_bytes(capacity), capacity).ok());
    }
    ~Ring() { std::free(m_memory); }
    Ring(const Ring&) = delete;
    Ring& operator=(const Ring&) = delete;

    // Everything published so far, released.
    std::vector<Message> take()
    {
        std::vector<Message> out;
        const uint32_t n = consumer.available();
        for (uint32_t i = 0; i < n; ++i)
            out.push_back(consumer.read(i));
        if (n != 0)
            (void)consumer.release(n);
        return out;
    }

    tern::channel::Producer<Message> producer;
    tern::channel::Consumer<Message> consumer;

private:
    void* m_memory;
};

// A pool in heap memory, with its owner and a peer's view.
class Pool {
public:
    Pool(uint32_t id, uint32_t count, uint32_t buffer_size = 2048)
        : geometry{id, count, buffer_size, 0}, memory(tern::channel::pool_bytes(geometry))
    {
        EXPECT_TRUE(owner.init(memory.data(), memory.size(), geometry).ok());
        EXPECT_TRUE(view.attach(memory.data(), memory.size(), geometry).ok());
    }
    uint8_t* data(const BufferRef& ref) { return view.buffer(ref.index) + ref.offset; }

    PoolGeometry geometry;
    Bytes memory;
    PoolOwner owner;
    PoolView view;
};

// The ip side of a transport's channel, as main.cpp wires it: the stack's
// Upper hands datagrams of the port's protocol to the port, which fills the
// ring the test reads as the transport.
class PortUpper : public ip::Upper {
public:
    PortUpper(ip::TransportPort& port, Ring& up) : m_port(port), m_up(up) {}
    ip::Delivery deliver(unsigned interface, const tern::net::Ipv4Header& header, bool to_broadcast,
                         const uint8_t* payload, size_t length) override
    {
        if (!m_port.is_open() || header.protocol != m_port.protocol())
            return ip::Delivery::no_server;
        if (!m_port.deliver(interface, header, to_broadcast, payload, length, reserved))
            return ip::Delivery::busy;
        if (!hold)
            flush();
        return ip::Delivery::taken;
    }
    // Publishes what the port has pending, as main.cpp does after a batch of frames.
    void flush() { (void)m_up.producer.publish(m_port.take_pending()); }

    uint32_t reserved = 0;
    bool hold = false; // deliveries wait for flush(), as in a batch of frames

private:
    ip::TransportPort& m_port;
    Ring& m_up;
};

// A datagram's payload as the transport lends it: which bytes go in which buffer.
struct Chunked {
    Bytes payload;
    std::vector<size_t> sizes; // bytes per buffer, in order (sum = payload.size())
};

class TransportTest : public StackTest {
protected:
    void SetUp() override
    {
        StackTest::SetUp();
        open(udp_protocol);
        stack->set_upper(&port_upper);
    }

    void open(uint8_t protocol)
    {
        port.open(protocol, up.producer, ip_pool.owner, transport_holder, &transport_pool.view);
        EXPECT_TRUE(port.announce(*stack)); // what main.cpp does at once
        port_upper.flush();
        up.take();
    }

    // The transport's buffers for a send, filled and lent to ip (holder 1).
    std::vector<BufferRef> lend(const Chunked& c)
    {
        std::vector<BufferRef> refs;
        size_t offset = 0;
        for (size_t size : c.sizes) {
            EXPECT_LE(size, transport_pool.geometry.buffer_size);
            auto buffer = transport_pool.owner.allocate();
            EXPECT_TRUE(buffer.ok());
            BufferRef ref = buffer.value();
            ref.length = static_cast<uint32_t>(size);
            std::memcpy(transport_pool.data(ref), c.payload.data() + offset, size);
            offset += size;
            EXPECT_TRUE(transport_pool.owner.lend(ref, 1).ok());
            refs.push_back(ref);
        }
        return refs;
    }

    // The send messages of one datagram (a chain if several buffers).
    static std::vector<Message> sends(const std::vector<BufferRef>& refs, Ipv4Address to,
                                      Ipv4Address from = Ipv4Address{}, uint32_t flags = 0, uint64_t checksum_at = 0,
                                      uint64_t segment_size = 0)
    {
        std::vector<Message> out;
        for (size_t i = 0; i < refs.size(); ++i) {
            Message m{};
            m.type = transport::send;
            m.flags = flags | (i + 1 < refs.size() ? transport::flags::more : 0);
            m.buffer = refs[i];
            m.words[0] = to.value | uint64_t{from.value} << 32;
            m.words[1] = checksum_at;
            m.words[2] = segment_size;
            out.push_back(m);
        }
        return out;
    }

    // Runs messages through the port as one drain batch; the answers.
    std::vector<Message> batch(const std::vector<Message>& messages)
    {
        std::vector<Message> answers(messages.size() + port.held() + 1);
        uint32_t count = 0;
        for (const Message& m : messages)
            port.receive(m, *stack, now, answers.data(), count);
        answers.resize(count);
        return answers;
    }

    // Sends `c` in one batch; the send_done results, in order.
    std::vector<uint64_t> send(const Chunked& c, Ipv4Address to, Ipv4Address from = Ipv4Address{},
                               uint32_t flags = 0, uint64_t checksum_at = 0, uint64_t segment_size = 0)
    {
        const std::vector<BufferRef> refs = lend(c);
        std::vector<uint64_t> results;
        const std::vector<Message> answers = batch(sends(refs, to, from, flags, checksum_at, segment_size));
        EXPECT_EQ(answers.size(), refs.size());
        for (size_t i = 0; i < answers.size(); ++i) {
            EXPECT_EQ(answers[i].type, transport::send_done);
            EXPECT_EQ(answers[i].buffer.index, refs[i].index) << "answers in the order of the buffers";
            EXPECT_TRUE(transport_pool.owner.take_back(answers[i].buffer, 1).ok());
            (void)transport_pool.owner.free(answers[i].buffer);
            results.push_back(answers[i].words[0]);
        }
        return results;
    }

    // The payload of the datagram whose frames are `sent`, put back together
    // by fragment offset.
    static Bytes reassemble(const std::vector<Sent>& sent)
    {
        Bytes whole;
        for (const Sent& f : sent) {
            const Bytes d = f.ip();
            const size_t offset = (get16(d, 6) & 0x1FFF) * 8u;
            const Bytes p = f.ip_payload();
            if (whole.size() < offset + p.size())
                whole.resize(offset + p.size());
            std::memcpy(whole.data() + offset, p.data(), p.size());
        }
        return whole;
    }

    // The ones'-complement check over the pseudo header and `payload`: 0
    // when the transport checksum in it is right.
    static uint16_t pseudo_check(Ipv4Address src, Ipv4Address dst, uint8_t protocol, const Bytes& payload)
    {
        const uint32_t sum = (src.value >> 16) + (src.value & 0xFFFF) + (dst.value >> 16) + (dst.value & 0xFFFF) +
                             protocol + static_cast<uint32_t>(payload.size());
        return ref_checksum(payload.data(), payload.size(), sum);
    }

    // What the transport got: the deliver messages, checked as one chain,
    // and the bytes they carry; every buffer given back.
    Bytes receive_chain(std::vector<Message>& chain)
    {
        chain = up.take();
        Bytes bytes;
        for (size_t i = 0; i < chain.size(); ++i) {
            const Message& m = chain[i];
            EXPECT_EQ(m.type, transport::deliver);
            EXPECT_EQ(m.flags, i + 1 < chain.size() ? transport::flags::more : 0u) << i;
            EXPECT_EQ(m.words[0], chain[0].words[0]);
            EXPECT_EQ(m.words[1], chain[0].words[1]);
            EXPECT_EQ(m.words[2], chain[0].words[2]);
            const auto p = ip_pool.view.bytes(m.buffer);
            EXPECT_TRUE(p.ok());
            if (p.ok())
                bytes.insert(bytes.end(), p.value(), p.value() + m.buffer.length);
        }
        EXPECT_EQ(ip_pool.owner.held_by(transport_holder), chain.size());
        for (const Message& m : chain) {
            Message done{};
            done.type = transport::deliver_done;
            done.buffer = m.buffer;
            EXPECT_TRUE(batch({done}).empty());
        }
        EXPECT_EQ(ip_pool.owner.held_by(transport_holder), 0u);
        return bytes;
    }

    Ring up{256};
    Pool ip_pool{1, 64};
    Pool transport_pool{2, 128};
    ip::TransportPort port;
    PortUpper port_upper{port, up};
};

// An 8 KiB UDP datagram in six fragments, reassembled by the stack.
std::vector<Bytes> fragment_frames(const Bytes& payload, uint8_t protocol = udp_protocol,
                                   Ipv4Address to = our_ip)
{
    std::vector<Bytes> frames;
    for (size_t offset = 0; offset < payload.size(); offset += 1480) {
        IpFields f;
        f.protocol = protocol;
        f.dst = to;
        f.offset = static_cast<uint16_t>(offset);
        f.mf = offset + 1480 < payload.size();
        const size_t n = payload.size() - offset < 1480 ? payload.size() - offset : 1480;
        frames.push_back(ip_frame(f, Bytes(payload.begin() + static_cast<long>(offset),
                                           payload.begin() + static_cast<long>(offset + n))));
    }
    return frames;
}

using TransportUp = TransportTest;

TEST_F(TransportUp, FragmentedDatagramGoesUpWholeAsAChain)
{
    const Bytes payload = udp(peer_ip, our_ip, 1000, 7, pattern(8192, 9)); // 8200 bytes
    const std::vector<Bytes> frames = fragment_frames(payload);
    ASSERT_EQ(frames.size(), 6u);
    for (const Bytes& frame : frames)
        feed(frame);
    std::vector<Message> chain;
    EXPECT_EQ(receive_chain(chain), payload);
    ASSERT_EQ(chain.size(), 5u); // 2028 (the IPv4 header comes first) + 3 x 2048 + 28
    EXPECT_EQ(chain[0].buffer.offset, 20u);
    EXPECT_EQ(chain[0].buffer.length, 2028u);
    EXPECT_EQ(chain[4].buffer.length, 28u);
    EXPECT_EQ(chain[0].words[0], peer_ip.value | uint64_t{our_ip.value} << 32);
    EXPECT_EQ(chain[0].words[1], 0u | 64u << 8 | transport::deliver_checksum_verified)
        << "eth0, TTL 64, not a broadcast, the UDP checksum checked";
    EXPECT_EQ(chain[0].words[2], 8200u);
    EXPECT_EQ(drops_since_baseline(), "");
}

TEST_F(TransportUp, ChainLengthsAtTheEdges)
{
    tern::net::Ipv4Header header;
    header.source = peer_ip;
    header.destination = our_ip;
    header.ttl = 9;
    const Bytes payload = pattern(tern::net::ipv4_max_payload, 1);
    for (size_t length : {size_t{0}, size_t{1}, size_t{2047}, size_t{2048}, size_t{2049}, size_t{4096},
                          tern::net::ipv4_max_payload}) {
        const uint32_t expected = length <= 2028 ? 1 : static_cast<uint32_t>(1 + (length - 2028 + 2047) / 2048);
        ASSERT_TRUE(port.deliver(2, header, true, payload.data(), length, 0)) << length;
        ASSERT_EQ(port.take_pending(), expected) << length;
        (void)up.producer.publish(expected);
        std::vector<Message> chain;
        EXPECT_EQ(receive_chain(chain), Bytes(payload.begin(), payload.begin() + static_cast<long>(length)))
            << length;
        ASSERT_EQ(chain.size(), expected);
        EXPECT_EQ(chain[0].words[1], 2u | 9u << 8 | 1u << 16) << "interface, TTL, broadcast";
        EXPECT_EQ(chain[0].words[2], length);
    }
    EXPECT_EQ(ip_pool.owner.free_count(), 64u);
}

// The first buffer keeps the IPv4 header in front of the payload, so that
// a transport that finds nobody for the datagram can have ip answer it with
// ICMP port unreachable (quoting the header and 8 bytes).
TEST_F(TransportUp, NobodyThereIsAnsweredWithPortUnreachable)
{
    const Bytes payload = udp(peer_ip, our_ip, 1000, 4444, pattern(100, 5));
    IpFields f;
    f.protocol = udp_protocol;
    feed(ip_frame(f, payload));
    const std::vector<Message> got = up.take();
    ASSERT_EQ(got.size(), 1u);
    const uint8_t* buffer = ip_pool.view.buffer(got[0].buffer.index);
    EXPECT_EQ(got[0].buffer.offset, 20u);
    EXPECT_EQ(buffer[0], 0x45);
    EXPECT_EQ(buffer[9], udp_protocol);
    nic.take();
    Message done{};
    done.type = transport::deliver_done;
    done.buffer = got[0].buffer;
    done.words[0] = tern::net::icmp_code::port_unreachable;
    EXPECT_TRUE(batch({done}).empty());
    EXPECT_EQ(ip_pool.owner.held_by(transport_holder), 0u);
    const auto sent = nic.take();
    ASSERT_EQ(sent.size(), 1u);
    const Bytes icmp_message = sent[0].ip_payload();
    ASSERT_GE(icmp_message.size(), 8u + 20 + 8);
    EXPECT_EQ(icmp_message[0], tern::net::icmp_type::destination_unreachable);
    EXPECT_EQ(icmp_message[1], tern::net::icmp_code::port_unreachable);
    EXPECT_EQ(Bytes(icmp_message.begin() + 28, icmp_message.begin() + 36), Bytes(payload.begin(), payload.begin() + 8))
        << "the quote holds the UDP header";

    // A transport cannot make ip answer a buffer it altered into nonsense,
    // or one that is not the first of a datagram.
    feed(ip_frame(f, payload));
    const std::vector<Message> again = up.take();
    ASSERT_EQ(again.size(), 1u);
    std::memset(ip_pool.view.buffer(again[0].buffer.index), 0xEE, 20);
    done.buffer = again[0].buffer;
    EXPECT_TRUE(batch({done}).empty());
    EXPECT_TRUE(nic.take().empty());
    EXPECT_EQ(ip_pool.owner.held_by(transport_holder), 0u);
}

TEST_F(TransportUp, BroadcastsAreMarked)
{
    IpFields f;
    f.protocol = udp_protocol;
    f.dst = ip4(10, 0, 2, 255);
    feed(ethernet(MacAddress::broadcast(), peer_mac, 0x0800, ipv4(f, udp(peer_ip, f.dst, 5, 6, pattern(10)))));
    const std::vector<Message> got = up.take();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_NE(got[0].words[1] & transport::deliver_broadcast, 0u);
}

// Half a chain is never sent: without every buffer and slot it needs, the
// datagram is dropped whole and counted, and nothing is taken.
TEST_F(TransportUp, NoRoomForTheWholeChainDropsTheDatagram)
{
    const Bytes payload = udp(peer_ip, our_ip, 1000, 7, pattern(8192, 3));
    // Only four buffers free in ip's pool: five are needed.
    std::vector<BufferRef> taken;
    while (ip_pool.owner.free_count() > 4)
        taken.push_back(ip_pool.owner.allocate().value());
    for (const Bytes& frame : fragment_frames(payload))
        feed(frame);
    EXPECT_TRUE(up.take().empty());
    EXPECT_EQ(ip_pool.owner.free_count(), 4u);
    EXPECT_EQ(drops_since_baseline(), "transport_busy=1 ");
    for (const BufferRef& ref : taken)
        (void)ip_pool.owner.free(ref);

    // Buffers enough, but only four ring slots beyond those kept for answers.
    port_upper.reserved = 256 - 4;
    for (const Bytes& frame : fragment_frames(payload))
        feed(frame);
    EXPECT_TRUE(up.take().empty());
    EXPECT_EQ(ip_pool.owner.free_count(), 64u);
    EXPECT_EQ(dropped(Drop::transport_busy), 2u);

    port_upper.reserved = 256 - 5;
    for (const Bytes& frame : fragment_frames(payload))
        feed(frame);
    std::vector<Message> chain;
    EXPECT_EQ(receive_chain(chain), payload);
    EXPECT_EQ(chain.size(), 5u);
}

TEST_F(TransportUp, OtherProtocolsAndAClosedPortAreNotTaken)
{
    IpFields f;
    f.protocol = tcp_protocol;
    feed(ip_frame(f, pattern(20)));
    EXPECT_TRUE(up.take().empty());
    EXPECT_EQ(dropped(Drop::protocol_unreachable), 1u);
    port.close();
    f.protocol = udp_protocol;
    feed(ip_frame(f, udp(peer_ip, our_ip, 1, 2, pattern(4))));
    EXPECT_EQ(dropped(Drop::protocol_unreachable), 2u);
}

// --- Receive offload: consecutive TCP segments of a connection merged.

// A TCP segment from the peer, its checksum right unless `bad_checksum`.
struct Segment {
    uint16_t source_port = 40000;
    uint16_t destination_port = 80;
    uint32_t sequence = 1000;
    uint32_t acknowledgment = 5000;
    uint8_t flags = tern::net::tcp_flag::ack;
    uint16_t window = 512;
    Bytes options; // a multiple of 4
    Bytes data;
    bool bad_checksum = false;

    Bytes bytes() const
    {
        Bytes b(20 + options.size());
        put16(b, 0, source_port);
        put16(b, 2, destination_port);
        put32(b, 4, sequence);
        put32(b, 8, acknowledgment);
        b[12] = static_cast<uint8_t>(b.size() / 4 << 4);
        b[13] = flags;
        put16(b, 14, window);
        std::copy(options.begin(), options.end(), b.begin() + 20);
        b.insert(b.end(), data.begin(), data.end());
        const uint32_t sum = (peer_ip.value >> 16) + (peer_ip.value & 0xFFFF) + (our_ip.value >> 16) +
                             (our_ip.value & 0xFFFF) + tcp_protocol + static_cast<uint32_t>(b.size());
        put16(b, 16, static_cast<uint16_t>(ref_checksum(b.data(), b.size(), sum) ^ (bad_checksum ? 1 : 0)));
        return b;
    }
};

class TransportOffload : public TransportTest {
protected:
    void SetUp() override
    {
        TransportTest::SetUp();
        port.close();
        open(tcp_protocol);
        port_upper.hold = true; // one batch of frames, as from the driver
    }

    void feed_segment(const Segment& segment)
    {
        IpFields f;
        f.protocol = tcp_protocol;
        feed(ip_frame(f, segment.bytes()));
    }

    // Feeds `segment`, expecting it to join the delivery before it or to
    // start one (`expected`: segments per delivery, as deliveries() will say).
    void feed_expecting(const Segment& segment, bool joins)
    {
        feed_segment(segment);
        if (joins)
            ++expected.back();
        else
            expected.push_back(1);
    }
    std::vector<unsigned> expected;

    template <typename Deliveries>
    static std::vector<unsigned> segment_counts(const Deliveries& got)
    {
        std::vector<unsigned> counts;
        for (const auto& d : got)
            counts.push_back(d.segments);
        return counts;
    }

    // What went up after the batch: per delivery, its segment count, its
    // checksum flag and its bytes (TCP header and data); buffers given back.
    struct Delivered {
        unsigned segments;
        bool verified;
        Bytes bytes;
    };
    std::vector<Delivered> deliveries()
    {
        port_upper.flush();
        std::vector<Delivered> out;
        std::vector<Message> all = up.take();
        for (size_t i = 0; i < all.size();) {
            size_t end = i;
            while ((all[end].flags & transport::flags::more) != 0 && end + 1 < all.size())
                ++end;
            Delivered d{transport::deliver_segments(all[i].words[1]),
                        (all[i].words[1] & transport::deliver_checksum_verified) != 0, {}};
            for (size_t j = i; j <= end; ++j) {
                const uint8_t* p = ip_pool.data(all[j].buffer);
                d.bytes.insert(d.bytes.end(), p, p + all[j].buffer.length);
                EXPECT_EQ(all[j].words[2], all[i].words[2]);
                Message done{};
                done.type = transport::deliver_done;
                done.buffer = all[j].buffer;
                EXPECT_TRUE(batch({done}).empty());
            }
            EXPECT_EQ(all[i].words[2], d.bytes.size());
            // The IPv4 header kept in front states the merged length, with a right checksum.
            const uint8_t* head = ip_pool.view.buffer(all[i].buffer.index);
            EXPECT_EQ(size_t(head[2] << 8 | head[3]), 20 + d.bytes.size());
            EXPECT_EQ(ref_checksum(head, 20), 0u);
            out.push_back(d);
            i = end + 1;
        }
        EXPECT_EQ(ip_pool.owner.free_count(), 64u) << "every buffer back";
        return out;
    }
};

TEST_F(TransportOffload, ConsecutiveSegmentsGoUpAsOne)
{
    Segment s;
    Bytes data;
    for (int i = 0; i < 10; ++i) {
        s.data = pattern(1460, static_cast<uint8_t>(i));
        s.flags = tern::net::tcp_flag::ack | (i == 9 ? tern::net::tcp_flag::psh : 0);
        feed_segment(s);
        data.insert(data.end(), s.data.begin(), s.data.end());
        s.sequence += 1460;
    }
    EXPECT_EQ(ip_pool.owner.held_by(transport_holder), 0u) << "nothing lent before the batch ends";
    const auto got = deliveries();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].segments, 10u);
    EXPECT_TRUE(got[0].verified);
    ASSERT_EQ(got[0].bytes.size(), 20 + data.size());
    EXPECT_EQ(get32(got[0].bytes, 4), 1000u) << "the first segment's sequence number";
    EXPECT_EQ(got[0].bytes[13], tern::net::tcp_flag::ack | tern::net::tcp_flag::psh) << "the last one's PSH";
    EXPECT_EQ(Bytes(got[0].bytes.begin() + 20, got[0].bytes.end()), data);
    EXPECT_EQ(port.merged_segments(), 9u);
    EXPECT_EQ(drops_since_baseline(), "");
}

TEST_F(TransportOffload, OnlyWhatGoesOnInOrderIsMerged)
{
    using namespace tern::net::tcp_flag;
    Segment s;
    s.data = pattern(100);
    // Feeds `s` and moves on in sequence.
    auto next = [&](bool joins) {
        feed_expecting(s, joins);
        s.sequence += static_cast<uint32_t>(s.data.size());
    };
    next(false);
    next(true);
    s.sequence += 100; // a gap
    next(false);
    s.acknowledgment += 1;
    next(false);
    s.window += 1;
    next(false);
    s.flags = ack | fin; // goes alone, and nothing joins it
    next(false);
    s.flags = ack;
    next(false);
    s.bad_checksum = true; // goes alone, for tcp to count
    next(false);
    s.bad_checksum = false;
    next(false);
    s.data = pattern(50); // shorter: joins, and ends the merge
    next(true);
    next(false);
    s.data = pattern(60); // longer than the first of its merge
    next(false);
    s.options = {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}; // timestamps: other options
    next(false);
    next(true);
    s.options[7] = 9; // another timestamp
    next(false);
    s.options.clear();
    s.source_port += 1; // another connection
    next(false);
    s.flags = ack | psh; // joins, and ends the merge
    next(true);
    s.flags = ack;
    next(false);
    s.data.clear(); // a pure ACK never joins
    next(false);

    const auto got = deliveries();
    EXPECT_EQ(segment_counts(got), expected);
    ASSERT_EQ(got.size(), 15u);
    for (size_t i = 0; i < got.size(); ++i)
        EXPECT_EQ(got[i].verified, i != 6) << "only the one with the bad checksum is left to tcp: " << i;
    EXPECT_EQ(port.merged_segments(), 4u);
}

TEST_F(TransportOffload, PureAcksThatAcknowledgeMoreReplaceTheOneBefore)
{
    Segment s; // no data: pure ACKs
    auto next = [&](bool replaces) { feed_expecting(s, replaces); };
    next(false);
    for (int i = 0; i < 5; ++i) {
        s.acknowledgment += 1460;
        s.window = static_cast<uint16_t>(600 + i);
        next(true);
    }
    next(false); // a duplicate ACK: it signals loss, it stays
    s.window += 1;
    next(false); // a window update alone stays too
    s.acknowledgment += 1460;
    s.bad_checksum = true;
    next(false); // left to tcp
    s.bad_checksum = false;
    s.acknowledgment += 1460;
    next(false);
    s.source_port += 1; // another connection
    s.acknowledgment += 1460;
    next(false);
    s.data = pattern(10); // data is never merged into an ACK
    s.acknowledgment += 1460;
    next(false);

    const auto got = deliveries();
    EXPECT_EQ(segment_counts(got), expected);
    ASSERT_EQ(got.size(), 7u);
    EXPECT_EQ(get32(got[0].bytes, 8), 5000u + 5 * 1460) << "the last acknowledgment";
    EXPECT_EQ(get16(got[0].bytes, 14), 604u) << "and its window";
    EXPECT_EQ(port.merged_acks(), 5u);
}

TEST_F(TransportOffload, AMergeStaysWithinSixteenBitLengths)
{
    Segment s;
    s.data = pattern(1460);
    for (int i = 0; i < 50; ++i) {
        feed_segment(s);
        s.sequence += 1460;
    }
    const auto got = deliveries();
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].segments, 44u); // 20 + 44 x 1460 = 64,260; one more would pass 65,515
    EXPECT_EQ(got[1].segments, 6u);
    EXPECT_EQ(get32(got[1].bytes, 4), 1000u + 44 * 1460);
}

TEST_F(TransportOffload, PendingBuffersGoBackWhenTheTransportGoes)
{
    Segment s;
    s.data = pattern(1460);
    for (int i = 0; i < 5; ++i) {
        feed_segment(s);
        s.sequence += 1460;
    }
    EXPECT_LT(ip_pool.owner.free_count(), 64u);
    port.close();
    EXPECT_EQ(ip_pool.owner.free_count(), 64u);
    EXPECT_EQ(ip_pool.owner.held_by(transport_holder), 0u);
}

TEST_F(TransportUp, UdpChecksumsAreCheckedOnTheWayUp)
{
    IpFields f;
    f.protocol = udp_protocol;
    Bytes good = udp(peer_ip, our_ip, 1000, 7, pattern(300, 1));
    Bytes bad = good;
    bad[20] ^= 1;
    const Bytes none = udp(peer_ip, our_ip, 1000, 7, pattern(300, 1), false);
    for (const Bytes* payload : std::initializer_list<const Bytes*>{&good, &bad, &none}) {
        feed(ip_frame(f, *payload));
        std::vector<Message> chain;
        EXPECT_EQ(receive_chain(chain), *payload);
        ASSERT_EQ(chain.size(), 1u);
        EXPECT_EQ((chain[0].words[1] & transport::deliver_checksum_verified) != 0, payload == &good);
        EXPECT_EQ(transport::deliver_segments(chain[0].words[1]), 0u) << "a UDP datagram is no TCP segment";
    }
}

using TransportDown = TransportTest;

// A transport that does it all itself: one buffer, no flags, its own checksum (even a wrong one)
// goes out untouched.
TEST_F(TransportDown, SingleBufferWithoutFlagsGoesOutUntouched)
{
    Bytes payload = udp(our_ip, peer_ip, 7, 1000, pattern(100));
    payload[6] ^= 0x5A;
    EXPECT_EQ(send({payload, {payload.size()}}, peer_ip), std::vector<uint64_t>{ok});
    const auto sent = nic.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].ip_payload(), payload);
    EXPECT_EQ(sent[0].ip_source(), our_ip);
    EXPECT_EQ(sent[0].protocol(), udp_protocol);
    EXPECT_FALSE(sent[0].offload.requested());
    EXPECT_EQ(port.held(), 0u);
}

// A chain split over three drain batches, with buffers of odd sizes: held
// until its last buffer, then one datagram (in fragments) and one send_done
// per buffer.
TEST_F(TransportDown, ChainGatheredAcrossBatches)
{
    const Bytes payload = pattern(5000, 4);
    const std::vector<BufferRef> refs = lend({payload, {1001, 2047, 3, 1949}});
    const std::vector<Message> messages = sends(refs, peer_ip);
    EXPECT_TRUE(batch({messages[0]}).empty());
    EXPECT_EQ(port.held(), 1u);
    EXPECT_TRUE(batch({messages[1], messages[2]}).empty());
    EXPECT_EQ(port.held(), 3u);
    EXPECT_TRUE(nic.take().empty());
    const std::vector<Message> answers = batch({messages[3]});
    ASSERT_EQ(answers.size(), 4u);
    for (size_t i = 0; i < 4; ++i) {
        EXPECT_EQ(answers[i].type, transport::send_done);
        EXPECT_EQ(answers[i].buffer.index, refs[i].index);
        EXPECT_EQ(answers[i].words[0], ok);
    }
    EXPECT_EQ(port.held(), 0u);
    const auto sent = nic.take();
    ASSERT_EQ(sent.size(), 4u); // 5000 bytes in 1480-byte fragments
    EXPECT_EQ(reassemble(sent), payload);
    EXPECT_EQ(get16(sent[0].ip(), 4), get16(sent[3].ip(), 4)); // one datagram
}

TEST_F(TransportDown, TheLargestDatagramInAChain)
{
    const Bytes payload = pattern(tern::net::ipv4_max_payload, 8);
    std::vector<size_t> sizes(31, 2048);
    sizes.push_back(payload.size() - 31 * 2048);
    const std::vector<uint64_t> results = send({payload, sizes}, peer_ip);
    EXPECT_EQ(results, std::vector<uint64_t>(32, ok));
    const auto sent = nic.take();
    EXPECT_EQ(sent.size(), 45u);
    EXPECT_EQ(reassemble(sent), payload);
}

TEST_F(TransportDown, BrokenChainsAreRefusedBufferByBuffer)
{
    const Bytes payload = pattern(6000);
    // Something else in the middle: the whole chain is refused, its rest too.
    {
        const std::vector<BufferRef> refs = lend({payload, {2000, 2000, 1000, 1000}});
        std::vector<Message> messages = sends(refs, peer_ip);
        Message other{};
        other.type = 99;
        messages.insert(messages.begin() + 2, other);
        const std::vector<Message> answers = batch(messages);
        ASSERT_EQ(answers.size(), 4u);
        for (size_t i = 0; i < 4; ++i) {
            EXPECT_EQ(answers[i].buffer.index, refs[i].index);
            EXPECT_EQ(answers[i].words[0], refused) << i;
            EXPECT_TRUE(transport_pool.owner.take_back(answers[i].buffer, 1).ok());
            (void)transport_pool.owner.free(answers[i].buffer);
        }
    }
    // Longer than a datagram can be.
    {
        const Bytes big = pattern(tern::net::ipv4_max_payload + 1);
        std::vector<size_t> sizes(31, 2048);
        sizes.push_back(big.size() - 31 * 2048);
        EXPECT_EQ(send({big, sizes}, peer_ip), std::vector<uint64_t>(32, refused));
    }
    // More buffers than a chain may have.
    {
        const std::vector<size_t> sizes(ip::TransportPort::max_chain + 3, 10);
        const Bytes small = pattern(10 * sizes.size());
        EXPECT_EQ(send({small, sizes}, peer_ip), std::vector<uint64_t>(sizes.size(), refused));
    }
    // A buffer that is not in the transport's pool.
    {
        std::vector<BufferRef> refs = lend({payload, {2000, 2000}});
        std::vector<Message> messages = sends(refs, peer_ip);
        messages[1].buffer.index = 5000;
        const std::vector<Message> answers = batch(messages);
        ASSERT_EQ(answers.size(), 2u);
        EXPECT_EQ(answers[0].words[0], refused);
        EXPECT_EQ(answers[1].words[0], refused);
    }
    EXPECT_TRUE(nic.take().empty());
    EXPECT_EQ(port.held(), 0u);
    // The channel goes on: the next datagram is fine.
    EXPECT_EQ(send({payload, {2000, 2000, 2000}}, peer_ip), std::vector<uint64_t>(3, ok));
    EXPECT_EQ(reassemble(nic.take()), payload);
}

TEST_F(TransportDown, ErrorsFromTheStackGoToEveryBuffer)
{
    const Bytes payload = pattern(3000);
    stack->routes().remove(Ipv4Address{}, 0);
    EXPECT_EQ(send({payload, {1500, 1500}}, remote_ip),
              std::vector<uint64_t>(2, static_cast<uint64_t>(sys::error_code(sys::Error::not_found))));
    EXPECT_EQ(send({payload, {1000, 2000}}, ip4(224, 0, 0, 1)), std::vector<uint64_t>(2, refused));
    EXPECT_TRUE(nic.take().empty());
}

TEST_F(TransportDown, AChainToOurselvesComesBackUpAsAChain)
{
    const Bytes payload = udp(our_ip, our_ip, 9, 9, pattern(5000, 2));
    EXPECT_EQ(send({payload, {2048, 2048, payload.size() - 4096}}, our_ip), std::vector<uint64_t>(3, ok));
    EXPECT_TRUE(nic.take().empty());
    std::vector<Message> chain;
    EXPECT_EQ(receive_chain(chain), payload);
    EXPECT_EQ(chain.size(), 3u);
}

// A hostile or broken transport: random messages, flags, buffer references
// and words. Every send gets exactly one answer (now or when its chain
// ends), no batch writes more answers than it was given room for, and
// nothing reads outside the pools (ASan).
TEST_F(TransportDown, RandomMessagesKeepTheAccountsStraight)
{
    uint64_t state = 0x9E3779B97F4A7C15;
    auto next = [&state] {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
    };
    const Bytes payload = pattern(64 * 1000, 3);
    const std::vector<BufferRef> refs = lend({payload, std::vector<size_t>(64, 1000)});
    uint64_t sends = 0;
    uint64_t answered = 0;
    for (int round = 0; round < 3000; ++round) {
        std::vector<Message> messages(1 + next() % 32);
        for (Message& m : messages) {
            m = Message{};
            const uint64_t r = next();
            m.type = r % 8 == 0 ? static_cast<uint32_t>(next() % 8) : transport::send;
            m.flags = static_cast<uint32_t>(next() % 4);
            m.buffer = refs[next() % refs.size()];
            if (r % 16 == 1)
                m.buffer.index = static_cast<uint32_t>(next());
            if (r % 16 == 2)
                m.buffer.length = static_cast<uint32_t>(next() % 4096);
            if (r % 16 == 3)
                m.buffer.offset = static_cast<uint32_t>(next() % 4096);
            const Ipv4Address targets[] = {peer_ip, our_ip, remote_ip, Ipv4Address::broadcast(), Ipv4Address{static_cast<uint32_t>(next())}};
            m.words[0] = targets[next() % 5].value | (next() % 4 == 0 ? next() << 32 : 0);
            m.words[1] = next() % 3 == 0 ? next() : next() % 2048;
            if (m.type == transport::send)
                ++sends;
        }
        const uint32_t room = static_cast<uint32_t>(messages.size()) + port.held();
        std::vector<Message> answers(room);
        uint32_t count = 0;
        for (const Message& m : messages)
            port.receive(m, *stack, now, answers.data(), count);
        ASSERT_LE(count, room);
        for (uint32_t i = 0; i < count; ++i)
            ASSERT_EQ(answers[i].type, transport::send_done);
        answered += count;
        nic.take();
        up.take();
    }
    EXPECT_EQ(sends, answered + port.held());
}

using TransportChecksum = TransportTest;

TEST_F(TransportChecksum, FilledInWithoutOffload)
{
    for (size_t size : {size_t{0}, size_t{1}, size_t{101}, size_t{1472}, size_t{1473}, size_t{9000}}) {
        Bytes payload = udp(our_ip, peer_ip, 7, 1000, pattern(size, 5), false);
        payload[6] = 0xAB; // whatever the field holds is ignored
        payload[7] = 0xCD;
        // Large ones in a chain whose pieces after the first start at odd offsets.
        std::vector<size_t> sizes = {payload.size()};
        if (payload.size() > 2048) {
            sizes = {1001};
            for (size_t at = 1001; at < payload.size(); at += 2048)
                sizes.push_back(payload.size() - at < 2048 ? payload.size() - at : 2048);
        }
        EXPECT_EQ(send({payload, sizes}, peer_ip, {}, transport::flags::fill_checksum, 6),
                  std::vector<uint64_t>(sizes.size(), ok))
            << size;
        const auto sent = nic.take();
        for (const Sent& f : sent)
            EXPECT_FALSE(f.offload.requested());
        const Bytes wire = reassemble(sent);
        ASSERT_EQ(wire.size(), payload.size()) << size;
        EXPECT_EQ(pseudo_check(our_ip, peer_ip, udp_protocol, wire), 0) << size;
        EXPECT_EQ(Bytes(wire.begin() + 8, wire.end()), Bytes(payload.begin() + 8, payload.end())) << size;
        EXPECT_EQ(Bytes(wire.begin(), wire.begin() + 6), Bytes(payload.begin(), payload.begin() + 6)) << size;
    }
    EXPECT_EQ(drops_since_baseline(), "");
    // The transport's own buffer is not written to.
    Bytes payload = udp(our_ip, peer_ip, 7, 1000, pattern(20), false);
    payload[6] = 0xAB;
    const std::vector<BufferRef> refs = lend({payload, {payload.size()}});
    ASSERT_EQ(batch(sends(refs, peer_ip, {}, transport::flags::fill_checksum, 6)).size(), 1u);
    EXPECT_EQ(nic.take().size(), 1u);
    EXPECT_EQ(Bytes(transport_pool.data(refs[0]), transport_pool.data(refs[0]) + payload.size()), payload);
}

// TCP's field is at 16; a TCP server on the port.
TEST_F(TransportChecksum, TcpFieldInALaterPieceOfAChain)
{
    port.close();
    open(tcp_protocol);
    Bytes segment = pattern(3000, 11);
    segment[16] = 0xFF;
    segment[17] = 0xFF;
    EXPECT_EQ(send({segment, {10, 7, 1983, 1000}}, remote_ip, {}, transport::flags::fill_checksum, 16),
              std::vector<uint64_t>(4, ok));
    const auto sent = nic.take();
    ASSERT_EQ(sent.size(), 3u);
    EXPECT_EQ(sent[0].protocol(), tcp_protocol);
    EXPECT_EQ(sent[0].destination_mac(), gateway_mac);
    EXPECT_EQ(pseudo_check(our_ip, remote_ip, tcp_protocol, reassemble(sent)), 0);
}

// With offload a single frame leaves the sum to the NIC: the field holds the
// pseudo header's sum as its seed. Fragments and loopback are computed here.
TEST_F(TransportChecksum, OffloadedForSingleFramesOnly)
{
    stack->set_tx_checksum_offload(0, true);
    Bytes payload = udp(our_ip, peer_ip, 7, 1000, pattern(500, 6), false);
    payload[6] = 0x12;
    EXPECT_EQ(send({payload, {200, 308}}, peer_ip, {}, transport::flags::fill_checksum, 6),
              std::vector<uint64_t>(2, ok));
    auto sent = nic.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].offload.start, 34);
    EXPECT_EQ(sent[0].offload.offset, 40);
    const uint32_t seed = (our_ip.value >> 16) + (our_ip.value & 0xFFFF) + (peer_ip.value >> 16) +
                          (peer_ip.value & 0xFFFF) + udp_protocol + payload.size();
    EXPECT_EQ(get16(sent[0].as_given, 40), static_cast<uint16_t>(~ref_checksum(nullptr, 0, seed)));
    EXPECT_EQ(pseudo_check(our_ip, peer_ip, udp_protocol, sent[0].ip_payload()), 0);

    const Bytes big = udp(our_ip, peer_ip, 7, 1000, pattern(3000, 6), false);
    EXPECT_EQ(send({big, {1504, 1504}}, peer_ip, {}, transport::flags::fill_checksum, 6),
              std::vector<uint64_t>(2, ok));
    sent = nic.take();
    ASSERT_EQ(sent.size(), 3u);
    for (const Sent& f : sent)
        EXPECT_FALSE(f.offload.requested());
    EXPECT_EQ(pseudo_check(our_ip, peer_ip, udp_protocol, reassemble(sent)), 0);

    // Waiting for ARP: computed when the frame is queued.
    const Ipv4Address stranger = ip4(10, 0, 2, 77);
    const MacAddress stranger_mac{{0x52, 0x55, 0x0a, 0x00, 0x02, 0x4d}};
    const Bytes small = udp(our_ip, stranger, 7, 1000, pattern(30, 6), false);
    EXPECT_EQ(send({small, {small.size()}}, stranger, {}, transport::flags::fill_checksum, 6),
              std::vector<uint64_t>{ok});
    ASSERT_EQ(nic.take().size(), 1u); // the ARP request
    feed(ethernet(our_mac, stranger_mac, 0x0806, arp(2, stranger_mac, stranger, our_mac, our_ip)));
    sent = nic.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_FALSE(sent[0].offload.requested());
    EXPECT_EQ(pseudo_check(our_ip, stranger, udp_protocol, sent[0].ip_payload()), 0);

    // To ourselves: the datagram that comes back up carries a good checksum.
    const Bytes looped = udp(our_ip, our_ip, 9, 9, pattern(40), false);
    EXPECT_EQ(send({looped, {looped.size()}}, our_ip, {}, transport::flags::fill_checksum, 6),
              std::vector<uint64_t>{ok});
    std::vector<Message> chain;
    EXPECT_EQ(pseudo_check(our_ip, our_ip, udp_protocol, receive_chain(chain)), 0);
}

TEST_F(TransportChecksum, BadOffsetsAreRefused)
{
    const Bytes payload = pattern(100);
    for (uint64_t at : {uint64_t{7}, uint64_t{99}, uint64_t{100}, uint64_t{1} << 40})
        EXPECT_EQ(send({payload, {payload.size()}}, peer_ip, {}, transport::flags::fill_checksum, at),
                  std::vector<uint64_t>{refused})
            << at;
    EXPECT_EQ(send({payload, {60, 40}}, peer_ip, {}, transport::flags::fill_checksum, 99),
              std::vector<uint64_t>(2, refused));
    EXPECT_TRUE(nic.take().empty());
    // The last two bytes are a field like any other.
    EXPECT_EQ(send({payload, {payload.size()}}, peer_ip, {}, transport::flags::fill_checksum, 98),
              std::vector<uint64_t>{ok});
    const auto sent = nic.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(pseudo_check(our_ip, peer_ip, udp_protocol, sent[0].ip_payload()), 0);
}

// --- Segmentation offload: a large TCP segment goes to the NIC whole.

class TransportSegmentation : public TransportTest {
protected:
    void SetUp() override
    {
        TransportTest::SetUp();
        port.close();
        open(tcp_protocol);
        stack->set_tcp_segmentation(0, true);
    }

    // A segment from us to the peer with `data`, in 2 KiB buffers.
    static Chunked segment(const Bytes& data, uint8_t flags)
    {
        Segment s;
        s.flags = flags;
        s.data = data;
        Chunked c{s.bytes(), {}};
        for (size_t at = 0; at < c.payload.size(); at += 2048)
            c.sizes.push_back(c.payload.size() - at < 2048 ? c.payload.size() - at : 2048);
        return c;
    }

    // The data of wire frames, checked one by one: right IPv4 and TCP
    // checksums, sequence numbers in order, PSH only on the last.
    static Bytes check_frames(const std::vector<Sent>& frames, size_t mss)
    {
        Bytes data;
        for (size_t i = 0; i < frames.size(); ++i) {
            const Bytes d = frames[i].ip();
            EXPECT_EQ(ref_checksum(d, 0, 20), 0u) << i;
            const Bytes tcp = frames[i].ip_payload();
            EXPECT_EQ(pseudo_check(our_ip, peer_ip, tcp_protocol, tcp), 0) << i;
            EXPECT_EQ(get32(tcp, 4), 1000u + data.size()) << i;
            const bool last = i + 1 == frames.size();
            EXPECT_EQ((tcp[13] & tern::net::tcp_flag::psh) != 0, last) << i;
            if (!last) {
                EXPECT_EQ(tcp.size() - 20, mss) << i;
            }
            data.insert(data.end(), tcp.begin() + 20, tcp.end());
        }
        return data;
    }
};

TEST_F(TransportSegmentation, AnnouncedToTheTransport)
{
    const std::vector<Message> got = up.take();
    port.close();
    open(tcp_protocol); // announces afresh
    (void)got;
    stack->set_tcp_segmentation(0, false);
    EXPECT_TRUE(port.announce(*stack)) << "a change transports hear of";
    port_upper.flush();
    const std::vector<Message> off = up.take();
    ASSERT_EQ(off.size(), 1u);
    EXPECT_EQ(off[0].words[3] & transport::address_segmentation, 0u);
    stack->set_tcp_segmentation(0, true);
    EXPECT_TRUE(port.announce(*stack));
    port_upper.flush();
    const std::vector<Message> on = up.take();
    ASSERT_EQ(on.size(), 1u);
    EXPECT_NE(on[0].words[3] & transport::address_segmentation, 0u);
}

TEST_F(TransportSegmentation, LargeSegmentsGoToTheNicWholeAndComeOutCut)
{
    using namespace tern::net::tcp_flag;
    const Bytes data = pattern(20000, 4);
    const uint64_t packets = stack->interface(0)->counters.tx_packets;
    EXPECT_EQ(send(segment(data, ack | psh), peer_ip, {}, transport::flags::fill_checksum, 16, 1460),
              std::vector<uint64_t>(10, ok));
    ASSERT_EQ(nic.segmentations.size(), 1u);
    const auto& request = nic.segmentations[0];
    EXPECT_EQ(request.request.mss, 1460u);
    EXPECT_EQ(request.request.ip_header_length, 20u);
    EXPECT_EQ(request.request.tcp_header_length, 20u);
    EXPECT_EQ(request.frame.size(), 14u + 20 + 20 + data.size());
    EXPECT_EQ(get16(request.frame, 24), 0u) << "the IPv4 checksum is the NIC's to fill in";
    const std::vector<Sent> frames = nic.take();
    EXPECT_EQ(frames.size(), 14u); // 13 x 1460 + 1020
    EXPECT_EQ(check_frames(frames, 1460), data);
    EXPECT_EQ(stack->interface(0)->counters.tx_packets - packets, 14u);

    // The connection's MSS when it is smaller than the MTU allows.
    EXPECT_EQ(send(segment(data, ack | psh), peer_ip, {}, transport::flags::fill_checksum, 16, 536),
              std::vector<uint64_t>(10, ok));
    EXPECT_EQ(check_frames(nic.take(), 536), data);
    EXPECT_EQ(nic.segmentations[1].request.mss, 536u);
}

// Where the NIC cannot cut the segment, it still arrives: as IP fragments.
TEST_F(TransportSegmentation, OtherwiseFragmented)
{
    using namespace tern::net::tcp_flag;
    const Chunked c = segment(pattern(5000, 2), ack);
    for (int variant = 0; variant < 3; ++variant) {
        nic.take();
        if (variant == 1)
            stack->set_tcp_segmentation(0, false);
        Ipv4Address to = peer_ip;
        if (variant == 2) { // the next hop is not resolved yet
            stack->set_tcp_segmentation(0, true);
            to = ip4(10, 0, 2, 77);
        }
        const uint64_t segment_size = variant == 0 ? 0 : 1460; // 0: the transport did not ask
        EXPECT_EQ(send(c, to, {}, transport::flags::fill_checksum, 16, segment_size), std::vector<uint64_t>(3, ok))
            << variant;
        if (variant == 2) {
            ASSERT_EQ(nic.take().size(), 1u); // the ARP request
            const MacAddress mac{{0x52, 0x55, 0x0a, 0x00, 0x02, 0x4d}};
            feed(ethernet(our_mac, mac, 0x0806, arp(2, mac, to, our_mac, our_ip)));
        }
        const std::vector<Sent> frames = nic.take();
        EXPECT_EQ(frames.size(), 4u) << variant; // 5040 bytes in 1480-byte fragments
        Bytes whole = reassemble(frames);
        EXPECT_EQ(pseudo_check(our_ip, to, tcp_protocol, whole), 0) << variant;
        whole[16] = c.payload[16]; // ip filled in the checksum
        whole[17] = c.payload[17];
        EXPECT_EQ(whole, c.payload) << variant;
    }
    EXPECT_TRUE(nic.segmentations.empty());
}

// A send that names a segment size above 16 bits is refused; one so small
// that the NIC would make a frame of every few bytes goes as IP fragments.
TEST_F(TransportSegmentation, ImpossibleSegmentSizesAreRefusedTinyOnesFragmented)
{
    EXPECT_EQ(send(segment(pattern(3000), tern::net::tcp_flag::ack), peer_ip, {}, transport::flags::fill_checksum, 16,
                   0x10000),
              std::vector<uint64_t>(2, refused));
    EXPECT_TRUE(nic.take().empty());
    EXPECT_EQ(send(segment(pattern(3000), tern::net::tcp_flag::ack), peer_ip, {}, transport::flags::fill_checksum, 16,
                   10),
              std::vector<uint64_t>(2, ok));
    EXPECT_EQ(nic.take().size(), 3u); // 3,020 bytes in 1,480-byte fragments
    EXPECT_TRUE(nic.segmentations.empty());
}

using TransportSource = TransportTest;

TEST_F(TransportSource, ZeroMeansTheRoutesAddressOtherwiseOneOfOurs)
{
    const MacAddress mac1{{0x52, 0x54, 0x00, 0x00, 0x00, 0x02}};
    const Ipv4Address other_ip = ip4(192, 168, 7, 1);
    ASSERT_EQ(stack->add_interface(mac1).value_or(9), 1u);
    ASSERT_TRUE(stack->configure(1, other_ip, 24).ok());
    const Bytes payload = udp(our_ip, peer_ip, 7, 1000, pattern(20), false);

    EXPECT_EQ(send({payload, {payload.size()}}, peer_ip), std::vector<uint64_t>{ok});
    auto sent = nic.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].ip_source(), our_ip);

    // Eth1's address out of eth0 (weak host), its pseudo header in the checksum.
    EXPECT_EQ(send({payload, {payload.size()}}, peer_ip, other_ip, transport::flags::fill_checksum, 6),
              std::vector<uint64_t>{ok});
    sent = nic.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].interface, 0u);
    EXPECT_EQ(sent[0].ip_source(), other_ip);
    EXPECT_EQ(pseudo_check(other_ip, peer_ip, udp_protocol, sent[0].ip_payload()), 0);

    for (Ipv4Address bad : {peer_ip, ip4(10, 0, 2, 255), Ipv4Address::broadcast(), ip4(127, 0, 0, 1)})
        EXPECT_EQ(send({payload, {10, payload.size() - 10}}, peer_ip, bad), std::vector<uint64_t>(2, refused))
            << to_text(bad).text;
    EXPECT_TRUE(nic.take().empty());

    // To ourselves from another of our addresses.
    EXPECT_EQ(send({payload, {payload.size()}}, our_ip, other_ip), std::vector<uint64_t>{ok});
    std::vector<Message> chain;
    receive_chain(chain);
    ASSERT_EQ(chain.size(), 1u);
    EXPECT_EQ(chain[0].words[0], other_ip.value | uint64_t{our_ip.value} << 32);
}

using TransportAnnouncements = TransportTest;

struct Announced {
    uint64_t interface, address, mtu, state;
};

std::vector<Announced> announcements(const std::vector<Message>& messages)
{
    std::vector<Announced> out;
    for (const Message& m : messages) {
        EXPECT_EQ(m.type, transport::address);
        out.push_back({m.words[0], m.words[1], m.words[2], m.words[3]});
    }
    return out;
}

bool operator==(const Announced& a, const Announced& b)
{
    return a.interface == b.interface && a.address == b.address && a.mtu == b.mtu && a.state == b.state;
}

std::ostream& operator<<(std::ostream& os, const Announced& a)
{
    return os << "{" << a.interface << ", " << std::hex << a.address << std::dec << ", " << a.mtu << ", " << a.state
              << "}";
}

TEST_F(TransportAnnouncements, EveryInterfaceOnConnectAndOnEveryChange)
{
    const uint64_t eth0 = our_ip.value | uint64_t{24} << 32;
    const uint64_t up_default = transport::address_link_up | transport::address_default_route;
    port.close();
    port.open(udp_protocol, up.producer, ip_pool.owner, transport_holder, &transport_pool.view);
    EXPECT_TRUE(port.announce(*stack));
    port_upper.flush();
    EXPECT_EQ(announcements(up.take()), (std::vector<Announced>{{0, eth0, 1500, up_default}}));
    EXPECT_FALSE(port.announce(*stack)) << "nothing changed";

    // Things that change nothing visible announce nothing.
    stack->set_link(0, true);
    ASSERT_TRUE(stack->configure(0, our_ip, 24).ok());
    stack->set_tx_checksum_offload(0, true);
    EXPECT_FALSE(port.announce(*stack));

    stack->set_link(0, false);
    EXPECT_TRUE(port.announce(*stack));
    port_upper.flush();
    EXPECT_EQ(announcements(up.take()), (std::vector<Announced>{{0, eth0, 1500, transport::address_default_route}}));

    const MacAddress mac1{{0x52, 0x54, 0x00, 0x00, 0x00, 0x02}};
    ASSERT_TRUE(stack->add_interface(mac1, 1280).ok());
    ASSERT_TRUE(stack->configure(1, ip4(192, 168, 7, 1), 16).ok());
    ASSERT_TRUE(stack->set_default_gateway(ip4(192, 168, 0, 1), 1).ok());
    EXPECT_TRUE(port.announce(*stack));
    port_upper.flush();
    EXPECT_EQ(announcements(up.take()),
              (std::vector<Announced>{{0, eth0, 1500, 0},
                                      {1, ip4(192, 168, 7, 1).value | uint64_t{16} << 32, 1280, up_default}}));

    stack->deconfigure(1);
    EXPECT_TRUE(port.announce(*stack));
    port_upper.flush();
    EXPECT_EQ(announcements(up.take()), (std::vector<Announced>{{0, eth0, 1500, 0}, {1, 0, 1280, 1}}));

    // No room on the ring: nothing now, everything once there is.
    stack->set_link(0, true);
    ASSERT_EQ(up.producer.space(255), 256u);
    (void)up.producer.publish(255);
    EXPECT_FALSE(port.announce(*stack));
    up.take();
    EXPECT_TRUE(port.announce(*stack));
    port_upper.flush();
    EXPECT_EQ(announcements(up.take()), (std::vector<Announced>{{0, eth0, 1500, 1}, {1, 0, 1280, 1}}));
}

} // namespace
