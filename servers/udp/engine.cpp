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

uint32_t g_now_ms = 0;
Engine* g_engine = nullptr;
uint32_t g_random = 1;

} // namespace

extern "C" u32_t sys_now(void) { return g_now_ms; }

extern "C" uint32_t tern_lwip_random(void)
{
    g_random ^= g_random << 13; // xorshift32: ephemeral ports
    g_random ^= g_random >> 17;
    g_random ^= g_random << 5;
    return g_random;
}

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
    BufferRef refs[Engine::max_chain];
    uint32_t length = 0;
};

struct Engine::Client {
    bool used = false;
    bool lost = false;
    uint32_t process = 0;
    Outbox box;
    uint16_t sockets[sp::max_sockets] = {}; // id -> socket index + 1
    Gather gather;
};

// What we lent a client in one of our buffers.
struct Lent {
    uint16_t socket = 0; // index + 1 (0: not lent to a socket)
    uint32_t generation = 0;
    uint32_t length = 0;
};

struct Engine::Impl {
    Outbox ip;
    bool ip_up = false;
    tern::lwip::IpLayer layer;
    // ip's buffers under lwIP's pbufs; each goes back to ip when freed.
    struct Returns final : tern::lwip::ExternalRelease<BufferRef> {
        void release(const BufferRef& ref) override { give_back_to_ip(ref); }
    } returns;
    tern::lwip::ExternalPbufs<BufferRef, max_rx_pbufs> rx{returns};
    pbuf* incoming = nullptr; // a chain from ip being gathered
    Message incoming_first{};
    Client clients[max_clients];
    Socket sockets[max_sockets];
    Lent* lent = nullptr;
    uint32_t generation = 0;
    bool delivered = false; // set by received(): lwIP found a socket
    uint8_t unreachable = 0; // the ICMP code for the next buffer given back to ip
    uint64_t last_now_ns = 0;
};

namespace {

class Output final : public tern::lwip::IpOutput {
public:
    err_t output(pbuf* p, uint32_t source, uint32_t destination, uint8_t) override
    {
        return g_engine->send_to_ip(p, source, destination);
    }
};
Output g_output;

void on_recv(void* arg, udp_pcb*, pbuf* p, const ip_addr_t* address, u16_t port)
{
    g_engine->received(static_cast<Engine::Socket*>(arg), p, from_lwip(*address), port);
}

// The checksum of a datagram in a pbuf chain, pseudo-header included; every
// piece but the last must have an even length (ip's chains are whole
// buffers but the last), else false.
bool checksum_valid(uint32_t source, uint32_t destination, pbuf* p, uint16_t length)
{
    tern::net::ChecksumSum sum = tern::net::pseudo_header_sum({source}, {destination}, tern::net::ip_protocol::udp,
                                                               length);
    for (pbuf* q = p; q != nullptr; q = q->next) {
        if (q->next != nullptr && (q->len & 1) != 0)
            return false;
        sum = tern::net::checksum_add(sum, static_cast<const uint8_t*>(q->payload), q->len);
    }
    return tern::net::checksum_finish(sum) == 0;
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

Engine::Engine(PoolOwner& pool, uint32_t seed) : m_pool(pool), m_impl(new Impl)
{
    g_engine = this;
    g_random = seed | 1;
    m_impl->lent = new Lent[pool.geometry().count];
    lwip_init();
    m_impl->layer.set_output(&g_output);
}

Engine::~Engine()
{
    delete[] m_impl->lent;
    delete m_impl;
    g_engine = nullptr;
}

// --- ip ---

void Engine::ip_connected(Link* link)
{
    m_impl->ip.attach(link);
    m_impl->ip_up = true;
}

bool Engine::ip_lost()
{
    Impl& t = *m_impl;
    t.ip_up = false;
    t.ip.detach();
    if (t.incoming != nullptr) {
        pbuf_free(t.incoming);
        t.incoming = nullptr;
    }
    t.layer.forget_interfaces();
    return t.rx.in_use() == 0;
}

unsigned Engine::ip_buffers_held() const { return m_impl->rx.in_use(); }

void Engine::give_back_to_ip(const BufferRef& ref)
{
    Impl& t = *g_engine->m_impl;
    Message done{};
    done.type = transport::deliver_done;
    done.buffer = ref;
    done.words[0] = t.unreachable;
    t.unreachable = 0;
    (void)g_engine->m_impl->ip.send(done);
}

bool Engine::drain_ip()
{
    Impl& t = *m_impl;
    if (!t.ip_up)
        return false;
    auto& rx = t.ip.link()->rx();
    const uint32_t n = rx.available();
    for (uint32_t i = 0; i < n; ++i) {
        const Message m = rx.read(i);
        switch (m.type) {
        case transport::deliver:
            ip_deliver(m);
            break;
        case transport::send_done:
            if (m_pool.take_back(m.buffer, ip_holder).ok())
                (void)m_pool.free(m.buffer);
            if (m.words[0] != 0)
                count(Counter::ip_send_failed);
            break;
        case transport::address:
            t.layer.interface_changed(static_cast<unsigned>(m.words[0]), static_cast<uint32_t>(m.words[1]),
                                      static_cast<uint8_t>(m.words[1] >> 32), static_cast<uint16_t>(m.words[2]),
                                      (m.words[3] & transport::address_link_up) != 0,
                                      (m.words[3] & transport::address_default_route) != 0);
            break;
        default:
            break;
        }
    }
    if (n != 0)
        t.ip.link()->release(n);
    return n != 0;
}

// One buffer of a datagram from ip: wrapped in a pbuf and added to the
// chain being gathered; the last one hands the whole datagram on.
void Engine::ip_deliver(const Message& m)
{
    Impl& t = *m_impl;
    const auto* pool = t.ip.link()->peer_pool();
    const auto bytes = pool != nullptr ? pool->bytes(m.buffer) : Result<uint8_t*>(Error::malformed);
    pbuf* p = nullptr;
    if (bytes.ok() && m.buffer.length <= 0xFFFF)
        p = t.rx.wrap(bytes.value(), static_cast<u16_t>(m.buffer.length), m.buffer);
    if (p == nullptr) {
        count(bytes.ok() ? Counter::no_pbuf : Counter::bad_length);
        give_back_to_ip(m.buffer);
        if (t.incoming != nullptr) { // the rest of a broken chain is dropped too
            pbuf_free(t.incoming);
            t.incoming = nullptr;
        }
        return;
    }
    if (t.incoming == nullptr) {
        t.incoming = p;
        t.incoming_first = m;
    } else if (t.incoming->tot_len + p->tot_len > 0xFFFF) {
        count(Counter::bad_length);
        pbuf_free(t.incoming);
        pbuf_free(p);
        t.incoming = nullptr;
        return;
    } else {
        pbuf_cat(t.incoming, p);
    }
    if ((m.flags & transport::flags::more) != 0)
        return;
    pbuf* datagram = t.incoming;
    t.incoming = nullptr;
    ip_datagram(t.incoming_first, datagram);
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
    if (header.checksum != 0 && !checksum_valid(source, destination, p, p->tot_len)) {
        count(Counter::bad_checksum);
        pbuf_free(p);
        return;
    }
    if (header.length < p->tot_len)
        pbuf_realloc(p, header.length); // Ethernet padding or a sloppy sender
    count(Counter::datagrams_received);
    t.delivered = false;
    pbuf_ref(p); // kept until we know whether anybody took it
    t.layer.input(p, source, destination, static_cast<unsigned>(first.words[1] & 0xFF), tern::net::ip_protocol::udp);
    if (!t.delivered) {
        count(Counter::no_port);
        // Nobody listens: ip answers with ICMP port unreachable, as hosts
        // do (not for broadcasts).
        const bool broadcast = ((first.words[1] >> 16) & 1) != 0;
        if (!broadcast)
            t.unreachable = tern::net::icmp_code::port_unreachable;
    }
    pbuf_free(p); // the first buffer goes back now, with the ICMP code if any
    t.unreachable = 0;
}

// A datagram lwIP wants sent: gathered into our buffers (a chain when it
// is larger than one) and lent to ip.
int8_t Engine::send_to_ip(pbuf* p, uint32_t source, uint32_t destination)
{
    Impl& t = *m_impl;
    const uint32_t size = m_pool.geometry().buffer_size;
    const uint32_t pieces = (p->tot_len + size - 1) / size;
    if (!t.ip_up || pieces == 0 || !t.ip.has_room(pieces) || m_pool.free_count() < pieces) {
        count(Counter::no_ip_buffer);
        return ERR_MEM;
    }
    for (uint32_t i = 0, offset = 0; i < pieces; ++i) {
        BufferRef ref = m_pool.allocate().value(); // free_count() said there are enough
        const uint32_t length = p->tot_len - offset < size ? p->tot_len - offset : size;
        ref.length = pbuf_copy_partial(p, m_pool.view().buffer(ref.index), static_cast<u16_t>(length),
                                       static_cast<u16_t>(offset));
        offset += length;
        (void)m_pool.lend(ref, ip_holder);
        Message& m = t.ip.claim();
        m = Message{};
        m.type = transport::send;
        m.flags = transport::flags::fill_checksum | (i + 1 < pieces ? transport::flags::more : 0);
        m.buffer = ref;
        m.words[0] = destination | uint64_t{source} << 32;
        m.words[1] = 6; // the UDP checksum's offset
    }
    count(Counter::datagrams_sent);
    return ERR_OK;
}

// lwIP found the socket for a datagram: its payload goes to the
// application, or is dropped if the application is behind.
void Engine::received(Socket* s, pbuf* p, uint32_t source, uint16_t port)
{
    Impl& t = *m_impl;
    t.delivered = true;
    if (s == nullptr || !s->used) {
        pbuf_free(p);
        return;
    }
    Client& client = t.clients[s->client];
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
    const uint16_t holder = static_cast<uint16_t>(first_client_holder + s->client);
    for (uint32_t i = 0, offset = 0; i < pieces; ++i) {
        BufferRef ref = m_pool.allocate().value();
        const uint32_t piece = length - offset < size ? length - offset : size;
        ref.length = pbuf_copy_partial(p, m_pool.view().buffer(ref.index), static_cast<u16_t>(piece),
                                       static_cast<u16_t>(offset));
        offset += piece;
        (void)m_pool.lend(ref, holder);
        t.lent[ref.index] = Lent{static_cast<uint16_t>(s - t.sockets + 1), s->generation, ref.length};
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

int Engine::add_client(Link* link, uint32_t process)
{
    Impl& t = *m_impl;
    for (unsigned i = 0; i < max_clients; ++i) {
        Client& c = t.clients[i];
        if (c.used)
            continue;
        c.used = true;
        c.lost = false;
        c.process = process;
        c.box.attach(link);
        for (uint16_t& s : c.sockets)
            s = 0;
        c.gather = Gather{};
        return static_cast<int>(i);
    }
    return -1;
}

// UDP holds nothing of a client's once a send is copied: its sockets go and
// it may be let go at once.
bool Engine::client_lost(int index)
{
    Impl& t = *m_impl;
    if (index < 0 || static_cast<unsigned>(index) >= max_clients || !t.clients[index].used)
        return true;
    Client& c = t.clients[index];
    if (!c.lost && !c.box.stalled())
        (void)drain_client(c); // its last datagrams still go out
    c.lost = true;
    c.box.stall();
    for (uint16_t& slot : c.sockets) {
        if (slot != 0) {
            close_socket(&t.sockets[slot - 1]);
            slot = 0;
        }
    }
    (void)m_pool.reclaim(static_cast<uint16_t>(first_client_holder + index));
    c.used = false;
    c.box.detach();
    return true;
}

int Engine::stalled_client()
{
    Impl& t = *m_impl;
    for (unsigned i = 0; i < max_clients; ++i) {
        if (t.clients[i].used && !t.clients[i].lost && t.clients[i].box.stalled())
            return static_cast<int>(i);
    }
    return -1;
}

bool Engine::drain_client(Client& client)
{
    auto& rx = client.box.link()->rx();
    const uint32_t n = rx.available();
    for (uint32_t i = 0; i < n; ++i)
        client_message(client, rx.read(i));
    if (n != 0)
        client.box.link()->release(n);
    return n != 0;
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
        s.client = static_cast<int>(&client - t.clients);
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
    case sp::received:
        return request_received(client, m);
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
    Gather& g = client.gather;
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
    Gather& g = client.gather;
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

void Engine::request_received(Client& client, const Message& m)
{
    Impl& t = *m_impl;
    const uint16_t holder = static_cast<uint16_t>(first_client_holder + (&client - t.clients));
    if (!m_pool.take_back(m.buffer, holder).ok()) {
        count(Counter::bad_request);
        return;
    }
    const Lent lent = t.lent[m.buffer.index];
    t.lent[m.buffer.index] = Lent{};
    (void)m_pool.free(m.buffer);
    if (lent.socket == 0)
        return;
    Socket& s = t.sockets[lent.socket - 1];
    if (s.used && s.generation == lent.generation)
        s.lent -= lent.length < s.lent ? lent.length : s.lent;
}

void Engine::result(Socket* s, uint32_t request, int error, uint64_t endpoint)
{
    Message m{};
    m.type = sp::result;
    m.words[0] = s->id;
    m.words[1] = request;
    m.words[2] = static_cast<uint64_t>(static_cast<int64_t>(error));
    m.words[3] = endpoint;
    (void)m_impl->clients[s->client].box.send(m);
}

// --- the loop ---

bool Engine::step(uint64_t now_ns)
{
    Impl& t = *m_impl;
    if (now_ns > t.last_now_ns)
        t.last_now_ns = now_ns;
    g_now_ms = static_cast<uint32_t>(t.last_now_ns / 1'000'000);
    bool worked = drain_ip();
    for (Client& c : t.clients) {
        if (c.used && !c.lost && !c.box.stalled())
            worked = drain_client(c) || worked;
    }
    sys_check_timeouts();
    if (t.ip_up)
        t.ip.flush();
    for (Client& c : t.clients) {
        if (!c.used || c.lost)
            continue;
        const bool stalled = c.box.stalled();
        c.box.flush();
        if (!stalled && c.box.stalled())
            count(Counter::client_stalled);
    }
    return worked;
}

uint64_t Engine::next_deadline_ns() const
{
    const u32_t sleep_ms = sys_timeouts_sleeptime();
    if (sleep_ms == SYS_TIMEOUTS_SLEEPTIME_INFINITE)
        return UINT64_MAX;
    return m_impl->last_now_ns + uint64_t{sleep_ms} * 1'000'000;
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
        e.owner = t.clients[s.client].process;
        e.receive_queue = s.lent;
        e.segments_in = s.datagrams_in;
        e.segments_out = s.datagrams_out;
        return e;
    }
    return Error::not_found;
}

} // namespace udp
