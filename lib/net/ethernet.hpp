// Ethernet II framing as the NIC hands it over: destination, source,
// EtherType, payload; no preamble, and normally no FCS.
#pragma once

#include <cstddef>
#include <cstdint>

#include "net/address.hpp"
#include "net/byte_order.hpp"

namespace tern::net {

namespace ethertype {
constexpr uint16_t ipv4 = 0x0800;
constexpr uint16_t arp = 0x0806;
constexpr uint16_t vlan = 0x8100;
constexpr uint16_t ipv6 = 0x86DD;
} // namespace ethertype

constexpr size_t ethernet_header_size = 14;
constexpr size_t ethernet_min_frame = 60;  // without FCS; shorter frames are padded on transmit
constexpr size_t ethernet_max_payload = 1500;
constexpr size_t ethernet_max_frame = ethernet_header_size + ethernet_max_payload; // 1514
// What a receiver still accepts: room for an FCS the NIC did not strip.
constexpr size_t ethernet_max_received_frame = ethernet_max_frame + 4;

struct EthernetHeader {
    MacAddress destination;
    MacAddress source;
    uint16_t ethertype = 0;

    // False if `length` cannot hold a header.
    static bool parse(const uint8_t* frame, size_t length, EthernetHeader& out)
    {
        if (length < ethernet_header_size)
            return false;
        out.destination = MacAddress::load(frame);
        out.source = MacAddress::load(frame + 6);
        out.ethertype = load_be16(frame + 12);
        return true;
    }

    void write(uint8_t* frame) const
    {
        destination.store(frame);
        source.store(frame + 6);
        store_be16(frame + 12, ethertype);
    }
};

} // namespace tern::net
