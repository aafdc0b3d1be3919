// Host test pieces for the transport servers (tcp, udp): channel ends on
// plain memory, pools, an in-memory ip that carries datagrams between two
// engines (each in its own isolated lwIP instance, see
// transport_instance.hpp), and a scripted application speaking the socket
// protocol (proto/socket.hpp) directly, so each test sees every message.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "channel/link.hpp"
#include "net/tcp.hpp"
#include "channel/message.hpp"
#include "channel/pool.hpp"
#include "channel/ring.hpp"
#include "net/checksum.hpp"
#include "proto/ip.hpp"
#include "proto/socket.hpp"
#include "transport_instance.hpp"

namespace transport_test {

using tern::channel::BufferRef;
using tern::channel::Consumer;
using tern::channel::Message;
using tern::channel::PoolGeometry;
using tern::channel::PoolOwner;
using tern::channel::PoolView;
using tern::channel::Producer;

// 64-byte aligned memory, freed with the object.
struct Aligned {
    explicit Aligned(size_t bytes) : size(bytes), memory(std::aligned_alloc(64, (bytes + 63) / 64 * 64))
    {
        std::memset(memory, 0, size);
    }
    ~Aligned() { std::free(memory); }
    Aligned(const Aligned&) = delete;
    Aligned& operator=(const Aligned&) = delete;
    size_t size;
    void* memory;
};

inline uint32_t next_pool_id()
{
    static uint32_t id = 100;
    return ++id;
}

// A pool its owner made; peers attach a view of it.
struct HostPool {
    explicit HostPool(uint32_t count, uint32_t buffer_size = tern::channel::default_buffer_size)
        : geometry{next_pool_id(), count, buffer_size, 0}, memory(tern::channel::pool_bytes(geometry))
    {
        EXPECT_TRUE(owner.init(memory.memory, memory.size, geometry).ok());
        EXPECT_TRUE(view.attach(memory.memory, memory.size, geometry).ok());
    }
    uint8_t* bytes(const BufferRef& ref) const { return view.buffer(ref.index) + ref.offset; }
    PoolGeometry geometry;
    Aligned memory;
    PoolOwner owner;
    PoolView view; // what a peer sees
};

// One end of an in-memory channel.
class MemoryLink final : public tern::channel::Link {
public:
    Producer<Message>& tx() override { return m_tx; }
    Consumer<Message>& rx() override { return m_rx; }
    const PoolView* peer_pool() const override { return m_peer_pool; }
    void publish(uint32_t count) override { (void)m_tx.publish(count); }
    void release(uint32_t count) override { (void)m_rx.release(count); }

    Producer<Message> m_tx;
    Consumer<Message> m_rx;
    const PoolView* m_peer_pool = nullptr;
};

// Both ends of a channel: `server` is the engine's end, `peer` the other.
class Duplex {
public:
    explicit Duplex(uint32_t slots)
        : m_up(tern::channel::ring_bytes(slots)), m_down(tern::channel::ring_bytes(slots))
    {
        tern::channel::ring_init(m_up.memory);
        tern::channel::ring_init(m_down.memory);
        EXPECT_TRUE(peer.m_tx.attach(m_up.memory, m_up.size, slots).ok());
        EXPECT_TRUE(server.m_rx.attach(m_up.memory, m_up.size, slots).ok());
        EXPECT_TRUE(server.m_tx.attach(m_down.memory, m_down.size, slots).ok());
        EXPECT_TRUE(peer.m_rx.attach(m_down.memory, m_down.size, slots).ok());
    }
    MemoryLink server;
    MemoryLink peer;

private:
    Aligned m_up;   // peer -> server
    Aligned m_down; // server -> peer
};

// Drains every message a link has and hands each to `handle`.
inline bool drain(MemoryLink& link, const std::function<void(const Message&)>& handle)
{
    const uint32_t n = link.rx().available();
    for (uint32_t i = 0; i < n; ++i)
        handle(link.rx().read(i));
    if (n != 0)
        link.release(n);
    return n != 0;
}

inline void post(MemoryLink& link, const Message& m)
{
    ASSERT_GE(link.tx().space(1), 1u) << "a test ring filled up";
    link.tx().slot(0) = m;
    link.publish(1);
}

// An in-memory ip for two transport engines: datagrams one sends to the
// other's address are copied into ip's pool and delivered, with the
// checksum filled in as the real ip does. It can drop or hold back
// datagrams to exercise retransmission and reordering.
class FakeIp {
public:
    static constexpr uint32_t slots = 8192;

    FakeIp(uint8_t protocol, uint32_t address_a, uint32_t address_b)
        : m_protocol(protocol), m_pool(4096), m_address{address_a, address_b}
    {
    }

    // The engines' pools (their send buffers) become visible to ip.
    void connect(unsigned side, TransportEngine& engine, const PoolView& engine_pool)
    {
        Duplex& d = m_links[side];
        d.server.m_peer_pool = &m_pool.view;
        d.peer.m_peer_pool = &engine_pool;
        engine.ip_connected(&d.server);
        announce(side);
    }

    // Segmentation offload from now on (announced to both engines): a TCP
    // send with a segment size (send words[2]) is cut into segments of that
    // size as a NIC with TSO does, each delivered on its own.
    void set_segmentation(bool on)
    {
        m_segmentation = on;
        announce(0);
        announce(1);
    }
    uint64_t large_sends = 0;    // sends that were cut
    size_t largest_segment = 0;  // the most data bytes in one TCP send
    // Large segments arrive whole instead, as after ip's receive offload
    // merged the frames a NIC cut them into.
    bool deliver_large_whole = false;
    // SYNs lose their window scale option on the way, as through a peer
    // without RFC 7323 (QEMU's slirp): both ends then announce 64 KiB at most.
    bool strip_window_scale = false;

    // Moves everything waiting; true if anything moved.
    bool step()
    {
        bool moved = false;
        for (unsigned side = 0; side < 2; ++side) {
            moved = drain(m_links[side].peer, [&](const Message& m) { from_engine(side, m); }) || moved;
        }
        return moved;
    }

    // Datagram numbers (counting from 1, both directions together) the next
    // sends get dropped at.
    std::function<bool(uint64_t datagram, unsigned from_side)> drop_if;
    // The most bytes ip puts in one buffer of a delivery (smaller than a
    // buffer: every datagram arrives as a chain, as reassembled ones do).
    uint32_t piece = 0; // 0: whole buffers
    uint64_t datagrams() const { return m_datagrams; }
    uint64_t dropped() const { return m_dropped; }
    uint32_t buffers_lent() const { return m_pool.geometry.count - m_pool.owner.free_count(); }
    // Bytes of the last datagram sent from `side`, for tests that look at
    // what an engine put on the wire.
    std::vector<uint8_t> last_from[2];
    // The ICMP codes engines asked for with deliver_done.
    std::vector<uint8_t> unreachable;
    // Hands a raw datagram to `side` as if it came from the other one.
    void inject(unsigned side, const std::vector<uint8_t>& payload, bool fix_checksum, size_t checksum_offset)
    {
        std::vector<uint8_t> bytes = payload;
        if (fix_checksum)
            fill_checksum(m_address[1 - side], m_address[side], bytes, checksum_offset);
        deliver(side, bytes);
    }

private:
    void from_engine(unsigned side, const Message& m)
    {
        Duplex& d = m_links[side];
        if (m.type == tern::ip_transport::deliver_done) {
            if (m.words[0] != 0)
                unreachable.push_back(static_cast<uint8_t>(m.words[0]));
            EXPECT_TRUE(m_pool.owner.take_back(m.buffer, 1 + side).ok());
            EXPECT_TRUE(m_pool.owner.free(m.buffer).ok());
            return;
        }
        ASSERT_EQ(m.type, tern::ip_transport::send);
        const auto bytes = d.peer.peer_pool()->bytes(m.buffer);
        ASSERT_TRUE(bytes.ok());
        m_gather[side].insert(m_gather[side].end(), bytes.value(), bytes.value() + m.buffer.length);
        Message done{};
        done.type = tern::ip_transport::send_done;
        done.buffer = m.buffer;
        post(d.peer, done);
        if ((m.flags & tern::ip_transport::flags::more) != 0)
            return;
        std::vector<uint8_t> datagram;
        datagram.swap(m_gather[side]);
        const uint32_t destination = static_cast<uint32_t>(m.words[0]);
        const uint32_t source = static_cast<uint32_t>(m.words[0] >> 32) != 0 ? static_cast<uint32_t>(m.words[0] >> 32)
                                                                              : m_address[side];
        EXPECT_EQ(source, m_address[side]);
        if (m_protocol == 6 && datagram.size() >= 20 && datagram.size() - (datagram[12] >> 4) * 4u > largest_segment)
            largest_segment = datagram.size() - (datagram[12] >> 4) * 4u;
        if (m.words[2] != 0 && m_protocol == 6 && datagram.size() > 20 + (datagram[12] >> 4) * 4u + m.words[2]) {
            EXPECT_TRUE(m_segmentation) << "a large segment on an interface without segmentation offload";
            ++large_sends;
            if (deliver_large_whole) {
                pass_on(side, source, destination, datagram, m);
                return;
            }
            for (auto& segment : cut(datagram, m.words[2]))
                pass_on(side, source, destination, segment, m);
            return;
        }
        pass_on(side, source, destination, datagram, m);
    }

    // What a NIC with TSO makes of a large segment: one per `mss` data bytes,
    // each with the header (its sequence number moved on, FIN and PSH only
    // on the last).
    static std::vector<std::vector<uint8_t>> cut(const std::vector<uint8_t>& datagram, uint64_t mss)
    {
        const size_t header = (datagram[12] >> 4) * 4u;
        const uint32_t sequence = uint32_t{datagram[4]} << 24 | uint32_t{datagram[5]} << 16 |
                                  uint32_t{datagram[6]} << 8 | datagram[7];
        std::vector<std::vector<uint8_t>> out;
        for (size_t offset = header; offset < datagram.size(); offset += mss) {
            const size_t data = datagram.size() - offset < mss ? datagram.size() - offset : mss;
            std::vector<uint8_t> s(datagram.begin(), datagram.begin() + static_cast<long>(header));
            s.insert(s.end(), datagram.begin() + static_cast<long>(offset),
                     datagram.begin() + static_cast<long>(offset + data));
            const uint32_t seq = sequence + static_cast<uint32_t>(offset - header);
            for (int i = 0; i < 4; ++i)
                s[4 + i] = static_cast<uint8_t>(seq >> (24 - 8 * i));
            if (offset + data != datagram.size())
                s[13] &= static_cast<uint8_t>(~(tern::net::tcp_flag::fin | tern::net::tcp_flag::psh));
            out.push_back(std::move(s));
        }
        return out;
    }

    void pass_on(unsigned side, uint32_t source, uint32_t destination, std::vector<uint8_t>& datagram, const Message& m)
    {
        if (strip_window_scale && m_protocol == 6 && without_window_scale(datagram))
            fill_checksum(source, destination, datagram, 16);
        else if ((m.flags & tern::ip_transport::flags::fill_checksum) != 0)
            fill_checksum(source, destination, datagram, m.words[1]);
        last_from[side] = datagram;
        ++m_datagrams;
        if (drop_if && drop_if(m_datagrams, side)) {
            ++m_dropped;
            return;
        }
        if (destination == m_address[1 - side])
            deliver(1 - side, datagram);
    }

    // Turns a SYN's window scale option (kind 3) into no-operations; true
    // if there was one.
    static bool without_window_scale(std::vector<uint8_t>& segment)
    {
        if (segment.size() < 20 || (segment[13] & tern::net::tcp_flag::syn) == 0)
            return false;
        const size_t end = (segment[12] >> 4) * 4u < segment.size() ? (segment[12] >> 4) * 4u : segment.size();
        for (size_t i = 20; i < end;) {
            if (segment[i] == 0)
                break;
            if (segment[i] == 1 || i + 1 >= end) {
                ++i;
                continue;
            }
            const size_t length = segment[i + 1] < 2 ? 2 : segment[i + 1];
            if (segment[i] == 3 && i + length <= end) {
                for (size_t k = 0; k < length; ++k)
                    segment[i + k] = 1;
                return true;
            }
            i += length;
        }
        return false;
    }

    void announce(unsigned side)
    {
        Message a{};
        a.type = tern::ip_transport::address;
        a.words[0] = 0;
        a.words[1] = m_address[side] | uint64_t{24} << 32;
        a.words[2] = 1500;
        a.words[3] = tern::ip_transport::address_link_up | tern::ip_transport::address_default_route |
                     (m_segmentation ? tern::ip_transport::address_segmentation : 0);
        post(m_links[side].peer, a);
    }

    void fill_checksum(uint32_t source, uint32_t destination, std::vector<uint8_t>& d, size_t offset)
    {
        ASSERT_LE(offset + 2, d.size());
        d[offset] = d[offset + 1] = 0;
        const auto sum = tern::net::pseudo_header_sum({source}, {destination}, m_protocol,
                                                      static_cast<uint16_t>(d.size()));
        uint16_t checksum = tern::net::checksum_finish(tern::net::checksum_add(sum, d.data(), d.size()));
        if (checksum == 0 && m_protocol == 17)
            checksum = 0xFFFF;
        d[offset] = static_cast<uint8_t>(checksum >> 8);
        d[offset + 1] = static_cast<uint8_t>(checksum);
    }

    void deliver(unsigned side, const std::vector<uint8_t>& datagram)
    {
        Duplex& d = m_links[side];
        const uint32_t size = piece != 0 ? piece : m_pool.geometry.buffer_size;
        const size_t pieces = datagram.empty() ? 1 : (datagram.size() + size - 1) / size;
        for (size_t i = 0, offset = 0; i < pieces; ++i) {
            auto buffer = m_pool.owner.allocate();
            ASSERT_TRUE(buffer.ok()) << "the fake ip ran out of buffers: an engine holds them";
            BufferRef ref = buffer.value();
            const size_t length = datagram.size() - offset < size ? datagram.size() - offset : size;
            ref.length = static_cast<uint32_t>(length);
            std::memcpy(m_pool.bytes(ref), datagram.data() + offset, length);
            offset += length;
            ASSERT_TRUE(m_pool.owner.lend(ref, 1 + side).ok());
            Message m{};
            m.type = tern::ip_transport::deliver;
            m.flags = i + 1 < pieces ? tern::ip_transport::flags::more : 0;
            m.buffer = ref;
            m.words[0] = m_address[1 - side] | uint64_t{m_address[side]} << 32;
            m.words[1] = 0 | uint64_t{64} << 8;
            m.words[2] = datagram.size();
            post(d.peer, m);
        }
    }

    uint8_t m_protocol;
    HostPool m_pool;
    uint32_t m_address[2];
    Duplex m_links[2]{Duplex(slots), Duplex(slots)};
    std::vector<uint8_t> m_gather[2];
    uint64_t m_datagrams = 0;
    uint64_t m_dropped = 0;
    bool m_segmentation = false;
};

// An application on a socket channel, speaking the protocol by hand: the
// test sends requests and looks at the events that came back.
class App {
public:
    App(TransportEngine& engine, const PoolView& engine_pool, uint32_t process)
        : m_engine(engine), m_pool(512), m_duplex(4096)
    {
        m_duplex.server.m_peer_pool = &m_pool.view;
        m_duplex.peer.m_peer_pool = &engine_pool;
        m_client = engine.add_client(&m_duplex.server, process);
        EXPECT_GE(m_client, 0);
    }

    int client() const { return m_client; }

    void request(uint32_t type, uint32_t id, uint64_t w1 = 0, uint64_t w2 = 0)
    {
        Message m{};
        m.type = type;
        m.words[0] = id;
        m.words[1] = w1;
        m.words[2] = w2;
        post(m_duplex.peer, m);
    }

    // Sends bytes as buffers of up to `piece` bytes; false if our pool is
    // empty (the engine holds everything).
    bool send(uint32_t id, const uint8_t* data, size_t length, size_t piece = 2048, uint64_t destination = 0,
              bool chain = false)
    {
        for (size_t offset = 0; offset < length || (length == 0 && offset == 0);) {
            auto buffer = m_pool.owner.allocate();
            if (!buffer.ok())
                return false;
            BufferRef ref = buffer.value();
            const size_t n = length - offset < piece ? length - offset : piece;
            ref.length = static_cast<uint32_t>(n);
            if (n != 0)
                std::memcpy(m_pool.bytes(ref), data + offset, n);
            EXPECT_TRUE(m_pool.owner.lend(ref, 1).ok());
            offset += n;
            Message m{};
            m.type = tern::socket_proto::send;
            m.flags = chain && offset < length ? tern::socket_proto::flags::more : 0;
            m.buffer = ref;
            m.words[0] = id;
            m.words[1] = destination;
            post(m_duplex.peer, m);
            if (length == 0)
                break;
        }
        return true;
    }

    // Handles what the engine sent: data is collected per socket (and given
    // back at once unless `hold` is set), buffers of ours come home,
    // everything else is kept in `events`.
    bool pump()
    {
        return drain(m_duplex.peer, [&](const Message& m) {
            log.push_back(m.type);
            switch (m.type) {
            case tern::socket_proto::sent:
                EXPECT_TRUE(m_pool.owner.take_back(m.buffer, 1).ok());
                EXPECT_TRUE(m_pool.owner.free(m.buffer).ok());
                if (m.words[1] != 0)
                    send_errors.push_back(static_cast<int>(static_cast<int64_t>(m.words[1])));
                break;
            case tern::socket_proto::data: {
                const auto bytes = m_duplex.peer.peer_pool()->bytes(m.buffer);
                EXPECT_TRUE(bytes.ok());
                auto& into = received[static_cast<uint32_t>(m.words[0])];
                into.insert(into.end(), bytes.value(), bytes.value() + m.buffer.length);
                data_messages.push_back(m);
                if (!hold)
                    give_back(m);
                break;
            }
            default:
                events.push_back(m);
                break;
            }
        });
    }

    void give_back(const Message& data)
    {
        Message back{};
        back.type = tern::socket_proto::received;
        back.buffer = data.buffer;
        back.words[0] = data.words[0];
        back.words[1] = data.buffer.length;
        post(m_duplex.peer, back);
    }

    // The first event of `type` for socket `id` (removed), if any.
    bool take(uint32_t type, uint32_t id, Message* out = nullptr)
    {
        for (auto it = events.begin(); it != events.end(); ++it) {
            if (it->type == type && it->words[0] == id) {
                if (out != nullptr)
                    *out = *it;
                events.erase(it);
                return true;
            }
        }
        return false;
    }

    uint32_t buffers_out() const { return m_pool.geometry.count - m_pool.owner.free_count(); }
    // The application ended: whatever the engine held of ours is ours again
    // (as the kernel would unmap it).
    void forget() { (void)m_pool.owner.reclaim(1); }

    std::deque<Message> events;
    std::vector<Message> data_messages;
    std::map<uint32_t, std::vector<uint8_t>> received;
    std::vector<int> send_errors;
    std::vector<uint32_t> log; // every message's type, in order
    bool hold = false;

private:
    TransportEngine& m_engine;
    HostPool m_pool;
    Duplex m_duplex;
    int m_client = -1;
};

// Two engines (each its own lwIP instance) on an in-memory ip, with an
// application on each: what every engine test starts from. The addresses are
// 10.0.0.1 (a) and 10.0.0.2 (b).
using InstanceFactory = TransportEngine* (*)(tern::channel::PoolOwner* pool, uint32_t seed);

class EnginePair {
public:
    static constexpr uint32_t address_a = 0x0A000001;
    static constexpr uint32_t address_b = 0x0A000002;

    EnginePair(uint8_t protocol, uint32_t pool_buffers, InstanceFactory make_a, InstanceFactory make_b)
        : pool_a(pool_buffers), pool_b(pool_buffers), ip(protocol, address_a, address_b), a(make_a(&pool_a.owner, 1)),
          b(make_b(&pool_b.owner, 2)), app_a(*a, pool_a.view, 100), app_b(*b, pool_b.view, 200)
    {
        ip.connect(0, *a, pool_a.view);
        ip.connect(1, *b, pool_b.view);
    }

    // One round: both engines, ip and both applications; true if anything moved.
    bool step()
    {
        bool worked = a->step(now);
        worked = b->step(now) || worked;
        worked = ip.step() || worked;
        worked = app_a.pump() || worked;
        worked = app_b.pump() || worked;
        return worked;
    }

    // What every test ends with: no socket left, and no buffer of any pool
    // or lwIP pbuf held by anyone.
    void expect_nothing_held()
    {
        Entry e;
        EXPECT_FALSE(a->socket_entry(0, e)) << "a socket was left in a";
        EXPECT_FALSE(b->socket_entry(0, e)) << "a socket was left in b";
        EXPECT_EQ(a->ip_buffers_held(), 0u);
        EXPECT_EQ(b->ip_buffers_held(), 0u);
        EXPECT_EQ(ip.buffers_lent(), 0u);
        EXPECT_EQ(app_a.buffers_out(), 0u);
        EXPECT_EQ(app_b.buffers_out(), 0u);
        EXPECT_EQ(pool_a.owner.free_count(), pool_a.geometry.count);
        EXPECT_EQ(pool_b.owner.free_count(), pool_b.geometry.count);
        EXPECT_EQ(a->lwip_pbufs_in_use(), 0u);
        EXPECT_EQ(b->lwip_pbufs_in_use(), 0u);
    }

    uint64_t now = 1'000'000'000;
    HostPool pool_a, pool_b;
    FakeIp ip;
    TransportEngine* a;
    TransportEngine* b;
    App app_a, app_b;
};

} // namespace transport_test
