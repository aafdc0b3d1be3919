#include "inetd.hpp"

#include <new>

namespace inetd {
namespace {

constexpr size_t scratch_size = 65536; // the largest UDP datagram, and then some
constexpr size_t send_piece = 8192;    // chargen's largest send
constexpr int reads_per_round = 8;     // per connection and step: fairness between connections
constexpr int udp_per_round = 64;      // datagrams per UDP socket and step
constexpr size_t udp_chargen_max = 512;

// chargen's pattern once, plus enough of its start again that a send of
// send_piece bytes from any offset inside the cycle is one contiguous piece.
struct ChargenPattern {
    char bytes[chargen_cycle + send_piece];
    ChargenPattern()
    {
        for (size_t i = 0; i < sizeof(bytes); ++i)
            bytes[i] = chargen_byte(i);
    }
};

const ChargenPattern& chargen_pattern()
{
    static const ChargenPattern pattern;
    return pattern;
}

} // namespace

const char* service_name(Service service)
{
    switch (service) {
    case Service::echo: return "echo";
    case Service::discard: return "discard";
    case Service::chargen: return "chargen";
    }
    return "?";
}

char chargen_byte(uint64_t index)
{
    const uint64_t line = index / (chargen_line + 2);
    const uint64_t column = index % (chargen_line + 2);
    if (column == chargen_line)
        return '\r';
    if (column == chargen_line + 1)
        return '\n';
    return static_cast<char>(' ' + (line + column) % 95);
}

struct Inetd::Connection {
    int fd = -1;
    Service service = Service::echo;
    bool peer_done = false; // the peer finished sending (echo: flush, then close)
    uint8_t* buffer = nullptr; // echo: a ring of config.echo_buffer bytes
    size_t head = 0;
    size_t count = 0;
    uint64_t chargen_offset = 0;
};

struct Inetd::Datagram {
    uint8_t* data = nullptr;
    size_t length = 0;
    netio::Endpoint to;
    bool waiting = false;
};

Inetd::Inetd(const Config& config) : m_config(config)
{
    for (size_t k = 0; k < service_count; ++k)
        m_tcp[k] = m_udp[k] = -1;
    (void)chargen_pattern(); // built now, not in the middle of serving
}

Inetd::~Inetd()
{
    for (size_t i = 0; m_connections != nullptr && i < m_config.max_connections; ++i)
        if (m_connections[i].fd >= 0)
            end(m_connections[i], false);
    for (size_t k = 0; k < service_count; ++k) {
        if (m_tcp[k] >= 0)
            (void)netio::close(m_tcp[k]);
        if (m_udp[k] >= 0)
            (void)netio::close(m_udp[k]);
        if (m_pending != nullptr)
            delete[] m_pending[k].data;
    }
    delete[] m_connections;
    delete[] m_pending;
    delete[] m_scratch;
    delete[] m_poll;
    delete[] m_poll_owner;
}

int Inetd::start(const char** what)
{
    static const char* const tcp_names[] = {"tcp echo", "tcp discard", "tcp chargen"};
    static const char* const udp_names[] = {"udp echo", "udp discard", "udp chargen"};
    const size_t entries = 2 * service_count + m_config.max_connections;
    m_connections = new (std::nothrow) Connection[m_config.max_connections];
    m_pending = new (std::nothrow) Datagram[service_count];
    m_scratch = new (std::nothrow) uint8_t[scratch_size];
    m_poll = new (std::nothrow) netio::PollEntry[entries];
    m_poll_owner = new (std::nothrow) int[entries];
    if (m_connections == nullptr || m_pending == nullptr || m_scratch == nullptr || m_poll == nullptr ||
        m_poll_owner == nullptr) {
        *what = "memory";
        return -netio::err::no_memory;
    }
    for (size_t k = 0; k < service_count; ++k) {
        if (m_config.tcp_port[k] != 0) {
            *what = tcp_names[k];
            const int fd = netio::open(netio::Kind::tcp);
            if (fd < 0)
                return fd;
            m_tcp[k] = fd;
            (void)netio::set_reuse_address(fd);
            if (const int r = netio::bind(fd, {m_config.address, m_config.tcp_port[k]}); r < 0)
                return r;
            if (const int r = netio::listen(fd, m_config.backlog); r < 0)
                return r;
        }
        if (m_config.udp_port[k] != 0) {
            *what = udp_names[k];
            const int fd = netio::open(netio::Kind::udp);
            if (fd < 0)
                return fd;
            m_udp[k] = fd;
            if (const int r = netio::bind(fd, {m_config.address, m_config.udp_port[k]}); r < 0)
                return r;
            if (k != static_cast<size_t>(Service::discard)) {
                m_pending[k].data = new (std::nothrow) uint8_t[scratch_size];
                if (m_pending[k].data == nullptr) {
                    *what = "memory";
                    return -netio::err::no_memory;
                }
            }
        }
    }
    *what = nullptr;
    return 0;
}

int Inetd::step(int timeout_ms)
{
    size_t n = 0;
    for (size_t k = 0; k < service_count; ++k) {
        // A full table leaves new connections waiting in the backlog.
        if (m_tcp[k] >= 0 && m_used < m_config.max_connections) {
            m_poll[n] = {m_tcp[k], netio::poll_in, 0};
            m_poll_owner[n++] = -1 - static_cast<int>(k);
        }
        if (m_udp[k] >= 0) {
            m_poll[n] = {m_udp[k], m_pending[k].waiting ? netio::poll_out : netio::poll_in, 0};
            m_poll_owner[n++] = -1 - static_cast<int>(service_count + k);
        }
    }
    for (size_t i = 0; i < m_config.max_connections; ++i) {
        const Connection& c = m_connections[i];
        if (c.fd < 0)
            continue;
        short events = 0;
        switch (c.service) {
        case Service::echo:
            if (!c.peer_done && c.count < m_config.echo_buffer)
                events |= netio::poll_in;
            if (c.count != 0)
                events |= netio::poll_out;
            break;
        case Service::discard: events = netio::poll_in; break;
        case Service::chargen: events = netio::poll_in | netio::poll_out; break;
        }
        m_poll[n] = {c.fd, events, 0};
        m_poll_owner[n++] = static_cast<int>(i);
    }
    const int ready = netio::poll(m_poll, n, timeout_ms);
    if (ready < 0)
        return ready == -4 ? 0 : ready; // EINTR (host tests): just another round
    if (ready == 0)
        return 0;
    // Connections and UDP first, listeners last: a slot that ends in this
    // round and is taken by a new connection must not get the old one's events.
    for (size_t e = 0; e < n; ++e) {
        if (m_poll[e].revents == 0)
            continue;
        const int owner = m_poll_owner[e];
        if (owner >= 0) {
            if (m_connections[owner].fd == m_poll[e].fd)
                serve_connection(m_connections[owner], m_poll[e].revents);
        } else if (-1 - owner >= static_cast<int>(service_count)) {
            const size_t k = static_cast<size_t>(-1 - owner) - service_count;
            serve_udp(static_cast<Service>(k), m_udp[k], m_poll[e].revents);
        }
    }
    for (size_t e = 0; e < n; ++e) {
        const int owner = m_poll_owner[e];
        if (m_poll[e].revents != 0 && owner < 0 && -1 - owner < static_cast<int>(service_count))
            accept_all(static_cast<Service>(-1 - owner), m_poll[e].fd);
    }
    return 0;
}

void Inetd::accept_all(Service service, int listener)
{
    while (m_used < m_config.max_connections) {
        netio::Endpoint remote;
        const int fd = netio::accept(listener, &remote);
        if (fd == -netio::err::again)
            return;
        if (fd < 0) {
            ++m_counters.accept_errors;
            if (fd == -netio::err::connection_aborted || fd == -netio::err::connection_reset)
                continue; // that one went away before we took it; there may be more
            return;
        }
        size_t slot = 0;
        while (m_connections[slot].fd >= 0)
            ++slot;
        Connection& c = m_connections[slot];
        c = Connection{};
        c.service = service;
        if (service == Service::echo) {
            c.buffer = new (std::nothrow) uint8_t[m_config.echo_buffer];
            if (c.buffer == nullptr) {
                ++m_counters.accept_errors;
                (void)netio::close(fd);
                return;
            }
        }
        c.fd = fd;
        ++m_used;
        ++m_counters.accepted;
        // Serve it at once: the peer may have sent (or, for chargen, wants) data already.
        serve_connection(c, netio::poll_in | netio::poll_out);
    }
}

void Inetd::serve_connection(Connection& c, short)
{
    // Every socket call tells by its result what happened (data, end, error),
    // so poll's revents only say that something did.
    switch (c.service) {
    case Service::echo: {
        for (int round = 0; round < reads_per_round; ++round) {
            const uint64_t moved = m_counters.tcp_bytes_in + m_counters.tcp_bytes_out;
            if (!c.peer_done && c.count < m_config.echo_buffer && !echo_read(c))
                return;
            if (c.count != 0 && !echo_write(c))
                return;
            if (m_counters.tcp_bytes_in + m_counters.tcp_bytes_out == moved)
                break;
        }
        if (c.peer_done && c.count == 0)
            end(c, false); // everything owed was written
        return;
    }
    case Service::discard: (void)drain(c); return;
    case Service::chargen:
        if (drain(c))
            (void)chargen_write(c);
        return;
    }
}

// Reads what fits into the ring; false if the connection ended.
bool Inetd::echo_read(Connection& c)
{
    const size_t capacity = m_config.echo_buffer;
    while (c.count < capacity && !c.peer_done) {
        const size_t tail = (c.head + c.count) % capacity;
        const size_t room = tail >= c.head && c.count != capacity ? capacity - tail : c.head - tail;
        const int64_t n = netio::recv(c.fd, c.buffer + tail, room);
        if (n == -netio::err::again)
            return true;
        if (n < 0) {
            end(c, true);
            return false;
        }
        if (n == 0) {
            c.peer_done = true;
            return true;
        }
        c.count += static_cast<size_t>(n);
        m_counters.tcp_bytes_in += static_cast<uint64_t>(n);
    }
    return true;
}

// Writes what the socket takes from the ring; false if the connection ended.
bool Inetd::echo_write(Connection& c)
{
    const size_t capacity = m_config.echo_buffer;
    while (c.count != 0) {
        const size_t piece = c.count < capacity - c.head ? c.count : capacity - c.head;
        const int64_t n = netio::send(c.fd, c.buffer + c.head, piece);
        if (n == -netio::err::again)
            return true;
        if (n <= 0) {
            end(c, true);
            return false;
        }
        c.head = (c.head + static_cast<size_t>(n)) % capacity;
        c.count -= static_cast<size_t>(n);
        if (c.count == 0)
            c.head = 0; // whole pieces again
        m_counters.tcp_bytes_out += static_cast<uint64_t>(n);
    }
    return true;
}

// Reads and drops what the peer sent; false if the connection ended.
bool Inetd::drain(Connection& c)
{
    for (int i = 0; i < reads_per_round; ++i) {
        const int64_t n = netio::recv(c.fd, m_scratch, scratch_size);
        if (n == -netio::err::again)
            return true;
        if (n <= 0) {
            end(c, n < 0);
            return false;
        }
        m_counters.tcp_bytes_in += static_cast<uint64_t>(n);
    }
    return true;
}

bool Inetd::chargen_write(Connection& c)
{
    const char* pattern = chargen_pattern().bytes;
    for (int i = 0; i < reads_per_round; ++i) {
        const int64_t n = netio::send(c.fd, pattern + c.chargen_offset, send_piece);
        if (n == -netio::err::again)
            return true;
        if (n <= 0) {
            end(c, true);
            return false;
        }
        c.chargen_offset = (c.chargen_offset + static_cast<uint64_t>(n)) % chargen_cycle;
        m_counters.tcp_bytes_out += static_cast<uint64_t>(n);
    }
    return true;
}

void Inetd::serve_udp(Service service, int fd, short)
{
    Datagram& pending = m_pending[static_cast<size_t>(service)];
    if (pending.waiting) {
        const int64_t n = netio::send_to(fd, pending.data, pending.length, pending.to);
        if (n == -netio::err::again)
            return;
        pending.waiting = false;
        if (n >= 0)
            ++m_counters.datagrams_out;
    }
    for (int i = 0; i < udp_per_round; ++i) {
        netio::Endpoint from;
        const int64_t n = netio::receive_from(fd, m_scratch, scratch_size, &from);
        if (n < 0)
            return; // -EAGAIN: all read; anything else: nothing to answer
        ++m_counters.datagrams_in;
        const uint8_t* reply = m_scratch;
        size_t length = static_cast<size_t>(n);
        if (service == Service::discard)
            continue;
        if (service == Service::chargen) {
            // RFC 864: a datagram of a random number (0..512) of characters.
            m_random ^= m_random >> 12;
            m_random ^= m_random << 25;
            m_random ^= m_random >> 27;
            length = (m_random * 0x2545F4914F6CDD1Dull >> 32) % (udp_chargen_max + 1);
            reply = reinterpret_cast<const uint8_t*>(chargen_pattern().bytes);
        }
        const int64_t sent = netio::send_to(fd, reply, length, from);
        if (sent == -netio::err::again) {
            // Keep it, and read no more until it has gone (poll_out).
            __builtin_memcpy(pending.data, reply, length);
            pending.length = length;
            pending.to = from;
            pending.waiting = true;
            return;
        }
        if (sent >= 0)
            ++m_counters.datagrams_out;
    }
}

void Inetd::end(Connection& c, bool error)
{
    (void)netio::close(c.fd);
    c.fd = -1;
    delete[] c.buffer;
    c.buffer = nullptr;
    --m_used;
    ++(error ? m_counters.reset : m_counters.closed);
}

} // namespace inetd
