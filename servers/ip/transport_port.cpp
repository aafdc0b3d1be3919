#include "transport_port.hpp"

#include "proto/ip.hpp"
#include "net/byte_order.hpp"
#include "net/udp.hpp"
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
    m_pending = 0;
    m_unlent_count = 0;
    m_merge.open = false;
}

void TransportPort::close()
{
    m_merge.open = false;
    drop_buffers(0); // never lent: still ours
    m_pending = 0;
    m_tx = nullptr;
    m_peer_pool = nullptr;
    m_chain.count = 0;
    m_chain.length = 0;
    m_chain.refusing = false;
}

// ---------------------------------------------------------------------------
// Up

namespace {

namespace tcp_flag = tern::net::tcp_flag;
using tern::net::ChecksumSum;
using tern::net::TcpHeader;

// Segments with any other flag (SYN, FIN, RST, URG, ECE, CWR) go up alone.
constexpr uint8_t mergeable_flags = tcp_flag::ack | tcp_flag::psh;
// A merged segment's TCP header and data: the IPv4 header kept in front
// states their total in 16 bits, and lwIP counts a segment in 16 bits too.
constexpr size_t max_merged = 0xFFFF - ipv4_min_header;
constexpr uint64_t segments_mask = uint64_t{0xFF} << transport::deliver_segments_shift;

// deliver words[0]: the datagram's addresses.
uint64_t address_word(const Ipv4Header& header)
{
    return header.source.value | uint64_t{header.destination.value} << 32;
}

ChecksumSum pseudo_header(const Ipv4Header& header, size_t length)
{
    return tern::net::pseudo_header_sum(header.source, header.destination, header.protocol,
                                        static_cast<uint16_t>(length));
}

} // namespace

bool TransportPort::deliver(unsigned interface, const Ipv4Header& header, bool to_broadcast,
                            const uint8_t* payload, size_t length, uint32_t reserved)
{
    const bool tcp = header.protocol == tern::net::ip_protocol::tcp;
    if (m_merge.open && tcp && !to_broadcast && interface == (m_merge.words1 & 0xFF) &&
        append(header, payload, length, reserved))
        return true;
    if (m_ack.open && tcp && !to_broadcast && interface == (m_ack.words1 & 0xFF) &&
        replace_ack(header, payload, length))
        return true;
    close_merge();
    // The first buffer starts with the IPv4 header (for an ICMP error, should
    // the transport find nobody for the datagram): less room for payload.
    BufferRef head{};
    head.offset = ipv4_min_header;
    const uint32_t count = 1 + buffers_for(head, length);
    // All or nothing: half a chain would be a datagram the transport cannot tell from a broken one.
    if (!room_for(count, count, reserved) || !take_buffers(count))
        return false;
    const uint32_t first = m_unlent_count - count;
    Ipv4Header copy = header;
    copy.header_length = ipv4_min_header;
    copy.total_length = static_cast<uint16_t>(ipv4_min_header + length);
    copy.more_fragments = false; // reassembled: it is the whole datagram now
    copy.fragment_offset = 0;
    copy.write(m_pool->view().buffer(m_unlent[first].index));
    m_unlent[first].offset = ipv4_min_header;
    // TCP and UDP checksums are summed as the bytes are copied anyway
    // (a UDP checksum of 0 means the sender did not compute one).
    const ChecksumSum sum = copy_in(first, payload, length);
    const bool summed = (tcp && length >= tern::net::tcp_header_size) ||
                        (header.protocol == tern::net::ip_protocol::udp && length >= tern::net::udp_header_size &&
                         tern::net::load_be16(payload + 6) != 0);
    const bool verified = summed && tern::net::checksum_finish(sum + pseudo_header(header, length)) == 0;
    const uint64_t words0 = address_word(header);
    const uint64_t words1 = interface | uint64_t{header.ttl} << 8 | (to_broadcast ? transport::deliver_broadcast : 0) |
                            (verified ? transport::deliver_checksum_verified : 0) |
                            (tcp ? uint64_t{1} << transport::deliver_segments_shift : 0);
    for (uint32_t i = 0; i < count; ++i)
        write_deliver(m_pending + i, m_unlent[first + i], i + 1 < count, words0, words1, length);
    // A verified segment with nothing but ACK may have later ones join it
    // (data) or take its place (a pure ACK).
    TcpHeader segment;
    if (tcp && verified && !to_broadcast && TcpHeader::parse(payload, length, segment) &&
        segment.flags == tcp_flag::ack) {
        if (length == segment.header_length)
            open_ack_merge(m_pending, payload, segment.header_length, words0, words1);
        else
            open_merge(m_pending, count, copy, payload, length, segment, words0, words1);
    }
    m_pending += count;
    return true;
}

uint32_t TransportPort::take_pending()
{
    close_merge();
    for (uint32_t i = 0; i < m_unlent_count; ++i)
        (void)m_pool->lend(m_unlent[i], m_holder);
    m_unlent_count = 0;
    const uint32_t pending = m_pending;
    m_pending = 0;
    return pending;
}

// A TCP segment with data just delivered on its own (`tcp` its header):
// later ones may join it.
void TransportPort::open_merge(uint32_t first_slot, uint32_t count, const Ipv4Header& ip, const uint8_t* payload,
                               size_t length, const TcpHeader& tcp, uint64_t words0, uint64_t words1)
{
    Merge& g = m_merge;
    g.open = true;
    g.push = false;
    g.first_slot = first_slot;
    g.count = count;
    g.segments = 1;
    g.length = length;
    g.data_size = length - tcp.header_length;
    g.next_sequence = tcp.sequence + static_cast<uint32_t>(g.data_size);
    g.ip = ip;
    __builtin_memcpy(g.header, payload, tcp.header_length);
    g.header_length = tcp.header_length;
    g.words0 = words0;
    g.words1 = words1;
}

// A pure ACK just delivered on its own (`header_length` bytes, all header):
// a later one of the connection may take its place.
void TransportPort::open_ack_merge(uint32_t slot, const uint8_t* payload, uint8_t header_length, uint64_t words0,
                                   uint64_t words1)
{
    AckMerge& a = m_ack;
    a.open = true;
    a.slot = slot;
    a.words0 = words0;
    a.words1 = words1;
    a.segments = 1;
    __builtin_memcpy(a.header, payload, header_length);
    a.header_length = header_length;
}

// A pure ACK of the same connection with the same options that
// acknowledges more than the pending one replaces it: TCP learns the same
// from the last of a run (RFC 1122's cumulative ACKs), with one segment to
// process instead of many. Duplicate ACKs (the same number: they signal
// loss) and window updates alone are never merged.
bool TransportPort::replace_ack(const Ipv4Header& header, const uint8_t* payload, size_t length)
{
    AckMerge& a = m_ack;
    TcpHeader tcp;
    const uint64_t words0 = address_word(header);
    if (!TcpHeader::parse(payload, length, tcp) || tcp.flags != tcp_flag::ack || length != tcp.header_length ||
        tcp.header_length != a.header_length || words0 != a.words0)
        return false;
    const uint32_t old_ack = tern::net::load_be32(a.header + 8);
    if (static_cast<int32_t>(tcp.acknowledgment - old_ack) <= 0 || __builtin_memcmp(payload, a.header, 8) != 0 ||
        __builtin_memcmp(payload + 20, a.header + 20, a.header_length - tern::net::tcp_header_size) != 0)
        return false;
    const ChecksumSum sum = tern::net::checksum_add(pseudo_header(header, length), payload, length);
    if (tern::net::checksum_finish(sum) != 0)
        return false; // it goes up on its own, and tcp counts it
    // The pending ACK's buffer (the last unlent one) takes the new header.
    const BufferRef& ref = m_unlent[m_unlent_count - 1];
    __builtin_memcpy(m_pool->view().buffer(ref.index) + ref.offset, payload, length);
    __builtin_memcpy(a.header, payload, length);
    ++a.segments;
    ++m_merged_acks;
    Message& m = m_tx->slot(a.slot);
    m.words[1] = (a.words1 & ~segments_mask) | uint64_t{a.segments} << transport::deliver_segments_shift;
    return true;
}

// Appends a TCP segment to the open merge if it goes on from it: same
// connection, next in sequence, same acknowledgment, window and options,
// no flag but ACK and PSH, no more data than the first, a right checksum.
bool TransportPort::append(const Ipv4Header& header, const uint8_t* payload, size_t length, uint32_t reserved)
{
    Merge& g = m_merge;
    TcpHeader tcp;
    if (!TcpHeader::parse(payload, length, tcp) || (tcp.flags & ~mergeable_flags) != 0 ||
        (tcp.flags & tcp_flag::ack) == 0 || tcp.header_length != g.header_length)
        return false;
    const size_t data = length - tcp.header_length;
    const uint64_t words0 = address_word(header);
    if (data == 0 || data > g.data_size || g.length + data > max_merged || words0 != g.words0 ||
        tcp.sequence != g.next_sequence)
        return false;
    // Ports and acknowledgment; data offset, flags but PSH, and window; options.
    const uint8_t* h = g.header;
    if (__builtin_memcmp(payload, h, 4) != 0 || __builtin_memcmp(payload + 8, h + 8, 5) != 0 ||
        (payload[13] | tcp_flag::psh) != (h[13] | tcp_flag::psh) || __builtin_memcmp(payload + 14, h + 14, 2) != 0 ||
        __builtin_memcmp(payload + 20, h + 20, g.header_length - tern::net::tcp_header_size) != 0)
        return false;
    const uint32_t last = m_unlent_count - 1; // the merge is the last pending delivery
    const uint32_t extra = buffers_for(m_unlent[last], data);
    if (!room_for(extra, extra, reserved) || !take_buffers(extra))
        return false;
    const uint32_t old_length = m_unlent[last].length;
    const ChecksumSum header_sum = tern::net::checksum_add(pseudo_header(header, length), payload, tcp.header_length);
    const ChecksumSum sum = header_sum + copy_in(last, payload + tcp.header_length, data);
    if (tern::net::checksum_finish(sum) != 0) { // it goes up on its own, and tcp counts it
        m_unlent[last].length = old_length;
        drop_buffers(last + 1);
        close_merge();
        return false;
    }
    g.length += data;
    g.count += extra;
    m_pending += extra; // their slots are written when the merge closes
    ++g.segments;
    g.next_sequence += static_cast<uint32_t>(data);
    g.push = (tcp.flags & tcp_flag::psh) != 0;
    ++m_merged_segments;
    if (data < g.data_size || g.push)
        close_merge(); // the sender's burst ends here
    return true;
}

// No more segments join the merge: its header and messages get their final
// form (a merge of one segment already has it).
void TransportPort::close_merge()
{
    m_ack.open = false; // whatever closes a merge ends a run of ACKs too
    Merge& g = m_merge;
    if (!g.open)
        return;
    g.open = false;
    if (g.segments == 1)
        return;
    const uint32_t first = m_unlent_count - g.count; // the merge is the last pending delivery
    uint8_t* bytes = m_pool->view().buffer(m_unlent[first].index);
    g.ip.total_length = static_cast<uint16_t>(ipv4_min_header + g.length);
    g.ip.write(bytes);
    if (g.push)
        bytes[ipv4_min_header + 13] |= tcp_flag::psh;
    const uint64_t words1 = (g.words1 & ~segments_mask) | uint64_t{g.segments} << transport::deliver_segments_shift;
    for (uint32_t i = 0; i < g.count; ++i)
        write_deliver(g.first_slot + i, m_unlent[first + i], i + 1 < g.count, g.words0, words1, g.length);
}

bool TransportPort::room_for(uint32_t buffers, uint32_t slots, uint32_t reserved)
{
    const uint32_t wanted = reserved + m_pending + slots;
    return buffers <= m_pool->free_count() && m_unlent_count + buffers <= max_unlent &&
           m_tx->space(wanted) >= wanted;
}

// New buffers `length` more bytes need after what `last` holds.
uint32_t TransportPort::buffers_for(const BufferRef& last, size_t length) const
{
    const size_t buffer_size = m_pool->geometry().buffer_size;
    const size_t room = buffer_size - last.offset - last.length;
    return length <= room ? 0 : static_cast<uint32_t>((length - room + buffer_size - 1) / buffer_size);
}

// `count` empty buffers onto the unlent list, or none.
bool TransportPort::take_buffers(uint32_t count)
{
    const uint32_t from = m_unlent_count;
    for (uint32_t i = 0; i < count; ++i) {
        auto buffer = m_pool->allocate();
        if (!buffer.ok()) { // cannot happen (counted free before); undo rather than send half
            drop_buffers(from);
            return false;
        }
        BufferRef ref = buffer.value();
        ref.length = 0;
        m_unlent[m_unlent_count++] = ref;
    }
    return true;
}

// Frees the unlent buffers from `from` on.
void TransportPort::drop_buffers(uint32_t from)
{
    while (m_unlent_count > from)
        (void)m_pool->free(m_unlent[--m_unlent_count]);
}

// Copies `length` bytes after what unlent buffer `last` holds, on into the
// ones after it, and returns their checksum sum (the bytes taken as
// starting at an even offset of the datagram).
ChecksumSum TransportPort::copy_in(uint32_t last, const uint8_t* data, size_t length)
{
    const size_t buffer_size = m_pool->geometry().buffer_size;
    ChecksumSum sum = 0;
    size_t done = 0;
    for (uint32_t i = last; done < length; ++i) {
        BufferRef& ref = m_unlent[i];
        const size_t room = buffer_size - ref.offset - ref.length;
        const size_t chunk = length - done < room ? length - done : room;
        uint8_t* to = m_pool->view().buffer(ref.index) + ref.offset + ref.length;
        auto piece = static_cast<uint16_t>(tern::net::checksum_copy(0, to, data + done, chunk));
        sum += (done & 1) != 0 ? __builtin_bswap16(piece) : piece; // an odd start shifts the byte pairs
        ref.length += static_cast<uint32_t>(chunk);
        done += chunk;
    }
    return sum;
}

void TransportPort::write_deliver(uint32_t slot, const BufferRef& buffer, bool more, uint64_t words0,
                                  uint64_t words1, size_t length)
{
    Message& m = m_tx->slot(slot);
    m = Message{};
    m.type = transport::deliver;
    m.flags = more ? transport::flags::more : 0;
    m.buffer = buffer;
    m.words[0] = words0;
    m.words[1] = words1;
    m.words[2] = length;
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
    if (m_protocol == tern::net::ip_protocol::tcp && first.words[2] != 0) {
        if (first.words[2] > 0xFFFF)
            return refused;
        datagram.segment_size = static_cast<uint16_t>(first.words[2]);
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

bool TransportPort::announce(const IpStack& stack)
{
    if (m_announced && m_announced_generation == stack.generation())
        return false;
    const uint32_t count = stack.interface_count();
    if (!room_for(0, count, 0))
        return false;
    close_merge(); // it is no longer the last pending delivery
    const int default_interface = stack.default_route_interface();
    for (uint32_t i = 0; i < count; ++i) {
        const Interface& n = *stack.interface(i);
        Message& m = m_tx->slot(m_pending + i);
        m = Message{};
        m.type = transport::address;
        m.words[0] = i;
        m.words[1] = n.configured() ? n.address.value | uint64_t{n.prefix_length} << 32 : 0;
        m.words[2] = n.mtu;
        m.words[3] = (n.link_up ? transport::address_link_up : 0) |
                     (default_interface == static_cast<int>(i) ? transport::address_default_route : 0) |
                     (n.tcp_segmentation ? transport::address_segmentation : 0);
    }
    m_pending += count;
    m_announced = true;
    m_announced_generation = stack.generation();
    return true;
}

} // namespace ip
