// Shared pieces of the host tests of lib/socket (socket_*_test.cpp): a fake
// Platform whose two links are in-memory rings and pools, and a scripted fake
// tcp/udp server on the other ends. Everything runs on the test's thread:
// when the library would sleep, FakePlatform::wait runs the servers' step
// functions (and a test's hook) instead, and moves the fake clock to the
// deadline when nothing happens, so every test is deterministic.
//
// socket.hpp comes first: gtest and even <atomic> (through lib/channel)
// pull in <errno.h>, whose macros (EAGAIN, ...) would clash with its names.
// Tests use the E... names unqualified (the host's macros have the same
// values, checked in socket_text_test.cpp).
#pragma once

#include "socket/socket.hpp" // first of all

// The library's numbers, taken before the host's errno macros exist, to be
// compared with them (socket_text_test.cpp): both must be Linux's.
namespace socket_test::library_errno {
constexpr int again = tern::sockets::EAGAIN;
constexpr int connection_refused = tern::sockets::ECONNREFUSED;
constexpr int connection_reset = tern::sockets::ECONNRESET;
constexpr int address_in_use = tern::sockets::EADDRINUSE;
constexpr int timed_out = tern::sockets::ETIMEDOUT;
constexpr int in_progress = tern::sockets::EINPROGRESS;
constexpr int pipe = tern::sockets::EPIPE;
constexpr int not_connected = tern::sockets::ENOTCONN;
constexpr int bad_file = tern::sockets::EBADF;
constexpr int invalid = tern::sockets::EINVAL;
constexpr int message_size = tern::sockets::EMSGSIZE;
constexpr int network_down = tern::sockets::ENETDOWN;
constexpr int connection_aborted = tern::sockets::ECONNABORTED;
constexpr int no_protocol_option = tern::sockets::ENOPROTOOPT;
constexpr int already = tern::sockets::EALREADY;
constexpr int is_connected = tern::sockets::EISCONN;
constexpr int destination_required = tern::sockets::EDESTADDRREQ;
constexpr int too_many_files = tern::sockets::EMFILE;
} // namespace socket_test::library_errno

#include "socket/library.hpp"

#include <algorithm>
#include <cerrno> // the E... names tests use, unqualified
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <gtest/gtest.h>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace socket_test {

namespace proto = tern::socket_proto;
using tern::Error;
using tern::Result;
using tern::channel::BufferRef;
using tern::channel::Consumer;
using tern::channel::Message;
using tern::channel::PoolGeometry;
using tern::channel::PoolOwner;
using tern::channel::PoolView;
using tern::channel::Producer;
using tern::sockets::Config;
using tern::sockets::LinkSizes;
using tern::sockets::Platform;
using tern::sockets::Protocol;
using tern::sockets::ServerLink;
using tern::sockets::SocketLibrary;

constexpr PoolOwner::Holder app_holder = 1; // the server's record of who holds its buffers

// 64-byte aligned heap memory of exactly `bytes` bytes (ASan polices the end).
class Memory {
public:
    explicit Memory(size_t bytes)
        : m_bytes(bytes)
    {
        m_data = static_cast<uint8_t*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64));
        std::memset(m_data, 0, bytes);
    }
    ~Memory() { std::free(m_data); }
    Memory(const Memory&) = delete;
    Memory& operator=(const Memory&) = delete;
    uint8_t* get() const { return m_data; }
    size_t bytes() const { return m_bytes; }

private:
    size_t m_bytes;
    uint8_t* m_data;
};

inline uint64_t endpoint(uint32_t a, uint32_t b, uint32_t c, uint32_t d, uint16_t port)
{
    return proto::endpoint_word(a << 24 | b << 16 | c << 8 | d, port);
}

// Bytes 0..n-1 of a recognisable pattern (differs per `seed`).
inline std::string pattern(size_t n, uint32_t seed = 1)
{
    std::string s(n, '\0');
    uint32_t x = seed * 2654435761u + 12345;
    for (size_t i = 0; i < n; ++i) {
        x = x * 1103515245u + 12345;
        s[i] = static_cast<char>(x >> 16);
    }
    return s;
}

// Byte strings compared without printing kilobytes on a mismatch.
inline ::testing::AssertionResult same_bytes(const std::string& got, const std::string& want)
{
    if (got == want)
        return ::testing::AssertionSuccess();
    size_t i = 0;
    while (i < got.size() && i < want.size() && got[i] == want[i])
        ++i;
    return ::testing::AssertionFailure() << "got " << got.size() << " bytes, want " << want.size()
                                         << "; first difference at byte " << i;
}

// The server's side of one link: the other ends of the rings, its own pool
// (what it lends with `data`), and a view of the application's pool.
class FakeServer {
public:
    // --- behaviour (set by tests) ---
    bool answer_requests = true; // answer bind/listen/connect/shutdown/set_option/close at once
    int bind_error = 0; // errno for bind
    int listen_error = 0;
    int connect_error = 0; // errno for tcp connect
    bool defer_connect = false; // keep connects in `pending_connects` until answer_connect()
    bool hold_sends = false; // keep the app's buffers (no `sent`) until return_sends()
    bool defer_closed = false; // keep `closed` answers in `pending_closes` until answer_closes()
    bool sent_after_closed = false; // on close: `closed` first, the held buffers after it

    // --- what the application sent ---
    std::vector<Message> log;
    std::map<uint64_t, std::string> streams; // tcp bytes per socket id
    struct Datagram {
        uint64_t id;
        uint64_t to;
        std::string bytes;
        uint32_t buffers;
    };
    std::vector<Datagram> datagrams;
    std::map<uint64_t, uint64_t> consumed; // bytes reported in `received`, per id
    std::map<uint64_t, std::map<uint64_t, uint64_t>> options; // id -> option -> value
    std::map<uint64_t, std::vector<uint64_t>> shutdowns;
    std::map<uint64_t, int> accept_taken;
    std::set<uint64_t> closes; // ids the application closed
    std::vector<uint64_t> pending_connects;
    std::vector<uint64_t> pending_closes;
    struct Held {
        uint64_t id;
        BufferRef ref;
    };
    std::vector<Held> held; // app buffers kept (hold_sends)
    uint64_t most_bytes_held = 0; // the largest sum of held lengths seen
    uint64_t bad_input = 0; // messages from the application that broke the protocol
    uint64_t received_messages = 0;
    uint64_t send_messages = 0;

    // The application's pool as this server sees it, and its own.
    PoolView app_pool;
    std::unique_ptr<Memory> pool_memory;
    std::unique_ptr<PoolOwner> pool;
    Consumer<Message> rx; // application -> server
    Producer<Message> tx; // server -> application
    bool alive = false;

    // A new server (the first, or one restarted): all state goes, the
    // behaviour a test set stays.
    void start(void* to_server, void* to_app, uint32_t slots, const PoolView& app, const PoolGeometry& own)
    {
        FakeServer fresh;
        fresh.answer_requests = answer_requests;
        fresh.bind_error = bind_error;
        fresh.listen_error = listen_error;
        fresh.connect_error = connect_error;
        fresh.defer_connect = defer_connect;
        fresh.hold_sends = hold_sends;
        fresh.defer_closed = defer_closed;
        fresh.sent_after_closed = sent_after_closed;
        fresh.m_udp = m_udp;
        *this = std::move(fresh);
        EXPECT_TRUE(rx.attach(to_server, tern::channel::ring_bytes(slots), slots).ok());
        EXPECT_TRUE(tx.attach(to_app, tern::channel::ring_bytes(slots), slots).ok());
        app_pool = app;
        pool_memory = std::make_unique<Memory>(tern::channel::pool_bytes(own));
        pool = std::make_unique<PoolOwner>();
        EXPECT_TRUE(pool->init(pool_memory->get(), pool_memory->bytes(), own).ok());
        alive = true;
    }
    FakeServer() = default;
    FakeServer(FakeServer&&) = default;
    FakeServer& operator=(FakeServer&&) = default;

    // Handles everything the application published and publishes what is
    // queued for it. True if anything moved.
    bool step()
    {
        if (!alive)
            return false;
        bool moved = flush();
        for (;;) {
            const uint32_t n = rx.available();
            if (n == 0)
                break;
            for (uint32_t i = 0; i < n; ++i)
                handle(rx.read(i));
            (void)rx.release(n);
            moved = true;
        }
        return flush() || moved;
    }

    // --- what a test makes the server do ---
    void push(const Message& m) { m_out.push_back(m); }
    Message make(uint32_t type, uint64_t id)
    {
        Message m {};
        m.type = type;
        m.words[0] = id;
        return m;
    }
    void result(uint64_t id, uint32_t request, int error = 0, uint64_t word3 = 0)
    {
        Message m = make(proto::result, id);
        m.words[1] = request;
        m.words[2] = static_cast<uint64_t>(-static_cast<int64_t>(error));
        m.words[3] = word3;
        push(m);
    }
    // A new connection on `listener`; returns its id.
    uint64_t connection(uint64_t listener, uint64_t remote, uint64_t local = 0)
    {
        const uint64_t id = proto::accepted_base + m_accepted++;
        Message m = make(proto::accepted, listener);
        m.words[1] = id;
        m.words[2] = remote;
        m.words[3] = local;
        push(m);
        return id;
    }
    // tcp bytes, in as many buffers as they need.
    void data(uint64_t id, const std::string& bytes)
    {
        for (size_t offset = 0; offset < bytes.size();) {
            BufferRef ref = allocate();
            ref.length = static_cast<uint32_t>(std::min<size_t>(bytes.size() - offset, ref.length));
            std::memcpy(pool->view().buffer(ref.index), bytes.data() + offset, ref.length);
            Message m = make(proto::data, id);
            m.buffer = ref;
            push(m);
            offset += ref.length;
        }
    }
    // One udp datagram (a chain when it needs more than one buffer).
    void datagram(uint64_t id, const std::string& bytes, uint64_t from)
    {
        const uint32_t size = pool->geometry().buffer_size;
        const size_t buffers = bytes.empty() ? 1 : (bytes.size() + size - 1) / size;
        for (size_t i = 0; i < buffers; ++i) {
            BufferRef ref = allocate();
            const size_t offset = i * size;
            ref.length = static_cast<uint32_t>(std::min<size_t>(bytes.size() - offset, size));
            std::memcpy(pool->view().buffer(ref.index), bytes.data() + offset, ref.length);
            Message m = make(proto::data, id);
            m.flags = i + 1 < buffers ? proto::flags::more : 0;
            m.buffer = ref;
            m.words[1] = from;
            m.words[2] = bytes.size();
            push(m);
        }
    }
    // A buffer of ours, lent, for hand-made (malformed) data messages.
    BufferRef lend_buffer(uint32_t length)
    {
        BufferRef ref = allocate();
        ref.length = length;
        return ref;
    }
    void end(uint64_t id) { push(make(proto::end, id)); }
    void error(uint64_t id, int error)
    {
        Message m = make(proto::error, id);
        m.words[1] = static_cast<uint64_t>(-static_cast<int64_t>(error));
        push(m);
    }
    void closed(uint64_t id) { push(make(proto::closed, id)); }
    void answer_connect(uint64_t id, int error = 0)
    {
        result(id, proto::connect, error, endpoint(10, 0, 2, 15, 40000));
        pending_connects.erase(std::find(pending_connects.begin(), pending_connects.end(), id));
    }
    void answer_closes()
    {
        for (uint64_t id : pending_closes)
            finish_close(id);
        pending_closes.clear();
    }
    // Gives the held application buffers back (`sent`, with -error if not 0).
    void return_sends(int error = 0)
    {
        for (const Held& h : held)
            give_back_send(h.id, h.ref, error);
        held.clear();
    }
    // Ends the stream to the application (Producer::close).
    void close_channel() { (void)tx.close(); }

    uint64_t held_bytes() const
    {
        uint64_t sum = 0;
        for (const Held& h : held)
            sum += h.ref.length;
        return sum;
    }
    uint32_t buffers_lent_to_app() const { return pool ? pool->held_by(app_holder) : 0; }
    uint32_t queued() const { return static_cast<uint32_t>(m_out.size()); }
    // Work waiting on either side of this server.
    bool busy() { return alive && (!m_out.empty() || rx.available() != 0); }

private:
    BufferRef allocate()
    {
        auto b = pool->allocate();
        EXPECT_TRUE(b.ok()) << "the fake server ran out of buffers";
        if (!b.ok())
            std::abort();
        EXPECT_TRUE(pool->lend(b.value(), app_holder).ok());
        return b.value();
    }

    bool flush()
    {
        bool moved = false;
        while (!m_out.empty()) {
            const uint32_t room = tx.space(static_cast<uint32_t>(m_out.size()));
            if (room == 0)
                break;
            const uint32_t n = std::min<uint32_t>(room, static_cast<uint32_t>(m_out.size()));
            for (uint32_t i = 0; i < n; ++i) {
                tx.slot(i) = m_out.front();
                m_out.pop_front();
            }
            (void)tx.publish(n);
            moved = true;
        }
        return moved;
    }

    // `closed`, then (sent_after_closed) the buffers still held for the id.
    void finish_close(uint64_t id)
    {
        closed(id);
        for (const Held& h : m_after_closed[id])
            give_back_send(h.id, h.ref, 0);
        m_after_closed.erase(id);
    }

    void give_back_send(uint64_t id, const BufferRef& ref, int error)
    {
        Message m = make(proto::sent, id);
        m.buffer = ref;
        m.words[1] = static_cast<uint64_t>(-static_cast<int64_t>(error));
        push(m);
    }

    void handle(const Message& m)
    {
        log.push_back(m);
        const uint64_t id = m.words[0];
        // (`received` echoes the id of the `data` it answers, right or wrong.)
        if (id >= proto::max_sockets && m.type != proto::received)
            ++bad_input;
        switch (m.type) {
        case proto::bind: {
            uint64_t bound = m.words[1];
            if (proto::endpoint_port(bound) == 0)
                bound = proto::endpoint_word(proto::endpoint_address(bound), m_next_port++);
            if (answer_requests)
                result(id, proto::bind, bind_error, bind_error == 0 ? bound : 0);
            break;
        }
        case proto::listen:
            if (answer_requests)
                result(id, proto::listen, listen_error);
            break;
        case proto::connect:
            m_remote[id] = m.words[1];
            if (m_udp) {
                result(id, proto::connect, 0, endpoint(10, 0, 2, 15, 50000));
            } else if (defer_connect) {
                pending_connects.push_back(id);
            } else if (answer_requests) {
                result(id, proto::connect, connect_error, connect_error == 0 ? endpoint(10, 0, 2, 15, 40000) : 0);
            }
            break;
        case proto::send: on_send(m); break;
        case proto::shutdown:
            shutdowns[id].push_back(m.words[1]);
            if (answer_requests)
                result(id, proto::shutdown);
            break;
        case proto::close: {
            if (closes.count(id) != 0)
                ++bad_input; // closed twice
            closes.insert(id);
            std::vector<Held> keep;
            std::vector<Held> mine;
            for (const Held& h : held)
                (h.id == id ? mine : keep).push_back(h);
            held = keep;
            if (sent_after_closed) {
                m_after_closed[id] = mine;
            } else {
                for (const Held& h : mine)
                    give_back_send(h.id, h.ref, 0);
            }
            if (defer_closed)
                pending_closes.push_back(id);
            else
                finish_close(id);
            break;
        }
        case proto::set_option:
            options[id][m.words[1]] = m.words[2];
            if (answer_requests)
                result(id, proto::set_option);
            break;
        case proto::received:
            ++received_messages;
            if (!pool->take_back(m.buffer, app_holder).ok() || !pool->free(m.buffer).ok())
                ++bad_input;
            consumed[id] += m.words[1];
            break;
        case proto::accept_taken: ++accept_taken[id]; break;
        default: ++bad_input; break;
        }
    }

    void on_send(const Message& m)
    {
        ++send_messages;
        const uint64_t id = m.words[0];
        const auto bytes = app_pool.bytes(m.buffer);
        if (!bytes.ok()) {
            ++bad_input;
            return;
        }
        const std::string chunk(reinterpret_cast<const char*>(bytes.value()), m.buffer.length);
        if (m_udp) {
            Datagram& d = m_chain[id];
            if (d.buffers == 0) {
                d.id = id;
                d.to = m.words[1];
            } else if (d.to != m.words[1]) {
                ++bad_input;
            }
            d.bytes += chunk;
            ++d.buffers;
            if ((m.flags & proto::flags::more) == 0) {
                datagrams.push_back(d);
                m_chain.erase(id);
            }
        } else {
            streams[id] += chunk;
        }
        if (hold_sends) {
            held.push_back({ id, m.buffer });
            most_bytes_held = std::max(most_bytes_held, held_bytes());
        } else {
            give_back_send(id, m.buffer, 0);
        }
    }

public:
    bool m_udp = false;

private:
    std::deque<Message> m_out;
    std::map<uint64_t, Datagram> m_chain;
    std::map<uint64_t, std::vector<Held>> m_after_closed;
    std::map<uint64_t, uint64_t> m_remote;
    uint64_t m_accepted = 0;
    uint16_t m_next_port = 49152;
};

// One protocol's link: ring memory, the application's pool and the server.
class FakeLink final : public ServerLink {
public:
    FakeLink(Protocol protocol, uint32_t server_buffers, uint32_t server_buffer_size)
        : m_protocol(protocol)
        , m_server_geometry { 0, server_buffers, server_buffer_size, 0 }
    {
    }

    // --- ServerLink ---
    Result<void> open(const LinkSizes& sizes) override
    {
        ++opens;
        if (refuse_open)
            return Error::not_found;
        if (!m_pool_memory) {
            const PoolGeometry geometry { protocol_id(100), sizes.pool_buffers, sizes.buffer_size, 0 };
            m_pool_memory = std::make_unique<Memory>(tern::channel::pool_bytes(geometry));
            if (!m_pool.init(m_pool_memory->get(), m_pool_memory->bytes(), geometry).ok())
                return Error::invalid_argument;
        }
        m_slots = sizes.ring_slots;
        m_to_server = std::make_unique<Memory>(tern::channel::ring_bytes(m_slots));
        m_to_app = std::make_unique<Memory>(tern::channel::ring_bytes(m_slots));
        tern::channel::ring_init(m_to_server->get());
        tern::channel::ring_init(m_to_app->get());
        EXPECT_TRUE(m_tx.attach(m_to_server->get(), m_to_server->bytes(), m_slots).ok());
        EXPECT_TRUE(m_rx.attach(m_to_app->get(), m_to_app->bytes(), m_slots).ok());
        PoolGeometry own = m_server_geometry;
        own.id = protocol_id(200 + opens); // a new server, a new pool
        server.m_udp = m_protocol == Protocol::udp;
        server.start(m_to_server->get(), m_to_app->get(), m_slots, m_pool.view(), own);
        return {};
    }
    void close() override
    {
        ++closes;
        m_tx = {};
        m_rx = {};
        server.alive = false;
    }
    Producer<Message>& tx() override { return m_tx; }
    Consumer<Message>& rx() override { return m_rx; }
    void publish(uint32_t count) override
    {
        if (m_tx.publish(count))
            ++wakeups;
    }
    void release(uint32_t count) override
    {
        if (m_rx.release(count))
            ++wakeups;
    }
    PoolOwner& pool() override { return m_pool; }
    uint8_t* data(const BufferRef& ref) override { return m_pool.view().buffer(ref.index) + ref.offset; }
    const PoolView* peer_pool() override { return offer_pool && server.pool ? &server.pool->view() : nullptr; }

    // --- for tests ---
    bool app_has_input() { return m_rx.attached() && !m_rx.broken() && (m_rx.available() != 0 || m_rx.closed()); }
    const PoolOwner& app_pool() const { return m_pool; }
    bool pool_made() const { return m_pool_memory != nullptr; }
    void* to_app_ring() const { return m_to_app ? m_to_app->get() : nullptr; }

    FakeServer server;
    bool refuse_open = false;
    bool offer_pool = true;
    int opens = 0;
    int closes = 0;
    uint64_t wakeups = 0;

private:
    uint32_t protocol_id(uint32_t base) const { return base + (m_protocol == Protocol::udp ? 1000 : 0); }

    Protocol m_protocol;
    PoolGeometry m_server_geometry;
    PoolOwner m_pool;
    std::unique_ptr<Memory> m_pool_memory;
    uint32_t m_slots = 0;
    std::unique_ptr<Memory> m_to_server;
    std::unique_ptr<Memory> m_to_app;
    Producer<Message> m_tx;
    Consumer<Message> m_rx;
};

class FakePlatform final : public Platform {
public:
    FakePlatform(uint32_t server_buffers = 64, uint32_t server_buffer_size = 512)
        : tcp(Protocol::tcp, server_buffers, server_buffer_size)
        , udp(Protocol::udp, server_buffers, server_buffer_size)
    {
    }

    ServerLink& link(Protocol protocol) override { return fake(protocol); }
    uint64_t now_ns() override
    {
        ++clock_reads;
        return now;
    }

    uint32_t wait(const WaitFor& what, uint64_t deadline_ns) override
    {
        ++waits;
        (void)what;
        if (on_wait)
            on_wait();
        const bool stepped = tcp.server.step() | udp.server.step();
        const uint32_t ended = end_bits;
        end_bits = 0;
        if (stepped || ended != 0 || tcp.app_has_input() || udp.app_has_input()) {
            m_idle = 0;
            return ended;
        }
        if (deadline_ns != UINT64_MAX) {
            now = std::max(now, deadline_ns);
            return 0;
        }
        if (++m_idle > 1000) {
            ADD_FAILURE() << "the library blocks forever: nothing can happen";
            std::abort();
        }
        return 0;
    }

    FakeLink& fake(Protocol protocol) { return protocol == Protocol::tcp ? tcp : udp; }
    // Runs both servers until nothing moves.
    void run()
    {
        for (int i = 0; i < 100; ++i) {
            if (!(tcp.server.step() | udp.server.step()))
                return;
        }
    }
    // The server of `protocol` ends: the next wait reports it.
    void end_server(Protocol protocol)
    {
        end_bits |= 1u << static_cast<uint32_t>(protocol);
        fake(protocol).server.alive = false;
    }

    FakeLink tcp;
    FakeLink udp;
    uint64_t now = 1'000'000'000;
    std::function<void()> on_wait;
    uint32_t end_bits = 0;
    uint64_t waits = 0;
    uint64_t clock_reads = 0; // a system call in Tern

private:
    int m_idle = 0;
};

inline Config small_config()
{
    Config c;
    c.pool_buffers = 64;
    c.buffer_size = 2048;
    c.ring_slots = 256;
    c.send_buffer = 64 * 1024;
    return c;
}

// A library on a fake platform, and the checks every test ends with.
class SocketTest : public ::testing::Test {
protected:
    explicit SocketTest(
        const Config& config = small_config(), uint32_t server_buffers = 64, uint32_t server_buffer_size = 512)
        : platform(server_buffers, server_buffer_size)
        , lib(platform, config)
    {
    }

    FakeServer& tcp() { return platform.tcp.server; }
    FakeServer& udp() { return platform.udp.server; }

    // Lets the servers answer, then lets the library take the answers in
    // (a cheap call that drains the rings).
    void settle()
    {
        for (int i = 0; i < 10'000; ++i) {
            platform.run();
            tern::sockets::pollfd none { -1, 0, 0 };
            (void)lib.poll(&none, 1, 0);
            const bool busy = lib.backlog(Protocol::tcp) != 0 || lib.backlog(Protocol::udp) != 0 || tcp().busy()
                || udp().busy() || platform.tcp.app_has_input() || platform.udp.app_has_input();
            if (!busy && i >= 2)
                return;
        }
        ADD_FAILURE() << "settle(): the library and the servers never went quiet";
    }

    // No buffer of either pool is held by the other side, and no socket
    // record is left. Every test closes its sockets and ends with this.
    void expect_no_leaks()
    {
        settle();
        EXPECT_EQ(lib.socket_records(), 0u) << "socket records left";
        for (Protocol p : { Protocol::tcp, Protocol::udp }) {
            FakeLink& link = platform.fake(p);
            const char* name = p == Protocol::tcp ? "tcp" : "udp";
            EXPECT_EQ(lib.own_buffers_lent(p), 0u) << name << ": our buffers still with the server";
            EXPECT_EQ(lib.peer_buffers_held(p), 0u) << name << ": server buffers still with us";
            EXPECT_EQ(lib.backlog(p), 0u) << name;
            if (link.pool_made()) {
                EXPECT_EQ(link.app_pool().free_count(), link.app_pool().geometry().count)
                    << name << ": our pool is not all free";
            }
            if (link.server.alive) {
                EXPECT_EQ(link.server.buffers_lent_to_app(), 0u) << name << ": the server's buffers are still lent";
                EXPECT_TRUE(link.server.held.empty()) << name;
                EXPECT_EQ(link.server.bad_input, 0u) << name << ": the library broke the protocol";
            }
        }
    }

    tern::sockets::sockaddr_in address(uint32_t host_order, uint16_t port)
    {
        return tern::sockets::make_address(host_order, port);
    }
    const tern::sockets::sockaddr* sa(const tern::sockets::sockaddr_in& a)
    {
        return reinterpret_cast<const tern::sockets::sockaddr*>(&a);
    }
    tern::sockets::sockaddr* sa(tern::sockets::sockaddr_in& a)
    {
        return reinterpret_cast<tern::sockets::sockaddr*>(&a);
    }

    // The id named by the last message the server has seen, after letting it
    // see everything published (tests use it right after a call that sends
    // a message for a new socket).
    uint64_t last_id(FakeServer& server)
    {
        platform.run();
        return server.log.empty() ? ~0ull : server.log.back().words[0];
    }

    int tcp_socket(bool nonblocking = false)
    {
        return lib.socket(
            tern::sockets::AF_INET, tern::sockets::SOCK_STREAM | (nonblocking ? tern::sockets::SOCK_NONBLOCK : 0), 0);
    }
    int udp_socket(bool nonblocking = false)
    {
        return lib.socket(
            tern::sockets::AF_INET, tern::sockets::SOCK_DGRAM | (nonblocking ? tern::sockets::SOCK_NONBLOCK : 0), 0);
    }
    // A connected tcp socket and its id at the server.
    int connected(uint64_t& id, bool nonblocking = false)
    {
        const int fd = tcp_socket(nonblocking);
        EXPECT_GE(fd, 0);
        const auto to = address(0x0A000202, 80);
        if (nonblocking) {
            EXPECT_EQ(lib.connect(fd, sa(to), sizeof to), -1);
            EXPECT_EQ(lib.last_error(), EINPROGRESS);
            settle();
        } else {
            EXPECT_EQ(lib.connect(fd, sa(to), sizeof to), 0);
        }
        id = tcp().log.back().words[0];
        return fd;
    }

    FakePlatform platform;
    SocketLibrary lib;
};

} // namespace socket_test
