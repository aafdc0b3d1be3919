// The driver's half of the channel to ip (lib/proto/nic.hpp), as pure
// translations between its messages and e1000::Nic's terms, so that host
// tests check them: what a tx message asks of the device, the drop counts ip
// is told about, and the link message.
#pragma once

#include <cstdint>

#include "base/result.hpp"
#include "channel/message.hpp"
#include "nic.hpp"
#include "proto/nic.hpp"
#include "statistics.hpp"

namespace e1000 {

// What a tx message with `flags` and checksum word `word` (words[0]) asks
// the device to do for a frame of `frame_length` bytes. Without
// tx_flags::checksum_offload: nothing. With it, word = start | offset << 8:
// the ones'-complement sum from `start` to the frame's end, its complement
// stored at `offset`, done by a context descriptor with only the TCP/UDP part
// (QEMU's e1000 ignores the legacy kind; the IP header checksum is ip's).
// invalid_argument (ip's request is wrong, never an assert) unless both
// fields fit their 8-bit descriptor fields, 2 bytes at each lie inside the
// frame, and the checksum field comes after `start` (inside what is summed,
// which is how its seed gets in).
Result<TxOffload> tx_offload(uint32_t flags, uint64_t word, uint32_t frame_length);

// Frames the device dropped before ip could see them, by the reasons of
// tern::nic::device_drop, as totals.
struct DeviceDrops {
    uint64_t counts[tern::nic::device_drop::count] = {};

    bool operator==(const DeviceDrops& other) const
    {
        for (unsigned i = 0; i < tern::nic::device_drop::count; ++i)
            if (counts[i] != other.counts[i])
                return false;
        return true;
    }
    bool operator!=(const DeviceDrops& other) const { return !(*this == other); }
};

// The device's and the driver's receive drop counters, summed by reason:
// missed = missed_packets; oversize = rx_oversize; undersize = rx_undersize
// + rx_fragments + rx_jabber; errors = CRC, alignment, symbol, receive and
// length errors plus the frames the driver dropped for bad descriptors.
DeviceDrops device_drops(const Statistics& stats);

tern::channel::Message device_drops_message(const DeviceDrops& drops);

// The link message: address, state, MTU, and what the driver can offload.
tern::channel::Message link_message(const MacAddress& mac, const LinkState& link, uint32_t mtu);

// Whether ip must hear of a new link state (up/down or speed changed).
inline bool link_changed(const LinkState& before, const LinkState& now)
{
    return before.up != now.up || before.speed_mbps != now.speed_mbps || before.full_duplex != now.full_duplex;
}

} // namespace e1000
