#include "statistics.hpp"

#include "registers.hpp"

namespace e1000 {

namespace {

const char* const names[] = {
    "crc_errors",
    "alignment_errors",
    "symbol_errors",
    "rx_errors",
    "missed_packets",
    "single_collisions",
    "excessive_collisions",
    "multiple_collisions",
    "late_collisions",
    "collisions",
    "defers",
    "sequence_errors",
    "carrier_extension_errors",
    "rx_length_errors",
    "xon_received",
    "xon_sent",
    "xoff_received",
    "xoff_sent",
    "flow_control_unsupported",
    "good_packets_received",
    "broadcast_packets_received",
    "multicast_packets_received",
    "good_packets_sent",
    "good_octets_received",
    "good_octets_sent",
    "rx_no_buffers",
    "rx_undersize",
    "rx_fragments",
    "rx_oversize",
    "rx_jabber",
    "total_octets_received",
    "total_octets_sent",
    "total_packets_received",
    "total_packets_sent",
    "multicast_packets_sent",
    "broadcast_packets_sent",
    "driver_rx_frames",
    "driver_rx_bytes",
    "driver_rx_frame_errors",
    "driver_rx_bad_length",
    "driver_rx_split_frames",
    "driver_rx_unexpected_status",
    "driver_tx_frames",
    "driver_tx_bytes",
    "driver_tx_errors",
    "driver_tx_ring_full",
    "driver_tx_rejected",
    "driver_tx_contexts",
    "driver_interrupts",
    "driver_rx_overruns",
    "driver_link_changes",
};
static_assert(sizeof(names) / sizeof(names[0]) == counter_count, "a name for every counter");

} // namespace

const HardwareCounter hardware_counters[hardware_counter_count] = {
    {Counter::crc_errors, reg::stat::crcerrs, false},
    {Counter::alignment_errors, reg::stat::algnerrc, false},
    {Counter::symbol_errors, reg::stat::symerrs, false},
    {Counter::rx_errors, reg::stat::rxerrc, false},
    {Counter::missed_packets, reg::stat::mpc, false},
    {Counter::single_collisions, reg::stat::scc, false},
    {Counter::excessive_collisions, reg::stat::ecol, false},
    {Counter::multiple_collisions, reg::stat::mcc, false},
    {Counter::late_collisions, reg::stat::latecol, false},
    {Counter::collisions, reg::stat::colc, false},
    {Counter::defers, reg::stat::dc, false},
    {Counter::sequence_errors, reg::stat::sec, false},
    {Counter::carrier_extension_errors, reg::stat::cexterr, false},
    {Counter::rx_length_errors, reg::stat::rlec, false},
    {Counter::xon_received, reg::stat::xonrxc, false},
    {Counter::xon_sent, reg::stat::xontxc, false},
    {Counter::xoff_received, reg::stat::xoffrxc, false},
    {Counter::xoff_sent, reg::stat::xofftxc, false},
    {Counter::flow_control_unsupported, reg::stat::fcruc, false},
    {Counter::good_packets_received, reg::stat::gprc, false},
    {Counter::broadcast_packets_received, reg::stat::bprc, false},
    {Counter::multicast_packets_received, reg::stat::mprc, false},
    {Counter::good_packets_sent, reg::stat::gptc, false},
    {Counter::good_octets_received, reg::stat::gorcl, true},
    {Counter::good_octets_sent, reg::stat::gotcl, true},
    {Counter::rx_no_buffers, reg::stat::rnbc, false},
    {Counter::rx_undersize, reg::stat::ruc, false},
    {Counter::rx_fragments, reg::stat::rfc, false},
    {Counter::rx_oversize, reg::stat::roc, false},
    {Counter::rx_jabber, reg::stat::rjc, false},
    {Counter::total_octets_received, reg::stat::torl, true},
    {Counter::total_octets_sent, reg::stat::totl, true},
    {Counter::total_packets_received, reg::stat::tpr, false},
    {Counter::total_packets_sent, reg::stat::tpt, false},
    {Counter::multicast_packets_sent, reg::stat::mptc, false},
    {Counter::broadcast_packets_sent, reg::stat::bptc, false},
};

const char* counter_name(Counter counter)
{
    const size_t index = static_cast<size_t>(counter);
    return index < counter_count ? names[index] : "?";
}

namespace {

uint64_t read_counter(Registers& registers, const HardwareCounter& hc)
{
    uint64_t value = registers.read(hc.offset);
    // Low half first: reading the high half clears the pair (13.7).
    if (hc.wide)
        value |= uint64_t{registers.read(hc.offset + 4)} << 32;
    return value;
}

} // namespace

void accumulate_hardware_counters(Registers& registers, Statistics& stats, CounterBaselines& baselines)
{
    for (size_t i = 0; i < hardware_counter_count; ++i) {
        const HardwareCounter& hc = hardware_counters[i];
        const uint64_t first = read_counter(registers, hc);
        const uint64_t second = read_counter(registers, hc);
        uint64_t& last = baselines.last[i];
        if (first != 0 && second >= first) {
            // A running count: add its growth (all of it if it went back,
            // as after a real reset).
            stats.add(hc.counter, second >= last ? second - last : second);
            last = second;
        } else {
            stats.add(hc.counter, first + second);
            last = 0;
        }
    }
}

} // namespace e1000
