#include "counters.hpp"

namespace ip {

const char* drop_name(Drop reason)
{
    switch (reason) {
    case Drop::nic_missed: return "nic_missed";
    case Drop::nic_oversize: return "nic_oversize";
    case Drop::nic_undersize: return "nic_undersize";
    case Drop::nic_errors: return "nic_errors";
    case Drop::runt: return "runt";
    case Drop::oversize: return "oversize";
    case Drop::bad_ethertype: return "bad_ethertype";
    case Drop::not_our_mac: return "not_our_mac";
    case Drop::bad_source_mac: return "bad_source_mac";
    case Drop::interface_down: return "interface_down";
    case Drop::arp_malformed: return "arp_malformed";
    case Drop::arp_bad_sender: return "arp_bad_sender";
    case Drop::arp_conflict: return "arp_conflict";
    case Drop::arp_not_for_us: return "arp_not_for_us";
    case Drop::ip_truncated: return "ip_truncated";
    case Drop::ip_bad_version: return "ip_bad_version";
    case Drop::ip_bad_header_length: return "ip_bad_header_length";
    case Drop::ip_bad_total_length: return "ip_bad_total_length";
    case Drop::ip_bad_checksum: return "ip_bad_checksum";
    case Drop::ip_bad_flags: return "ip_bad_flags";
    case Drop::ip_bad_options: return "ip_bad_options";
    case Drop::ip_bad_source: return "ip_bad_source";
    case Drop::ip_not_for_us: return "ip_not_for_us";
    case Drop::ip_bad_fragment: return "ip_bad_fragment";
    case Drop::fragment_overlap: return "fragment_overlap";
    case Drop::reassembly_timeout: return "reassembly_timeout";
    case Drop::reassembly_full: return "reassembly_full";
    case Drop::protocol_unreachable: return "protocol_unreachable";
    case Drop::transport_busy: return "transport_busy";
    case Drop::icmp_truncated: return "icmp_truncated";
    case Drop::icmp_bad_checksum: return "icmp_bad_checksum";
    case Drop::icmp_ignored: return "icmp_ignored";
    case Drop::udp_malformed: return "udp_malformed";
    case Drop::dhcp_ignored: return "dhcp_ignored";
    case Drop::no_route: return "no_route";
    case Drop::too_big: return "too_big";
    case Drop::arp_queue_full: return "arp_queue_full";
    case Drop::arp_unresolved: return "arp_unresolved";
    case Drop::tx_failed: return "tx_failed";
    case Drop::loopback_full: return "loopback_full";
    case Drop::icmp_rate_limited: return "icmp_rate_limited";
    case Drop::count: break;
    }
    return "unknown";
}

bool drop_is_error(Drop reason)
{
    switch (reason) {
    case Drop::nic_oversize:
    case Drop::nic_undersize:
    case Drop::nic_errors:
    case Drop::runt:
    case Drop::oversize:
    case Drop::bad_source_mac:
    case Drop::arp_malformed:
    case Drop::arp_bad_sender:
    case Drop::ip_truncated:
    case Drop::ip_bad_version:
    case Drop::ip_bad_header_length:
    case Drop::ip_bad_total_length:
    case Drop::ip_bad_checksum:
    case Drop::ip_bad_flags:
    case Drop::ip_bad_options:
    case Drop::ip_bad_source:
    case Drop::ip_bad_fragment:
    case Drop::fragment_overlap:
    case Drop::icmp_truncated:
    case Drop::icmp_bad_checksum:
    case Drop::udp_malformed:
    case Drop::tx_failed: return true;
    default: return false;
    }
}

uint64_t Counters::errors() const
{
    uint64_t sum = 0;
    for (size_t i = 0; i < drop_reason_count; ++i) {
        if (drop_is_error(static_cast<Drop>(i)))
            sum += drops[i];
    }
    return sum;
}

uint64_t Counters::policy_drops() const
{
    uint64_t sum = 0;
    for (size_t i = 0; i < drop_reason_count; ++i) {
        if (!drop_is_error(static_cast<Drop>(i)))
            sum += drops[i];
    }
    return sum;
}

} // namespace ip
