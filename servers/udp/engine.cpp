// The udp server's logic (engine.hpp): lwIP's raw UDP API driven by the ip
// channel and the applications' socket channels.
#include "engine.hpp"

#include "lwip/init.h"
#include "lwip/pbuf.h"
#include "lwip/timeouts.h"
#include "lwip/udp.h"
#include "lwip_port/ip_layer.hpp"
#include "lwip_port/external_pbufs.hpp"
#include "lwip_port/socket_glue.hpp"
#include "net/checksum.hpp"
#include "net/icmp.hpp"
#include "net/udp.hpp"
#include "proto/ip.hpp"
#include "proto/socket.hpp"

namespace udp {

namespace sp = tern::socket_proto;
namespace errno_value = tern::socket_proto::errno_value;
namespace transport = tern::ip_transport;
using tern::Error;
using tern::Result;
using tern::lwip::errno_for;
using tern::lwip::from_lwip;
using tern::lwip::to_lwip;

namespace {

Engine* g_engine = nullptr; // for lwIP's receive callback

} // namespace

struct Engine::Socket {
    bool used = false;
    int client = -1;
    uint32_t id = 0;
    uint32_t generation = 0;
    udp_pcb* pcb = nullptr;
    bool reuse_address = false;
    uint32_t receive_buffer = Engine::default_receive_buffer;
    uint32_t lent = 0; // bytes in our buffers the application holds
    uint64_t datagrams_in = 0;
    uint64_t datagrams_out = 0;
};

// A chain of `send` messages being gathered (they are consecutive on a
// channel, so one per client is enough).
struct Gather {
    uint32_t count = 0;
    tern::channel::BufferRef refs[Engine::max_chain];
    uint32_t length = 0;
};

struct Engine::Impl {
    Gather gather[max_clients]; // per client
    Socket sockets[max_sockets];
    uint32_t generation = 0;
    bool delivered = false; // set by received(): lwIP found a socket
};

namespace {

void on_recv(void* arg, udp_pcb*, pbuf* p, const ip_addr_t* address, u16_t port)
{
    g_engine->received(static_cast<Engine::Socket*>(arg), p, from_lwip(*address), port);
}

} // namespace

const char* counter_name(Counter counter)
{
    static const char* const names[] = {
        "datagrams_received", "datagrams_sent", "bad_length",   "bad_checksum",
        "no_port",            "receive_buffer_full", "no_buffer", "no_pbuf",
        "ip_send_failed",     "no_ip_buffer",   "bad_request",  "client_stalled",
    };
    static_assert(sizeof(names) / sizeof(names[0]) == static_cast<unsigned>(Counter::count));
    return names[static_cast<unsigned>(counter)];
}

bool counter_is_error(Counter counter)
{
    return counter != Counter::datagrams_received && counter != Counter::datagrams_sent;
}

Engine::Engine(PoolOwner& pool, uint32_t seed) : TransportCore(pool, seed), m_impl(new Impl)
{
    g_engine = this;
}

Engine::~Engine()
{
    delete m_impl;
    g_engine = nullptr;
}

void Engine::ip_datagram(const Message& first, pbuf* p)
{
    Impl& t = *m_impl;
    const uint32_t source = static_cast<uint32_t>(first.words[0]);
    const uint32_t destination = static_cast<uint32_t>(first.words[0] >> 32);
    uint8_t header_bytes[tern::net::udp_header_size];
    tern::net::UdpHeader header;
    if (pbuf_copy_partial(p, header_bytes, sizeof(header_bytes), 0) != sizeof(header_bytes) ||
        !tern::net::UdpHeader::parse(header_bytes, p->tot_len, header)) {
        count(Counter::bad_length);
        pbuf_free(p);
        return;
    }
    if (header.checksum != 0 && (first.words[1] & transport::deliver_checksum_verified) == 0 &&
        !checksum_valid(source, destination, tern::net::ip_protocol::udp, p)) {
        count(Counter::bad_checksum);
        pbuf_free(p);
        return;
    }
    if (header.length < p->tot_len)
        pbuf_realloc(p, header.length); // Ethernet padding or a sloppy sender
    count(Counter::datagrams_received);
    t.delivered = false;
    pbuf_ref(p); // kept until we know whether anybody took it
    m_layer.input(p, source, destination, static_cast<unsigned>(first.words[1] & 0xFF), tern::net::ip_protocol::udp);
    if (!t.delivered) {
        count(Counter::no_port);
        // Nobody listens: ip answers with ICMP port unreachable, as hosts
        // do (not for broadcasts).
        const bool broadcast = (first.words[1] & transport::deliver_broadcast) != 0;
        if (!broadcast)
            set_unreachable_code(tern::net::icmp_code::port_unreachable);
    }
    pbuf_free(p); // the first buffer goes back now, with the ICMP code if any
    set_unreachable_code(0);
}

// A datagram lwIP wants sent: gathered into our buffers (a chain when it
// is larger than one) and lent to ip.
err_t Engine::send_to_ip(pbuf* p, uint32_t source, uint32_t destination)
{
    if (!send_chain(p, source, destination, tern::net::udp_checksum_offset)) {
        count(Counter::no_ip_buffer);
        return ERR_MEM;
    }
    count(Counter::datagrams_sent);
    return ERR_OK;
}

// lwIP found the socket for a datagram: its payload goes to the
// application, or is dropped if the application is behind.
void Engine::received(Socket* s, pbuf* p, uint32_t source, uint16_t port)
{
    m_impl->delivered = true;
    if (s == nullptr || !s->used) {
        pbuf_free(p);
        return;
    }
    Client& client = m_clients[s->client];
    const uint32_t size = m_pool.geometry().buffer_size;
    const uint32_t length = p->tot_len;
    const uint32_t pieces = length == 0 ? 1 : (length + size - 1) / size;
    if (s->lent + length > s->receive_buffer) {
        count(Counter::receive_buffer_full);
        pbuf_free(p);
        return;
    }
    if (!client.box.has_room(pieces) || m_pool.free_count() < pieces) {
        count(Counter::no_buffer);
        pbuf_free(p);
        return;
    }
    for (uint32_t i = 0, offset = 0; i < pieces; ++i) {
        BufferRef ref = m_pool.allocate().value();
        const uint32_t piece = length - offset < size ? length - offset : size;
        ref.length = pbuf_copy_partial(p, m_pool.view().buffer(ref.index), static_cast<u16_t>(piece),
                                       static_cast<u16_t>(offset));
        offset += piece;
        lend_to_client(client, ref, static_cast<uint16_t>(s - m_impl->sockets), s->generation);
        s->lent += ref.length;
        Message& m = client.box.claim();
        m = Message{};
        m.type = sp::data;
        m.flags = i + 1 < pieces ? sp::flags::more : 0;
        m.buffer = ref;
        m.words[0] = s->id;
        m.words[1] = sp::endpoint_word(source, port);
        m.words[2] = length;
    }
    ++s->datagrams_in;
    pbuf_free(p);
}

// --- clients ---

// UDP holds nothing of a client's once a send is copied: its sockets go and
// its pool is free at once.
bool Engine::release_client(int index)
{
    Client& c = m_clients[index];
    for (uint16_t& slot : c.sockets) {
        if (slot != 0) {
            close_socket(&m_impl->sockets[slot - 1]);
            slot = 0;
        }
    }
    m_impl->gather[index] = Gather{};
    return true;
}

Engine::Socket* Engine::socket_for(Client& client, uint32_t id, bool create)
{
    Impl& t = *m_impl;
    if (id >= sp::max_sockets)
        return nullptr;
    if (client.sockets[id] != 0)
        return &t.sockets[client.sockets[id] - 1];
    if (!create || id >= sp::accepted_base)
        return nullptr;
    for (Socket& s : t.sockets) {
        if (s.used)
            continue;
        udp_pcb* pcb = udp_new();
        if (pcb == nullptr)
            return nullptr;
        const uint32_t generation = ++t.generation;
        s = Socket{};
        s.used = true;
        s.client = index_of(client);
        s.id = id;
        s.generation = generation;
        s.pcb = pcb;
        udp_recv(pcb, on_recv, &s);
        client.sockets[id] = static_cast<uint16_t>(&s - t.sockets + 1);
        return &s;
    }
    return nullptr;
}

void Engine::close_socket(Socket* s)
{
    if (s->pcb != nullptr)
        udp_remove(s->pcb);
    s->pcb = nullptr;
    s->used = false;
}

void Engine::client_message(Client& client, const Message& m)
{
    const uint32_t id = static_cast<uint32_t>(m.words[0]);
    switch (m.type) {
    case sp::send:
        return request_send(client, m);
    case sp::bind:
        return request_bind(socket_for(client, id, true), m);
    case sp::connect:
        return request_connect(socket_for(client, id, true), m);
    case sp::set_option:
        return request_option(socket_for(client, id, true), m);
    case sp::listen:
    case sp::accept_taken:
        if (Socket* s = socket_for(client, id, false); s != nullptr)
            result(s, m.type, -errno_value::not_supported);
        else
            count(Counter::bad_request);
        return;
    case sp::shutdown:
        if (Socket* s = socket_for(client, id, false); s != nullptr)
            result(s, sp::shutdown, 0); // nothing to finish: datagrams are sent at once
        else
            count(Counter::bad_request);
        return;
    case sp::close: {
        if (id >= sp::max_sockets) {
            count(Counter::bad_request);
            return;
        }
        // A socket that never got as far as the server closes all the same.
        if (Socket* s = socket_for(client, id, false); s != nullptr)
            close_socket(s);
        client.sockets[id] = 0;
        Message closed{};
        closed.type = sp::closed;
        closed.words[0] = id;
        (void)client.box.send(closed);
        return;
    }
    default:
        count(Counter::bad_request);
        return;
    }
}

void Engine::request_bind(Socket* s, const Message& m)
{
    if (s == nullptr) {
        count(Counter::bad_request);
        return;
    }
    if (s->pcb->local_port != 0) {
        result(s, sp::bind, -errno_value::invalid);
        return;
    }
    if (s->reuse_address)
        ip_set_option(s->pcb, SOF_REUSEADDR);
    const ip_addr_t address = to_lwip(sp::endpoint_address(m.words[1]));
    const err_t err = udp_bind(s->pcb, &address, sp::endpoint_port(m.words[1]));
    if (err != ERR_OK) {
        result(s, sp::bind, -errno_for(err));
        return;
    }
    result(s, sp::bind, 0, sp::endpoint_word(from_lwip(s->pcb->local_ip), s->pcb->local_port));
}

void Engine::request_connect(Socket* s, const Message& m)
{
    if (s == nullptr) {
        count(Counter::bad_request);
        return;
    }
    if (m.words[1] == 0) { // connecting to nothing: disconnect, as AF_UNSPEC does
        udp_disconnect(s->pcb);
        result(s, sp::connect, 0, sp::endpoint_word(from_lwip(s->pcb->local_ip), s->pcb->local_port));
        return;
    }
    const ip_addr_t address = to_lwip(sp::endpoint_address(m.words[1]));
    const err_t err = udp_connect(s->pcb, &address, sp::endpoint_port(m.words[1]));
    result(s, sp::connect, -errno_for(err), sp::endpoint_word(from_lwip(s->pcb->local_ip), s->pcb->local_port));
}

void Engine::request_option(Socket* s, const Message& m)
{
    if (s == nullptr) {
        count(Counter::bad_request);
        return;
    }
    switch (m.words[1]) {
    case sp::option::reuse_address:
        s->reuse_address = m.words[2] != 0;
        if (s->reuse_address)
            ip_set_option(s->pcb, SOF_REUSEADDR);
        else
            ip_reset_option(s->pcb, SOF_REUSEADDR);
        break;
    case sp::option::receive_buffer:
        s->receive_buffer = m.words[2] < 2048 ? 2048 : m.words[2] > (1u << 24) ? (1u << 24) : static_cast<uint32_t>(m.words[2]);
        break;
    default:
        result(s, sp::set_option, -errno_value::protocol_option);
        return;
    }
    result(s, sp::set_option, 0);
}

// One buffer of a datagram to send; the last of a chain sends it.
void Engine::request_send(Client& client, const Message& m)
{
    Gather& g = m_impl->gather[index_of(client)];
    const uint32_t id = static_cast<uint32_t>(m.words[0]);
    const auto* pool = client.box.link()->peer_pool();
    const bool more = (m.flags & sp::flags::more) != 0;
    if (pool == nullptr || !pool->bytes(m.buffer).ok() || g.count == max_chain ||
        g.length + m.buffer.length > 65507) {
        count(Counter::bad_request);
        for (uint32_t i = 0; i < g.count; ++i)
            return_buffer(client, g.refs[i], id, errno_value::message_size);
        return_buffer(client, m.buffer, id, pool == nullptr || !pool->bytes(m.buffer).ok() ? errno_value::invalid
                                                                                            : errno_value::message_size);
        g = Gather{};
        return;
    }
    g.refs[g.count++] = m.buffer;
    g.length += m.buffer.length;
    if (more)
        return;
    Socket* s = socket_for(client, id, true);
    if (s == nullptr) {
        count(Counter::bad_request);
        for (uint32_t i = 0; i < g.count; ++i)
            return_buffer(client, g.refs[i], id, errno_value::bad_file);
        g = Gather{};
        return;
    }
    send_datagram(client, s, m.words[1]);
}

// The gathered datagram goes to lwIP as reference pbufs over the
// application's buffers; lwIP's output copies it, so they go back at once.
void Engine::send_datagram(Client& client, Socket* s, uint64_t destination)
{
    Gather& g = m_impl->gather[index_of(client)];
    const auto* pool = client.box.link()->peer_pool();
    pbuf* chain = nullptr;
    int error = 0;
    for (uint32_t i = 0; i < g.count && error == 0; ++i) {
        pbuf* p = pbuf_alloc(PBUF_RAW, static_cast<u16_t>(g.refs[i].length), PBUF_REF);
        if (p == nullptr) {
            error = errno_value::no_buffers;
            break;
        }
        p->payload = pool->bytes(g.refs[i]).value();
        if (chain == nullptr)
            chain = p;
        else
            pbuf_cat(chain, p);
    }
    if (error == 0) {
        err_t err;
        if (destination == 0) {
            err = s->pcb->remote_port != 0 ? udp_send(s->pcb, chain) : static_cast<err_t>(ERR_CONN);
        } else {
            const ip_addr_t address = to_lwip(sp::endpoint_address(destination));
            err = udp_sendto(s->pcb, chain, &address, sp::endpoint_port(destination));
        }
        if (err == ERR_CONN)
            error = errno_value::not_connected; // EDESTADDRREQ would be more precise
        else
            error = errno_for(err);
        if (err == ERR_OK)
            ++s->datagrams_out;
    }
    if (chain != nullptr)
        pbuf_free(chain);
    for (uint32_t i = 0; i < g.count; ++i)
        return_buffer(client, g.refs[i], s->id, error);
    g = Gather{};
}

void Engine::return_buffer(Client& client, const BufferRef& ref, uint32_t id, int error)
{
    Message back{};
    back.type = sp::sent;
    back.buffer = ref;
    back.words[0] = id;
    back.words[1] = static_cast<uint64_t>(-static_cast<int64_t>(error));
    (void)client.box.send(back);
}

void Engine::bytes_consumed(uint16_t socket, uint32_t generation, uint32_t length)
{
    Socket& s = m_impl->sockets[socket];
    if (s.used && s.generation == generation)
        s.lent -= length < s.lent ? length : s.lent;
}

void Engine::result(Socket* s, uint32_t request, int error, uint64_t endpoint)
{
    send_result(m_clients[s->client], s->id, request, error, endpoint);
}

Result<SocketEntry> Engine::socket_entry(unsigned n) const
{
    const Impl& t = *m_impl;
    for (const Socket& s : t.sockets) {
        if (!s.used || n-- != 0)
            continue;
        SocketEntry e;
        e.local_address = from_lwip(s.pcb->local_ip);
        e.local_port = s.pcb->local_port;
        e.remote_address = from_lwip(s.pcb->remote_ip);
        e.remote_port = s.pcb->remote_port;
        e.state = s.pcb->remote_port != 0 ? 1 : 0;
        e.owner = m_clients[s.client].process;
        e.receive_queue = s.lent;
        e.segments_in = s.datagrams_in;
        e.segments_out = s.datagrams_out;
        return e;
    }
    return Error::not_found;
}

} // namespace udp
