// ARP for IPv4 over Ethernet (RFC 826): the only combination Tern speaks, so
// a packet with other hardware or protocol types or lengths is malformed.
#pragma once

#include <cstddef>
#include <cstdint>

#include "net/address.hpp"
#include "net/byte_order.hpp"

namespace tern::net {

constexpr size_t arp_packet_size = 28;
constexpr uint16_t arp_hardware_ethernet = 1;

enum class ArpOperation : uint16_t { request = 1, reply = 2 };

enum class ArpCheck {
    ok,
    truncated,        // shorter than 28 bytes
    bad_hardware,     // hardware type not Ethernet, or hardware length not 6
    bad_protocol,     // protocol type not IPv4, or protocol length not 4
    bad_operation,    // neither request nor reply
};

struct ArpPacket {
    ArpOperation operation = ArpOperation::request;
    MacAddress sender_mac;
    Ipv4Address sender_ip;
    MacAddress target_mac;
    Ipv4Address target_ip;

    static ArpCheck parse(const uint8_t* p, size_t length, ArpPacket& out)
    {
        if (length < arp_packet_size)
            return ArpCheck::truncated;
        if (load_be16(p) != arp_hardware_ethernet || p[4] != 6)
            return ArpCheck::bad_hardware;
        if (load_be16(p + 2) != 0x0800 || p[5] != 4)
            return ArpCheck::bad_protocol;
        const uint16_t operation = load_be16(p + 6);
        if (operation != 1 && operation != 2)
            return ArpCheck::bad_operation;
        out.operation = static_cast<ArpOperation>(operation);
        out.sender_mac = MacAddress::load(p + 8);
        out.sender_ip = Ipv4Address::load(p + 14);
        out.target_mac = MacAddress::load(p + 18);
        out.target_ip = Ipv4Address::load(p + 24);
        return ArpCheck::ok;
    }

    // Writes arp_packet_size bytes.
    void write(uint8_t* p) const
    {
        store_be16(p, arp_hardware_ethernet);
        store_be16(p + 2, 0x0800);
        p[4] = 6;
        p[5] = 4;
        store_be16(p + 6, static_cast<uint16_t>(operation));
        sender_mac.store(p + 8);
        sender_ip.store(p + 14);
        target_mac.store(p + 18);
        target_ip.store(p + 24);
    }
};

} // namespace tern::net
