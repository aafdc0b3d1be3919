// A small bounded store of whole Ethernet frames: those waiting for ARP to
// resolve their next hop, and those looped back to our own addresses.
// Frames leave in the order they came. Fixed memory, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>

#include "net/address.hpp"
#include "net/ethernet.hpp"

namespace ip {

using tern::net::Ipv4Address;

class PacketQueue {
public:
    static constexpr size_t max_frame = tern::net::ethernet_max_frame;

    struct Packet {
        bool used = false;
        unsigned interface = 0;
        Ipv4Address next_hop;
        uint64_t order = 0;
        size_t length = 0;
        uint8_t frame[max_frame];
    };

    // `storage` holds `capacity` packets and outlives the queue.
    PacketQueue(Packet* storage, size_t capacity) : m_packets(storage), m_capacity(capacity) {}

    // False when full or the frame is too long.
    bool push(unsigned interface, Ipv4Address next_hop, const uint8_t* frame, size_t length);
    // The oldest packet for that interface and next hop, or nullptr. It
    // stays queued until release().
    Packet* oldest_for(unsigned interface, Ipv4Address next_hop);
    // The oldest packet of all, or nullptr.
    Packet* oldest();
    void release(Packet* packet) { packet->used = false; }
    // Drops every packet for that interface and next hop; returns how many.
    size_t drop_for(unsigned interface, Ipv4Address next_hop);
    size_t drop_interface(unsigned interface);

    size_t size() const;
    size_t capacity() const { return m_capacity; }

private:
    Packet* m_packets;
    size_t m_capacity;
    uint64_t m_next_order = 0;
};

} // namespace ip
