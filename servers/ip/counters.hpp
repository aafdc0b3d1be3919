// Per-interface statistics for `netstat -i`: packets and bytes each way, and
// every packet the stack did not take, counted under the reason why. A
// received frame is counted under at most one reason.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ip {

enum class Drop : uint8_t {
    // In the NIC, before ip saw the frame (the driver reports the device's counters)
    nic_missed,    // no receive buffer free: the driver or ip fell behind
    nic_oversize,  // longer than the largest Ethernet frame
    nic_undersize, // runts, fragments, jabber
    nic_errors,    // CRC, alignment, symbol or length errors
    // Ethernet
    runt,          // shorter than an Ethernet header
    oversize,      // longer than the largest Ethernet frame
    bad_ethertype, // neither IPv4 nor ARP (VLAN tags and IPv6 included)
    not_our_mac,   // unicast to another MAC, or multicast
    bad_source_mac,
    interface_down,
    // ARP
    arp_malformed, // short, or hardware/protocol type or length or operation wrong
    arp_bad_sender, // sender MAC is multicast, or sender IP cannot be a host's
    arp_conflict,   // somebody else claims our address
    arp_not_for_us, // a request or reply about other hosts (normal on a LAN)
    // IPv4
    ip_truncated,
    ip_bad_version,
    ip_bad_header_length,
    ip_bad_total_length,
    ip_bad_checksum,
    ip_bad_flags,
    ip_bad_options,
    ip_bad_source,   // broadcast, multicast, loopback, 0.0.0.0, or one of ours from the wire
    ip_not_for_us,   // not one of our addresses nor a broadcast
    ip_bad_fragment, // a fragment no valid datagram can have
    fragment_overlap, // overlapped an earlier fragment: the whole datagram goes
    reassembly_timeout, // a datagram whose fragments did not all arrive in time
    reassembly_full,    // a datagram evicted to make room for a newer one
    protocol_unreachable, // no server for the protocol (answered with ICMP)
    transport_busy,       // the protocol's server had no room for it
    // ICMP
    icmp_truncated,
    icmp_bad_checksum,
    icmp_ignored, // a type nobody handles, or an echo request to a broadcast
    // UDP to the DHCP client
    udp_malformed,
    dhcp_ignored, // not a reply to our transaction, or with malformed options
    // Sending
    no_route,
    too_big,        // payload beyond what a datagram can carry
    arp_queue_full, // no room for another packet waiting for ARP
    arp_unresolved, // the next hop never answered
    tx_failed,      // the NIC refused the frame
    loopback_full,
    icmp_rate_limited, // an ICMP error not sent
    count
};

constexpr size_t drop_reason_count = static_cast<size_t>(Drop::count);

// A short name for printing ("ip_bad_checksum").
const char* drop_name(Drop reason);
// Errors are input that is broken (bad lengths, checksums, versions); the
// other reasons are well-formed packets the stack had no use or no room for.
bool drop_is_error(Drop reason);

struct Counters {
    uint64_t rx_packets = 0;
    uint64_t rx_bytes = 0;
    uint64_t tx_packets = 0;
    uint64_t tx_bytes = 0;
    uint64_t drops[drop_reason_count] = {};

    void drop(Drop reason, uint64_t count = 1) { drops[static_cast<size_t>(reason)] += count; }
    uint64_t dropped(Drop reason) const { return drops[static_cast<size_t>(reason)]; }
    uint64_t total_drops() const { return errors() + policy_drops(); }
    // Sums over the reasons that are errors, and over the others.
    uint64_t errors() const;
    uint64_t policy_drops() const;
};

} // namespace ip
