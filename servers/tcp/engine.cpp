// The tcp server's logic (engine.hpp): lwIP's raw TCP API driven by the
// ip channel and the applications' socket channels.
#include "engine.hpp"

#include "lwip/init.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "lwip_port/ip_layer.hpp"
#include "lwip_port/external_pbufs.hpp"
#include "lwip_port/socket_glue.hpp"
#include "net/address.hpp"
#include "net/ipv4.hpp"
#include "net/tcp.hpp"
#include "proto/ip.hpp"
#include "proto/socket.hpp"

namespace tcp {

namespace sp = tern::socket_proto;
namespace errno_value = tern::socket_proto::errno_value;
namespace transport = tern::ip_transport;
using tern::Error;
using tern::Result;
using tern::net::Ipv4Address;
using tern::lwip::errno_for;
using tern::lwip::from_lwip;
using tern::lwip::to_lwip;

namespace {

constexpr uint32_t none = 0xFFFFFFFF;
Engine* g_engine = nullptr; // for lwIP's callbacks

} // namespace

// --- The tables ---

// An application buffer lent to us with `send`: its bytes go to lwIP
// (written) and come back acknowledged (acked), then the buffer goes home.
struct Engine::SendEntry {
    BufferRef ref;
    uint32_t written = 0;
    uint32_t acked = 0;
    uint32_t next = none;
};

struct Engine::Socket {
    bool used = false;
    int client = -1;       // whose socket (and whose buffers it holds)
    bool orphaned = false; // the application closed it (or ended); lwIP still finishes
    uint32_t id = 0;
    uint32_t generation = 0;
    tcp_pcb* pcb = nullptr;
    bool listening = false;
    bool connecting = false;
    bool reuse_address = false;
    bool no_delay = false;
    bool close_pending = false;    // close once every queued send is in lwIP
    bool shutdown_pending = false; // shutdown(write) once every queued send is in lwIP
    bool fin_queued = false;       // shutdown or close reached lwIP
    bool end_seen = false;         // the peer's FIN (or an error) has been passed on
    bool fin_received = false;     // the peer's FIN, passed on once the bytes before it are
    bool rx_shut = false;          // shutdown(read): received bytes are dropped
    bool marked = false;
    uint32_t backlog = 0;
    uint32_t untaken = 0; // accepted, announced, not yet taken by the application
    uint32_t send_head = none; // oldest unacknowledged entry
    uint32_t send_tail = none;
    uint32_t send_write = none; // first entry with bytes not yet written to lwIP
    uint32_t unacked = 0;       // bytes in entries
    pbuf* rx_pending = nullptr; // in order, not yet copied to the application
    uint32_t lent = 0;          // bytes in our buffers the application holds
    uint32_t receive_buffer = Engine::default_receive_buffer; // SO_RCVBUF: unread bytes at most
    uint32_t committed = 0; // unread bytes plus the open window: its share of receive_memory
    uint64_t segments_in = 0;
    uint64_t segments_out = 0;
    uint16_t wire_mss = 0;  // the negotiated MSS while lwIP's is raised (use_segmentation); 0: not raised
    uint16_t large_mss = 0; // the raised one
    Socket* next_marked = nullptr;
};

// A pure ACK waiting for the end of the step (send_to_ip).
struct WaitingAck {
    bool used = false;
    uint32_t source = 0;
    uint32_t destination = 0;
    uint16_t source_port = 0;
    uint16_t destination_port = 0;
    uint32_t acknowledgment = 0;
    uint16_t window = 0;
    tern::channel::BufferRef ref{};
};

struct Engine::Impl {
    WaitingAck acks[64];
    uint32_t waiting_acks = 0;
    Socket sockets[max_sockets];
    SendEntry entries[max_send_entries];
    uint32_t free_entry = none;
    Socket* marked = nullptr;
    uint32_t generation = 0;
    uint32_t next_accepted[max_clients]; // per client: where the search for a free id starts
    uint32_t segmenting = 0;             // sockets that ever had their MSS raised
    uint64_t committed = 0;              // all sockets' `committed` together
};

namespace {

err_t on_accept(void* arg, tcp_pcb* pcb, err_t err)
{
    return g_engine->accepted(static_cast<Engine::Socket*>(arg), pcb, err);
}
err_t on_connected(void* arg, tcp_pcb*, err_t err) { return g_engine->connected(static_cast<Engine::Socket*>(arg), err); }
err_t on_recv(void* arg, tcp_pcb*, pbuf* p, err_t err)
{
    return g_engine->received(static_cast<Engine::Socket*>(arg), p, err);
}
err_t on_sent(void* arg, tcp_pcb*, u16_t bytes)
{
    return g_engine->acknowledged(static_cast<Engine::Socket*>(arg), bytes);
}
void on_error(void* arg, err_t err) { g_engine->failed(static_cast<Engine::Socket*>(arg), err); }
// lwIP frees pcbs on its own (TIME_WAIT ends, a closed connection's last
// ACK arrives): the socket learns it here and never holds a stale pointer.
void on_destroyed(u8_t, void* data)
{
    if (data != nullptr)
        g_engine->destroyed(static_cast<Engine::Socket*>(data));
}
const tcp_ext_arg_callbacks socket_arg_callbacks = {on_destroyed, nullptr};

} // namespace

const char* counter_name(Counter counter)
{
    static const char* const names[] = {
        "segments_received",    "segments_sent",      "bad_length",        "bad_checksum",
        "bad_options",          "no_pbuf",            "ip_send_failed",    "no_ip_buffer",
        "half_open_reaped",     "backlog_full",       "bad_request",       "client_stalled",
        "connections_accepted", "connections_opened", "connections_failed", "acks_merged",
        "segments_merged",      "large_segments_sent",
    };
    static_assert(sizeof(names) / sizeof(names[0]) == static_cast<unsigned>(Counter::count));
    return names[static_cast<unsigned>(counter)];
}

bool counter_is_error(Counter counter)
{
    switch (counter) {
    case Counter::segments_received:
    case Counter::segments_sent:
    case Counter::connections_accepted:
    case Counter::connections_opened:
    case Counter::acks_merged:
    case Counter::segments_merged:
    case Counter::large_segments_sent:
        return false;
    default:
        return true;
    }
}

Engine::Engine(PoolOwner& pool, uint32_t seed) : TransportCore(pool, seed), m_impl(new Impl)
{
    g_engine = this;
    Impl& t = *m_impl;
    for (uint32_t i = 0; i < max_send_entries; ++i)
        t.entries[i].next = i + 1 < max_send_entries ? i + 1 : none;
    t.free_entry = 0;
    for (uint32_t& next : t.next_accepted)
        next = sp::accepted_base;
}

Engine::~Engine()
{
    delete m_impl;
    g_engine = nullptr;
}

// ip is gone: out-of-order segments over its buffers go (the peer sends
// them again), bytes waiting for the application are copied (not lost).
void Engine::forget_ip()
{
    emit_waiting_acks(); // with ip gone: just freed
    for (tcp_pcb* pcb = tcp_active_pcbs; pcb != nullptr; pcb = pcb->next)
        tcp_free_ooseq(pcb);
    for (Socket& s : m_impl->sockets) {
        if (!s.used || s.rx_pending == nullptr)
            continue;
        pbuf* copy = pbuf_clone(PBUF_RAW, PBUF_RAM, s.rx_pending);
        pbuf_free(s.rx_pending);
        s.rx_pending = copy; // null if out of memory: those bytes are lost with the window shut
    }
}

// lwIP moves the receive window it announces in steps of
// min(TCP_WND / 2, pcb->mss) (tcp_update_rcv_ann_wnd): with the raised MSS a
// receiver would open its window 64 KiB at a time, which stalls senders that
// wait for it (QEMU's user-mode networking fell to 7 Mb/s). So whatever
// receives (tcp_input, tcp_recved) sees the wire MSS; sending, timers and
// retransmissions see the raised one.
class Engine::WireMss {
public:
    explicit WireMss(Socket* s) : m_socket(s != nullptr && s->pcb != nullptr && s->wire_mss != 0 ? s : nullptr)
    {
        if (m_socket != nullptr)
            m_socket->pcb->mss = m_socket->wire_mss;
    }
    ~WireMss()
    {
        if (m_socket == nullptr || m_socket->pcb == nullptr) // lwIP may have freed it meanwhile
            return;
        tcp_pcb* pcb = m_socket->pcb;
        pcb->mss = sending_mss(*m_socket);
        // Receiving, lwIP sized its congestion window in wire MSS (after a
        // loss: a few of them), but it sends whole segments only: one
        // larger than the window would never go, and with nothing in flight
        // no ACK would ever open it. One segment at least, as after a
        // retransmission timeout.
        if (pcb->cwnd < pcb->mss)
            pcb->cwnd = pcb->mss;
    }
    WireMss(const WireMss&) = delete;
    WireMss& operator=(const WireMss&) = delete;

private:
    Socket* m_socket;
};

// A segment from ip: checked, then to lwIP over ip's own buffer.
void Engine::ip_datagram(const Message& first, pbuf* p)
{
    const Ipv4Address source{static_cast<uint32_t>(first.words[0])};
    const Ipv4Address destination{static_cast<uint32_t>(first.words[0] >> 32)};
    // The header and its options are in the first buffer (ip's first buffer
    // holds 2,028 bytes); the checksum covers the whole chain.
    tern::net::TcpHeader header;
    const auto* bytes = static_cast<const uint8_t*>(p->payload);
    Counter drop = Counter::count;
    if (!tern::net::TcpHeader::parse(bytes, p->len, header))
        drop = Counter::bad_length;
    else if ((first.words[1] & transport::deliver_checksum_verified) == 0 &&
             !checksum_valid(source.value, destination.value, tern::net::ip_protocol::tcp, p))
        drop = Counter::bad_checksum;
    else if (!tern::net::tcp_options_valid(bytes + tern::net::tcp_header_size,
                                           header.header_length - tern::net::tcp_header_size))
        drop = Counter::bad_options;
    if (drop != Counter::count) {
        count(drop);
        pbuf_free(p);
        return;
    }
    // Several if ip merged them (proto/ip.hpp receive offload).
    const unsigned segments = transport::deliver_segments(first.words[1]);
    count(Counter::segments_received, segments > 1 ? segments : 1);
    if (segments > 1)
        count(Counter::segments_merged, segments - 1);
    if ((header.flags & (tern::net::tcp_flag::syn | tern::net::tcp_flag::ack)) == tern::net::tcp_flag::syn)
        reap_half_open(header.destination_port);
    Socket* receiver = nullptr;
    if (m_impl->segmenting != 0 && (header.flags & tern::net::tcp_flag::syn) == 0)
        receiver = socket_of(destination.value, source.value, header.destination_port, header.source_port);
    const WireMss wire(receiver);
    m_layer.input(p, source.value, destination.value, static_cast<unsigned>(first.words[1] & 0xFF),
                  tern::net::ip_protocol::tcp);
}

// Under a SYN flood, half-open connections would fill every pcb and keep
// real clients out until they time out. Past half_open_limit per listening
// port, the oldest one gives way (it gets a RST).
void Engine::reap_half_open(uint16_t port)
{
    unsigned half_open = 0;
    tcp_pcb* oldest = nullptr;
    for (tcp_pcb* pcb = tcp_active_pcbs; pcb != nullptr; pcb = pcb->next) {
        if (pcb->state != SYN_RCVD || pcb->local_port != port)
            continue;
        ++half_open;
        if (oldest == nullptr || static_cast<u32_t>(tcp_ticks - pcb->tmr) > static_cast<u32_t>(tcp_ticks - oldest->tmr))
            oldest = pcb;
    }
    if (half_open >= half_open_limit && oldest != nullptr) {
        count(Counter::half_open_reaped);
        tcp_abort(oldest);
    }
}

// A segment lwIP wants sent: gathered into one of our buffers for ip.
// Pure ACKs wait until the end of the step (when everything is published
// anyway): a later ACK of the same connection that acknowledges more, or
// moves the window, replaces the waiting one. A receiver that takes a batch
// of segments from ip then sends one ACK for the batch instead of one for
// every second segment, which spares ip, the driver and the NIC most of
// the ACK traffic of a bulk transfer. Duplicate ACKs (the same number and
// window) are never merged: the sender counts them for fast retransmit.
err_t Engine::send_to_ip(pbuf* p, uint32_t source, uint32_t destination)
{
    Impl& t = *m_impl;
    tern::net::TcpHeader header;
    if (!m_ip_up || !tern::net::TcpHeader::parse(static_cast<const uint8_t*>(p->payload), p->len, header)) {
        count(Counter::no_ip_buffer); // no ip, or not lwIP's own segment: cannot happen
        return ERR_RTE;
    }
    // Room for this segment and every ACK still waiting.
    const uint32_t size = m_pool.geometry().buffer_size;
    const uint32_t pieces = (p->tot_len + size - 1) / size;
    if (!m_ip.has_room(t.waiting_acks + pieces) || m_pool.free_count() < pieces) {
        count(Counter::no_ip_buffer);
        return ERR_MEM;
    }
    constexpr uint8_t control = tern::net::tcp_flag::syn | tern::net::tcp_flag::fin | tern::net::tcp_flag::rst;
    const bool pure_ack = header.header_length == p->tot_len && (header.flags & control) == 0 &&
                          (header.flags & tern::net::tcp_flag::ack) != 0;
    WaitingAck* same = nullptr;
    WaitingAck* free_entry = nullptr;
    for (WaitingAck& w : t.acks) {
        if (!w.used) {
            free_entry = free_entry != nullptr ? free_entry : &w;
            continue;
        }
        if (w.source == source && w.destination == destination && w.source_port == header.source_port &&
            w.destination_port == header.destination_port) {
            same = &w;
            break;
        }
    }
    const auto after = [](uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) > 0; };
    if (same != nullptr) {
        const bool superseded = pure_ack ? (after(header.acknowledgment, same->acknowledgment) ||
                                            (header.acknowledgment == same->acknowledgment &&
                                             header.window != same->window))
                                         : !after(same->acknowledgment, header.acknowledgment);
        if (superseded) {
            (void)m_pool.free(same->ref);
            count(Counter::acks_merged);
        } else {
            emit_segment(same->ref, same->source, same->destination);
        }
        same->used = false;
        --t.waiting_acks;
        free_entry = same;
    }
    if (pieces > 1) {
        // Larger than a buffer: only with segmentation offload (lwIP's MSS
        // raised, use_segmentation), for ip to have the NIC cut at the wire MSS.
        const uint16_t mss = wire_mss(source, destination, static_cast<const uint8_t*>(p->payload));
        (void)send_chain(p, source, destination, tern::net::tcp_checksum_offset, mss); // room checked
        const uint32_t data = p->tot_len - header.header_length;
        count(Counter::segments_sent, mss != 0 ? (data + mss - 1) / mss : 1);
        count(Counter::large_segments_sent);
        return ERR_OK;
    }
    BufferRef ref = m_pool.allocate().value(); // free_count() said there is one
    ref.length = p->tot_len;
    pbuf_copy_partial(p, m_pool.view().buffer(ref.index), p->tot_len, 0);
    if (!pure_ack || free_entry == nullptr) {
        emit_segment(ref, source, destination);
        return ERR_OK;
    }
    *free_entry = WaitingAck{true, source, destination, header.source_port, header.destination_port,
                             header.acknowledgment, header.window, ref};
    ++t.waiting_acks;
    return ERR_OK;
}

// The raised MSS lwIP sends with: the largest use_segmentation allows, but
// at most a quarter of the largest window the peer has announced, and never
// below the wire MSS. lwIP sends whole segments only: with segments as large
// as the peer's window (QEMU's slirp announces 64 KiB, without scaling) it
// would send one and wait until all of it was acknowledged, where smaller
// ones keep going out as the first are acknowledged.
uint16_t Engine::sending_mss(const Socket& s)
{
    const uint32_t quarter = s.pcb->snd_wnd_max / 4 / s.wire_mss * s.wire_mss;
    const uint32_t mss = quarter < s.large_mss ? quarter : s.large_mss;
    return static_cast<uint16_t>(mss > s.wire_mss ? mss : s.wire_mss);
}

// Segmentation offload: on an interface whose NIC cuts large TCP segments
// into frames (ip announces it), lwIP may build segments of up to 64 KiB,
// many times fewer to handle on every layer. Its MSS goes up to a whole
// number of the negotiated one, which stays the size on the wire: ip is
// told it with every large segment (wire_mss()).
void Engine::use_segmentation(Socket& s)
{
    tcp_pcb* pcb = s.pcb;
    if (pcb == nullptr || s.wire_mss != 0 || pcb->mss == 0 ||
        !m_layer.segmentation(m_layer.route(from_lwip(pcb->remote_ip))))
        return;
    // The segment and its header must fit an IPv4 datagram and our chains.
    constexpr uint32_t largest = tern::net::ipv4_max_payload - tern::net::tcp_max_header_size;
    s.wire_mss = pcb->mss;
    s.large_mss = static_cast<uint16_t>(largest / pcb->mss * pcb->mss);
    pcb->mss = sending_mss(s);
    ++m_impl->segmenting;
    // lwIP sends whole segments only, within the congestion window it set
    // from the small MSS: two large ones must fit, as its own initial window
    // would for this MSS.
    const tcpwnd_size_t two = static_cast<tcpwnd_size_t>(2u * pcb->mss);
    if (pcb->cwnd < two)
        pcb->cwnd = two;
}

// The wire MSS of the connection a large segment belongs to (its header's
// ports, our view), or 0 if it has none (ip then fragments it).
uint16_t Engine::wire_mss(uint32_t source, uint32_t destination, const uint8_t* header) const
{
    const Socket* s = socket_of(source, destination, tern::net::load_be16(header), tern::net::load_be16(header + 2));
    return s != nullptr ? s->wire_mss : 0;
}

Engine::Socket* Engine::socket_of(uint32_t local, uint32_t remote, uint16_t local_port, uint16_t remote_port) const
{
    for (tcp_pcb* pcb = tcp_active_pcbs; pcb != nullptr; pcb = pcb->next) {
        if (pcb->local_port == local_port && pcb->remote_port == remote_port && from_lwip(pcb->local_ip) == local &&
            from_lwip(pcb->remote_ip) == remote)
            return static_cast<Socket*>(pcb->callback_arg);
    }
    return nullptr;
}


// A segment in our buffer `ref` goes to ip (room was checked).
void Engine::emit_segment(const BufferRef& ref, uint32_t source, uint32_t destination)
{
    (void)m_pool.lend(ref, ip_holder);
    Message& m = m_ip.claim();
    m = Message{};
    m.type = transport::send;
    m.flags = transport::flags::fill_checksum;
    m.buffer = ref;
    m.words[0] = destination | uint64_t{source} << 32;
    m.words[1] = tern::net::tcp_checksum_offset;
    count(Counter::segments_sent);
}

// The ACKs that waited for the end of the step.
void Engine::emit_waiting_acks()
{
    Impl& t = *m_impl;
    for (WaitingAck& w : t.acks) {
        if (!w.used)
            continue;
        w.used = false;
        if (m_ip_up)
            emit_segment(w.ref, w.source, w.destination);
        else
            (void)m_pool.free(w.ref);
    }
    t.waiting_acks = 0;
}

// --- clients ---

// The client is gone: its sockets close as if it had closed them (their
// sends still go out, its pool staying mapped until they are acknowledged).
bool Engine::release_client(int index)
{
    Client& c = m_clients[index];
    for (uint16_t& slot : c.sockets) {
        if (slot != 0) {
            Socket* s = &m_impl->sockets[slot - 1];
            slot = 0;
            orphan(s);
        }
    }
    m_impl->next_accepted[index] = sp::accepted_base;
    return client_buffers_held(index) == 0;
}

unsigned Engine::client_buffers_held(int index) const
{
    const Impl& t = *m_impl;
    unsigned held = 0;
    for (const Socket& s : t.sockets) {
        if (!s.used || s.client != index)
            continue;
        for (uint32_t e = s.send_head; e != none; e = t.entries[e].next)
            ++held;
    }
    return held;
}

Engine::Socket* Engine::new_socket(int client, uint32_t id)
{
    Impl& t = *m_impl;
    for (Socket& s : t.sockets) {
        if (s.used)
            continue;
        const uint32_t generation = ++t.generation;
        s = Socket{};
        s.used = true;
        s.client = client;
        s.id = id;
        s.generation = generation;
        return &s;
    }
    return nullptr;
}

void Engine::free_socket(Socket* s)
{
    m_impl->committed -= s->committed;
    s->committed = 0;
    if (s->rx_pending != nullptr)
        pbuf_free(s->rx_pending);
    s->rx_pending = nullptr;
    s->used = false;
}

// The socket `id` names on `client`; made (without a pcb) if `create` and
// the id is one the application may pick.
Engine::Socket* Engine::socket_for(Client& client, uint32_t id, bool create)
{
    Impl& t = *m_impl;
    if (id >= sp::max_sockets)
        return nullptr;
    if (client.sockets[id] != 0)
        return &t.sockets[client.sockets[id] - 1];
    if (!create || id >= sp::accepted_base)
        return nullptr;
    Socket* s = new_socket(index_of(client), id);
    if (s != nullptr)
        client.sockets[id] = static_cast<uint16_t>(s - t.sockets + 1);
    return s;
}

void Engine::client_message(Client& client, const Message& m)
{
    const uint32_t id = static_cast<uint32_t>(m.words[0]);
    const bool creates = m.type == sp::bind || m.type == sp::listen || m.type == sp::connect ||
                         m.type == sp::set_option;
    Socket* s = socket_for(client, id, creates);
    switch (m.type) {
    case sp::bind: return request_bind(client, s, m);
    case sp::listen: return request_listen(client, s, m);
    case sp::connect: return request_connect(client, s, m);
    case sp::send: return request_send(client, s, m);
    case sp::shutdown: return request_shutdown(client, s, m);
    case sp::close: return request_close(client, id, s);
    case sp::set_option: return request_option(client, s, m);
    case sp::accept_taken:
        if (s != nullptr && s->listening && s->untaken != 0)
            --s->untaken;
        return;
    default:
        count(Counter::bad_request);
        return;
    }
}

void Engine::request_bind(Client& client, Socket* s, const Message& m)
{
    (void)client;
    if (s == nullptr) {
        count(Counter::bad_request);
        return;
    }
    if (s->pcb != nullptr && (s->listening || s->pcb->local_port != 0)) {
        result(s, sp::bind, -errno_value::invalid);
        return;
    }
    if (s->pcb == nullptr && !attach_new_pcb(s)) {
        result(s, sp::bind, -errno_value::no_buffers);
        return;
    }
    const ip_addr_t address = to_lwip(sp::endpoint_address(m.words[1]));
    const err_t err = tcp_bind(s->pcb, &address, sp::endpoint_port(m.words[1]));
    if (err != ERR_OK) {
        result(s, sp::bind, -(err == ERR_VAL ? errno_value::address_not_available : errno_for(err)));
        return;
    }
    result(s, sp::bind, 0, sp::endpoint_word(from_lwip(s->pcb->local_ip), s->pcb->local_port));
}

void Engine::request_listen(Client& client, Socket* s, const Message& m)
{
    (void)client;
    if (s == nullptr) {
        count(Counter::bad_request);
        return;
    }
    if (s->listening) { // a new backlog, nothing else
        s->backlog = static_cast<uint32_t>(m.words[1] != 0 ? m.words[1] : 1);
        result(s, sp::listen, 0, sp::endpoint_word(from_lwip(s->pcb->local_ip), s->pcb->local_port));
        return;
    }
    if (s->pcb == nullptr) { // listen without bind: any address, a port lwIP picks
        if (!attach_new_pcb(s)) {
            result(s, sp::listen, -errno_value::no_buffers);
            return;
        }
        if (tcp_bind(s->pcb, IP4_ADDR_ANY, 0) != ERR_OK) {
            result(s, sp::listen, -errno_value::address_in_use);
            return;
        }
    }
    if (s->pcb->state != CLOSED) {
        result(s, sp::listen, -errno_value::invalid);
        return;
    }
    err_t err = ERR_OK;
    tcp_pcb* listener = tcp_listen_with_backlog_and_err(s->pcb, TCP_DEFAULT_LISTEN_BACKLOG, &err);
    if (listener == nullptr) {
        result(s, sp::listen, -errno_for(err));
        return;
    }
    s->listening = true; // before attach: a listener gets no data callbacks
    attach(s, listener); // tcp_listen freed the bound pcb
    s->backlog = static_cast<uint32_t>(m.words[1] != 0 ? m.words[1] : 1);
    result(s, sp::listen, 0, sp::endpoint_word(from_lwip(listener->local_ip), listener->local_port));
}

void Engine::request_connect(Client& client, Socket* s, const Message& m)
{
    (void)client;
    if (s == nullptr) {
        count(Counter::bad_request);
        return;
    }
    if (s->listening || s->connecting || (s->pcb != nullptr && s->pcb->state != CLOSED)) {
        result(s, sp::connect, -(s->connecting ? errno_value::already : errno_value::is_connected));
        return;
    }
    if (s->pcb == nullptr && !attach_new_pcb(s)) {
        result(s, sp::connect, -errno_value::no_buffers);
        return;
    }
    const ip_addr_t address = to_lwip(sp::endpoint_address(m.words[1]));
    const err_t err = tcp_connect(s->pcb, &address, sp::endpoint_port(m.words[1]), on_connected);
    if (err != ERR_OK) {
        result(s, sp::connect, -errno_for(err));
        return;
    }
    s->connecting = true;
    count(Counter::connections_opened);
}

// Bytes to send: queued, then given to lwIP as far as it takes them.
void Engine::request_send(Client& client, Socket* s, const Message& m)
{
    Impl& t = *m_impl;
    auto refuse = [&](int error) {
        Message back{};
        back.type = sp::sent;
        back.buffer = m.buffer;
        back.words[0] = m.words[0];
        back.words[1] = static_cast<uint64_t>(-error);
        (void)client.box.send(back);
    };
    const auto* pool = client.box.link()->peer_pool();
    if (pool == nullptr || !pool->bytes(m.buffer).ok() || m.buffer.length == 0) {
        count(Counter::bad_request);
        refuse(errno_value::invalid);
        return;
    }
    if (s == nullptr || s->listening || (s->pcb == nullptr && !s->end_seen && !s->fin_received)) {
        refuse(errno_value::not_connected);
        return;
    }
    if (s->pcb == nullptr || s->fin_queued || s->shutdown_pending || s->close_pending) {
        refuse(errno_value::pipe);
        return;
    }
    if (t.free_entry == none) {
        refuse(errno_value::no_buffers);
        return;
    }
    const uint32_t e = t.free_entry;
    SendEntry& entry = t.entries[e];
    t.free_entry = entry.next;
    entry.ref = m.buffer;
    entry.written = 0;
    entry.acked = 0;
    entry.next = none;
    if (s->send_tail == none)
        s->send_head = e;
    else
        t.entries[s->send_tail].next = e;
    s->send_tail = e;
    if (s->send_write == none)
        s->send_write = e;
    s->unacked += m.buffer.length;
    mark(s);
}

void Engine::request_shutdown(Client& client, Socket* s, const Message& m)
{
    (void)client;
    if (s == nullptr) {
        count(Counter::bad_request);
        return;
    }
    if (s->pcb == nullptr || s->listening) {
        result(s, sp::shutdown, -errno_value::not_connected);
        return;
    }
    if (m.words[1] == 0 || m.words[1] == 2)
        s->rx_shut = true;
    if (m.words[1] == 1 || m.words[1] == 2)
        s->shutdown_pending = true;
    result(s, sp::shutdown, 0);
    mark(s);
}

void Engine::request_close(Client& client, uint32_t id, Socket* s)
{
    if (id >= sp::max_sockets) {
        count(Counter::bad_request);
        return;
    }
    // A socket that never got as far as the server closes all the same.
    Message closed{};
    closed.type = sp::closed;
    closed.words[0] = id;
    client.sockets[id] = 0;
    (void)client.box.send(closed);
    if (s != nullptr)
        orphan(s);
}

// The application is done with the socket: it finishes in lwIP on its own.
void Engine::orphan(Socket* s)
{
    if (s->rx_pending != nullptr) {
        pbuf_free(s->rx_pending);
        s->rx_pending = nullptr;
    }
    s->rx_shut = true;
    if (s->listening && s->pcb != nullptr) {
        detach_pcb(s);
        tcp_close(s->pcb);
        s->pcb = nullptr;
    } else if (s->pcb != nullptr && (s->connecting || s->pcb->state == CLOSED || s->pcb->state == SYN_SENT)) {
        detach_pcb(s);
        tcp_abort(s->pcb); // nothing sent yet worth finishing
        s->pcb = nullptr;
    } else if (s->pcb != nullptr) {
        s->close_pending = true;
    }
    // Its sends still go out, even if the application ended: its pool stays
    // mapped until they are acknowledged (client_lost).
    s->orphaned = true;
    mark(s);
}

bool Engine::attach_new_pcb(Socket* s)
{
    tcp_pcb* pcb = tcp_new();
    if (pcb == nullptr)
        return false;
    attach(s, pcb);
    return true;
}

// The socket and its pcb find each other from now on: callbacks, and the
// destroy hook that tells the socket when lwIP frees the pcb.
void Engine::attach(Socket* s, tcp_pcb* pcb)
{
    s->pcb = pcb;
    tcp_arg(pcb, s);
    tcp_ext_arg_set_callbacks(pcb, 0, &socket_arg_callbacks);
    tcp_ext_arg_set(pcb, 0, s);
    if (s->reuse_address)
        ip_set_option(pcb, SOF_REUSEADDR);
    if (s->listening) {
        tcp_accept(pcb, on_accept);
        return;
    }
    tcp_recv(pcb, on_recv);
    tcp_sent(pcb, on_sent);
    tcp_err(pcb, on_error);
    if (s->no_delay)
        tcp_nagle_disable(pcb);
}

// lwIP goes on with the pcb alone (closing it), or is about to free it.
void Engine::detach_pcb(Socket* s)
{
    if (s->pcb == nullptr)
        return;
    tcp_arg(s->pcb, nullptr);
    tcp_ext_arg_set(s->pcb, 0, nullptr);
    if (s->listening) {
        tcp_accept(s->pcb, nullptr);
    } else {
        tcp_recv(s->pcb, nullptr);
        tcp_sent(s->pcb, nullptr);
        tcp_err(s->pcb, nullptr);
    }
}

void Engine::destroyed(Socket* s)
{
    s->pcb = nullptr;
    mark(s);
}

void Engine::request_option(Client& client, Socket* s, const Message& m)
{
    (void)client;
    if (s == nullptr) {
        count(Counter::bad_request);
        return;
    }
    const uint64_t value = m.words[2];
    switch (m.words[1]) {
    case sp::option::reuse_address:
        s->reuse_address = value != 0;
        if (s->pcb != nullptr) {
            if (s->reuse_address)
                ip_set_option(s->pcb, SOF_REUSEADDR);
            else
                ip_reset_option(s->pcb, SOF_REUSEADDR);
        }
        break;
    case sp::option::receive_buffer: {
        // Between one segment and lwIP's whole window. A larger buffer than
        // before opens the window now; a smaller one narrows it as bytes
        // arrive (update_window).
        uint64_t bytes = value < TCP_MSS ? TCP_MSS : value;
        if (bytes > TCP_WND)
            bytes = TCP_WND;
        s->receive_buffer = static_cast<uint32_t>(bytes);
        update_window(s);
        break;
    }
    case sp::option::no_delay:
        s->no_delay = value != 0;
        if (s->pcb != nullptr && !s->listening) {
            if (s->no_delay)
                tcp_nagle_disable(s->pcb);
            else
                tcp_nagle_enable(s->pcb);
        }
        break;
    default:
        result(s, sp::set_option, -errno_value::protocol_option);
        return;
    }
    result(s, sp::set_option, 0);
}

// One of our buffers back from the application: its bytes leave the
// receive window's accounting and the window opens.
void Engine::bytes_consumed(uint16_t socket, uint32_t generation, uint32_t length)
{
    Socket* s = &m_impl->sockets[socket];
    if (!s->used || s->generation != generation)
        return;
    s->lent -= length < s->lent ? length : s->lent;
    update_window(s);
    if (s->pcb != nullptr && !s->listening) {
        if (s->pcb->refused_data != nullptr) { // room again for what lwIP kept
            push_received(s);
            tcp_process_refused_data(s->pcb);
        }
    }
    mark(s);
}

// The receive window is what SO_RCVBUF has room for: the buffer less the
// bytes received and not yet consumed (waiting here, lent to the
// application, or refused and kept by lwIP), and at most what lwIP can
// announce: 1 MiB with window scaling, 64 KiB without. Without scaling
// (QEMU's slirp never offers it) the window therefore reopens as soon as
// bytes arrive, as Linux's does, not only when the application reads:
// otherwise the sender would stall for every 64 KiB until the reader
// caught up. The right edge never moves back (no shrinking window): a
// smaller SO_RCVBUF takes effect as bytes arrive.
//
// All connections share one budget as well (receive_memory, as Linux's
// tcp_mem): what each may still receive plus what it holds unread. Many
// connections with wide windows and slow readers would otherwise hold more
// than this server has memory for, and the rest would stay in ip's
// buffers, stalling every connection (64 echo connections over slirp did).
// A connection always gets min_window, so none waits on the others.
void Engine::update_window(Socket* s)
{
    Impl& t = *m_impl;
    const tcp_pcb* pcb = s->pcb != nullptr && !s->listening ? s->pcb : nullptr;
    const uint32_t unread = s->lent + (s->rx_pending != nullptr ? s->rx_pending->tot_len : 0) +
                            (pcb != nullptr && pcb->refused_data != nullptr ? pcb->refused_data->tot_len : 0);
    const uint64_t others = t.committed - s->committed;
    if (pcb != nullptr) {
        const uint32_t room = s->receive_buffer > unread ? s->receive_buffer - unread : 0;
        const uint32_t limit = TCP_WND_MAX(pcb);
        uint32_t wanted = room < limit ? room : limit;
        const uint64_t left = receive_memory > others + unread ? receive_memory - others - unread : 0;
        if (wanted > left) {
            const uint32_t floor = wanted < min_window ? wanted : min_window;
            wanted = left > floor ? static_cast<uint32_t>(left) : floor;
        }
        if (wanted > pcb->rcv_wnd)
            open_window(s, wanted - pcb->rcv_wnd);
    }
    s->committed = unread + (pcb != nullptr ? pcb->rcv_wnd : 0);
    t.committed = others + s->committed;
}

// A new connection: lwIP set its window to TCP_WND, of which the SYN could
// announce at most 64 KiB. The rest is opened as receive_memory allows.
void Engine::start_window(Socket* s)
{
    if (s->pcb == nullptr)
        return;
    const uint32_t announced = s->pcb->rcv_ann_right_edge - s->pcb->rcv_nxt;
    if (announced < s->pcb->rcv_wnd)
        s->pcb->rcv_wnd = announced;
    update_window(s);
}

// tcp_recved() takes 16 bits at a time.
void Engine::open_window(Socket* s, uint32_t bytes)
{
    const WireMss wire(s);
    for (uint32_t left = bytes; left != 0;) {
        const uint16_t chunk = static_cast<uint16_t>(left < 0xFFFF ? left : 0xFFFF);
        tcp_recved(s->pcb, chunk);
        left -= chunk;
    }
}

// --- lwIP's callbacks ---

int8_t Engine::accepted(Socket* listener, tcp_pcb* pcb, int8_t err)
{
    Impl& t = *m_impl;
    if (err != ERR_OK || pcb == nullptr || listener == nullptr || listener->orphaned)
        return ERR_VAL;
    Client& client = m_clients[listener->client];
    if (listener->untaken >= listener->backlog) {
        count(Counter::backlog_full);
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    // A free id from accepted_base up, round robin so that a just-freed id
    // is not reused at once.
    uint32_t id = none;
    for (uint32_t i = 0; i < sp::max_sockets - sp::accepted_base; ++i) {
        uint32_t& next = t.next_accepted[listener->client];
        const uint32_t candidate = next;
        next = candidate + 1 < sp::max_sockets ? candidate + 1 : sp::accepted_base;
        if (client.sockets[candidate] == 0) {
            id = candidate;
            break;
        }
    }
    Socket* s = id != none ? new_socket(listener->client, id) : nullptr;
    if (s == nullptr) {
        count(Counter::backlog_full);
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    client.sockets[id] = static_cast<uint16_t>(s - t.sockets + 1);
    s->no_delay = listener->no_delay;
    s->receive_buffer = listener->receive_buffer;
    attach(s, pcb);
    use_segmentation(*s);
    start_window(s);
    ++listener->untaken;
    count(Counter::connections_accepted);
    Message m{};
    m.type = sp::accepted;
    m.words[0] = listener->id;
    m.words[1] = id;
    m.words[2] = sp::endpoint_word(from_lwip(pcb->remote_ip), pcb->remote_port);
    m.words[3] = sp::endpoint_word(from_lwip(pcb->local_ip), pcb->local_port);
    (void)client.box.send(m);
    return ERR_OK;
}

int8_t Engine::connected(Socket* s, int8_t err)
{
    if (s == nullptr)
        return ERR_OK;
    s->connecting = false;
    use_segmentation(*s);
    start_window(s);
    if (!s->orphaned)
        result(s, sp::connect, -errno_for(err),
               sp::endpoint_word(from_lwip(s->pcb->local_ip), s->pcb->local_port));
    mark(s);
    return ERR_OK;
}

int8_t Engine::received(Socket* s, pbuf* p, int8_t err)
{
    if (s == nullptr) { // a closed socket's pcb: bytes are dropped, the window stays open
        if (p != nullptr)
            pbuf_free(p);
        return ERR_OK;
    }
    (void)err;
    ++s->segments_in;
    if (p == nullptr) { // FIN: `end` follows the bytes still waiting (push_received)
        s->fin_received = true;
        mark(s);
        return ERR_OK;
    }
    if (s->rx_shut || s->orphaned) {
        if (s->pcb != nullptr)
            tcp_recved(s->pcb, p->tot_len);
        pbuf_free(p);
        return ERR_OK;
    }
    // A pbuf chain counts at most 64 KiB (tot_len is 16 bits): past that,
    // what waits goes to the application first, and if it cannot take it
    // lwIP keeps `p` (refused data) until request_received() asks again.
    if (s->rx_pending != nullptr && s->rx_pending->tot_len + uint32_t{p->tot_len} > 0xFFFF)
        push_received(s);
    if (s->rx_pending != nullptr && s->rx_pending->tot_len + uint32_t{p->tot_len} > 0xFFFF)
        return ERR_MEM;
    // An ACK for at least every second full-sized segment (RFC 5681, 4.2):
    // lwIP counts a delivery ip merged from many segments as one and would
    // acknowledge only every second delivery, or on its 250 ms timer. As
    // Linux does when more than one MSS arrived, acknowledge at once (the
    // pure ACKs of one step still leave as one, WaitingAck). While lwIP
    // receives, pcb->mss is the wire MSS (WireMss).
    if (s->pcb != nullptr && p->tot_len > s->pcb->mss)
        tcp_ack_now(s->pcb);
    if (s->rx_pending == nullptr)
        s->rx_pending = p;
    else
        pbuf_cat(s->rx_pending, p);
    update_window(s);
    mark(s);
    return ERR_OK;
}

int8_t Engine::acknowledged(Socket* s, uint32_t bytes)
{
    if (s == nullptr)
        return ERR_OK;
    Impl& t = *m_impl;
    ++s->segments_out;
    // Whole entries acknowledged go home; a partly acknowledged one keeps
    // its count.
    while (bytes != 0 && s->send_head != none) {
        SendEntry& e = t.entries[s->send_head];
        const uint32_t left = e.written - e.acked;
        const uint32_t take = bytes < left ? bytes : left;
        e.acked += take;
        bytes -= take;
        s->unacked -= take;
        if (e.acked < e.ref.length)
            break;
        const uint32_t done = s->send_head;
        s->send_head = e.next;
        if (s->send_head == none)
            s->send_tail = none;
        if (s->send_write == done)
            s->send_write = s->send_head;
        Message back{};
        back.type = sp::sent;
        back.buffer = e.ref;
        back.words[0] = s->id;
        (void)m_clients[s->client].box.send(back);
        e.next = t.free_entry;
        t.free_entry = done;
    }
    mark(s);
    return ERR_OK;
}

// The connection is gone (lwIP freed the pcb before calling): reset,
// timeout, or aborted.
void Engine::failed(Socket* s, int8_t err)
{
    if (s == nullptr)
        return;
    s->pcb = nullptr;
    if (err == ERR_CLSD) { // both sides closed and acknowledged: lwIP let go of the pcb
        s->fin_received = true; // `end` still follows any bytes waiting
        return_sends(s, errno_value::pipe); // none: everything was acknowledged
        mark(s);
        return;
    }
    count(Counter::connections_failed);
    const int error = s->connecting && err == ERR_RST ? errno_value::connection_refused
                      : err == ERR_ABRT && s->connecting ? errno_value::timed_out
                                                         : errno_for(err);
    if (!s->orphaned) {
        if (s->connecting)
            result(s, sp::connect, -error);
        else if (!s->end_seen)
            event(s, sp::error, static_cast<uint64_t>(-error));
    }
    s->connecting = false;
    s->end_seen = true;
    return_sends(s, error);
    if (s->rx_pending != nullptr) { // a reset connection's unread bytes go with it
        pbuf_free(s->rx_pending);
        s->rx_pending = nullptr;
    }
    mark(s);
}

// Every application buffer the socket holds goes home with `error`
// (the connection died, or the application did).
void Engine::return_sends(Socket* s, int error)
{
    Impl& t = *m_impl;
    Client& client = m_clients[s->client];
    while (s->send_head != none) {
        const uint32_t done = s->send_head;
        SendEntry& e = t.entries[done];
        if (!client.lost) {
            Message back{};
            back.type = sp::sent;
            back.buffer = e.ref;
            back.words[0] = s->id;
            back.words[1] = static_cast<uint64_t>(-error);
            (void)client.box.send(back);
        }
        s->send_head = e.next;
        e.next = t.free_entry;
        t.free_entry = done;
    }
    s->send_tail = none;
    s->send_write = none;
    s->unacked = 0;
}

// Queued application bytes go to lwIP as far as its send buffer and queue
// take them; a pending shutdown or close follows the last of them.
void Engine::push_sends(Socket* s)
{
    Impl& t = *m_impl;
    if (s->pcb == nullptr || s->listening || s->connecting)
        return;
    Link* link = m_clients[s->client].box.link();
    const auto* pool = link != nullptr ? link->peer_pool() : nullptr;
    bool wrote = false;
    while (s->send_write != none && pool != nullptr) {
        SendEntry& e = t.entries[s->send_write];
        const uint32_t left = e.ref.length - e.written;
        uint32_t room = tcp_sndbuf(s->pcb);
        if (room == 0 || tcp_sndqueuelen(s->pcb) >= TCP_SND_QUEUELEN - 1)
            break;
        const uint32_t chunk = left < room ? left : room;
        const auto bytes = pool->bytes(e.ref);
        if (!bytes.ok())
            break; // checked when it came; cannot happen
        const u8_t more = (chunk < left || e.next != none) ? TCP_WRITE_FLAG_MORE : 0;
        if (tcp_write(s->pcb, bytes.value() + e.written, static_cast<u16_t>(chunk), more) != ERR_OK)
            break;
        wrote = true;
        e.written += chunk;
        if (e.written == e.ref.length)
            s->send_write = e.next;
    }
    if (s->send_write == none && !s->fin_queued && (s->shutdown_pending || s->close_pending)) {
        // A FIN, never a RST (tcp_close would reset a connection whose
        // receive window is not wide open); finish_if_done() closes it.
        const err_t err = tcp_shutdown(s->pcb, 0, 1);
        if (err == ERR_OK) {
            s->fin_queued = true;
            wrote = true;
        }
    }
    if (wrote && s->pcb != nullptr)
        tcp_output(s->pcb);
}

// Received bytes go to the application, packed into whole buffers of our
// pool, as far as buffers and ring room allow.
void Engine::push_received(Socket* s)
{
    Impl& t = *m_impl;
    if (s->orphaned)
        return;
    Client& client = m_clients[s->client];
    const uint32_t size = m_pool.geometry().buffer_size;
    while (s->rx_pending != nullptr) {
        if (!client.box.has_room())
            break;
        auto buffer = m_pool.allocate();
        if (!buffer.ok())
            break;
        BufferRef ref = buffer.value();
        const uint32_t take = s->rx_pending->tot_len < size ? s->rx_pending->tot_len : size;
        ref.length = pbuf_copy_partial(s->rx_pending, m_pool.view().buffer(ref.index), static_cast<u16_t>(take), 0);
        s->rx_pending = pbuf_free_header(s->rx_pending, static_cast<u16_t>(take));
        lend_to_client(client, ref, static_cast<uint16_t>(s - t.sockets), s->generation);
        s->lent += ref.length;
        Message m{};
        m.type = sp::data;
        m.buffer = ref;
        m.words[0] = s->id;
        (void)client.box.send(m);
    }
    if (s->rx_pending == nullptr && s->fin_received && !s->end_seen) {
        event(s, sp::end);
        s->end_seen = true;
    }
    // Bytes that must wait (the application is slow) keep no buffer of
    // ip's, or a few slow readers would starve every connection: copied
    // into our own memory.
    for (pbuf* q = s->rx_pending; q != nullptr; q = q->next) {
        if ((q->flags & PBUF_FLAG_IS_CUSTOM) == 0)
            continue;
        pbuf* copy = pbuf_clone(PBUF_RAW, PBUF_RAM, s->rx_pending);
        if (copy != nullptr) {
            pbuf_free(s->rx_pending);
            s->rx_pending = copy;
        }
        break;
    }
}

// A socket whose application is gone and whose connection lwIP has
// finished (or that never had one) is freed.
void Engine::finish_if_done(Socket* s)
{
    if (!s->orphaned)
        return;
    if (s->pcb != nullptr) {
        if (!s->fin_queued || s->send_head != none)
            return;
        // Everything is acknowledged and the FIN is queued: lwIP finishes
        // the close by itself (tcp_close now only lets it time out a peer
        // that never closes) and never calls us again.
        detach_pcb(s);
        tcp_close(s->pcb);
        s->pcb = nullptr;
    }
    return_sends(s, errno_value::connection_aborted); // none, unless lwIP dropped the pcb silently
    free_socket(s);
}

void Engine::mark(Socket* s)
{
    if (s->marked)
        return;
    s->marked = true;
    s->next_marked = m_impl->marked;
    m_impl->marked = s;
}

// Everything callbacks and requests left to do, once per step.
void Engine::flush_marked()
{
    Impl& t = *m_impl;
    while (t.marked != nullptr) {
        Socket* s = t.marked;
        t.marked = s->next_marked;
        s->marked = false;
        if (!s->used)
            continue;
        push_sends(s);
        push_received(s);
        finish_if_done(s);
    }
}

// --- Output ---

// What callbacks and requests left to do, and the ACKs that waited: the
// step publishes next.
void Engine::before_flush()
{
    flush_marked();
    emit_waiting_acks();
}

void Engine::result(Socket* s, uint32_t request, int error, uint64_t endpoint)
{
    if (s->orphaned)
        return;
    send_result(m_clients[s->client], s->id, request, error, endpoint);
}

void Engine::event(Socket* s, uint32_t type, uint64_t word1)
{
    if (s->orphaned)
        return;
    Message m{};
    m.type = type;
    m.words[0] = s->id;
    m.words[1] = word1;
    (void)m_clients[s->client].box.send(m);
}

Result<SocketEntry> Engine::socket_entry(unsigned n) const
{
    // lwIP's lists: listening, bound, active, TIME_WAIT.
    for (tcp_pcb* const* list : tcp_pcb_lists) {
        for (const tcp_pcb* pcb = *list; pcb != nullptr; pcb = pcb->next) {
            if (n-- != 0)
                continue;
            SocketEntry entry;
            entry.local_address = from_lwip(pcb->local_ip);
            entry.local_port = pcb->local_port;
            entry.state = static_cast<uint8_t>(pcb->state);
            const auto* s = static_cast<const Socket*>(tcp_ext_arg_get(pcb, 0));
            if (pcb->state != LISTEN) {
                entry.remote_address = from_lwip(pcb->remote_ip);
                entry.remote_port = pcb->remote_port;
            }
            if (s != nullptr && s->used) {
                entry.owner = s->orphaned ? 0 : m_clients[s->client].process;
                entry.receive_queue = s->lent + (s->rx_pending != nullptr ? s->rx_pending->tot_len : 0);
                entry.send_queue = s->unacked;
                entry.segments_in = s->segments_in;
                entry.segments_out = s->segments_out;
            }
            return entry;
        }
    }
    return Error::not_found;
}

} // namespace tcp
