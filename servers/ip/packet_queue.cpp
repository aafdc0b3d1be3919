#include "packet_queue.hpp"

namespace ip {

bool PacketQueue::push(unsigned interface, Ipv4Address next_hop, const uint8_t* frame, size_t length)
{
    if (length > max_frame)
        return false;
    for (size_t i = 0; i < m_capacity; ++i) {
        Packet& packet = m_packets[i];
        if (packet.used)
            continue;
        packet.used = true;
        packet.interface = interface;
        packet.next_hop = next_hop;
        packet.order = m_next_order++;
        packet.length = length;
        __builtin_memcpy(packet.frame, frame, length);
        return true;
    }
    return false;
}

PacketQueue::Packet* PacketQueue::oldest_for(unsigned interface, Ipv4Address next_hop)
{
    Packet* best = nullptr;
    for (size_t i = 0; i < m_capacity; ++i) {
        Packet& packet = m_packets[i];
        if (packet.used && packet.interface == interface && packet.next_hop == next_hop &&
            (best == nullptr || packet.order < best->order))
            best = &packet;
    }
    return best;
}

PacketQueue::Packet* PacketQueue::oldest()
{
    Packet* best = nullptr;
    for (size_t i = 0; i < m_capacity; ++i) {
        Packet& packet = m_packets[i];
        if (packet.used && (best == nullptr || packet.order < best->order))
            best = &packet;
    }
    return best;
}

size_t PacketQueue::drop_for(unsigned interface, Ipv4Address next_hop)
{
    size_t dropped = 0;
    for (size_t i = 0; i < m_capacity; ++i) {
        Packet& packet = m_packets[i];
        if (packet.used && packet.interface == interface && packet.next_hop == next_hop) {
            packet.used = false;
            ++dropped;
        }
    }
    return dropped;
}

size_t PacketQueue::drop_interface(unsigned interface)
{
    size_t dropped = 0;
    for (size_t i = 0; i < m_capacity; ++i) {
        Packet& packet = m_packets[i];
        if (packet.used && packet.interface == interface) {
            packet.used = false;
            ++dropped;
        }
    }
    return dropped;
}

size_t PacketQueue::size() const
{
    size_t n = 0;
    for (size_t i = 0; i < m_capacity; ++i)
        n += m_packets[i].used;
    return n;
}

} // namespace ip
