// Counters of one e1000: the device's clear-on-read statistics registers
// (accumulated into 64-bit totals, so reading them never loses counts) and
// the driver's own counts of what it saw and refused. Each has a name for
// printing ("e1000 stats" in the shell, logs).
#pragma once

#include <cstddef>
#include <cstdint>

#include "hardware.hpp"

namespace e1000 {

enum class Counter : uint8_t {
    // From the device's statistics registers (manual 13.7).
    crc_errors,
    alignment_errors,
    symbol_errors,
    rx_errors,
    missed_packets, // frames dropped because the receive FIFO was full
    single_collisions,
    excessive_collisions,
    multiple_collisions,
    late_collisions,
    collisions,
    defers,
    sequence_errors,
    carrier_extension_errors,
    rx_length_errors,
    xon_received,
    xon_sent,
    xoff_received,
    xoff_sent,
    flow_control_unsupported,
    good_packets_received,
    broadcast_packets_received,
    multicast_packets_received,
    good_packets_sent,
    good_octets_received,
    good_octets_sent,
    rx_no_buffers, // a frame arrived with no free descriptor (driver too slow to post)
    rx_undersize,
    rx_fragments,
    rx_oversize,
    rx_jabber,
    total_octets_received,
    total_octets_sent,
    total_packets_received,
    total_packets_sent,
    multicast_packets_sent,
    broadcast_packets_sent,

    // The driver's own counts.
    driver_rx_frames,        // handed to the caller
    driver_rx_bytes,
    driver_rx_frame_errors,  // descriptor reported CRC/symbol/sequence/data errors: dropped
    driver_rx_bad_length,    // length 0 or over the buffer size: dropped
    driver_rx_split_frames,  // descriptors of a frame spread over several buffers: dropped
    driver_rx_unexpected_status, // reserved status bits set (frame still delivered)
    driver_tx_frames,
    driver_tx_bytes,
    driver_tx_errors,       // excess/late collisions or underrun reported on a frame
    driver_tx_ring_full,    // transmit refused for lack of descriptors
    driver_tx_rejected,     // transmit refused for bad arguments
    driver_tx_contexts,     // context descriptors written (checksum or segmentation)
    driver_interrupts,      // ICR reads with at least one cause
    driver_rx_overruns,     // ICR.RXO seen
    driver_link_changes,    // ICR.LSC seen

    count
};

constexpr size_t counter_count = static_cast<size_t>(Counter::count);
constexpr size_t hardware_counter_count = static_cast<size_t>(Counter::driver_rx_frames);

const char* counter_name(Counter counter);

struct Statistics {
    uint64_t values[counter_count] = {};

    uint64_t operator[](Counter counter) const { return values[static_cast<size_t>(counter)]; }
    uint64_t& operator[](Counter counter) { return values[static_cast<size_t>(counter)]; }
    void add(Counter counter, uint64_t amount = 1) { values[static_cast<size_t>(counter)] += amount; }
};

// Where each hardware counter lives. A `wide` counter is a low/high register
// pair at `offset` and `offset + 4`.
struct HardwareCounter {
    Counter counter;
    uint32_t offset;
    bool wide;
};
extern const HardwareCounter hardware_counters[hardware_counter_count];

// The manual's counters clear when read; QEMU's e1000 clears only some of
// them (GPRC, GPTC, the octet pairs, ...) and lets the others (CRCERRS to
// MPC, RNBC, the collision counts, ...) run on. So each counter is read
// twice in a row: a second value at least as large as a non-zero first one
// means the register kept its count (a real device cannot count that many
// events between two back-to-back reads), and only the growth since the
// last update is added. `last` remembers that value per counter.
struct CounterBaselines {
    uint64_t last[hardware_counter_count] = {};
};

// Reads every hardware counter and adds what it counted since the last call
// to `stats`.
void accumulate_hardware_counters(Registers& registers, Statistics& stats, CounterBaselines& baselines);

} // namespace e1000
