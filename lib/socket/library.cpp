#include "socket/library.hpp"

#include <new>

namespace tern::sockets {
namespace {

namespace proto = socket_proto;
using channel::BufferRef;
using channel::Message;

constexpr uint64_t max_datagram = 65507; // IPv4: 65535 - 20 (IP) - 8 (UDP)
constexpr uint64_t max_chain_total = 65535;
constexpr uint64_t ns_per_ms = 1'000'000;
constexpr uint32_t min_receive_buffer = 256;
constexpr uint32_t max_receive_buffer = 16u << 20;
constexpr uint32_t max_send_buffer = 64u << 20;
constexpr int max_backlog = static_cast<int>(proto::max_sockets - proto::accepted_base);
// Filled slots are published at least this often during a long send, so the
// server starts on the first bytes while we copy the rest.
constexpr uint32_t publish_batch = 32;

template<typename T> T smaller(T a, T b)
{
    return a < b ? a : b;
}

// The errno a negative word stands for; anything else is a broken answer.
int errno_of(uint64_t word)
{
    const auto value = static_cast<int64_t>(word);
    return value < 0 && value >= -4095 ? static_cast<int>(-value) : EPROTO;
}

// An AF_INET address from the caller: 0, or an errno.
int read_address(const sockaddr* address, socklen_t length, uint64_t& endpoint)
{
    if (address == nullptr)
        return EFAULT;
    if (length < sizeof(sockaddr_in))
        return EINVAL;
    sockaddr_in in;
    __builtin_memcpy(&in, address, sizeof in);
    if (in.sin_family != AF_INET)
        return EAFNOSUPPORT;
    endpoint = proto::endpoint_word(ntohl(in.sin_addr.s_addr), ntohs(in.sin_port));
    return 0;
}

// As POSIX: as much of the address as fits, and its real length.
void write_address(uint64_t endpoint, sockaddr* address, socklen_t* length)
{
    if (address == nullptr || length == nullptr)
        return;
    sockaddr_in in {};
    in.sin_family = AF_INET;
    in.sin_port = htons(proto::endpoint_port(endpoint));
    in.sin_addr.s_addr = htonl(proto::endpoint_address(endpoint));
    __builtin_memcpy(address, &in, smaller<socklen_t>(*length, sizeof in));
    *length = sizeof in;
}

int read_int(const void* value, socklen_t length, int& out)
{
    if (value == nullptr)
        return EFAULT;
    if (length < sizeof(int))
        return EINVAL;
    __builtin_memcpy(&out, value, sizeof out);
    return 0;
}

int write_bytes(const void* from, socklen_t size, void* value, socklen_t* length)
{
    if (value == nullptr || length == nullptr)
        return EFAULT;
    if (*length < size)
        return EINVAL;
    __builtin_memcpy(value, from, size);
    *length = size;
    return 0;
}

uint64_t timeval_ns(const timeval& t)
{
    if (t.tv_sec < 0 || (t.tv_sec == 0 && t.tv_usec <= 0))
        return 0;
    return static_cast<uint64_t>(t.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(t.tv_usec) * 1000;
}

timeval ns_timeval(uint64_t ns)
{
    return { static_cast<long>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000 / 1000) };
}

} // namespace

// Every public call drains the rings first (so it sees the latest state) and
// publishes what it produced before returning.
class SocketLibrary::CallScope {
public:
    explicit CallScope(SocketLibrary& library)
        : m_library(library)
    {
        library.pump_all();
    }
    ~CallScope() { m_library.flush_all(); }
    CallScope(const CallScope&) = delete;
    CallScope& operator=(const CallScope&) = delete;

private:
    SocketLibrary& m_library;
};
#define TERN_SOCKET_CALL CallScope call_scope(*this)

// --- Backlog ---

bool SocketLibrary::Backlog::push(const Message& message)
{
    if (m_count == m_capacity) {
        const uint32_t capacity = m_capacity == 0 ? 64 : 2 * m_capacity;
        auto* items = new (std::nothrow) Message[capacity];
        if (items == nullptr)
            return false;
        for (uint32_t i = 0; i < m_count; ++i)
            items[i] = m_items[(m_first + i) % m_capacity];
        delete[] m_items;
        m_items = items;
        m_capacity = capacity;
        m_first = 0;
    }
    m_items[(m_first + m_count) % m_capacity] = message;
    ++m_count;
    return true;
}

void SocketLibrary::Backlog::pop()
{
    m_first = (m_first + 1) % m_capacity;
    --m_count;
}

// --- set-up ---

SocketLibrary::SocketLibrary(Platform& platform, const Config& config)
    : m_platform(platform)
    , m_config(config)
{
    m_links[index(Protocol::tcp)].protocol = Protocol::tcp;
    m_links[index(Protocol::udp)].protocol = Protocol::udp;
}

SocketLibrary::~SocketLibrary()
{
    // Memory only: a process that goes away needs to tell no server.
    for (Socket*& socket : m_fds) {
        if (socket != nullptr && socket->link == nullptr)
            delete socket;
        socket = nullptr;
    }
    for (Link& link : m_links) {
        for (Socket*& socket : link.sockets) {
            delete socket;
            socket = nullptr;
        }
        delete[] link.nodes;
        delete[] link.lent;
    }
}

int SocketLibrary::configure(const Config& config)
{
    for (const Link& link : m_links) {
        if (link.open)
            return fail(EBUSY);
    }
    const channel::PoolGeometry geometry { 1, config.pool_buffers, config.buffer_size, 0 };
    if (!channel::valid_geometry(geometry) || !channel::valid_capacity(config.ring_slots) || config.send_buffer == 0
        || config.send_buffer > max_send_buffer)
        return fail(EINVAL);
    m_config = config;
    return 0;
}

uint32_t SocketLibrary::own_buffers_lent(Protocol protocol) const
{
    return m_links[index(protocol)].open ? m_platform.link(protocol).pool().held_by(server_holder) : 0;
}

SocketLibrary::Socket* SocketLibrary::lookup(int fd)
{
    if (fd < first_fd || fd >= first_fd + max_fds)
        return nullptr;
    return m_fds[fd - first_fd];
}

int SocketLibrary::allocate_fd(Socket* socket)
{
    for (int i = 0; i < max_fds; ++i) {
        if (m_fds[i] == nullptr) {
            m_fds[i] = socket;
            socket->fd = first_fd + i;
            return socket->fd;
        }
    }
    return -1;
}

bool SocketLibrary::ensure_open(Link& link)
{
    if (link.open)
        return true;
    ServerLink& server = m_platform.link(link.protocol);
    const auto opened = server.open({ m_config.pool_buffers, m_config.buffer_size, m_config.ring_slots });
    if (!opened.ok()) {
        m_errno = opened.error() == Error::out_of_memory ? ENOBUFS : ENETDOWN;
        return false;
    }
    const channel::PoolView* peer = server.peer_pool();
    link.node_count = peer != nullptr ? peer->geometry().count : 0;
    link.lent_count = server.pool().geometry().count;
    link.nodes = link.node_count != 0 ? new (std::nothrow) Node[link.node_count] : nullptr;
    link.lent = new (std::nothrow) Lent[link.lent_count];
    if ((link.node_count != 0 && link.nodes == nullptr) || link.lent == nullptr) {
        delete[] link.nodes;
        delete[] link.lent;
        link.nodes = nullptr;
        link.lent = nullptr;
        server.close();
        m_errno = ENOBUFS;
        return false;
    }
    for (uint32_t i = 0; i < link.node_count; ++i)
        link.nodes[i] = Node { {}, 0, 0, none, 0, false };
    for (uint32_t i = 0; i < link.lent_count; ++i)
        link.lent[i] = Lent { nullptr, 0 };
    link.nodes_held = 0;
    link.unpublished = 0;
    link.backlog.clear();
    link.next_id = 0;
    link.open = true;
    ++link.counters.opened;
    return true;
}

// The server's channel ended (or broke): every socket on it fails, every
// buffer it held of ours is ours again, and the next socket() reconnects.
void SocketLibrary::end_link(Link& link)
{
    if (!link.open)
        return;
    ++link.counters.ended;
    const int error = link.protocol == Protocol::tcp ? ECONNRESET : ENETDOWN;
    for (Socket* socket : link.sockets) {
        if (socket != nullptr) {
            socket->accept_head = socket->accept_tail = nullptr;
            socket->accept_next = socket->listener = nullptr;
        }
    }
    for (Socket*& socket : link.sockets) {
        if (socket == nullptr)
            continue;
        Socket* s = socket;
        socket = nullptr;
        // Its queued buffers lie in the server's pool, which goes away.
        s->head = s->tail = s->complete_tail = none;
        s->queued_bytes = s->chain_bytes = 0;
        s->datagrams = s->chain_nodes = 0;
        s->credit_used = 0;
        s->link = nullptr;
        if (s->fd < 0) {
            delete s;
            --m_records;
            continue;
        }
        s->failed = true;
        s->error = error;
        answer_waiting(*s, error);
    }
    ServerLink& server = m_platform.link(link.protocol);
    (void)server.pool().reclaim(server_holder);
    delete[] link.nodes;
    delete[] link.lent;
    link.nodes = nullptr;
    link.lent = nullptr;
    link.node_count = link.lent_count = link.nodes_held = 0;
    link.backlog.clear();
    link.unpublished = 0;
    link.open = false;
    server.close();
}

// Frees a record (its fd is gone already). Its queued buffers go back; our
// buffers the server still holds for it stay lent, charged to nobody.
void SocketLibrary::destroy(Socket* socket)
{
    if (Link* link = socket->link; link != nullptr) {
        drop_queue(*socket, false);
        if (link->sockets[socket->id] == socket)
            link->sockets[socket->id] = nullptr;
        for (uint32_t i = 0; i < link->lent_count; ++i) {
            if (link->lent[i].socket == socket)
                link->lent[i].socket = nullptr;
        }
    }
    unqueue_accepted(*socket);
    delete socket;
    --m_records;
}

// The server dropped a socket we still use: it leaves the link's table (its
// id is the server's again) and fails.
void SocketLibrary::detach(Socket* socket)
{
    Link& link = *socket->link;
    drop_queue(*socket, false);
    while (Socket* child = socket->accept_head) {
        unqueue_accepted(*child);
        drop_queue(*child, false);
        child->state = State::closing;
        emit(link, message(proto::close, *child));
    }
    unqueue_accepted(*socket);
    link.sockets[socket->id] = nullptr;
    for (uint32_t i = 0; i < link.lent_count; ++i) {
        if (link.lent[i].socket == socket)
            link.lent[i].socket = nullptr;
    }
    socket->credit_used = 0;
    socket->link = nullptr;
    socket->failed = true;
    answer_waiting(*socket, socket->error != 0 ? socket->error : ECONNABORTED);
}

// --- messages out ---

Message SocketLibrary::message(uint32_t type, const Socket& socket)
{
    Message m {};
    m.type = type;
    m.words[0] = socket.id;
    return m;
}

void SocketLibrary::emit(Link& link, const Message& message)
{
    auto& tx = m_platform.link(link.protocol).tx();
    if (link.backlog.size() == 0 && tx.space(link.unpublished + 1) > link.unpublished) {
        tx.slot(link.unpublished++) = message;
        return;
    }
    if (!link.backlog.push(message)) {
        ++link.counters.unexpected; // out of memory: nothing better to do than count it
        return;
    }
    if (link.backlog.size() > link.counters.backlog_peak)
        link.counters.backlog_peak = link.backlog.size();
}

void SocketLibrary::flush(Link& link)
{
    if (!link.open)
        return;
    ServerLink& server = m_platform.link(link.protocol);
    auto& tx = server.tx();
    for (;;) {
        uint32_t moved = 0;
        if (link.backlog.size() != 0) {
            const uint32_t space = tx.space(link.unpublished + link.backlog.size());
            const uint32_t room = space > link.unpublished ? space - link.unpublished : 0;
            moved = smaller(room, link.backlog.size());
            for (uint32_t i = 0; i < moved; ++i) {
                tx.slot(link.unpublished++) = link.backlog.front();
                link.backlog.pop();
            }
        }
        if (link.unpublished != 0) {
            server.publish(link.unpublished);
            link.unpublished = 0;
        }
        if (moved == 0 || link.backlog.size() == 0)
            return;
    }
}

void SocketLibrary::flush_all()
{
    for (Link& link : m_links)
        flush(link);
}

// --- messages in ---

void SocketLibrary::pump(Link& link)
{
    if (!link.open)
        return;
    ServerLink& server = m_platform.link(link.protocol);
    auto& rx = server.rx();
    // A few batches at most: a server that never stops sending must not keep
    // the caller here forever.
    for (int round = 0; round < 8 && link.open; ++round) {
        const uint32_t waiting = rx.available();
        if (waiting == 0)
            break;
        for (uint32_t i = 0; i < waiting; ++i)
            handle(link, rx.read(i));
        server.release(waiting);
    }
    if (rx.broken() || server.tx().broken()) {
        malformed(link, &Counters::unexpected);
        end_link(link);
    } else if (rx.closed() && rx.available() == 0) {
        end_link(link);
    }
}

void SocketLibrary::pump_all()
{
    for (Link& link : m_links)
        pump(link);
}

void SocketLibrary::malformed(Link& link, uint64_t Counters::*reason)
{
    ++link.counters.malformed;
    if (reason != &Counters::malformed)
        ++(link.counters.*reason);
}

void SocketLibrary::handle(Link& link, const Message& m)
{
    if (m.type == proto::sent) {
        on_sent(link, m);
        return;
    }
    if (m.type != proto::result && m.type != proto::accepted && m.type != proto::data && m.type != proto::end
        && m.type != proto::error && m.type != proto::closed) {
        malformed(link, &Counters::unexpected);
        return;
    }
    Socket* socket = m.words[0] < proto::max_sockets ? link.sockets[m.words[0]] : nullptr;
    if (socket == nullptr || !socket->at_server) {
        malformed(link, &Counters::unknown_socket);
        if (m.type == proto::data) {
            // Not ours to keep: give it straight back.
            if (take_node(link, m) != nullptr) {
                Message back {};
                back.type = proto::received;
                back.buffer = m.buffer;
                back.words[0] = m.words[0];
                emit(link, back);
                link.nodes[m.buffer.index].held = false;
                --link.nodes_held;
            }
        }
        return;
    }
    switch (m.type) {
    case proto::result: on_result(link, socket, m); break;
    case proto::accepted: on_accepted(link, socket, m); break;
    case proto::data: on_data(link, socket, m); break;
    case proto::closed: on_closed(link, socket); break;
    case proto::end:
        if (socket->protocol != Protocol::tcp
            || (socket->state != State::connected && socket->state != State::closing)) {
            malformed(link, &Counters::unexpected);
            break;
        }
        socket->peer_finished = true;
        break;
    case proto::error: {
        const int error = errno_of(m.words[1]);
        if (error == EPROTO)
            malformed(link, &Counters::unexpected);
        if (socket->state == State::closing)
            break;
        socket->failed = true;
        socket->error = error;
        answer_waiting(*socket, error);
        break;
    }
    default: break;
    }
}

void SocketLibrary::on_result(Link& link, Socket* socket, const Message& m)
{
    const uint64_t type = m.words[1];
    const int error = static_cast<int64_t>(m.words[2]) < 0 ? errno_of(m.words[2]) : 0;
    if (type == proto::set_option || type == proto::shutdown) {
        if (socket->async_results == 0) {
            malformed(link, &Counters::unexpected);
            return;
        }
        --socket->async_results;
        return;
    }
    if (socket->awaiting == 0 || type != socket->awaiting) {
        malformed(link, &Counters::unexpected);
        return;
    }
    socket->awaiting = 0;
    socket->answered = true;
    socket->answer = error;
    if (socket->state == State::closing)
        return;
    switch (type) {
    case proto::bind:
        if (error == 0) {
            socket->local = m.words[3];
            socket->state = State::bound;
        }
        break;
    case proto::listen:
        if (error == 0)
            socket->state = State::listening;
        break;
    case proto::connect:
        if (error == 0) {
            socket->state = State::connected;
            if (m.words[3] != 0)
                socket->local = m.words[3];
        } else {
            // Reported by a blocking connect() itself, else by SO_ERROR/poll.
            socket->error = error;
            socket->remote = 0;
            if (socket->state == State::connecting)
                socket->state = socket->local != 0 ? State::bound : State::fresh;
        }
        break;
    default: break;
    }
}

void SocketLibrary::on_accepted(Link& link, Socket* listener, const Message& m)
{
    const uint64_t id = m.words[1];
    if (link.protocol != Protocol::tcp || (listener->state != State::listening && listener->state != State::closing)) {
        malformed(link, &Counters::unexpected);
        return;
    }
    if (id < proto::accepted_base || id >= proto::max_sockets || link.sockets[id] != nullptr) {
        malformed(link, &Counters::unknown_socket);
        return;
    }
    auto* socket = new (std::nothrow) Socket;
    if (socket == nullptr) {
        Message close {};
        close.type = proto::close;
        close.words[0] = id;
        emit(link, close); // its `closed` then finds no record: counted, harmless
        return;
    }
    ++m_records;
    socket->protocol = Protocol::tcp;
    socket->link = &link;
    socket->id = static_cast<uint32_t>(id);
    socket->state = State::connected;
    socket->at_server = true;
    socket->remote = m.words[2];
    socket->local = m.words[3];
    socket->send_buffer = listener->send_buffer;
    socket->receive_buffer = listener->receive_buffer;
    socket->no_delay = listener->no_delay;
    socket->receive_timeout_ns = listener->receive_timeout_ns;
    socket->send_timeout_ns = listener->send_timeout_ns;
    link.sockets[id] = socket;
    if (listener->state == State::closing) {
        socket->state = State::closing;
        emit(link, message(proto::close, *socket));
        return;
    }
    socket->listener = listener;
    if (listener->accept_tail != nullptr)
        listener->accept_tail->accept_next = socket;
    else
        listener->accept_head = socket;
    listener->accept_tail = socket;
}

SocketLibrary::Node* SocketLibrary::take_node(Link& link, const Message& m)
{
    const channel::PoolView* view = m_platform.link(link.protocol).peer_pool();
    if (view == nullptr || !view->bytes(m.buffer).ok() || m.buffer.index >= link.node_count
        || link.nodes[m.buffer.index].held) {
        malformed(link, &Counters::bad_buffer);
        return nullptr;
    }
    Node& node = link.nodes[m.buffer.index];
    node = Node { m.buffer, m.words[1], 0, none, m.flags & proto::flags::more, true };
    ++link.nodes_held;
    return &node;
}

void SocketLibrary::give_back(Link& link, Socket& socket, uint32_t node, uint32_t consumed)
{
    Node& n = link.nodes[node];
    Message back = message(proto::received, socket);
    back.buffer = n.ref;
    back.words[1] = consumed;
    emit(link, back);
    n.held = false;
    n.next = none;
    --link.nodes_held;
}

void SocketLibrary::append(Link& link, Socket& socket, uint32_t node)
{
    link.nodes[node].next = none;
    if (socket.tail != none)
        link.nodes[socket.tail].next = node;
    else
        socket.head = node;
    socket.tail = node;
}

uint32_t SocketLibrary::pop_front(Link& link, Socket& socket)
{
    const uint32_t node = socket.head;
    socket.head = link.nodes[node].next;
    if (socket.head == none)
        socket.tail = none;
    if (socket.complete_tail == node)
        socket.complete_tail = none;
    return node;
}

// Gives back the buffers of a udp datagram still arriving (a broken chain).
void SocketLibrary::drop_chain(Link& link, Socket& socket)
{
    uint32_t node = socket.complete_tail == none ? socket.head : link.nodes[socket.complete_tail].next;
    while (node != none) {
        const uint32_t next = link.nodes[node].next;
        give_back(link, socket, node, 0);
        node = next;
    }
    socket.tail = socket.complete_tail;
    if (socket.complete_tail == none)
        socket.head = none;
    else
        link.nodes[socket.complete_tail].next = none;
    socket.chain_nodes = 0;
    socket.chain_bytes = 0;
}

// Gives back everything queued; `all_consumed`: tell the server every byte
// was read, so its receive window opens (after SHUT_RD).
void SocketLibrary::drop_queue(Socket& socket, bool all_consumed)
{
    if (socket.link == nullptr)
        return;
    Link& link = *socket.link;
    while (socket.head != none) {
        const uint32_t node = pop_front(link, socket);
        const Node& n = link.nodes[node];
        give_back(link, socket, node, all_consumed ? n.ref.length : n.consumed);
    }
    socket.complete_tail = none;
    socket.queued_bytes = 0;
    socket.datagrams = 0;
    socket.chain_nodes = 0;
    socket.chain_bytes = 0;
}

void SocketLibrary::unqueue_accepted(Socket& socket)
{
    Socket* listener = socket.listener;
    if (listener == nullptr)
        return;
    Socket* previous = nullptr;
    for (Socket* s = listener->accept_head; s != nullptr; previous = s, s = s->accept_next) {
        if (s != &socket)
            continue;
        if (previous != nullptr)
            previous->accept_next = s->accept_next;
        else
            listener->accept_head = s->accept_next;
        if (listener->accept_tail == s)
            listener->accept_tail = previous;
        break;
    }
    socket.accept_next = nullptr;
    socket.listener = nullptr;
}

void SocketLibrary::on_data(Link& link, Socket* socket, const Message& m)
{
    Node* node = take_node(link, m);
    if (node == nullptr)
        return;
    const uint32_t index = m.buffer.index;
    const uint32_t length = node->ref.length;
    if (socket->state == State::closing || socket->read_shut) {
        give_back(link, *socket, index, length);
        return;
    }
    if (socket->protocol == Protocol::tcp) {
        if (socket->state != State::connected || socket->failed || socket->peer_finished) {
            malformed(link, &Counters::unexpected);
            give_back(link, *socket, index, length);
            return;
        }
        node->from = 0;
        node->flags = 0;
        append(link, *socket, index);
        socket->queued_bytes += length;
        return;
    }

    // udp: a datagram is one buffer or a chain of them (flags::more on all
    // but the last), every one naming the same sender and total length.
    const uint64_t total = m.words[2];
    if (socket->chain_nodes != 0 && (m.words[1] != socket->chain_from || total != socket->chain_total)) {
        malformed(link, &Counters::bad_chain);
        drop_chain(link, *socket);
    }
    if (socket->chain_nodes == 0) {
        if (total > max_chain_total) {
            malformed(link, &Counters::bad_chain);
            give_back(link, *socket, index, 0);
            return;
        }
        socket->chain_from = m.words[1];
        socket->chain_total = total;
    }
    append(link, *socket, index);
    ++socket->chain_nodes;
    socket->chain_bytes += length;
    if (socket->chain_bytes > socket->chain_total) {
        malformed(link, &Counters::bad_chain);
        drop_chain(link, *socket);
        return;
    }
    if ((m.flags & proto::flags::more) != 0)
        return;
    if (socket->chain_bytes != socket->chain_total) {
        malformed(link, &Counters::bad_chain);
        drop_chain(link, *socket);
        return;
    }
    ++socket->datagrams;
    socket->queued_bytes += socket->chain_total;
    socket->complete_tail = socket->tail;
    socket->chain_nodes = 0;
    socket->chain_bytes = 0;
}

void SocketLibrary::on_sent(Link& link, const Message& m)
{
    ServerLink& server = m_platform.link(link.protocol);
    if (!server.pool().take_back(m.buffer, server_holder).ok()) {
        malformed(link, &Counters::bad_buffer);
        return;
    }
    Lent& lent = link.lent[m.buffer.index];
    Socket* socket = lent.socket;
    if (socket != nullptr)
        socket->credit_used -= smaller<uint64_t>(lent.length, socket->credit_used);
    lent = Lent { nullptr, 0 };
    (void)server.pool().free(m.buffer);
    if (static_cast<int64_t>(m.words[1]) < 0) {
        ++link.counters.send_failures;
        // A connected udp socket hears of it, as from an ICMP error on Linux.
        if (socket != nullptr && socket->protocol == Protocol::udp && socket->state == State::connected)
            socket->error = errno_of(m.words[1]);
    }
}

void SocketLibrary::on_closed(Link& link, Socket* socket)
{
    if (socket->state == State::closing && socket->fd < 0) {
        destroy(socket);
        return;
    }
    // Nobody asked: the server let go of a socket we still use.
    malformed(link, &Counters::unexpected);
    if (socket->error == 0)
        socket->error = ECONNABORTED;
    detach(socket);
    if (socket->fd < 0) {
        socket->link = nullptr;
        delete socket;
        --m_records;
    }
}

// --- blocking ---

template<typename Ready> bool SocketLibrary::wait_until(Ready ready, uint64_t deadline_ns)
{
    for (;;) {
        pump_all();
        if (ready())
            return true;
        flush_all();
        // (Reading the clock is a system call in Tern: not for poll(0).)
        if (deadline_ns == 0 || (deadline_ns != forever && m_platform.now_ns() >= deadline_ns))
            return false;
        Platform::WaitFor what {};
        for (const Link& link : m_links) {
            what.rx[index(link.protocol)] = link.open;
            what.tx[index(link.protocol)] = link.open && link.backlog.size() != 0;
        }
        const uint32_t ended = m_platform.wait(what, deadline_ns);
        for (Link& link : m_links) {
            if ((ended & 1u << index(link.protocol)) != 0)
                end_link(link);
        }
    }
}

uint64_t SocketLibrary::deadline(uint64_t timeout_ns)
{
    return timeout_ns == 0 ? forever : m_platform.now_ns() + timeout_ns;
}

int SocketLibrary::wait_answer(Socket& socket)
{
    (void)wait_until([&] { return socket.answered; }, forever);
    socket.answered = false;
    return socket.answer != 0 ? fail(socket.answer) : 0;
}

int SocketLibrary::take_error(Socket& socket)
{
    const int error = socket.error;
    socket.error = 0;
    return error;
}

uint64_t SocketLibrary::credit_free(const Socket& socket) const
{
    return socket.send_buffer > socket.credit_used ? socket.send_buffer - socket.credit_used : 0;
}

// Sends a request that `result` answers, and waits for it.
int SocketLibrary::request(Socket& socket, uint32_t type, uint64_t word)
{
    Message m = message(type, socket);
    m.words[1] = word;
    emit(*socket.link, m);
    socket.at_server = true;
    socket.awaiting = type;
    socket.answered = false;
    return wait_answer(socket);
}

void SocketLibrary::send_option(Socket& socket, uint64_t option, uint64_t value)
{
    if (socket.link == nullptr)
        return;
    Message m = message(proto::set_option, socket);
    m.words[1] = option;
    m.words[2] = value;
    emit(*socket.link, m);
    socket.at_server = true;
    ++socket.async_results;
}

// --- the calls ---

int SocketLibrary::socket(int domain, int type, int protocol)
{
    TERN_SOCKET_CALL;
    if (domain != AF_INET)
        return fail(EAFNOSUPPORT);
    const int flags = type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
    Protocol kind;
    switch (type & ~flags) {
    case SOCK_STREAM:
        if (protocol != 0 && protocol != IPPROTO_TCP)
            return fail(EPROTONOSUPPORT);
        kind = Protocol::tcp;
        break;
    case SOCK_DGRAM:
        if (protocol != 0 && protocol != IPPROTO_UDP)
            return fail(EPROTONOSUPPORT);
        kind = Protocol::udp;
        break;
    default: return fail(EINVAL);
    }
    Link& link = m_links[index(kind)];
    if (!ensure_open(link))
        return -1;
    uint32_t id = none;
    for (uint32_t i = 0; i < proto::accepted_base; ++i) {
        const uint32_t candidate = (link.next_id + i) % proto::accepted_base;
        if (link.sockets[candidate] == nullptr) {
            id = candidate;
            break;
        }
    }
    if (id == none)
        return fail(EMFILE);
    auto* socket = new (std::nothrow) Socket;
    if (socket == nullptr)
        return fail(ENOBUFS);
    if (allocate_fd(socket) < 0) {
        delete socket;
        return fail(EMFILE);
    }
    ++m_records;
    link.next_id = (id + 1) % proto::accepted_base; // ids are not reused at once
    link.sockets[id] = socket;
    socket->protocol = kind;
    socket->link = &link;
    socket->id = id;
    socket->nonblocking = (flags & SOCK_NONBLOCK) != 0;
    socket->send_buffer = m_config.send_buffer;
    return socket->fd;
}

// What bind() and connect() check first: the socket, the address, and that
// its server is still there. 0, or the errno to fail with.
int SocketLibrary::addressed_call(int fd, const sockaddr* address, socklen_t length, Socket*& socket,
                                  uint64_t& endpoint)
{
    socket = lookup(fd);
    if (socket == nullptr)
        return EBADF;
    if (const int error = read_address(address, length, endpoint); error != 0)
        return error;
    if (socket->link == nullptr)
        return socket->error != 0 ? take_error(*socket) : socket->protocol == Protocol::tcp ? ECONNRESET : ENETDOWN;
    return 0;
}

int SocketLibrary::bind(int fd, const sockaddr* address, socklen_t length)
{
    TERN_SOCKET_CALL;
    Socket* socket = nullptr;
    uint64_t endpoint = 0;
    if (const int error = addressed_call(fd, address, length, socket, endpoint); error != 0)
        return fail(error);
    if (socket->state != State::fresh)
        return fail(EINVAL);
    return request(*socket, proto::bind, endpoint);
}

int SocketLibrary::listen(int fd, int backlog)
{
    TERN_SOCKET_CALL;
    Socket* socket = lookup(fd);
    if (socket == nullptr)
        return fail(EBADF);
    if (socket->protocol != Protocol::tcp)
        return fail(EOPNOTSUPP);
    if (socket->link == nullptr)
        return fail(socket->error != 0 ? take_error(*socket) : ECONNRESET);
    if (socket->state == State::listening)
        return 0;
    if (socket->state != State::fresh && socket->state != State::bound)
        return fail(EINVAL);
    backlog = backlog < 1 ? 1 : backlog > max_backlog ? max_backlog : backlog;
    return request(*socket, proto::listen, static_cast<uint64_t>(backlog));
}

int SocketLibrary::accept4(int fd, sockaddr* address, socklen_t* length, int flags)
{
    TERN_SOCKET_CALL;
    Socket* socket = lookup(fd);
    if (socket == nullptr)
        return fail(EBADF);
    if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != 0)
        return fail(EINVAL);
    if (socket->protocol != Protocol::tcp)
        return fail(EOPNOTSUPP);
    for (;;) {
        if (socket->link == nullptr)
            return fail(socket->error != 0 ? take_error(*socket) : ECONNRESET);
        if (socket->state != State::listening)
            return fail(EINVAL);
        if (socket->accept_head != nullptr)
            break;
        if (socket->error != 0)
            return fail(take_error(*socket));
        if (socket->nonblocking)
            return fail(EAGAIN);
        if (!wait_until([&] { return socket->link == nullptr || socket->accept_head != nullptr || socket->error != 0; },
                deadline(socket->receive_timeout_ns)))
            return fail(EAGAIN);
    }
    Socket* child = socket->accept_head;
    if (allocate_fd(child) < 0)
        return fail(EMFILE); // it stays queued
    unqueue_accepted(*child);
    child->nonblocking = (flags & SOCK_NONBLOCK) != 0;
    emit(*socket->link, message(proto::accept_taken, *socket));
    write_address(child->remote, address, length);
    return child->fd;
}

int SocketLibrary::connect(int fd, const sockaddr* address, socklen_t length)
{
    TERN_SOCKET_CALL;
    Socket* socket = nullptr;
    uint64_t endpoint = 0;
    if (const int error = addressed_call(fd, address, length, socket, endpoint); error != 0)
        return fail(error);
    if (socket->protocol == Protocol::udp) {
        if (socket->state != State::fresh && socket->state != State::bound && socket->state != State::connected)
            return fail(EINVAL);
        const int result = request(*socket, proto::connect, endpoint);
        if (result == 0) {
            socket->remote = endpoint;
            socket->state = State::connected;
        } else {
            socket->error = 0; // reported here
        }
        return result;
    }
    switch (socket->state) {
    case State::connecting: return fail(EALREADY);
    case State::connected: return fail(EISCONN);
    case State::listening:
    case State::closing: return fail(EINVAL);
    default: break;
    }
    socket->error = 0;
    Message m = message(proto::connect, *socket);
    m.words[1] = endpoint;
    emit(*socket->link, m);
    socket->at_server = true;
    socket->awaiting = proto::connect;
    socket->answered = false;
    socket->remote = endpoint;
    socket->state = State::connecting;
    if (socket->nonblocking)
        return fail(EINPROGRESS);
    const int result = wait_answer(*socket);
    if (result != 0)
        socket->error = 0; // reported here, not again by SO_ERROR
    return result;
}

ssize_t SocketLibrary::send(int fd, const void* data, size_t length, int flags)
{
    TERN_SOCKET_CALL;
    Socket* socket = lookup(fd);
    if (socket == nullptr)
        return fail(EBADF);
    if (data == nullptr && length != 0)
        return fail(EFAULT);
    if (socket->protocol == Protocol::tcp)
        return stream_send(*socket, static_cast<const uint8_t*>(data), length, flags);
    if (socket->state != State::connected && socket->link != nullptr)
        return fail(EDESTADDRREQ);
    return datagram_send(*socket, static_cast<const uint8_t*>(data), length, flags, 0);
}

ssize_t SocketLibrary::sendto(
    int fd, const void* data, size_t length, int flags, const sockaddr* to, socklen_t to_length)
{
    if (to == nullptr)
        return send(fd, data, length, flags);
    TERN_SOCKET_CALL;
    Socket* socket = lookup(fd);
    if (socket == nullptr)
        return fail(EBADF);
    if (data == nullptr && length != 0)
        return fail(EFAULT);
    if (socket->protocol == Protocol::tcp)
        return stream_send(*socket, static_cast<const uint8_t*>(data), length, flags); // the address is ignored
    uint64_t endpoint = 0;
    if (const int error = read_address(to, to_length, endpoint); error != 0)
        return fail(error);
    if (proto::endpoint_port(endpoint) == 0)
        return fail(EINVAL);
    return datagram_send(*socket, static_cast<const uint8_t*>(data), length, flags, endpoint);
}

ssize_t SocketLibrary::stream_send(Socket& socket, const uint8_t* data, size_t length, int flags)
{
    const bool nonblocking = socket.nonblocking || (flags & MSG_DONTWAIT) != 0;
    const uint64_t until = deadline(socket.send_timeout_ns);
    size_t sent = 0;
    const auto done = [&](int error) -> ssize_t { return sent != 0 ? static_cast<ssize_t>(sent) : fail(error); };
    for (;;) {
        if (socket.link == nullptr || socket.failed)
            return done(socket.error != 0 ? take_error(socket) : EPIPE);
        if (socket.write_shut)
            return done(EPIPE);
        if (socket.state == State::connecting) {
            if (nonblocking)
                return done(EAGAIN);
            if (!wait_until([&] { return socket.link == nullptr || socket.state != State::connecting; }, until))
                return done(EAGAIN);
            continue;
        }
        if (socket.state != State::connected)
            return done(ENOTCONN);
        if (sent == length)
            return static_cast<ssize_t>(sent);

        Link& link = *socket.link;
        ServerLink& server = m_platform.link(link.protocol);
        channel::PoolOwner& pool = server.pool();
        while (sent < length) {
            const uint64_t credit = credit_free(socket);
            if (credit == 0)
                break;
            auto allocated = pool.allocate();
            if (!allocated.ok())
                break;
            BufferRef ref = allocated.value();
            const auto chunk
                = static_cast<uint32_t>(smaller<uint64_t>(smaller<uint64_t>(length - sent, ref.length), credit));
            __builtin_memcpy(server.data(ref), data + sent, chunk);
            ref.length = chunk;
            (void)pool.lend(ref, server_holder);
            link.lent[ref.index] = Lent { &socket, chunk };
            socket.credit_used += chunk;
            Message m = message(proto::send, socket);
            m.buffer = ref;
            emit(link, m);
            sent += chunk;
            if (link.unpublished >= publish_batch)
                flush(link);
        }
        if (sent == length)
            return static_cast<ssize_t>(sent);
        if (nonblocking)
            return done(EAGAIN);
        const bool ready = wait_until(
            [&] {
                return socket.link == nullptr || socket.failed || socket.write_shut || socket.state != State::connected
                    || (credit_free(socket) != 0 && m_platform.link(socket.link->protocol).pool().free_count() != 0);
            },
            until);
        if (!ready)
            return done(EAGAIN);
    }
}

ssize_t SocketLibrary::datagram_send(Socket& socket, const uint8_t* data, size_t length, int flags, uint64_t to)
{
    const bool nonblocking = socket.nonblocking || (flags & MSG_DONTWAIT) != 0;
    if (socket.link == nullptr)
        return fail(socket.error != 0 ? take_error(socket) : ENETDOWN);
    if (socket.write_shut)
        return fail(EPIPE);
    if (socket.error != 0)
        return fail(take_error(socket));
    if (length > max_datagram)
        return fail(EMSGSIZE);
    const uint32_t buffer_size = m_platform.link(socket.protocol).pool().geometry().buffer_size;
    const auto buffers = static_cast<uint32_t>(length == 0 ? 1 : (length + buffer_size - 1) / buffer_size);
    if (buffers > m_platform.link(socket.protocol).pool().geometry().count)
        return fail(EMSGSIZE);
    // Room for the whole datagram at once; one larger than SO_SNDBUF still
    // goes when nothing else is outstanding.
    const auto fits = [&] {
        return socket.link != nullptr && m_platform.link(socket.protocol).pool().free_count() >= buffers
            && (socket.credit_used == 0 || socket.credit_used + length <= socket.send_buffer);
    };
    if (!fits()) {
        if (nonblocking)
            return fail(EAGAIN);
        if (!wait_until([&] { return socket.link == nullptr || socket.write_shut || socket.error != 0 || fits(); },
                deadline(socket.send_timeout_ns)))
            return fail(EAGAIN);
        if (socket.link == nullptr || socket.write_shut || socket.error != 0)
            return datagram_send(socket, data, length, flags, to); // reports it
    }
    Link& link = *socket.link;
    ServerLink& server = m_platform.link(link.protocol);
    size_t offset = 0;
    for (uint32_t i = 0; i < buffers; ++i) {
        BufferRef ref = server.pool().allocate().value(); // fits() counted them
        const auto chunk = static_cast<uint32_t>(smaller<uint64_t>(length - offset, ref.length));
        if (chunk != 0)
            __builtin_memcpy(server.data(ref), data + offset, chunk);
        ref.length = chunk;
        (void)server.pool().lend(ref, server_holder);
        link.lent[ref.index] = Lent { &socket, chunk };
        socket.credit_used += chunk;
        Message m = message(proto::send, socket);
        m.flags = i + 1 < buffers ? proto::flags::more : 0;
        m.buffer = ref;
        m.words[1] = to;
        emit(link, m);
        offset += chunk;
    }
    socket.at_server = true;
    return static_cast<ssize_t>(length);
}

ssize_t SocketLibrary::recv(int fd, void* buffer, size_t length, int flags)
{
    return recvfrom(fd, buffer, length, flags, nullptr, nullptr);
}

ssize_t SocketLibrary::recvfrom(int fd, void* buffer, size_t length, int flags, sockaddr* from, socklen_t* from_length)
{
    TERN_SOCKET_CALL;
    Socket* socket = lookup(fd);
    if (socket == nullptr)
        return fail(EBADF);
    if (buffer == nullptr && length != 0)
        return fail(EFAULT);
    if (socket->protocol == Protocol::tcp)
        return stream_receive(*socket, static_cast<uint8_t*>(buffer), length, flags);
    return datagram_receive(*socket, static_cast<uint8_t*>(buffer), length, flags, from, from_length);
}

ssize_t SocketLibrary::stream_receive(Socket& socket, uint8_t* buffer, size_t length, int flags)
{
    const bool nonblocking = socket.nonblocking || (flags & MSG_DONTWAIT) != 0;
    const bool peek = (flags & MSG_PEEK) != 0;
    const bool wait_all = (flags & MSG_WAITALL) != 0 && !peek;
    const uint64_t until = deadline(socket.receive_timeout_ns);
    size_t got = 0;
    const auto done = [&](int error) -> ssize_t { return got != 0 ? static_cast<ssize_t>(got) : fail(error); };
    for (;;) {
        if (socket.link != nullptr && socket.head != none) {
            Link& link = *socket.link;
            const channel::PoolView& view = *m_platform.link(link.protocol).peer_pool();
            if (peek) {
                for (uint32_t node = socket.head; node != none && got < length; node = link.nodes[node].next) {
                    const Node& n = link.nodes[node];
                    const auto take = smaller<size_t>(n.ref.length - n.consumed, length - got);
                    __builtin_memcpy(buffer + got, view.buffer(n.ref.index) + n.ref.offset + n.consumed, take);
                    got += take;
                }
                return static_cast<ssize_t>(got);
            }
            while (got < length && socket.head != none) {
                Node& n = link.nodes[socket.head];
                const auto take = smaller<size_t>(n.ref.length - n.consumed, length - got);
                __builtin_memcpy(buffer + got, view.buffer(n.ref.index) + n.ref.offset + n.consumed, take);
                n.consumed += static_cast<uint32_t>(take);
                got += take;
                socket.queued_bytes -= take;
                if (n.consumed == n.ref.length) {
                    const uint32_t node = pop_front(link, socket);
                    give_back(link, socket, node, link.nodes[node].ref.length);
                }
            }
        }
        if (got == length || (got != 0 && !wait_all))
            return static_cast<ssize_t>(got);
        if (socket.read_shut)
            return static_cast<ssize_t>(got);
        if (socket.error != 0)
            return got != 0 ? static_cast<ssize_t>(got) : fail(take_error(socket));
        if (socket.failed || socket.peer_finished || socket.link == nullptr)
            return static_cast<ssize_t>(got); // the end: 0
        if (socket.state != State::connected && socket.state != State::connecting)
            return done(ENOTCONN);
        if (nonblocking)
            return done(EAGAIN);
        const bool ready = wait_until(
            [&] {
                return socket.link == nullptr || socket.head != none || socket.failed || socket.peer_finished
                    || socket.read_shut || socket.error != 0
                    || (socket.state != State::connected && socket.state != State::connecting);
            },
            until);
        if (!ready)
            return done(EAGAIN);
    }
}

ssize_t SocketLibrary::datagram_receive(
    Socket& socket, uint8_t* buffer, size_t length, int flags, sockaddr* from, socklen_t* from_length)
{
    const bool nonblocking = socket.nonblocking || (flags & MSG_DONTWAIT) != 0;
    const bool peek = (flags & MSG_PEEK) != 0;
    const uint64_t until = deadline(socket.receive_timeout_ns);
    for (;;) {
        if (socket.link != nullptr && socket.datagrams != 0) {
            Link& link = *socket.link;
            const channel::PoolView& view = *m_platform.link(link.protocol).peer_pool();
            const uint64_t sender = link.nodes[socket.head].from;
            size_t copied = 0;
            uint64_t datagram = 0;
            uint32_t node = socket.head;
            for (;;) {
                const Node& n = link.nodes[node];
                const auto take = smaller<size_t>(n.ref.length, length - copied);
                if (take != 0)
                    __builtin_memcpy(buffer + copied, view.buffer(n.ref.index) + n.ref.offset, take);
                copied += take;
                datagram += n.ref.length;
                const bool last = (n.flags & proto::flags::more) == 0;
                const uint32_t next = n.next;
                if (!peek) {
                    const uint32_t popped = pop_front(link, socket);
                    give_back(link, socket, popped, link.nodes[popped].ref.length);
                }
                if (last)
                    break;
                node = next;
            }
            if (!peek) {
                --socket.datagrams;
                socket.queued_bytes -= datagram;
            }
            write_address(sender, from, from_length);
            return static_cast<ssize_t>((flags & MSG_TRUNC) != 0 ? datagram : copied);
        }
        if (socket.error != 0)
            return fail(take_error(socket));
        if (socket.link == nullptr)
            return fail(ENETDOWN);
        if (socket.read_shut)
            return 0;
        if (nonblocking)
            return fail(EAGAIN);
        const bool ready = wait_until(
            [&] { return socket.link == nullptr || socket.datagrams != 0 || socket.error != 0 || socket.read_shut; },
            until);
        if (!ready)
            return fail(EAGAIN);
    }
}

int SocketLibrary::shutdown(int fd, int how)
{
    TERN_SOCKET_CALL;
    Socket* socket = lookup(fd);
    if (socket == nullptr)
        return fail(EBADF);
    if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
        return fail(EINVAL);
    if (socket->link == nullptr || socket->state != State::connected || socket->failed)
        return fail(ENOTCONN);
    if (how != SHUT_WR && !socket->read_shut) {
        socket->read_shut = true;
        drop_queue(*socket, true);
    }
    if (how != SHUT_RD)
        socket->write_shut = true;
    if (socket->protocol == Protocol::tcp) {
        Message m = message(proto::shutdown, *socket);
        m.words[1] = static_cast<uint64_t>(how);
        emit(*socket->link, m);
        ++socket->async_results;
    }
    return 0;
}

int SocketLibrary::close(int fd)
{
    TERN_SOCKET_CALL;
    Socket* socket = lookup(fd);
    if (socket == nullptr)
        return fail(EBADF);
    m_fds[fd - first_fd] = nullptr;
    socket->fd = -1;
    if (socket->link == nullptr) {
        destroy(socket);
        return 0;
    }
    Link& link = *socket->link;
    drop_queue(*socket, false);
    // Connections nobody accepted go with their listener.
    while (Socket* child = socket->accept_head) {
        unqueue_accepted(*child);
        drop_queue(*child, false);
        child->state = State::closing;
        emit(link, message(proto::close, *child));
    }
    if (!socket->at_server) {
        destroy(socket);
        return 0;
    }
    socket->state = State::closing;
    emit(link, message(proto::close, *socket));
    return 0;
}

int SocketLibrary::setsockopt(int fd, int level, int name, const void* value, socklen_t length)
{
    TERN_SOCKET_CALL;
    Socket* socket = lookup(fd);
    if (socket == nullptr)
        return fail(EBADF);
    int v = 0;
    if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
        if (value == nullptr)
            return fail(EFAULT);
        if (length < sizeof(timeval))
            return fail(EINVAL);
        timeval t;
        __builtin_memcpy(&t, value, sizeof t);
        if (t.tv_usec < 0 || t.tv_usec >= 1'000'000)
            return fail(EINVAL);
        (name == SO_RCVTIMEO ? socket->receive_timeout_ns : socket->send_timeout_ns) = timeval_ns(t);
        return 0;
    }
    if (level == SOL_SOCKET) {
        switch (name) {
        case SO_REUSEADDR:
            if (const int error = read_int(value, length, v); error != 0)
                return fail(error);
            socket->reuse_address = v != 0;
            send_option(*socket, proto::option::reuse_address, v != 0);
            return 0;
        case SO_RCVBUF:
            if (const int error = read_int(value, length, v); error != 0)
                return fail(error);
            socket->receive_buffer = v < static_cast<int>(min_receive_buffer) ? min_receive_buffer
                : static_cast<uint32_t>(v) > max_receive_buffer               ? max_receive_buffer
                                                                              : static_cast<uint32_t>(v);
            send_option(*socket, proto::option::receive_buffer, socket->receive_buffer);
            return 0;
        case SO_SNDBUF: {
            if (const int error = read_int(value, length, v); error != 0)
                return fail(error);
            const uint32_t least = m_config.buffer_size;
            socket->send_buffer = v < static_cast<int>(least) ? least
                : static_cast<uint32_t>(v) > max_send_buffer  ? max_send_buffer
                                                              : static_cast<uint32_t>(v);
            return 0;
        }
        default: return fail(ENOPROTOOPT);
        }
    }
    if (level == IPPROTO_TCP && name == TCP_NODELAY && socket->protocol == Protocol::tcp) {
        if (const int error = read_int(value, length, v); error != 0)
            return fail(error);
        socket->no_delay = v != 0;
        send_option(*socket, proto::option::no_delay, v != 0);
        return 0;
    }
    return fail(ENOPROTOOPT);
}

int SocketLibrary::getsockopt(int fd, int level, int name, void* value, socklen_t* length)
{
    TERN_SOCKET_CALL;
    Socket* socket = lookup(fd);
    if (socket == nullptr)
        return fail(EBADF);
    int v = 0;
    if (level == SOL_SOCKET) {
        switch (name) {
        case SO_REUSEADDR: v = socket->reuse_address ? 1 : 0; break;
        case SO_TYPE: v = socket->protocol == Protocol::tcp ? SOCK_STREAM : SOCK_DGRAM; break;
        case SO_ERROR: v = take_error(*socket); break;
        case SO_SNDBUF: v = static_cast<int>(socket->send_buffer); break;
        case SO_RCVBUF: v = static_cast<int>(socket->receive_buffer); break;
        case SO_RCVTIMEO:
        case SO_SNDTIMEO: {
            const timeval t = ns_timeval(name == SO_RCVTIMEO ? socket->receive_timeout_ns : socket->send_timeout_ns);
            const int error = write_bytes(&t, sizeof t, value, length);
            return error != 0 ? fail(error) : 0;
        }
        default: return fail(ENOPROTOOPT);
        }
    } else if (level == IPPROTO_TCP && name == TCP_NODELAY && socket->protocol == Protocol::tcp) {
        v = socket->no_delay ? 1 : 0;
    } else {
        return fail(ENOPROTOOPT);
    }
    const int error = write_bytes(&v, sizeof v, value, length);
    return error != 0 ? fail(error) : 0;
}

int SocketLibrary::getsockname(int fd, sockaddr* address, socklen_t* length)
{
    TERN_SOCKET_CALL;
    Socket* socket = lookup(fd);
    if (socket == nullptr)
        return fail(EBADF);
    if (address == nullptr || length == nullptr)
        return fail(EFAULT);
    write_address(socket->local, address, length);
    return 0;
}

int SocketLibrary::getpeername(int fd, sockaddr* address, socklen_t* length)
{
    TERN_SOCKET_CALL;
    Socket* socket = lookup(fd);
    if (socket == nullptr)
        return fail(EBADF);
    if (address == nullptr || length == nullptr)
        return fail(EFAULT);
    if (socket->state != State::connected)
        return fail(ENOTCONN);
    write_address(socket->remote, address, length);
    return 0;
}

int SocketLibrary::fcntl(int fd, int command, int argument)
{
    Socket* socket = lookup(fd);
    if (socket == nullptr)
        return fail(EBADF);
    switch (command) {
    case F_GETFL: return O_RDWR | (socket->nonblocking ? O_NONBLOCK : 0);
    case F_SETFL: socket->nonblocking = (argument & O_NONBLOCK) != 0; return 0;
    default: return fail(EINVAL);
    }
}

short SocketLibrary::ready_events(Socket& socket)
{
    short events = socket.error != 0 ? POLLERR : 0;
    if (socket.link == nullptr)
        return static_cast<short>(events | POLLIN | POLLOUT | POLLHUP); // every call fails at once
    const channel::PoolOwner& pool = m_platform.link(socket.protocol).pool();
    if (socket.protocol == Protocol::udp) {
        if (socket.datagrams != 0 || socket.read_shut)
            events |= POLLIN;
        if (socket.write_shut || (pool.free_count() != 0 && (socket.credit_used == 0 || credit_free(socket) != 0)))
            events |= POLLOUT;
        return events;
    }
    switch (socket.state) {
    case State::listening:
        if (socket.accept_head != nullptr)
            events |= POLLIN;
        break;
    case State::fresh:
    case State::bound: events |= POLLOUT | POLLHUP; break; // as Linux: nothing to wait for
    case State::connected:
        if (socket.head != none || socket.peer_finished || socket.failed || socket.read_shut)
            events |= POLLIN;
        if (socket.failed || socket.write_shut || (credit_free(socket) != 0 && pool.free_count() != 0))
            events |= POLLOUT;
        if (socket.failed || (socket.peer_finished && socket.write_shut))
            events |= POLLHUP;
        break;
    default: break;
    }
    return events;
}

int SocketLibrary::poll(pollfd* fds, nfds_t count, int timeout_ms)
{
    TERN_SOCKET_CALL;
    if (fds == nullptr && count != 0)
        return fail(EFAULT);
    if (count > static_cast<nfds_t>(max_fds) * 4)
        return fail(EINVAL);
    int ready = 0;
    const auto scan = [&] {
        ready = 0;
        for (nfds_t i = 0; i < count; ++i) {
            pollfd& p = fds[i];
            p.revents = 0;
            if (p.fd < 0)
                continue;
            Socket* socket = lookup(p.fd);
            if (socket == nullptr)
                p.revents = POLLNVAL;
            else
                p.revents = static_cast<short>(ready_events(*socket) & (p.events | POLLERR | POLLHUP));
            if (p.revents != 0)
                ++ready;
        }
        return ready != 0;
    };
    const uint64_t until = timeout_ms < 0 ? forever
        : timeout_ms == 0                 ? 0 // look, never sleep
                                          : m_platform.now_ns() + static_cast<uint64_t>(timeout_ms) * ns_per_ms;
    (void)wait_until(scan, until);
    return ready;
}

} // namespace tern::sockets
