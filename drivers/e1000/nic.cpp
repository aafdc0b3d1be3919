#include "nic.hpp"

namespace e1000 {

namespace {

constexpr uint32_t descriptor_bytes = 16;

// Descriptors are accessed as two volatile 64-bit words: one access type
// for every descriptor format, and the status byte of a receive descriptor
// arrives in the same load as its length, errors and VLAN tag.
template <typename Descriptor>
void store_descriptor(volatile uint64_t* ring, uint32_t index, const Descriptor& descriptor)
{
    static_assert(sizeof(Descriptor) == descriptor_bytes);
    uint64_t words[2];
    __builtin_memcpy(words, &descriptor, sizeof(words));
    ring[2 * index] = words[0];
    ring[2 * index + 1] = words[1];
}

// Byte 12 of every format is its status.
uint8_t descriptor_status(const volatile uint64_t* ring, uint32_t index)
{
    return static_cast<uint8_t>(ring[2 * index + 1] >> 32);
}

bool valid_unicast(const MacAddress& mac)
{
    if (mac.bytes[0] & 1) // multicast/broadcast bit
        return false;
    for (uint8_t byte : mac.bytes)
        if (byte != 0)
            return true;
    return false;
}

// Reserved bit of the receive status byte: the device should never set it.
constexpr uint8_t rx_status_reserved = 1u << 4;

// The EEPROM words 00h-3Fh add up to BABAh (word 3Fh is chosen to make it so).
constexpr uint32_t eeprom_checksum_words = 0x40;
constexpr uint16_t eeprom_checksum = 0xBABA;

} // namespace

// ---------------------------------------------------------------- TxOffload

TxOffload TxOffload::legacy(uint8_t css, uint8_t cso)
{
    TxOffload offload;
    offload.kind = Kind::legacy;
    offload.css = css;
    offload.cso = cso;
    return offload;
}

TxOffload TxOffload::ipv4(uint8_t l3_offset, uint8_t ip_header_length, L4 l4)
{
    TxOffload offload;
    offload.kind = Kind::context;
    const uint32_t l4_offset = uint32_t{l3_offset} + ip_header_length;
    const uint32_t l4_checksum = l4_offset + (l4 == L4::tcp ? 16 : 6);
    if (ip_header_length < 20 || l4_checksum > 0xFF) {
        // Offsets that do not fit the descriptor: transmit() refuses it.
        offload.ip_checksum = true;
        offload.ipcss = 1;
        offload.ipcso = 0;
        return offload;
    }
    offload.ip_checksum = true;
    offload.ipcss = l3_offset;
    offload.ipcso = static_cast<uint8_t>(l3_offset + 10);
    offload.ipcse = static_cast<uint16_t>(l4_offset - 1);
    offload.l4 = l4;
    if (l4 != L4::none) {
        offload.tucss = static_cast<uint8_t>(l4_offset);
        offload.tucso = static_cast<uint8_t>(l4_checksum);
        offload.tucse = 0;
    }
    return offload;
}

TxOffload TxOffload::tcp_segmentation(uint8_t l3_offset, uint8_t ip_header_length, uint8_t tcp_header_length,
                                      uint16_t mss)
{
    TxOffload offload;
    offload.kind = Kind::segmentation;
    offload.ip_checksum = true;
    offload.l4 = L4::tcp;
    const uint32_t tcp_offset = uint32_t{l3_offset} + ip_header_length;
    const uint32_t header_end = tcp_offset + tcp_header_length;
    if (ip_header_length == 0 || header_end > 0xFF)
        return offload; // hdrlen 0: transmit() refuses it
    offload.ipcss = l3_offset;
    offload.ipcso = static_cast<uint8_t>(l3_offset + 10);
    offload.ipcse = static_cast<uint16_t>(tcp_offset - 1);
    offload.tucss = static_cast<uint8_t>(tcp_offset);
    offload.tucso = static_cast<uint8_t>(tcp_offset + 16);
    offload.tucse = 0;
    offload.hdrlen = static_cast<uint8_t>(header_end);
    offload.mss = mss;
    return offload;
}

bool TxOffload::same_context(const TxOffload& other) const
{
    // A segmentation context also carries PAYLEN and turns TSE on: it is
    // never reused, and never mistaken for a checksum-only one.
    if (kind != Kind::context || other.kind != Kind::context)
        return false;
    return ip_checksum == other.ip_checksum && ipcss == other.ipcss && ipcso == other.ipcso &&
           ipcse == other.ipcse && l4 == other.l4 && tucss == other.tucss && tucso == other.tucso &&
           tucse == other.tucse;
}

// ---------------------------------------------------------------- set-up

void Nic::wait()
{
    if (m_delay)
        m_delay->wait_us(m_config.poll_delay_us);
}

Result<void> Nic::reset_device()
{
    m_regs.write(reg::imc, reg::interrupt::all);
    // Empty the receive ring the device knows (RDT = RDH) before anything
    // else: QEMU's CTRL.RST resets nothing, so after a driver restart the
    // device would otherwise go on filling the dead driver's buffers.
    m_regs.write(reg::rdt, m_regs.read(reg::rdh));
    m_regs.write(reg::ctrl, m_regs.read(reg::ctrl) | reg::ctrl_bits::rst);
    // The manual asks for a short wait after setting RST before the device
    // is touched again.
    wait();
    for (uint32_t poll = 0; poll < m_config.reset_polls; ++poll) {
        if (!(m_regs.read(reg::ctrl) & reg::ctrl_bits::rst)) {
            m_regs.write(reg::imc, reg::interrupt::all);
            (void)m_regs.read(reg::icr); // drop causes left from before
            return {};
        }
        wait();
    }
    return Error::timed_out;
}

Result<uint16_t> Nic::read_eeprom(uint32_t word)
{
    const EepromAccess access = eeprom_access(m_device->family);
    if (access == EepromAccess::none)
        return Error::unsupported;
    const bool wide = access == EepromAccess::eerd_wide;
    const uint32_t shift = wide ? reg::eerd_bits::address_shift_wide : reg::eerd_bits::address_shift;
    const uint32_t done = wide ? reg::eerd_bits::done_wide : reg::eerd_bits::done;
    m_regs.write(reg::eerd, reg::eerd_bits::start | (word << shift));
    for (uint32_t poll = 0; poll < m_config.eeprom_polls; ++poll) {
        const uint32_t value = m_regs.read(reg::eerd);
        if (value & done)
            return static_cast<uint16_t>(value >> reg::eerd_bits::data_shift);
        wait();
    }
    return Error::timed_out;
}

Result<void> Nic::read_mac_address()
{
    // The device loads RAL0/RAH0 from the EEPROM at reset; trust that when
    // it is marked valid and is a unicast address.
    const uint32_t ral = m_regs.read(reg::ral0);
    const uint32_t rah = m_regs.read(reg::rah0);
    MacAddress mac = {{static_cast<uint8_t>(ral), static_cast<uint8_t>(ral >> 8), static_cast<uint8_t>(ral >> 16),
                       static_cast<uint8_t>(ral >> 24), static_cast<uint8_t>(rah), static_cast<uint8_t>(rah >> 8)}};
    if ((rah & reg::rah_bits::av) && valid_unicast(mac)) {
        m_mac = mac;
        return {};
    }
    if (eeprom_access(m_device->family) == EepromAccess::none)
        return Error::not_found;

    // Words 0-2 hold the address (low byte first); all words up to 3Fh
    // must sum to BABAh.
    uint16_t words[3] = {};
    uint16_t sum = 0;
    for (uint32_t word = 0; word < eeprom_checksum_words; ++word) {
        const uint16_t value = TRY(read_eeprom(word));
        if (word < 3)
            words[word] = value;
        sum = static_cast<uint16_t>(sum + value);
    }
    if (sum != eeprom_checksum)
        return Error::malformed;
    for (int i = 0; i < 3; ++i) {
        mac.bytes[2 * i] = static_cast<uint8_t>(words[i]);
        mac.bytes[2 * i + 1] = static_cast<uint8_t>(words[i] >> 8);
    }
    if (dual_port(m_device->family) &&
        ((m_regs.read(reg::status) & reg::status_bits::function_id_mask) >> reg::status_bits::function_id_shift) == 1)
        mac.bytes[5] ^= 1;
    if (!valid_unicast(mac))
        return Error::malformed;
    m_mac = mac;
    m_regs.write(reg::ral0, uint32_t{mac.bytes[0]} | uint32_t{mac.bytes[1]} << 8 | uint32_t{mac.bytes[2]} << 16 |
                                uint32_t{mac.bytes[3]} << 24);
    m_regs.write(reg::rah0, uint32_t{mac.bytes[4]} | uint32_t{mac.bytes[5]} << 8 | reg::rah_bits::av);
    return {};
}

static bool valid_ring(const DmaMemory& memory, uint32_t count, uint32_t max)
{
    if (count < 8 || count > max || count % 8 != 0)
        return false;
    const uint64_t bytes = uint64_t{count} * descriptor_bytes;
    return memory.virt != nullptr && reinterpret_cast<uintptr_t>(memory.virt) % 16 == 0 && memory.phys % 16 == 0 &&
           memory.size >= bytes && memory.phys + bytes > memory.phys;
}

Result<void> Nic::init(const Config& config, const DmaMemory& rx_ring, const DmaMemory& tx_ring)
{
    using namespace reg;
    const DeviceInfo* device = find_device(config.vendor_id, config.device_id);
    if (!device)
        return Error::unsupported;
    if (!valid_ring(rx_ring, config.rx_descriptors, max_descriptors) ||
        !valid_ring(tx_ring, config.tx_descriptors, max_descriptors) || config.max_tx_frame == 0)
        return Error::invalid_argument;

    m_initialized = false;
    m_started = false;
    m_quiesced = false;
    m_config = config;
    m_device = device;
    if (auto result = reset_device(); !result.ok())
        return result.error();

    // Link: let the MAC follow the PHY's speed and duplex; no forcing, no
    // resets held, no VLAN mode.
    uint32_t control = m_regs.read(ctrl);
    control |= ctrl_bits::slu | ctrl_bits::asde;
    control &= ~(ctrl_bits::lrst | ctrl_bits::phy_rst | ctrl_bits::ilos | ctrl_bits::vme | ctrl_bits::frcspd |
                 ctrl_bits::frcdplx);
    m_regs.write(ctrl, control);
    if (device->media != Media::copper)
        m_regs.write(txcw, txcw_bits::ane | txcw_bits::full_duplex);
    // No flow control (manual 14.3: zero these when it is not used).
    m_regs.write(fcal, 0);
    m_regs.write(fcah, 0);
    m_regs.write(fct, 0);
    m_regs.write(fcttv, 0);

    if (auto result = read_mac_address(); !result.ok())
        return result.error();
    for (uint32_t n = 1; n < receive_addresses; ++n) {
        m_regs.write(ral(n), 0);
        m_regs.write(rah(n), 0);
    }
    for (uint32_t n = 0; n < mta_count; ++n)
        m_regs.write(mta + 4 * n, 0);

    // Receive ring (14.4), everything but RCTL.
    m_rx_ring = static_cast<volatile uint64_t*>(rx_ring.virt);
    m_rx_count = config.rx_descriptors;
    m_rx_count_max = m_rx_count - 1; // RDH == RDT means empty, so one stays unused
    // The ring starts where the device's head is. After a real reset that
    // is 0; on QEMU after a driver restart it is wherever the old driver
    // left it, with RDT == RDH (reset_device): moving both back to 0 would
    // pass through RDH != RDT, and a frame arriving then would be written
    // into descriptors we never gave out.
    const uint32_t device_head = m_regs.read(rdh);
    const bool keep_head = device_head < m_rx_count;
    m_rx_next = m_rx_tail = keep_head ? device_head : 0;
    m_rx_posted = 0;
    m_rx_unannounced = 0;
    m_rx_discarding = false;
    for (uint32_t i = 0; i < 2 * m_rx_count; ++i)
        m_rx_ring[i] = 0;
    m_regs.write(rdbal, static_cast<uint32_t>(rx_ring.phys));
    m_regs.write(rdbah, static_cast<uint32_t>(rx_ring.phys >> 32));
    m_regs.write(rdlen, m_rx_count * descriptor_bytes);
    if (!keep_head) {
        m_regs.write(rdh, 0);
        m_regs.write(rdt, 0);
    }
    m_regs.write(rdtr, 0); // moderation is ITR's job
    if (has_itr(device->family))
        m_regs.write(radv, 0);
    m_regs.write(rxcsum, config.rx_checksum_offload ? rxcsum_bits::ipofld | rxcsum_bits::tuofld : 0);

    // Transmit ring (14.5).
    m_tx_ring = static_cast<volatile uint64_t*>(tx_ring.virt);
    m_tx_count = config.tx_descriptors;
    m_tx_count_max = m_tx_count - 1;
    m_tx_clean = m_tx_tail = m_tx_used = 0;
    m_tx_dirty = false;
    m_have_context = false;
    for (uint32_t i = 0; i < 2 * m_tx_count; ++i)
        m_tx_ring[i] = 0;
    m_regs.write(tdbal, static_cast<uint32_t>(tx_ring.phys));
    m_regs.write(tdbah, static_cast<uint32_t>(tx_ring.phys >> 32));
    m_regs.write(tdlen, m_tx_count * descriptor_bytes);
    m_regs.write(tdh, 0);
    m_regs.write(tdt, 0);
    m_regs.write(tidv, 0);
    if (has_itr(device->family))
        m_regs.write(tadv, 0);
    const uint32_t ipgt = device->media != Media::copper   ? tipg_bits::ipgt_fiber
                          : device->family == Family::i82544 ? tipg_bits::ipgt_copper_82544
                                                             : tipg_bits::ipgt_copper;
    m_regs.write(tipg, ipgt | tipg_bits::ipgr1 << tipg_bits::ipgr1_shift | tipg_bits::ipgr2 << tipg_bits::ipgr2_shift);
    // Full-duplex collision distance: links today are full duplex, and
    // a half-duplex link only loses late-collision detection range.
    m_regs.write(tctl, tctl_bits::en | tctl_bits::psp | tctl_bits::ct_recommended << tctl_bits::ct_shift |
                           tctl_bits::cold_full_duplex << tctl_bits::cold_shift);

    set_interrupt_throttle(config.interrupt_throttle);

    // Counters start from zero: what the device counted before is read
    // and dropped.
    Statistics discard;
    m_baselines = CounterBaselines{};
    accumulate_hardware_counters(m_regs, discard, m_baselines);
    m_stats = Statistics{};

    m_initialized = true;
    return {};
}

Result<void> Nic::start()
{
    using namespace reg;
    if (!m_initialized)
        return Error::invalid_argument;
    if (m_started)
        return Error::busy;
    flush();
    uint32_t control = rctl_bits::en | rctl_bits::bam | rctl_bits::bsize_2048 | rctl_bits::secrc |
                       rctl_bits::rdmts_half;
    if (m_config.promiscuous)
        control |= rctl_bits::upe | rctl_bits::mpe;
    if (m_config.all_multicast)
        control |= rctl_bits::mpe;
    if (m_regs.read(rctl) != control)
        m_regs.write(rctl, control); // the one RCTL write
    m_started = true;
    enable_interrupts();
    return {};
}

Result<void> Nic::stop()
{
    if (!m_device)
        return Error::invalid_argument;
    if (auto result = reset_device(); !result.ok())
        return result.error();
    m_initialized = false;
    m_started = false;
    m_quiesced = true;
    m_have_context = false;
    m_rx_unannounced = 0;
    m_tx_dirty = false;
    return {};
}

size_t Nic::reclaim_rx(uint64_t* cookies, size_t max)
{
    if (!m_quiesced) // the device may still own them
        return 0;
    size_t n = 0;
    while (n < max && m_rx_posted > 0) {
        cookies[n++] = m_rx_slots[m_rx_next].cookie;
        m_rx_next = next(m_rx_next, m_rx_count);
        --m_rx_posted;
    }
    return n;
}

size_t Nic::reclaim_tx(uint64_t* cookies, size_t max)
{
    if (!m_quiesced)
        return 0;
    size_t n = 0;
    while (m_tx_used > 0) {
        const TxSlot& slot = m_tx_slots[m_tx_clean];
        if (slot.has_cookie) {
            if (n == max)
                break;
            cookies[n++] = slot.cookie;
        }
        m_tx_clean = next(m_tx_clean, m_tx_count);
        --m_tx_used;
    }
    return n;
}

// ---------------------------------------------------------------- receive

void Nic::write_rx_descriptor(uint32_t index, uint64_t phys)
{
    RxDescriptor descriptor = {};
    descriptor.buffer = phys;
    store_descriptor(m_rx_ring, index, descriptor);
}

void Nic::repost(const RxSlot& slot)
{
    write_rx_descriptor(m_rx_tail, slot.phys);
    m_rx_slots[m_rx_tail] = slot;
    m_rx_tail = next(m_rx_tail, m_rx_count);
    ++m_rx_posted;
    ++m_rx_unannounced;
}

Result<void> Nic::post_rx(uint64_t phys, uint64_t cookie)
{
    // Address 0 means "no buffer" to the device (QEMU skips the descriptor
    // and completes it without EOP).
    if (!m_initialized || phys == 0)
        return Error::invalid_argument;
    if (m_rx_posted == m_rx_count_max)
        return Error::busy;
    repost({phys, cookie});
    return {};
}

size_t Nic::poll_rx(RxCompletion* out, size_t max)
{
    if (!m_initialized)
        return 0;
    size_t n = 0;
    while (n < max && m_rx_posted > 0) {
        const uint32_t index = m_rx_next;
        const uint64_t word = m_rx_ring[2 * index + 1];
        const uint8_t status = static_cast<uint8_t>(word >> 32);
        if (!(status & rx_status::dd))
            break;
        const uint16_t length = static_cast<uint16_t>(word);
        const uint8_t errors = static_cast<uint8_t>(word >> 40);
        const uint16_t special = static_cast<uint16_t>(word >> 48);
        const RxSlot slot = m_rx_slots[index];
        m_rx_next = next(m_rx_next, m_rx_count);
        --m_rx_posted;

        // We never enable frames longer than one buffer (no RCTL.LPE), so a
        // descriptor without EOP means the device misbehaved: drop every
        // piece up to and including the one with EOP.
        Counter problem = Counter::count;
        if (m_rx_discarding) {
            problem = Counter::driver_rx_split_frames;
            if (status & rx_status::eop)
                m_rx_discarding = false;
        } else if (!(status & rx_status::eop)) {
            problem = Counter::driver_rx_split_frames;
            m_rx_discarding = true;
        } else if (length == 0 || length > buffer_size) {
            problem = Counter::driver_rx_bad_length;
        } else if (errors & rx_error::frame) {
            problem = Counter::driver_rx_frame_errors;
        }
        if (problem != Counter::count) {
            m_stats.add(problem);
            repost(slot);
            continue;
        }
        if (status & rx_status_reserved)
            m_stats.add(Counter::driver_rx_unexpected_status);

        RxCompletion& completion = out[n++];
        completion.cookie = slot.cookie;
        completion.length = length;
        completion.status = status;
        completion.errors = errors;
        completion.ip_checksum = ChecksumResult::not_checked;
        completion.l4_checksum = ChecksumResult::not_checked;
        if (m_config.rx_checksum_offload && !(status & rx_status::ixsm)) {
            if (status & rx_status::ipcs)
                completion.ip_checksum = errors & rx_error::ipe ? ChecksumResult::bad : ChecksumResult::good;
            if (status & rx_status::tcpcs)
                completion.l4_checksum = errors & rx_error::tcpe ? ChecksumResult::bad : ChecksumResult::good;
        }
        completion.vlan_tag = status & rx_status::vp ? special : 0;
        m_stats.add(Counter::driver_rx_frames);
        m_stats.add(Counter::driver_rx_bytes, length);
    }
    return n;
}

// ---------------------------------------------------------------- transmit

Result<void> Nic::check_offload(const TxOffload& offload, uint32_t frame_length) const
{
    switch (offload.kind) {
    case TxOffload::Kind::none: return {};
    case TxOffload::Kind::legacy:
        if (offload.css >= frame_length || uint32_t{offload.cso} + 2 > frame_length)
            return Error::invalid_argument;
        return {};
    case TxOffload::Kind::context: break;
    case TxOffload::Kind::segmentation: return check_segmentation(offload, frame_length);
    default: return Error::invalid_argument;
    }
    if (!offload.ip_checksum && offload.l4 == TxOffload::L4::none)
        return Error::invalid_argument;
    if (offload.ip_checksum) {
        if (offload.ipcss >= offload.ipcso || uint32_t{offload.ipcso} + 2 > frame_length)
            return Error::invalid_argument;
        if (offload.ipcse != 0 && (offload.ipcse <= offload.ipcso || offload.ipcse >= frame_length))
            return Error::invalid_argument;
    }
    if (offload.l4 != TxOffload::L4::none) {
        if (offload.l4 != TxOffload::L4::tcp && offload.l4 != TxOffload::L4::udp)
            return Error::invalid_argument;
        if (offload.tucss >= offload.tucso || uint32_t{offload.tucso} + 2 > frame_length)
            return Error::invalid_argument;
        if (offload.tucse != 0 && (offload.tucse <= offload.tucso || offload.tucse >= frame_length))
            return Error::invalid_argument;
    }
    return {};
}

// The device takes a segmentation context at its word: every field must
// describe one Ethernet + IPv4 + TCP header (section 3.5), or it would cut
// garbage into frames and write lengths and checksums into the wrong bytes.
Result<void> Nic::check_segmentation(const TxOffload& offload, uint32_t frame_length) const
{
    constexpr uint32_t ethernet_header = 14;
    constexpr uint32_t min_header = 20, max_header = 60; // IPv4 and TCP alike, in steps of 4
    const auto valid_header = [](uint32_t length) {
        return length >= min_header && length <= max_header && length % 4 == 0;
    };
    if (!has_tcp_segmentation(m_device->family))
        return Error::invalid_argument;
    if (!offload.ip_checksum || offload.l4 != TxOffload::L4::tcp || offload.tucse != 0)
        return Error::invalid_argument;
    if (offload.ipcss < ethernet_header || offload.ipcse < offload.ipcss || offload.hdrlen < offload.tucss)
        return Error::invalid_argument;
    const uint32_t ip_header = uint32_t{offload.ipcse} + 1 - offload.ipcss;
    const uint32_t tcp_header = uint32_t{offload.hdrlen} - offload.tucss;
    if (!valid_header(ip_header) || !valid_header(tcp_header))
        return Error::invalid_argument;
    // The IPv4 checksum field, then TCP right after the IPv4 header with
    // its checksum field.
    if (offload.ipcso != offload.ipcss + 10u || offload.tucss != offload.ipcse + 1u ||
        offload.tucso != offload.tucss + 16u)
        return Error::invalid_argument;
    // Each frame cut off must fit Ethernet: headers + mss.
    const uint32_t segment = uint32_t{offload.hdrlen} + offload.mss;
    if (offload.mss == 0 || segment - offload.ipcss > max_segment_datagram || segment > m_config.max_tx_frame)
        return Error::invalid_argument;
    // PAYLEN > 0, and the whole thing one IPv4 datagram.
    if (frame_length <= offload.hdrlen || frame_length - offload.ipcss > 0xFFFF)
        return Error::invalid_argument;
    return {};
}

void Nic::write_context(const TxOffload& offload, uint32_t frame_length, uint32_t frame_end)
{
    const bool segmentation = offload.kind == TxOffload::Kind::segmentation;
    TxContextDescriptor descriptor = {};
    if (offload.ip_checksum) {
        descriptor.ipcss = offload.ipcss;
        descriptor.ipcso = offload.ipcso;
        descriptor.ipcse = offload.ipcse;
    }
    if (offload.l4 != TxOffload::L4::none) {
        descriptor.tucss = offload.tucss;
        descriptor.tucso = offload.tucso;
        descriptor.tucse = offload.tucse;
    }
    uint8_t command = tucmd::dext;
    if (offload.ip_checksum)
        command |= tucmd::ip;
    if (offload.l4 == TxOffload::L4::tcp)
        command |= tucmd::tcp;
    uint32_t payload = 0;
    if (segmentation) {
        command |= tucmd::tse;
        payload = frame_length - offload.hdrlen; // checked: > 0 and < 2^16, so it fits 20 bits
        descriptor.hdrlen = offload.hdrlen;
        descriptor.mss = offload.mss;
    }
    descriptor.paylen_dtyp_tucmd = payload | dtyp_context | uint32_t{command} << 24;
    store_descriptor(m_tx_ring, m_tx_tail, descriptor);
    m_tx_slots[m_tx_tail] = {0, static_cast<uint16_t>(frame_end), false, 0};
    m_tx_tail = next(m_tx_tail, m_tx_count);
    // Only a checksum-only context may serve later frames; after a
    // segmentation one the next checksum frame must write its own.
    m_have_context = !segmentation;
    m_context = offload;
    m_stats.add(Counter::driver_tx_contexts);
}

Result<void> Nic::transmit(uint64_t phys, uint16_t length, uint64_t cookie, const TxOffload& offload)
{
    const TxFragment fragment = {phys, length, cookie};
    return transmit(&fragment, 1, offload);
}

Result<void> Nic::transmit(const TxFragment* fragments, size_t count, const TxOffload& offload)
{
    if (!m_initialized || !fragments || count == 0 || count > max_fragments) {
        m_stats.add(Counter::driver_tx_rejected);
        return Error::invalid_argument;
    }
    uint32_t frame_length = 0;
    for (size_t i = 0; i < count; ++i) {
        if (fragments[i].length == 0 || fragments[i].length > max_descriptor_bytes) {
            m_stats.add(Counter::driver_tx_rejected);
            return Error::invalid_argument;
        }
        frame_length += fragments[i].length;
    }
    const bool segmentation = offload.kind == TxOffload::Kind::segmentation;
    const uint32_t max_frame = segmentation ? max_segmentation_frame : m_config.max_tx_frame;
    // The device keeps the first HDRLEN bytes as the prototype header of
    // every frame it cuts. They must lie in the first fragment (ip's chains
    // always have them there): headers split over buffers are a case
    // nothing here needs and no test covers.
    const bool header_in_first = !segmentation || fragments[0].length >= offload.hdrlen;
    if (frame_length > max_frame || !header_in_first || !check_offload(offload, frame_length).ok()) {
        m_stats.add(Counter::driver_tx_rejected);
        return Error::invalid_argument;
    }

    // Extended (context + data) descriptors for checksums and segmentation.
    const bool context = offload.kind == TxOffload::Kind::context || segmentation;
    const bool new_context = segmentation || (context && !(m_have_context && m_context.same_context(offload)));
    const uint32_t needed = static_cast<uint32_t>(count) + (new_context ? 1 : 0);
    if (needed > tx_free()) {
        m_stats.add(Counter::driver_tx_ring_full);
        return Error::busy;
    }
    const uint32_t frame_end = (m_tx_tail + needed - 1) % m_tx_count;

    if (new_context)
        write_context(offload, frame_length, frame_end);

    // IFCS (and the checksum and segmentation fields) go in every
    // descriptor of the frame; EOP and RS only in the last, so the device
    // writes back one status per frame (for segmentation: once it has sent
    // every frame cut from it).
    for (size_t i = 0; i < count; ++i) {
        const TxFragment& fragment = fragments[i];
        const bool last = i + 1 == count;
        uint8_t command = tx_command::ifcs;
        if (last)
            command |= tx_command::eop | tx_command::rs;
        if (segmentation)
            command |= tx_command::tse;
        if (context) {
            TxDataDescriptor descriptor = {};
            descriptor.buffer = fragment.phys;
            descriptor.length_dtyp_dcmd =
                fragment.length | dtyp_data | uint32_t{static_cast<uint8_t>(command | tx_command::dext)} << 24;
            if (offload.ip_checksum)
                descriptor.popts |= popts::ixsm;
            if (offload.l4 != TxOffload::L4::none)
                descriptor.popts |= popts::txsm;
            store_descriptor(m_tx_ring, m_tx_tail, descriptor);
        } else {
            TxDescriptor descriptor = {};
            descriptor.buffer = fragment.phys;
            descriptor.length = fragment.length;
            if (offload.kind == TxOffload::Kind::legacy) {
                command |= tx_command::ic;
                descriptor.css = offload.css;
                descriptor.cso = offload.cso;
            }
            descriptor.command = command;
            store_descriptor(m_tx_ring, m_tx_tail, descriptor);
        }
        m_tx_slots[m_tx_tail] = {fragment.cookie, static_cast<uint16_t>(frame_end), true, fragment.length};
        m_tx_tail = next(m_tx_tail, m_tx_count);
    }
    m_tx_used += needed;
    m_tx_dirty = true;
    return {};
}

size_t Nic::reap_tx(uint64_t* cookies, size_t max)
{
    if (!m_initialized)
        return 0;
    size_t n = 0;
    while (m_tx_used > 0) {
        const TxSlot& slot = m_tx_slots[m_tx_clean];
        // A frame is done when its last descriptor (the one with RS) is.
        const uint8_t status = descriptor_status(m_tx_ring, slot.frame_end);
        if (!(status & tx_status::dd))
            break;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (slot.has_cookie) {
            if (n == max)
                break;
            cookies[n++] = slot.cookie;
            m_stats.add(Counter::driver_tx_bytes, slot.length);
        }
        if (m_tx_clean == slot.frame_end) {
            if (status & (tx_status::ec | tx_status::lc | tx_status::tu))
                m_stats.add(Counter::driver_tx_errors);
            else
                m_stats.add(Counter::driver_tx_frames);
        }
        m_tx_clean = next(m_tx_clean, m_tx_count);
        --m_tx_used;
    }
    return n;
}

void Nic::flush()
{
    if (!m_initialized)
        return;
    // Descriptors must be in memory before the device hears of them. On x86
    // stores stay in order, so this only has to stop the compiler.
    __atomic_thread_fence(__ATOMIC_RELEASE);
    // Empty buffers go to the device rx_announce_batch at a time (as Linux's
    // e1000 does, 16): every RDT write is a register access, which QEMU
    // emulates under its big lock. At once, though, when the device is down
    // to few buffers.
    const uint32_t device_has = m_rx_posted - m_rx_unannounced;
    if (m_rx_unannounced != 0 && (m_rx_unannounced >= rx_announce_batch || device_has < rx_announce_batch)) {
        m_regs.write(reg::rdt, m_rx_tail);
        m_rx_unannounced = 0;
    }
    if (m_tx_dirty) {
        m_regs.write(reg::tdt, m_tx_tail);
        m_tx_dirty = false;
    }
}

// ---------------------------------------------------------------- interrupts, link, statistics

uint32_t Nic::read_interrupt_causes()
{
    const uint32_t causes = m_regs.read(reg::icr);
    if (causes != 0)
        m_stats.add(Counter::driver_interrupts);
    if (causes & reg::interrupt::lsc)
        m_stats.add(Counter::driver_link_changes);
    if (causes & reg::interrupt::rxo)
        m_stats.add(Counter::driver_rx_overruns);
    return causes;
}

void Nic::enable_interrupts() { m_regs.write(reg::ims, interrupt_mask); }

void Nic::disable_interrupts() { m_regs.write(reg::imc, reg::interrupt::all); }

void Nic::set_interrupt_throttle(uint32_t itr)
{
    if (m_device && has_itr(m_device->family))
        m_regs.write(reg::itr, itr > reg::itr_max ? reg::itr_max : itr);
}

LinkState Nic::link()
{
    const uint32_t status = m_regs.read(reg::status);
    if (!(status & reg::status_bits::lu))
        return {false, 0, false};
    static constexpr uint32_t speeds[] = {10, 100, 1000, 1000};
    const uint32_t speed = speeds[(status & reg::status_bits::speed_mask) >> reg::status_bits::speed_shift];
    return {true, speed, (status & reg::status_bits::fd) != 0};
}

void Nic::update_statistics() { accumulate_hardware_counters(m_regs, m_stats, m_baselines); }

} // namespace e1000
