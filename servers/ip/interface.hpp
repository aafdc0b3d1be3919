// One network interface as the IP stack sees it: its NIC's MAC and MTU,
// its address and prefix (none until configured, statically or by DHCP)
// and its counters.
#pragma once

#include <cstddef>
#include <cstdint>

#include "counters.hpp"
#include "net/address.hpp"
#include "net/ethernet.hpp"

namespace ip {

using tern::net::Ipv4Address;
using tern::net::MacAddress;

constexpr unsigned max_interfaces = 4;

struct Interface {
    char name[8] = {}; // "eth0", ...
    MacAddress mac;
    uint16_t mtu = tern::net::ethernet_max_payload;
    bool link_up = false;
    bool tx_checksum_offload = false; // the NIC fills in transport checksums
    bool tcp_segmentation = false;    // the NIC cuts large TCP segments into frames (TSO)
    Ipv4Address address; // any(): not configured
    uint8_t prefix_length = 0;
    Counters counters;

    bool configured() const { return !address.is_any(); }
    Ipv4Address netmask() const { return {tern::net::prefix_mask(prefix_length)}; }
    Ipv4Address network() const { return {address.value & netmask().value}; }
    // The subnet's directed broadcast (none for /31 and /32).
    Ipv4Address subnet_broadcast() const
    {
        return prefix_length >= 31 ? Ipv4Address::broadcast() : Ipv4Address{address.value | ~netmask().value};
    }
};

} // namespace ip
