// The socket library's logic: POSIX-shaped calls on file descriptors, turned
// into messages on one channel per server (proto/socket.hpp). No system
// calls of its own: everything outside goes through Platform (link.hpp), so
// host tests run this class against a fake server. Tern programs use the
// free functions of socket.hpp, which forward to one instance of it.
//
// Design in short (README.md has the rest):
//  - fds are small numbers from 3 up, each naming a Socket record; a record
//    also lives in its link's table under its id (< accepted_base: ours;
//    from accepted_base: the server's, for accepted connections) until
//    `closed` frees the id. Records outlive their fd (close() frees the fd
//    at once) and accepted connections exist before accept() gives them one.
//  - send copies into free buffers of our pool and lends them to the server
//    (`send`); SO_SNDBUF is the credit: bytes lent and not yet given back
//    with `sent`. recv copies out of the server's buffers queued per socket
//    and gives each back with `received` once used up.
//  - every call first drains the rx rings (handling messages of every
//    socket), and publishes what it produced before it returns; it enters
//    the kernel only through Platform::wait, to block.
#pragma once

#include "socket/socket.hpp" // before anything that may pull in <errno.h> (see there)
// (link.hpp includes <atomic>, which on the host brings the errno macros)
#include "socket/link.hpp"

#include <cstdint>

namespace tern::sockets {

class SocketLibrary {
public:
    static constexpr int first_fd = 3;
    static constexpr int max_fds = 1024;
    // Our pool's record names the server as this holder.
    static constexpr channel::PoolOwner::Holder server_holder = 1;

    // What a link counted: bad input from its server (never trusted) and
    // events worth seeing in a test or a status page.
    struct Counters {
        uint64_t malformed = 0; // every message below that failed a check
        uint64_t unknown_socket = 0; // names an id we do not have (or the wrong kind of socket)
        uint64_t bad_buffer = 0; // a reference outside the pool, not lent, or already held
        uint64_t bad_chain = 0; // a udp chain whose lengths or words do not add up
        uint64_t unexpected = 0; // a result nobody waits for, an unknown type, bad words
        uint64_t send_failures = 0; // `sent` with an error: bytes the server could not send
        uint64_t opened = 0; // channels opened
        uint64_t ended = 0; // channels that ended under us
        uint64_t backlog_peak = 0; // most messages waiting for room on the tx ring
    };

    explicit SocketLibrary(Platform& platform, const Config& config = {});
    ~SocketLibrary();
    SocketLibrary(const SocketLibrary&) = delete;
    SocketLibrary& operator=(const SocketLibrary&) = delete;

    int configure(const Config& config);

    int socket(int domain, int type, int protocol);
    int bind(int fd, const sockaddr* address, socklen_t length);
    int listen(int fd, int backlog);
    int accept(int fd, sockaddr* address, socklen_t* length) { return accept4(fd, address, length, 0); }
    int accept4(int fd, sockaddr* address, socklen_t* length, int flags);
    int connect(int fd, const sockaddr* address, socklen_t length);
    ssize_t send(int fd, const void* data, size_t length, int flags);
    ssize_t recv(int fd, void* buffer, size_t length, int flags);
    ssize_t sendto(int fd, const void* data, size_t length, int flags, const sockaddr* to, socklen_t to_length);
    ssize_t recvfrom(int fd, void* buffer, size_t length, int flags, sockaddr* from, socklen_t* from_length);
    int shutdown(int fd, int how);
    int close(int fd);
    int setsockopt(int fd, int level, int name, const void* value, socklen_t length);
    int getsockopt(int fd, int level, int name, void* value, socklen_t* length);
    int getsockname(int fd, sockaddr* address, socklen_t* length);
    int getpeername(int fd, sockaddr* address, socklen_t* length);
    int fcntl(int fd, int command, int argument = 0);
    int poll(pollfd* fds, nfds_t count, int timeout_ms);

    int last_error() const { return m_errno; }

    // For tests and status pages.
    const Counters& counters(Protocol protocol) const { return m_links[index(protocol)].counters; }
    bool link_open(Protocol protocol) const { return m_links[index(protocol)].open; }
    // Buffers of our pool the server holds (lent, not yet `sent` back).
    uint32_t own_buffers_lent(Protocol protocol) const;
    // Buffers of the server's pool we hold (from `data`, not yet `received`).
    uint32_t peer_buffers_held(Protocol protocol) const { return m_links[index(protocol)].nodes_held; }
    // Socket records alive, with or without an fd (closing, not yet accepted).
    uint32_t socket_records() const { return m_records; }
    // Messages produced but not yet on the tx ring (it was full).
    uint32_t backlog(Protocol protocol) const { return m_links[index(protocol)].backlog.size(); }

private:
    class CallScope;
    static constexpr uint32_t none = 0xFFFFFFFF;
    static constexpr uint64_t forever = UINT64_MAX;

    enum class State : uint8_t { fresh, bound, listening, connecting, connected, closing };

    struct Link;

    struct Socket {
        Protocol protocol = Protocol::tcp;
        Link* link = nullptr; // null once detached: its server's channel ended
        uint32_t id = 0;
        int fd = -1; // -1: closed by the application, or accepted and not yet taken
        State state = State::fresh;
        bool at_server = false; // a message named it: the server has it until `closed`
        bool nonblocking = false;
        bool reuse_address = false;
        bool no_delay = false;
        uint32_t receive_buffer = 0; // 0: the server's default
        uint32_t send_buffer = 0; // the credit
        uint64_t receive_timeout_ns = 0; // 0: none
        uint64_t send_timeout_ns = 0;
        uint64_t local = 0; // endpoint words (socket_proto::endpoint_word)
        uint64_t remote = 0;
        int error = 0; // SO_ERROR: reported once, by the next call or getsockopt
        bool failed = false; // the connection is over (error, reset, server gone)
        bool peer_finished = false;
        bool read_shut = false;
        bool write_shut = false;
        // The one request (bind, listen, connect) waiting for its `result`.
        uint32_t awaiting = 0;
        bool answered = false;
        int answer = 0; // 0 or an errno
        uint32_t async_results = 0; // results still to come for set_option and shutdown
        uint64_t credit_used = 0; // bytes lent to the server, not yet `sent` back
        // Received buffers (indices into the link's nodes, which are the
        // server's buffer numbers), oldest first.
        uint32_t head = none;
        uint32_t tail = none;
        uint64_t queued_bytes = 0;
        // udp: complete datagrams queued, and the chain still arriving after them.
        uint32_t datagrams = 0;
        uint32_t complete_tail = none;
        uint32_t chain_nodes = 0;
        uint64_t chain_bytes = 0;
        uint64_t chain_from = 0;
        uint64_t chain_total = 0;
        // tcp listening: connections accepted by the server, not yet by the app.
        Socket* accept_head = nullptr;
        Socket* accept_tail = nullptr;
        Socket* accept_next = nullptr;
        Socket* listener = nullptr; // while in a listener's queue
    };

    // A buffer of the server's we hold, queued on a socket.
    struct Node {
        channel::BufferRef ref;
        uint64_t from; // udp: the sender
        uint32_t consumed; // tcp: bytes read from it so far
        uint32_t next;
        uint32_t flags;
        bool held;
    };
    // A buffer of ours the server holds: whose credit it uses.
    struct Lent {
        Socket* socket;
        uint32_t length;
    };

    // Messages that did not fit on the tx ring, in order.
    class Backlog {
    public:
        ~Backlog() { delete[] m_items; }
        uint32_t size() const { return m_count; }
        bool push(const channel::Message& message);
        const channel::Message& front() const { return m_items[m_first]; }
        void pop();
        void clear() { m_first = m_count = 0; }

    private:
        channel::Message* m_items = nullptr;
        uint32_t m_capacity = 0;
        uint32_t m_first = 0;
        uint32_t m_count = 0;
    };

    struct Link {
        Protocol protocol = Protocol::tcp;
        bool open = false;
        Socket* sockets[socket_proto::max_sockets] = {};
        uint32_t next_id = 0;
        Node* nodes = nullptr; // per buffer of the server's pool
        uint32_t node_count = 0;
        uint32_t nodes_held = 0;
        Lent* lent = nullptr; // per buffer of our pool
        uint32_t lent_count = 0;
        uint32_t unpublished = 0; // tx slots filled, not yet published
        Backlog backlog;
        Counters counters;
    };

    static uint32_t index(Protocol protocol) { return static_cast<uint32_t>(protocol); }

    int fail(int error)
    {
        m_errno = error;
        return -1;
    }
    Socket* lookup(int fd);
    int allocate_fd(Socket* socket);
    bool ensure_open(Link& link);
    void end_link(Link& link);
    void destroy(Socket* socket);
    void detach(Socket* socket);

    // Messages out: straight onto the ring while it has room and nothing
    // waits before them; published by flush().
    static channel::Message message(uint32_t type, const Socket& socket);
    void emit(Link& link, const channel::Message& message);
    void flush(Link& link);
    void flush_all();

    // Messages in.
    void pump(Link& link);
    void pump_all();
    void handle(Link& link, const channel::Message& message);
    void on_result(Link& link, Socket* socket, const channel::Message& message);
    void on_accepted(Link& link, Socket* listener, const channel::Message& message);
    void on_data(Link& link, Socket* socket, const channel::Message& message);
    void on_sent(Link& link, const channel::Message& message);
    void on_closed(Link& link, Socket* socket);
    void malformed(Link& link, uint64_t Counters::*reason);

    // Received buffers.
    Node* take_node(Link& link, const channel::Message& message);
    void give_back(Link& link, Socket& socket, uint32_t node, uint32_t consumed);
    void append(Link& link, Socket& socket, uint32_t node);
    uint32_t pop_front(Link& link, Socket& socket);
    void drop_chain(Link& link, Socket& socket);
    void drop_queue(Socket& socket, bool all_consumed);
    void unqueue_accepted(Socket& socket);

    // Blocking: handles messages and sleeps until ready() or the deadline
    // (ns on the platform clock; 0: do not sleep; forever: no deadline).
    template<typename Ready> bool wait_until(Ready ready, uint64_t deadline_ns);
    uint64_t deadline(uint64_t timeout_ns);
    int wait_answer(Socket& socket);
    int take_error(Socket& socket);
    // A call blocked on the socket's answer (awaiting) gets `error` instead.
    static void answer_waiting(Socket& socket, int error)
    {
        if (socket.awaiting == 0)
            return;
        socket.awaiting = 0;
        socket.answered = true;
        socket.answer = error;
    }
    int addressed_call(int fd, const sockaddr* address, socklen_t length, Socket*& socket, uint64_t& endpoint);
    uint64_t credit_free(const Socket& socket) const;
    short ready_events(Socket& socket);

    int request(Socket& socket, uint32_t type, uint64_t word);
    void send_option(Socket& socket, uint64_t option, uint64_t value);
    ssize_t stream_send(Socket& socket, const uint8_t* data, size_t length, int flags);
    ssize_t datagram_send(Socket& socket, const uint8_t* data, size_t length, int flags, uint64_t to);
    ssize_t stream_receive(Socket& socket, uint8_t* buffer, size_t length, int flags);
    ssize_t datagram_receive(
        Socket& socket, uint8_t* buffer, size_t length, int flags, sockaddr* from, socklen_t* from_length);

    Platform& m_platform;
    Config m_config;
    Link m_links[protocol_count];
    Socket* m_fds[max_fds] = {};
    uint32_t m_records = 0;
    int m_errno = 0;
};

} // namespace tern::sockets
