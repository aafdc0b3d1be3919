#include "e1000_fake_device.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "descriptors.hpp"
#include "registers.hpp"

namespace e1000_test {

using namespace e1000;

namespace {

constexpr uint32_t register_space = 0x20000; // 128 KiB BAR0

bool wide_low(uint32_t offset)
{
    return offset == reg::stat::gorcl || offset == reg::stat::gotcl || offset == reg::stat::torl ||
           offset == reg::stat::totl;
}
bool wide_high(uint32_t offset) { return wide_low(offset - 4); }

uint32_t load32(const uint8_t* p)
{
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}
uint64_t load64(const uint8_t* p)
{
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}
void store16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }
uint32_t load_be(const std::vector<uint8_t>& f, size_t at, size_t bytes)
{
    uint32_t v = 0;
    for (size_t i = 0; i < bytes; ++i)
        v = v << 8 | f[at + i];
    return v;
}
void store_be(std::vector<uint8_t>& f, size_t at, size_t bytes, uint32_t v)
{
    for (size_t i = 0; i < bytes; ++i)
        f[at + i] = static_cast<uint8_t>(v >> (8 * (bytes - 1 - i)));
}
void store64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }

void store_checksum(std::vector<uint8_t>& frame, size_t start, size_t end_inclusive, size_t at)
{
    if (start >= frame.size() || at + 2 > frame.size())
        return;
    const size_t end = end_inclusive == 0 || end_inclusive >= frame.size() ? frame.size() - 1 : end_inclusive;
    const uint16_t sum = ones_complement_sum(frame.data() + start, end - start + 1);
    const uint16_t checksum = static_cast<uint16_t>(~sum);
    frame[at] = static_cast<uint8_t>(checksum >> 8);
    frame[at + 1] = static_cast<uint8_t>(checksum);
}

} // namespace

uint16_t ones_complement_sum(const uint8_t* bytes, size_t length, uint32_t seed)
{
    uint64_t sum = seed;
    for (size_t i = 0; i + 1 < length; i += 2)
        sum += uint32_t{bytes[i]} << 8 | bytes[i + 1];
    if (length & 1)
        sum += uint32_t{bytes[length - 1]} << 8;
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

FakeE1000::FakeE1000(uint16_t device_id) : m_info(find_device(intel_vendor_id, device_id))
{
    const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56}; // QEMU's default
    set_eeprom_mac(mac);
    reset();
}

void FakeE1000::set_eeprom_mac(const uint8_t mac[6])
{
    for (int i = 0; i < 3; ++i)
        m_eeprom[i] = static_cast<uint16_t>(mac[2 * i] | mac[2 * i + 1] << 8);
    uint16_t sum = 0;
    for (int i = 0; i < 0x3F; ++i)
        sum = static_cast<uint16_t>(sum + m_eeprom[i]);
    m_eeprom[0x3F] = static_cast<uint16_t>(0xBABA - sum);
}

void FakeE1000::reset()
{
    ++resets;
    m_regs.clear();
    m_counters.clear();
    m_icr = 0;
    m_ims = 0;
    m_eerd = 0;
    m_in_frame = false;
    m_frame.clear();
    if (load_ral_at_reset) {
        m_regs[reg::ral0] = uint32_t{m_eeprom[0]} | uint32_t{m_eeprom[1]} << 16;
        m_regs[reg::rah0] = m_eeprom[2] | (ral_valid_bit ? reg::rah_bits::av : 0);
    }
}

void FakeE1000::set_link(bool up, uint32_t speed_mbps, bool full_duplex)
{
    const bool changed = up != m_link_up;
    m_link_up = up;
    m_speed = speed_mbps;
    m_full_duplex = full_duplex;
    if (changed)
        raise(reg::interrupt::lsc);
}

uint32_t FakeE1000::register_value(uint32_t offset) const
{
    auto it = m_regs.find(offset);
    return it == m_regs.end() ? 0 : it->second;
}

uint32_t FakeE1000::writes_to(uint32_t offset) const
{
    uint32_t n = 0;
    for (const auto& [o, v] : writes)
        n += o == offset;
    return n;
}

void FakeE1000::set_counter(uint32_t offset, uint64_t value) { m_counters[offset] = value; }

void FakeE1000::bump(uint32_t offset, uint64_t amount) { m_counters[offset] += amount; }

uint32_t FakeE1000::read(uint32_t offset)
{
    if (offset % 4 != 0 || offset >= register_space) {
        ++bad_accesses;
        return 0;
    }
    switch (offset) {
    case reg::ctrl: {
        uint32_t value = register_value(reg::ctrl);
        if (reset_never_clears || m_rst_reads_left > 0) {
            value |= reg::ctrl_bits::rst;
            if (m_rst_reads_left > 0)
                --m_rst_reads_left;
        }
        return value;
    }
    case reg::status: {
        uint32_t value = function_id << reg::status_bits::function_id_shift;
        if (m_link_up) {
            value |= reg::status_bits::lu;
            if (m_full_duplex)
                value |= reg::status_bits::fd;
            const uint32_t speed = m_speed >= 1000 ? 2 : m_speed >= 100 ? 1 : 0;
            value |= speed << reg::status_bits::speed_shift;
        }
        return value;
    }
    case reg::eerd: return m_eerd;
    case reg::icr: {
        const uint32_t value = m_icr;
        m_icr = 0;
        return value;
    }
    case reg::ims: return m_ims;
    default: break;
    }
    if (offset >= reg::stat::first && offset <= reg::stat::last) {
        if (wide_low(offset))
            return static_cast<uint32_t>(m_counters[offset]);
        if (wide_high(offset)) {
            const uint64_t value = m_counters[offset - 4];
            m_counters[offset - 4] = 0;
            return static_cast<uint32_t>(value >> 32);
        }
        const uint64_t value = m_counters[offset];
        if (!counters_not_cleared_on_read.count(offset))
            m_counters[offset] = 0;
        return static_cast<uint32_t>(value);
    }
    return register_value(offset);
}

void FakeE1000::write(uint32_t offset, uint32_t value)
{
    if (offset % 4 != 0 || offset >= register_space) {
        ++bad_accesses;
        return;
    }
    writes.emplace_back(offset, value);
    switch (offset) {
    case reg::ctrl:
        if (value & reg::ctrl_bits::rst) {
            if (reset_does_nothing) {
                ++resets;
                m_regs[offset] = value & ~reg::ctrl_bits::rst;
                return;
            }
            reset();
            m_rst_reads_left = reset_busy_reads;
            return;
        }
        m_regs[offset] = value;
        return;
    case reg::eerd: {
        if (!(value & reg::eerd_bits::start))
            return;
        ++eerd_reads_started;
        const bool wide = eeprom_access(m_info->family) == EepromAccess::eerd_wide;
        const uint32_t address =
            wide ? (value >> reg::eerd_bits::address_shift_wide) & 0x3FFF : (value >> reg::eerd_bits::address_shift) & 0xFF;
        const uint32_t done = wide ? reg::eerd_bits::done_wide : reg::eerd_bits::done;
        const uint16_t data = address < 64 ? m_eeprom[address] : 0xFFFF;
        m_eerd = (value & ~(reg::eerd_bits::start | done)) | (eeprom_never_done ? 0 : done | uint32_t{data} << 16);
        return;
    }
    case reg::icr: m_icr &= ~value; return;
    case reg::ics: raise(value); return;
    case reg::ims: m_ims |= value; return;
    case reg::imc: m_ims &= ~value; return;
    case reg::rctl:
        ++rctl_writes;
        m_regs[offset] = value;
        return;
    case reg::tdt:
        m_regs[offset] = value;
        if (!tx_paused)
            process_tx();
        return;
    default: m_regs[offset] = value; return;
    }
}

uint64_t FakeE1000::ring_base(uint32_t low, uint32_t high) const
{
    return uint64_t{register_value(high)} << 32 | register_value(low);
}

uint32_t FakeE1000::rx_free_descriptors() const
{
    const uint32_t count = register_value(reg::rdlen) / 16;
    if (count == 0)
        return 0;
    return (register_value(reg::rdt) + count - register_value(reg::rdh)) % count;
}

bool FakeE1000::deliver(const std::vector<uint8_t>& frame, const RxOptions& options)
{
    const uint32_t rctl = register_value(reg::rctl);
    if (!(rctl & reg::rctl_bits::en))
        return false;
    const uint32_t count = register_value(reg::rdlen) / 16;
    uint32_t head = register_value(reg::rdh);
    const uint32_t tail = register_value(reg::rdt);
    if (count == 0 || head == tail || head >= count || tail >= count) {
        bump(reg::stat::rnbc);
        bump(reg::stat::mpc);
        raise(reg::interrupt::rxo);
        return false;
    }
    uint8_t* descriptor = host(ring_base(reg::rdbal, reg::rdbah)) + head * 16;
    const uint64_t buffer = load64(descriptor);
    const size_t copied = frame.size() < 2048 ? frame.size() : 2048;
    std::memcpy(host(buffer), frame.data(), copied);
    const uint16_t length = options.length_override >= 0 ? static_cast<uint16_t>(options.length_override)
                                                         : static_cast<uint16_t>(frame.size());
    store16(descriptor + 8, length);
    store16(descriptor + 10, 0);
    descriptor[12] = static_cast<uint8_t>(rx_status::dd | (options.omit_eop ? 0 : rx_status::eop) |
                                          options.extra_status);
    descriptor[13] = options.errors;
    store16(descriptor + 14, options.special);
    if (options.scribble_buffer_address)
        store64(descriptor, 0xDEAD'BEEF'0000'0000ull);
    head = (head + 1) % count;
    m_regs[reg::rdh] = head;

    bump(reg::stat::gprc);
    bump(reg::stat::tpr);
    bump(reg::stat::gorcl, frame.size() + 4);
    bump(reg::stat::torl, frame.size() + 4);
    if (frame.size() >= 6 && frame[0] == 0xFF && frame[1] == 0xFF && frame[2] == 0xFF && frame[3] == 0xFF &&
        frame[4] == 0xFF && frame[5] == 0xFF)
        bump(reg::stat::bprc);
    uint32_t causes = reg::interrupt::rxt0;
    if (rx_free_descriptors() < count / 2)
        causes |= reg::interrupt::rxdmt0;
    raise(causes);
    return true;
}

void FakeE1000::inject_rx_status(uint32_t index, uint8_t status, uint16_t length)
{
    uint8_t* descriptor = host(ring_base(reg::rdbal, reg::rdbah)) + index * 16;
    store16(descriptor + 8, length);
    descriptor[12] = status;
}

void FakeE1000::finish_frame(std::vector<uint8_t>& frame)
{
    if (m_current.legacy) {
        if (m_legacy_ic)
            store_checksum(frame, m_legacy_css, 0, m_legacy_cso);
    } else {
        // The IP header first: the TCP/UDP checksum does not cover it.
        if (m_current.popts & popts::ixsm)
            store_checksum(frame, m_context.ipcss, m_context.ipcse, m_context.ipcso);
        if (m_current.popts & popts::txsm)
            store_checksum(frame, m_context.tucss, m_context.tucse, m_context.tucso);
    }
    bump(reg::stat::gptc);
    bump(reg::stat::tpt);
    bump(reg::stat::gotcl, frame.size() + 4);
    bump(reg::stat::totl, frame.size() + 4);
}

// TCP segmentation as the manual (3.5) and QEMU describe it: the first
// HDRLEN bytes are the prototype header of every frame, followed by up to MSS
// of the PAYLEN data bytes. Per frame the IPv4 total length and
// identification, the TCP sequence number and (but for the last frame) the
// PSH and FIN flags change; the TCP checksum field's seed gets this frame's
// TCP length added before the checksums are computed like any offload.
void FakeE1000::send_segments(const std::vector<uint8_t>& whole)
{
    const Context& c = m_context;
    if (c.hdrlen == 0 || c.mss == 0 || whole.size() <= c.hdrlen || whole.size() - c.hdrlen != c.paylen) {
        ++segmentation_errors;
        return;
    }
    uint32_t index = 0;
    for (size_t at = c.hdrlen; at < whole.size(); at += c.mss, ++index) {
        const size_t data = std::min<size_t>(c.mss, whole.size() - at);
        const bool last = at + data == whole.size();
        std::vector<uint8_t> frame(whole.begin(), whole.begin() + c.hdrlen);
        frame.insert(frame.end(), whole.begin() + static_cast<ptrdiff_t>(at),
                     whole.begin() + static_cast<ptrdiff_t>(at + data));
        store_be(frame, c.ipcss + 2u, 2, static_cast<uint32_t>(frame.size() - c.ipcss));
        store_be(frame, c.ipcss + 4u, 2, load_be(whole, c.ipcss + 4u, 2) + index);
        store_be(frame, c.tucss + 4u, 4, load_be(whole, c.tucss + 4u, 4) + static_cast<uint32_t>(at - c.hdrlen));
        if (!last)
            frame[c.tucss + 13u] &= static_cast<uint8_t>(~0x09); // PSH, FIN
        if (m_current.popts & popts::txsm) {
            uint32_t seed = load_be(frame, c.tucso, 2) + static_cast<uint32_t>(frame.size() - c.tucss);
            seed = (seed & 0xFFFF) + (seed >> 16);
            store_be(frame, c.tucso, 2, seed);
        }
        finish_frame(frame);
        SentFrame sent_frame = m_current;
        sent_frame.bytes = frame;
        sent_frame.tse = true;
        sent_frame.segment = index;
        sent.push_back(sent_frame);
    }
}

void FakeE1000::process_tx()
{
    const uint32_t count = register_value(reg::tdlen) / 16;
    const uint32_t tail = register_value(reg::tdt);
    uint32_t head = register_value(reg::tdh);
    if (count == 0 || tail >= count || head >= count || !(register_value(reg::tctl) & reg::tctl_bits::en))
        return;
    uint8_t* ring = host(ring_base(reg::tdbal, reg::tdbah));
    bool any = false;
    while (head != tail) {
        uint8_t* descriptor = ring + head * 16;
        const uint8_t command = descriptor[11];
        const bool extended = command & tx_command::dext;
        const uint32_t dtyp = load32(descriptor + 8) & dtyp_mask;
        if (extended && dtyp == dtyp_context) {
            Context c = {};
            c.ipcss = descriptor[0];
            c.ipcso = descriptor[1];
            std::memcpy(&c.ipcse, descriptor + 2, 2);
            c.tucss = descriptor[4];
            c.tucso = descriptor[5];
            std::memcpy(&c.tucse, descriptor + 6, 2);
            c.tucmd = command;
            c.paylen = load32(descriptor + 8) & 0xFFFFF;
            c.hdrlen = descriptor[13];
            std::memcpy(&c.mss, descriptor + 14, 2);
            m_context = c;
            contexts.push_back(c);
        } else {
            uint64_t buffer = load64(descriptor);
            uint32_t length;
            if (extended) {
                length = load32(descriptor + 8) & 0xFFFFF;
                if (!m_in_frame) {
                    m_current = {};
                    m_current.popts = descriptor[13];
                    m_current.tse = (command & tx_command::tse) && (m_context.tucmd & tucmd::tse);
                }
            } else {
                uint16_t l;
                std::memcpy(&l, descriptor + 8, 2);
                length = l;
                if (!m_in_frame) {
                    m_current = {};
                    m_current.legacy = true;
                    m_legacy_ic = command & tx_command::ic;
                    m_legacy_cso = descriptor[10];
                    m_legacy_css = descriptor[13];
                }
            }
            if (!m_in_frame)
                m_frame.clear();
            m_in_frame = true;
            m_frame.insert(m_frame.end(), host(buffer), host(buffer) + length);
            ++m_current.descriptors;
            if (command & tx_command::eop) {
                m_current.command = command;
                if (m_current.tse) {
                    send_segments(m_frame);
                } else {
                    finish_frame(m_frame);
                    m_current.bytes = m_frame;
                    sent.push_back(m_current);
                }
                m_in_frame = false;
            }
        }
        if (command & tx_command::rs)
            descriptor[12] = static_cast<uint8_t>(tx_status::dd | tx_error_status);
        head = (head + 1) % count;
        any = true;
    }
    m_regs[reg::tdh] = head;
    if (any)
        raise(reg::interrupt::txdw);
}

} // namespace e1000_test
