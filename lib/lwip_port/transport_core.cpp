// The machinery both transport engines share (transport_core.hpp).
#include "lwip_port/transport_core.hpp"

#include "lwip/init.h"
#include "lwip/timeouts.h"
#include "net/address.hpp"
#include "net/checksum.hpp"
#include "proto/ip.hpp"

namespace tern::lwip {

namespace transport = ip_transport;

namespace {

// lwIP's clock and random numbers, and the engine its C callbacks reach.
uint32_t g_now_ms = 0;
uint32_t g_random = 1;
TransportCore* g_core = nullptr;

} // namespace

} // namespace tern::lwip

extern "C" u32_t sys_now(void) { return tern::lwip::g_now_ms; }

extern "C" uint32_t tern_lwip_random(void)
{
    // xorshift32: ephemeral ports and initial sequence numbers only need to
    // differ between runs and be hard to guess casually.
    uint32_t& r = tern::lwip::g_random;
    r ^= r << 13;
    r ^= r >> 17;
    r ^= r << 5;
    return r;
}

namespace tern::lwip {

class TransportCore::Output final : public IpOutput {
public:
    err_t output(pbuf* p, uint32_t source, uint32_t destination, uint8_t) override
    {
        return g_core->send_to_ip(p, source, destination);
    }
};

TransportCore::TransportCore(PoolOwner& pool, uint32_t seed) : m_pool(pool), m_lent(new Lent[pool.geometry().count])
{
    static Output output; // reaches whichever engine g_core is
    g_core = this;
    g_random = seed | 1;
    lwip_init();
    m_layer.set_output(&output);
}

// lwIP's state stays behind (it cannot be torn down); the next engine starts
// it again with lwip_init(). Host tests close everything first.
TransportCore::~TransportCore()
{
    delete[] m_lent;
    g_core = nullptr;
}

// --- ip ---

void TransportCore::ip_connected(Link* link)
{
    m_ip.attach(link);
    m_ip_up = true;
}

bool TransportCore::ip_lost()
{
    m_ip_up = false; // what forget_ip() lets go of is not sent back to a dead ip
    if (m_incoming != nullptr) {
        pbuf_free(m_incoming);
        m_incoming = nullptr;
    }
    forget_ip();
    m_ip.detach();
    m_layer.forget_interfaces();
    return m_rx.in_use() == 0;
}

void TransportCore::Returns::release(const BufferRef& ref)
{
    core.give_back_to_ip(ref, core.m_unreachable);
    core.m_unreachable = 0;
}

void TransportCore::give_back_to_ip(const BufferRef& ref, uint8_t icmp_code)
{
    if (!m_ip_up)
        return; // ip reclaimed it when it ended
    Message done{};
    done.type = transport::deliver_done;
    done.buffer = ref;
    done.words[0] = icmp_code;
    (void)m_ip.send(done);
}

bool TransportCore::send_chain(pbuf* p, uint32_t source, uint32_t destination, uint64_t checksum_offset,
                               uint64_t segment_size)
{
    const uint32_t size = m_pool.geometry().buffer_size;
    const uint32_t pieces = (p->tot_len + size - 1) / size;
    if (!m_ip_up || pieces == 0 || !m_ip.has_room(pieces) || m_pool.free_count() < pieces)
        return false;
    for (uint32_t i = 0, offset = 0; i < pieces; ++i) {
        BufferRef ref = m_pool.allocate().value(); // free_count() said there are enough
        const uint32_t length = p->tot_len - offset < size ? p->tot_len - offset : size;
        ref.length = pbuf_copy_partial(p, m_pool.view().buffer(ref.index), static_cast<u16_t>(length),
                                       static_cast<u16_t>(offset));
        offset += length;
        (void)m_pool.lend(ref, ip_holder);
        Message& m = m_ip.claim();
        m = Message{};
        m.type = transport::send;
        m.flags = transport::flags::fill_checksum | (i + 1 < pieces ? transport::flags::more : 0);
        m.buffer = ref;
        m.words[0] = destination | uint64_t{source} << 32;
        m.words[1] = checksum_offset;
        m.words[2] = segment_size;
    }
    return true;
}

bool TransportCore::drain_ip()
{
    if (!m_ip_up)
        return false;
    auto& rx = m_ip.link()->rx();
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
                count_ip_send_failed();
            break;
        case transport::address:
            (void)m_layer.interface_changed(static_cast<unsigned>(m.words[0]), static_cast<uint32_t>(m.words[1]),
                                            static_cast<uint8_t>(m.words[1] >> 32), static_cast<uint16_t>(m.words[2]),
                                            (m.words[3] & transport::address_link_up) != 0,
                                            (m.words[3] & transport::address_default_route) != 0);
            m_layer.set_segmentation(static_cast<unsigned>(m.words[0]),
                                     (m.words[3] & transport::address_segmentation) != 0);
            break;
        default:
            break;
        }
    }
    if (n != 0)
        m_ip.link()->release(n);
    return n != 0;
}

// One buffer of a datagram from ip, wrapped in a pbuf and added to the
// chain being gathered (TCP segments too can come in several buffers: ip
// reassembles fragmented ones); the last one hands the datagram on.
void TransportCore::ip_deliver(const Message& m)
{
    const auto* pool = m_ip.link()->peer_pool();
    const auto bytes = pool != nullptr ? pool->bytes(m.buffer) : Result<uint8_t*>(Error::malformed);
    pbuf* p = nullptr;
    if (bytes.ok() && m.buffer.length <= 0xFFFF)
        p = m_rx.wrap(bytes.value(), static_cast<u16_t>(m.buffer.length), m.buffer);
    const bool too_long = p != nullptr && m_incoming != nullptr && m_incoming->tot_len + uint32_t{p->tot_len} > 0xFFFF;
    if (p == nullptr || too_long) {
        count_undeliverable(bytes.ok() && !too_long);
        if (p != nullptr)
            pbuf_free(p);
        else
            give_back_to_ip(m.buffer);
        if (m_incoming != nullptr) { // the rest of a broken chain goes too
            pbuf_free(m_incoming);
            m_incoming = nullptr;
        }
        return;
    }
    if (m_incoming == nullptr) {
        m_incoming = p;
        m_incoming_first = m;
    } else {
        pbuf_cat(m_incoming, p);
    }
    if ((m.flags & transport::flags::more) != 0)
        return;
    pbuf* datagram = m_incoming;
    m_incoming = nullptr;
    ip_datagram(m_incoming_first, datagram);
}

bool TransportCore::checksum_valid(uint32_t source, uint32_t destination, uint8_t protocol, pbuf* p)
{
    net::ChecksumSum sum = net::pseudo_header_sum({source}, {destination}, protocol, p->tot_len);
    for (pbuf* q = p; q != nullptr; q = q->next) {
        if (q->next != nullptr && (q->len & 1) != 0)
            return false; // ip's chains are whole buffers but the last: even
        sum = net::checksum_add(sum, static_cast<const uint8_t*>(q->payload), q->len);
    }
    return net::checksum_finish(sum) == 0;
}

// --- clients ---

int TransportCore::add_client(Link* link, uint32_t process)
{
    for (unsigned i = 0; i < max_clients; ++i) {
        Client& c = m_clients[i];
        if (c.used)
            continue;
        c.used = true;
        c.lost = false;
        c.process = process;
        c.stall_counted = false;
        c.box.attach(link);
        for (uint16_t& s : c.sockets)
            s = 0;
        return static_cast<int>(i);
    }
    return -1;
}

bool TransportCore::client_lost(int index)
{
    if (index < 0 || static_cast<unsigned>(index) >= max_clients || !m_clients[index].used)
        return true;
    Client& c = m_clients[index];
    if (!c.lost) {
        // What it sent before it ended still counts (its last bytes, a
        // close): the ring stays mapped until the channel is closed.
        if (!c.box.stalled())
            (void)drain_client(c);
        c.lost = true;
        c.box.stall(); // nothing more goes to it
    }
    // Our buffers it held come back; its own must all be home.
    (void)m_pool.reclaim(holder(index));
    if (!release_client(index))
        return false;
    c.used = false;
    c.box.detach();
    return true;
}

int TransportCore::stalled_client()
{
    for (unsigned i = 0; i < max_clients; ++i) {
        if (m_clients[i].used && !m_clients[i].lost && m_clients[i].box.stalled())
            return static_cast<int>(i);
    }
    return -1;
}

bool TransportCore::drain_client(Client& client)
{
    auto& rx = client.box.link()->rx();
    const uint32_t n = rx.available();
    for (uint32_t i = 0; i < n; ++i) {
        const Message m = rx.read(i);
        if (m.type == socket_proto::received)
            client_returned(client, m);
        else
            client_message(client, m);
    }
    if (n != 0)
        client.box.link()->release(n);
    return n != 0;
}

// One of our buffers back from a client: the engine learns how many bytes
// of which socket it consumed (our record, not the client's word).
void TransportCore::client_returned(Client& client, const Message& m)
{
    if (!m_pool.take_back(m.buffer, holder(index_of(client))).ok()) {
        count_bad_request();
        return;
    }
    const Lent lent = m_lent[m.buffer.index];
    m_lent[m.buffer.index] = Lent{};
    (void)m_pool.free(m.buffer);
    if (lent.socket != 0)
        bytes_consumed(static_cast<uint16_t>(lent.socket - 1), lent.generation, lent.length);
}

void TransportCore::lend_to_client(Client& client, const BufferRef& ref, uint16_t socket, uint32_t generation)
{
    (void)m_pool.lend(ref, holder(index_of(client)));
    m_lent[ref.index] = Lent{static_cast<uint16_t>(socket + 1), generation, ref.length};
}

void TransportCore::send_result(Client& client, uint32_t id, uint32_t request, int error, uint64_t endpoint)
{
    Message m{};
    m.type = socket_proto::result;
    m.words[0] = id;
    m.words[1] = request;
    m.words[2] = static_cast<uint64_t>(static_cast<int64_t>(error));
    m.words[3] = endpoint;
    (void)client.box.send(m);
}

// --- the loop ---

bool TransportCore::step(uint64_t now_ns)
{
    if (now_ns > m_last_now_ns)
        m_last_now_ns = now_ns;
    g_now_ms = static_cast<uint32_t>(m_last_now_ns / 1'000'000);
    bool worked = drain_ip();
    for (Client& c : m_clients) {
        if (c.used && !c.lost && !c.box.stalled())
            worked = drain_client(c) || worked;
    }
    sys_check_timeouts();
    before_flush();
    if (m_ip_up)
        m_ip.flush();
    for (Client& c : m_clients) {
        if (!c.used || c.lost)
            continue;
        c.box.flush();
        if (c.box.stalled() && !c.stall_counted) {
            c.stall_counted = true;
            count_client_stalled();
        }
    }
    return worked;
}

uint64_t TransportCore::next_deadline_ns() const
{
    const u32_t sleep_ms = sys_timeouts_sleeptime();
    if (sleep_ms == SYS_TIMEOUTS_SLEEPTIME_INFINITE)
        return UINT64_MAX;
    return m_last_now_ns + uint64_t{sleep_ms} * 1'000'000;
}

} // namespace tern::lwip
