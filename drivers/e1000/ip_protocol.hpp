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
//
// With tx_flags::segmentation instead, word = segmentation_word(IPv4 start,
// IPv4 header length, TCP header length, mss) and `frame_length` is the
// whole chain's: a TxOffload::tcp_segmentation. invalid_argument if both
// flags are set, a bit outside the four fields is, a header length is not
// 20..60 in steps of 4, mss is 0, or the headers do not leave data in the
// frame. (Nic::transmit checks the rest: the lengths against Ethernet's.)
Result<TxOffload> tx_offload(uint32_t flags, uint64_t word, uint32_t frame_length);

// How the tx messages from a frame's first one on make up that frame
// (proto/nic.hpp: a chain is consecutive tx messages, all but the last
// flagged tx_flags::more). `read(i)` copies the i-th message from the
// first; `available` of them are there to read. The buffers of the `count`
// messages that belong to the frame go to refs[0..count), at most `max`.
struct Chain {
    enum class Status : uint8_t {
        complete,   // `count` messages, the last without tx_flags::more
        unfinished, // all `available` read, the last still flagged more
        too_long,   // `max` messages, the last still flagged more
        broken,     // message `count` is no tx message: the chain ends without its last buffer
    };
    Status status;
    uint32_t count;
};

template <typename Read>
Chain scan_chain(Read&& read, uint32_t available, uint32_t max, tern::channel::BufferRef* refs)
{
    uint32_t count = 0;
    for (tern::channel::Message m = read(0);;) {
        refs[count++] = m.buffer;
        if (!(m.flags & tern::nic::tx_flags::more))
            return {Chain::Status::complete, count};
        if (count == max)
            return {Chain::Status::too_long, count};
        if (count == available)
            return {Chain::Status::unfinished, count};
        m = read(count);
        if (m.type != tern::nic::tx)
            return {Chain::Status::broken, count};
    }
}

// Whether a complete chain of `count` messages, the first with `flags`, may
// be sent: a frame of several buffers only for segmentation.
inline bool chain_allowed(uint32_t flags, uint32_t count)
{
    return count == 1 || (flags & tern::nic::tx_flags::segmentation) != 0;
}

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

// The link message: address, state, MTU, and what the driver can offload:
// checksums always, TCP segmentation if the device can (has_tcp_segmentation).
tern::channel::Message link_message(const MacAddress& mac, const LinkState& link, uint32_t mtu, bool tcp_segmentation);

// Whether ip must hear of a new link state (up/down or speed changed).
inline bool link_changed(const LinkState& before, const LinkState& now)
{
    return before.up != now.up || before.speed_mbps != now.speed_mbps || before.full_duplex != now.full_duplex;
}

} // namespace e1000
