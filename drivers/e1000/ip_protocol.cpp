#include "ip_protocol.hpp"

namespace e1000 {

Result<TxOffload> tx_offload(uint32_t flags, uint64_t word, uint32_t frame_length)
{
    if (!(flags & tern::nic::tx_flags::checksum_offload))
        return TxOffload{};
    // Anything above the two byte-wide fields means an offset the
    // descriptor cannot hold.
    if (word >> 16 != 0)
        return Error::invalid_argument;
    const uint32_t start = word & 0xFF;
    const uint32_t offset = (word >> 8) & 0xFF;
    if (start + 2 > frame_length || offset + 2 > frame_length || offset <= start)
        return Error::invalid_argument;
    TxOffload offload;
    offload.kind = TxOffload::Kind::context;
    // TUCMD.TCP only matters for segmentation: "udp" leaves it clear.
    offload.l4 = TxOffload::L4::udp;
    offload.tucss = static_cast<uint8_t>(start);
    offload.tucso = static_cast<uint8_t>(offset);
    offload.tucse = 0; // to the end of the frame
    return offload;
}

DeviceDrops device_drops(const Statistics& s)
{
    namespace drop = tern::nic::device_drop;
    DeviceDrops drops;
    drops.counts[drop::missed] = s[Counter::missed_packets];
    drops.counts[drop::oversize] = s[Counter::rx_oversize];
    drops.counts[drop::undersize] = s[Counter::rx_undersize] + s[Counter::rx_fragments] + s[Counter::rx_jabber];
    drops.counts[drop::errors] = s[Counter::crc_errors] + s[Counter::alignment_errors] + s[Counter::symbol_errors] +
                                 s[Counter::rx_errors] + s[Counter::rx_length_errors] +
                                 s[Counter::driver_rx_frame_errors] + s[Counter::driver_rx_bad_length] +
                                 s[Counter::driver_rx_split_frames];
    return drops;
}

tern::channel::Message device_drops_message(const DeviceDrops& drops)
{
    tern::channel::Message m{};
    m.type = tern::nic::device_drops;
    for (unsigned i = 0; i < tern::nic::device_drop::count; ++i)
        m.words[i] = drops.counts[i];
    return m;
}

tern::channel::Message link_message(const MacAddress& mac, const LinkState& link, uint32_t mtu)
{
    tern::channel::Message m{};
    m.type = tern::nic::link;
    m.words[0] = tern::nic::mac_word(mac);
    m.words[1] = link.up ? 1 : 0;
    m.words[2] = link.speed_mbps;
    m.words[3] = mtu;
    m.words[4] = tern::nic::capability::tx_checksum;
    return m;
}

} // namespace e1000
