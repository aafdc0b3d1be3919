#include "transport_port.hpp"

#include "proto/ip.hpp"
#include "proto/syscall.hpp"

namespace ip {

namespace transport = tern::ip_transport;
using tern::net::ipv4_min_header;
namespace sys = tern::sys;

namespace {

int64_t send_result(const Result<void>& sent)
{
    if (sent.ok())
        return 0;
    switch (sent.error()) {
    case Error::not_found: return sys::error_code(sys::Error::not_found);
    case Error::busy: return sys::error_code(sys::Error::busy);
    default: return sys::error_code(sys::Error::invalid_argument);
    }
}

constexpr int64_t refused = sys::error_code(sys::Error::invalid_argument);

} // namespace

void TransportPort::open(uint8_t protocol, Producer& tx, PoolOwner& pool, PoolOwner::Holder holder,
                         const PoolView* peer_pool)
{
    m_protocol = protocol;
    m_tx = &tx;
    m_pool = &pool;
    m_holder = holder;
    m_peer_pool = peer_pool;
    m_chain.count = 0;
    m_chain.length = 0;
    m_chain.refusing = false;
    m_announced = false;
}

void TransportPort::close()
{
    m_tx = nullptr;
    m_peer_pool = nullptr;
    m_chain.count = 0;
    m_chain.length = 0;
    m_chain.refusing = false;
}

// ---------------------------------------------------------------------------
// Up

uint32_t TransportPort::deliver(unsigned interface, const Ipv4Header& header, bool to_broadcast,
                                const uint8_t* payload, size_t length, uint32_t reserved)
{
    const size_t buffer_size = m_pool->geometry().buffer_size;
    // The first buffer starts with the IPv4 header (for an ICMP error, should
    // the transport find nobody for the datagram): less room for payload.
    const size_t first = buffer_size - ipv4_min_header;
    const size_t needed = length <= first ? 1 : 1 + (length - first + buffer_size - 1) / buffer_size;
    // All or nothing: half a chain would be a datagram the transport cannot tell from a broken one.
    if (needed > m_pool->free_count() || m_tx->space(reserved + static_cast<uint32_t>(needed)) < reserved + needed)
        return 0;
    const auto count = static_cast<uint32_t>(needed);
    for (uint32_t i = 0; i < count; ++i) {
        auto buffer = m_pool->allocate();
        if (!buffer.ok()) { // cannot happen (counted free above); undo rather than send half
            for (uint32_t j = 0; j < i; ++j)
                (void)m_pool->free(m_tx->slot(j).buffer);
            return 0;
        }
        m_tx->slot(i).buffer = buffer.value();
    }
    size_t offset = 0;
    for (uint32_t i = 0; i < count; ++i) {
        BufferRef ref = m_tx->slot(i).buffer;
        const size_t room = i == 0 ? first : buffer_size;
        if (i == 0) {
            Ipv4Header copy = header;
            copy.header_length = ipv4_min_header;
            copy.total_length = static_cast<uint16_t>(ipv4_min_header + length);
            copy.more_fragments = false; // reassembled: it is the whole datagram now
            copy.fragment_offset = 0;
            copy.write(m_pool->view().buffer(ref.index));
            ref.offset = ipv4_min_header;
        }
        const size_t chunk = length - offset < room ? length - offset : room;
        ref.length = static_cast<uint32_t>(chunk);
        __builtin_memcpy(m_pool->view().buffer(ref.index) + ref.offset, payload + offset, chunk);
        offset += chunk;
        (void)m_pool->lend(ref, m_holder);
        Message& m = m_tx->slot(i);
        m = Message{};
        m.type = transport::deliver;
        m.flags = i + 1 < count ? transport::flags::more : 0;
        m.buffer = ref;
        m.words[0] = header.source.value | uint64_t{header.destination.value} << 32;
        m.words[1] = interface | uint64_t{header.ttl} << 8 | uint64_t{to_broadcast} << 16;
        m.words[2] = length;
    }
    return count;
}

// ---------------------------------------------------------------------------
// Down

void TransportPort::receive(const Message& m, IpStack& stack, uint64_t now_ns, Message* answers, uint32_t& count)
{
    if (m.type == transport::send)
        return add_to_chain(m, stack, now_ns, answers, count);
    // Anything else in the middle of a chain breaks it.
    if (m_chain.count != 0 || m_chain.refusing) {
        finish_chain(refused, answers, count);
        m_chain.refusing = true;
    }
    if (m.type == transport::deliver_done && m_pool->take_back(m.buffer, m_holder).ok()) {
        // Our own buffer again: the header we kept in front of the payload
        // is trustworthy, whatever else the transport wrote.
        if (m.words[0] != 0 && m.words[0] <= 15 && m.buffer.offset == ipv4_min_header)
            stack.transport_unreachable(static_cast<uint8_t>(m.words[0]), m_pool->view().buffer(m.buffer.index),
                                        now_ns);
        (void)m_pool->free(m.buffer);
    }
}

uint32_t TransportPort::chain_limit() const
{
    const uint32_t half_ring = m_tx->capacity() / 2;
    return half_ring < max_chain ? half_ring : max_chain;
}

void TransportPort::add_to_chain(const Message& m, IpStack& stack, uint64_t now_ns, Message* answers,
                                 uint32_t& count)
{
    const bool more = (m.flags & transport::flags::more) != 0;
    if (m_chain.refusing) {
        answer(m.buffer, refused, answers, count);
        m_chain.refusing = more;
        return;
    }
    const auto bytes = m_peer_pool != nullptr ? m_peer_pool->bytes(m.buffer) : Result<uint8_t*>(Error::malformed);
    const Piece piece{bytes.ok() ? bytes.value() : nullptr, m.buffer.length};
    if (bytes.ok() && !more && m_chain.count == 0) {
        // The common case, one buffer: straight to the stack, nothing held.
        m_chain.first = m;
        m_chain.pieces[0] = piece;
        m_chain.count = 1;
        const int64_t result = send(stack, now_ns);
        m_chain.count = 0;
        return answer(m.buffer, result, answers, count);
    }
    if (!bytes.ok() || m_chain.count == chain_limit() ||
        m_chain.length + m.buffer.length > tern::net::ipv4_max_payload) {
        finish_chain(refused, answers, count);
        answer(m.buffer, refused, answers, count);
        m_chain.refusing = more;
        return;
    }
    if (m_chain.count == 0)
        m_chain.first = m;
    m_chain.buffers[m_chain.count] = m.buffer;
    m_chain.pieces[m_chain.count] = piece;
    ++m_chain.count;
    m_chain.length += m.buffer.length;
    if (!more)
        finish_chain(send(stack, now_ns), answers, count);
}

// Every buffer of the chain so far gets `result`; the chain starts afresh.
void TransportPort::finish_chain(int64_t result, Message* answers, uint32_t& count)
{
    for (uint32_t i = 0; i < m_chain.count; ++i)
        answer(m_chain.buffers[i], result, answers, count);
    m_chain.count = 0;
    m_chain.length = 0;
}

// The chain's datagram (pieces[0..count)) to the stack; 0 or -sys::Error.
int64_t TransportPort::send(IpStack& stack, uint64_t now_ns)
{
    const Message& first = m_chain.first;
    TransportDatagram datagram;
    datagram.destination = Ipv4Address{static_cast<uint32_t>(first.words[0])};
    datagram.source = Ipv4Address{static_cast<uint32_t>(first.words[0] >> 32)};
    datagram.protocol = m_protocol;
    datagram.pieces = m_chain.pieces;
    datagram.piece_count = m_chain.count;
    if ((first.flags & transport::flags::fill_checksum) != 0) {
        if (first.words[1] > tern::net::ipv4_max_payload)
            return refused;
        datagram.checksum_at = static_cast<int>(first.words[1]);
    }
    return send_result(stack.send_transport(datagram, now_ns));
}

void TransportPort::answer(const BufferRef& buffer, int64_t result, Message* answers, uint32_t& count)
{
    Message& back = answers[count++];
    back = Message{};
    back.type = transport::send_done;
    back.buffer = buffer;
    back.words[0] = static_cast<uint64_t>(result);
}

// ---------------------------------------------------------------------------
// Announcements

uint32_t TransportPort::announce(const IpStack& stack)
{
    if (m_announced && m_announced_generation == stack.generation())
        return 0;
    const uint32_t count = stack.interface_count();
    if (count != 0 && m_tx->space(count) < count)
        return 0;
    const int default_interface = stack.default_route_interface();
    for (uint32_t i = 0; i < count; ++i) {
        const Interface& n = *stack.interface(i);
        Message& m = m_tx->slot(i);
        m = Message{};
        m.type = transport::address;
        m.words[0] = i;
        m.words[1] = n.configured() ? n.address.value | uint64_t{n.prefix_length} << 32 : 0;
        m.words[2] = n.mtu;
        m.words[3] = (n.link_up ? transport::address_link_up : 0) |
                     (default_interface == static_cast<int>(i) ? transport::address_default_route : 0);
    }
    m_announced = true;
    m_announced_generation = stack.generation();
    return count;
}

} // namespace ip
