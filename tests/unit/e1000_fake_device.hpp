// A fake 8254x for host tests of drivers/e1000: a register file behind the
// Registers interface that behaves like the parts of the real device the
// driver uses — global reset, EERD reads of an EEPROM image, RAL/RAH,
// interrupt cause/mask registers, clear-on-read statistics, STATUS link bits,
// and the descriptor rings. In tests physical addresses are host addresses,
// so the fake reads and writes ring memory and packet buffers directly.
//
// The "wire": deliver() receives a frame into the next free receive
// descriptor the way the device would (copy, length, DD/EOP, RDH, ICR);
// a TDT write makes the fake consume transmit descriptors into `sent`,
// applying checksum offload and TCP segmentation and writing DD back. Faults can be injected:
// bad lengths, missing EOP, extra status/error bits, an EEPROM or a reset
// that never finishes, link changes, paused transmission, transmit errors.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "device_ids.hpp"
#include "hardware.hpp"

namespace e1000_test {

// How FakeE1000::deliver() writes a receive descriptor back.
struct FakeRxOptions {
    uint8_t extra_status = 0;     // ORed into the written-back status
    uint8_t errors = 0;           // the error byte
    bool omit_eop = false;        // write the descriptor without EOP
    int32_t length_override = -1; // >= 0: write this length instead of the real one
    uint16_t special = 0;
    bool scribble_buffer_address = false; // overwrite the descriptor's address word too
};

class FakeE1000 : public e1000::Registers {
public:
    explicit FakeE1000(uint16_t device_id = 0x100E);

    uint32_t read(uint32_t offset) override;
    void write(uint32_t offset, uint32_t value) override;

    // --- EEPROM and address ---
    // 64 words: the address in words 0-2, checksum word 3Fh fixed up.
    void set_eeprom_mac(const uint8_t mac[6]);
    void corrupt_eeprom_checksum() { m_eeprom[0x10] ^= 0x1234; }
    bool load_ral_at_reset = true;  // false: RAL0/RAH0 read 0 after reset, as with a blank auto-load
    bool ral_valid_bit = true;      // false: the address is loaded without RAH.AV
    bool eeprom_never_done = false; // EERD never reports DONE
    uint32_t reset_busy_reads = 2;  // CTRL.RST reads back set this many times after a reset
    bool reset_never_clears = false;
    // QEMU's e1000: CTRL.RST only clears itself, every register keeps its
    // value, and some counters do not clear when read.
    bool reset_does_nothing = false;
    std::set<uint32_t> counters_not_cleared_on_read;
    uint32_t function_id = 0; // STATUS.FUNC_ID (dual-port parts)

    // --- Link ---
    // Changes STATUS and raises ICR.LSC (when the link state changes).
    void set_link(bool up, uint32_t speed_mbps = 1000, bool full_duplex = true);

    // --- Receive (the wire) ---
    using RxOptions = FakeRxOptions;
    // Stores a frame in the next descriptor the driver gave us. Returns false
    // (and counts MPC/RNBC, raises RXO) when there is none or the receiver is
    // off.
    bool deliver(const std::vector<uint8_t>& frame, const RxOptions& options = {});
    uint32_t rx_free_descriptors() const;
    // Sets DD on an arbitrary descriptor, as a broken device might.
    void inject_rx_status(uint32_t index, uint8_t status, uint16_t length);

    // --- Transmit ---
    struct SentFrame {
        std::vector<uint8_t> bytes;
        uint32_t descriptors = 0; // data descriptors used
        bool legacy = false;      // legacy descriptors (else extended data)
        uint8_t command = 0;      // CMD/DCMD of the last descriptor
        uint8_t popts = 0;        // extended data: POPTS of the first descriptor
        bool tse = false;         // cut from a TCP segmentation frame (DCMD.TSE and a TSE context)
        uint32_t segment = 0;     // ... as its segment-th frame
    };
    std::vector<SentFrame> sent;
    struct Context {
        uint8_t ipcss, ipcso;
        uint16_t ipcse;
        uint8_t tucss, tucso;
        uint16_t tucse;
        uint8_t tucmd;
        uint32_t paylen; // TSE contexts: PAYLEN, HDRLEN, MSS
        uint8_t hdrlen;
        uint16_t mss;
    };
    std::vector<Context> contexts; // every context descriptor consumed
    uint32_t segmentation_errors = 0; // TSE frames whose context did not fit them (nothing sent)
    bool tx_paused = false;        // TDT writes are remembered but not acted on
    uint8_t tx_error_status = 0;   // ORed into the DD write-back (EC, LC)
    void process_tx();             // consume descriptors up to TDT now

    // --- Statistics and observation ---
    void set_counter(uint32_t offset, uint64_t value); // wide counters: the low register's offset
    uint32_t register_value(uint32_t offset) const;     // without side effects
    uint32_t rctl_writes = 0;
    uint32_t resets = 0;
    uint32_t eerd_reads_started = 0;
    std::vector<std::pair<uint32_t, uint32_t>> writes; // every register write, in order
    uint32_t writes_to(uint32_t offset) const;
    uint32_t bad_accesses = 0; // unaligned or outside the register space
    bool interrupt_asserted() const { return (m_icr & m_ims) != 0; }
    uint32_t ims() const { return m_ims; }

private:
    void reset();
    uint8_t* host(uint64_t phys) const { return reinterpret_cast<uint8_t*>(static_cast<uintptr_t>(phys)); }
    uint64_t ring_base(uint32_t low, uint32_t high) const;
    void finish_frame(std::vector<uint8_t>& frame);
    void send_segments(const std::vector<uint8_t>& frame);
    void raise(uint32_t causes) { m_icr |= causes; }
    void bump(uint32_t offset, uint64_t amount = 1);

    const e1000::DeviceInfo* m_info;
    std::map<uint32_t, uint32_t> m_regs;
    std::map<uint32_t, uint64_t> m_counters;
    uint16_t m_eeprom[64] = {};
    uint32_t m_icr = 0;
    uint32_t m_ims = 0;
    uint32_t m_rst_reads_left = 0;
    uint32_t m_eerd = 0;
    bool m_link_up = true;
    uint32_t m_speed = 1000;
    bool m_full_duplex = true;
    // Transmit state between descriptors of one frame.
    std::vector<uint8_t> m_frame;
    SentFrame m_current;
    bool m_in_frame = false;
    Context m_context = {};
    uint8_t m_legacy_css = 0, m_legacy_cso = 0;
    bool m_legacy_ic = false;
};

// Counts the waits the driver asks for, so tests can see they are bounded.
class CountingDelay : public e1000::Delay {
public:
    void wait_us(uint32_t microseconds) override
    {
        ++calls;
        total_us += microseconds;
    }
    uint64_t calls = 0;
    uint64_t total_us = 0;
};

// Internet checksum helpers for building and checking frames.
uint16_t ones_complement_sum(const uint8_t* bytes, size_t length, uint32_t seed = 0);

} // namespace e1000_test
