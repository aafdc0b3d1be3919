#include "ip_protocol.hpp"

namespace e1000 {

static_assert(Nic::max_segmentation_frame == tern::nic::max_segmentation_frame);

namespace {

Result<TxOffload> segmentation_offload(uint64_t word, uint32_t frame_length)
{
    // segmentation_word(): four fields; bits 24-31 and 48-63 are unused.
    constexpr uint64_t fields = 0xFFFFFFull | 0xFFFFull << 32;
    if ((word & ~fields) != 0)
        return Error::invalid_argument;
    const auto ip_start = static_cast<uint8_t>(word);
    const auto ip_header = static_cast<uint8_t>(word >> 8);
    const auto tcp_header = static_cast<uint8_t>(word >> 16);
    const auto mss = static_cast<uint16_t>(word >> 32);
    const auto valid_header = [](uint32_t length) { return length >= 20 && length <= 60 && length % 4 == 0; };
    if (!valid_header(ip_header) || !valid_header(tcp_header) || mss == 0 ||
        uint32_t{ip_start} + ip_header + tcp_header >= frame_length)
        return Error::invalid_argument;
    return TxOffload::tcp_segmentation(ip_start, ip_header, tcp_header, mss);
}

} // namespace

Result<TxOffload> tx_offload(uint32_t flags, uint64_t word, uint32_t frame_length)
{
    const bool checksum = flags & tern::nic::tx_flags::checksum_offload;
    const bool segmentation = flags & tern::nic::tx_flags::segmentation;
    if (checksum && segmentation) // two meanings for one word
        return Error::invalid_argument;
    if (segmentation)
        return segmentation_offload(word, frame_length);
    if (!checksum)
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

tern::channel::Message link_message(const MacAddress& mac, const LinkState& link, uint32_t mtu, bool tcp_segmentation)
{
    tern::channel::Message m{};
    m.type = tern::nic::link;
    m.words[0] = tern::nic::mac_word(mac);
    m.words[1] = link.up ? 1 : 0;
    m.words[2] = link.speed_mbps;
    m.words[3] = mtu;
    m.words[4] = tern::nic::capability::tx_checksum |
                 (tcp_segmentation ? tern::nic::capability::tcp_segmentation : 0);
    return m;
}

} // namespace e1000
