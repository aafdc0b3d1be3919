// The logic of the e1000 driver: bringing an 8254x up, its receive and
// transmit descriptor rings, interrupts, link state and statistics. No
// system calls: the device is reached through Registers, ring memory comes as
// DmaMemory, and packet buffers are named by (physical address, cookie)
// pairs. The buffers themselves belong to the caller (they live in the
// shared packet-buffer pools, so frames go to and from ip without a copy);
// the Nic only records, in its private memory, which cookie sits in which
// descriptor and hands it back when the device is done with it.
//
// The device is trusted less than fully: a completed descriptor is checked
// (end-of-packet, length within the buffer, error bits) and anything wrong is
// counted and its buffer reposted, never passed on; buffer addresses and
// cookies are always taken from the Nic's own records, never read back from
// DMA memory the device could have scribbled on.
//
// Transmit offloads: checksums through a context descriptor, and TCP
// segmentation (TSO): a frame of up to 64 KiB in many fragments that the
// device cuts into Ethernet-sized TCP frames (TxOffload below).
//
// Typical use by the driver process:
//   init() -> post_rx() x N -> flush() -> start()
//   loop: on an interrupt read_interrupt_causes(); poll_rx(); reap_tx();
//         post_rx() for each buffer received; transmit() what ip sent;
//         flush(); then unmask the IRQ line.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/result.hpp"
#include "net/address.hpp"
#include "descriptors.hpp"
#include "device_ids.hpp"
#include "hardware.hpp"
#include "registers.hpp"
#include "statistics.hpp"

namespace e1000 {

using tern::Error;
using tern::Result;

using MacAddress = tern::net::MacAddress;

struct Config {
    uint16_t vendor_id = intel_vendor_id;
    uint16_t device_id = 0x100E; // from PCI configuration space
    // Ring sizes: multiples of 8 (RDLEN/TDLEN must be multiples of 128
    // bytes), from 8 to Nic::max_descriptors.
    uint32_t rx_descriptors = 256;
    uint32_t tx_descriptors = 256;
    // Longest frame transmit() accepts, without the CRC the device appends
    // (1514, plus 4 for an 802.1Q tag).
    uint32_t max_tx_frame = 1518;
    bool rx_checksum_offload = true; // report IPv4/TCP/UDP checksum results in RxCompletion
    bool promiscuous = false;        // every unicast and multicast frame
    bool all_multicast = false;
    uint32_t interrupt_throttle = 0; // initial ITR (256 ns units; 0: none)
    // Bounded waits: CTRL.RST and EERD.DONE are polled at most this many
    // times, `poll_delay_us` apart (through Delay, if one was given).
    uint32_t reset_polls = 1000;
    uint32_t eeprom_polls = 1000;
    uint32_t poll_delay_us = 10;
};

struct LinkState {
    bool up;
    uint32_t speed_mbps; // 10, 100 or 1000; 0 when down
    bool full_duplex;
};

// What the device says of a received frame's checksums. QEMU's e1000 never
// checks them (it sets IXSM): the receiver must then verify them itself.
enum class ChecksumResult : uint8_t { not_checked, good, bad };

struct RxCompletion {
    uint64_t cookie;
    uint16_t length; // bytes in the buffer, Ethernet header on, CRC stripped
    uint8_t status;  // the descriptor's status byte (rx_status bits)
    uint8_t errors;  // the descriptor's error byte (only checksum errors get here)
    ChecksumResult ip_checksum;
    ChecksumResult l4_checksum; // TCP or UDP
    uint16_t vlan_tag;          // when status & rx_status::vp
};

// One piece of a frame to send: `length` bytes at `phys`. The cookie comes
// back from reap_tx() once the device has sent the whole frame.
struct TxFragment {
    uint64_t phys;
    uint16_t length;
    uint64_t cookie;
};

// Checksums the device should compute and insert while sending. Prefer
// ipv4() (a context descriptor): QEMU's e1000 implements only that and
// silently ignores the legacy kind. Or TCP segmentation (TSO,
// tcp_segmentation()): one large IPv4 + TCP frame that the device cuts into
// frames of at most `mss` data bytes, each with its own headers and checksums.
struct TxOffload {
    enum class Kind : uint8_t { none, legacy, context, segmentation };
    enum class L4 : uint8_t { none, tcp, udp };

    Kind kind = Kind::none;
    // legacy (CMD.IC): the ones'-complement sum of the bytes from `css` to
    // the end of the frame, stored at `cso`.
    uint8_t css = 0;
    uint8_t cso = 0;
    // context descriptor: the IPv4 header checksum over [ipcss, ipcse]
    // stored at ipcso, and/or the TCP/UDP checksum over [tucss, tucse]
    // (tucse 0: to the end) stored at tucso. For TCP/UDP the checksum field
    // must already hold the pseudo-header sum, as for any ones'-complement
    // offload; the device adds the rest.
    bool ip_checksum = false;
    uint8_t ipcss = 0;
    uint8_t ipcso = 0;
    uint16_t ipcse = 0;
    L4 l4 = L4::none;
    uint8_t tucss = 0;
    uint8_t tucso = 0;
    uint16_t tucse = 0;
    // segmentation: the context fields above (IPv4 and TCP, both checksums)
    // plus the bytes of headers repeated in every frame (HDRLEN: Ethernet +
    // IPv4 + TCP) and the data bytes per frame (MSS). The device sums each
    // frame's TCP checksum itself, adding that frame's length to what the
    // field holds: ip seeds it with the pseudo-header sum *without* the
    // length, and leaves the IPv4 checksum field 0. PAYLEN (the data bytes
    // to cut up) is the frame's length minus hdrlen: transmit() works it out.
    uint8_t hdrlen = 0;
    uint16_t mss = 0;

    static TxOffload legacy(uint8_t css, uint8_t cso);
    // An IPv4 packet at `l3_offset` (14 for plain Ethernet) whose header is
    // `ip_header_length` bytes: its header checksum, and TCP's or UDP's.
    static TxOffload ipv4(uint8_t l3_offset, uint8_t ip_header_length, L4 l4);
    // An IPv4 + TCP segment at `l3_offset` to cut into frames of `mss` data
    // bytes. Lengths transmit() cannot accept make an offload it refuses.
    static TxOffload tcp_segmentation(uint8_t l3_offset, uint8_t ip_header_length, uint8_t tcp_header_length,
                                      uint16_t mss);

    // Whether a context descriptor written for `other` also serves this
    // (only ever true for two checksum-only contexts).
    bool same_context(const TxOffload& other) const;
};

class Nic {
public:
    static constexpr uint32_t buffer_size = 2048; // RCTL.BSIZE: Tern's pool buffers
    static constexpr uint32_t max_descriptors = 1024;
    // Empty receive buffers handed to the device per RDT write (flush()).
    static constexpr uint32_t rx_announce_batch = 16;
    // Per transmitted frame: a 64 KiB segmentation frame in 2 KiB pool
    // buffers takes 33.
    static constexpr uint32_t max_fragments = 48;
    static constexpr uint32_t max_descriptor_bytes = 16288; // manual 3.3.3
    // Segmentation: the longest frame (Ethernet header + the largest IPv4
    // datagram), and the longest IPv4 datagram of each frame cut from it
    // (Ethernet's MTU).
    static constexpr uint32_t max_segmentation_frame = 14 + 65535;
    static constexpr uint32_t max_segment_datagram = 1500;
    // What start() enables: frames received, receive ring running low,
    // receiver overrun, link change, transmit descriptors written back.
    static constexpr uint32_t interrupt_mask = reg::interrupt::rxt0 | reg::interrupt::rxdmt0 | reg::interrupt::rxo |
                                               reg::interrupt::lsc | reg::interrupt::txdw;

    explicit Nic(Registers& registers, Delay* delay = nullptr) : m_regs(registers), m_delay(delay) {}
    Nic(const Nic&) = delete;
    Nic& operator=(const Nic&) = delete;

    // Resets the device and programs everything except the receiver enable
    // and the interrupt mask: MAC address (RAL0/RAH0 if the hardware loaded
    // a valid one, else the EEPROM), multicast table, both rings, transmit
    // control, ITR. Errors: unsupported (unknown device), invalid_argument
    // (ring sizes or memory), timed_out (reset or EEPROM never finished),
    // malformed (EEPROM checksum or address invalid), not_found (no address
    // and no way to read the EEPROM). Any buffers still posted from an
    // earlier init are forgotten: reclaim them first (stop + reclaim_*).
    Result<void> init(const Config& config, const DmaMemory& rx_ring, const DmaMemory& tx_ring);

    // Turns the receiver on and unmasks interrupts. RCTL is written here and
    // nowhere else, at most once per init(): QEMU's e1000 stops receiving for
    // a second after each RCTL write. It is not written at all when it
    // already holds the value (a restarted driver on QEMU, whose CTRL.RST
    // resets nothing). Posted receive buffers are flushed first. Errors:
    // invalid_argument (not initialised), busy (started).
    Result<void> start();

    // Masks interrupts and resets the device, which stops all DMA. The
    // buffers it held can then be taken back with reclaim_rx/reclaim_tx.
    Result<void> stop();

    const MacAddress& mac() const { return m_mac; }
    const DeviceInfo* device() const { return m_device; }
    bool started() const { return m_started; }

    // --- Receive ---
    // Gives the device an empty buffer of buffer_size bytes. Error: busy
    // (ring full: rx_free() == 0), invalid_argument (not initialised, or
    // address 0).
    Result<void> post_rx(uint64_t phys, uint64_t cookie);
    uint32_t rx_free() const { return m_initialized ? m_rx_count_max - m_rx_posted : 0; }
    uint32_t rx_posted() const { return m_rx_posted; }
    // Takes up to `max` received frames off the ring, oldest first. Their
    // descriptors become free for post_rx. Frames the device got wrong are
    // counted and their buffers reposted on the spot (call flush()).
    size_t poll_rx(RxCompletion* out, size_t max);

    // --- Transmit ---
    // Queues one frame made of `count` fragments. Errors: busy (not enough
    // free descriptors for the whole frame and its context: try again after
    // reap_tx), invalid_argument (no or too many fragments, a length of 0 or
    // over the limits, offsets outside the frame, segmentation lengths that
    // do not add up, not initialised). Nothing is queued on error. Frames
    // are at most Config::max_tx_frame bytes, segmentation frames
    // max_segmentation_frame.
    Result<void> transmit(const TxFragment* fragments, size_t count, const TxOffload& offload = {});
    Result<void> transmit(uint64_t phys, uint16_t length, uint64_t cookie, const TxOffload& offload = {});
    uint32_t tx_free() const { return m_initialized ? m_tx_count_max - m_tx_used : 0; }
    uint32_t tx_in_flight() const { return m_tx_used; }
    // Cookies of fragments whose frame the device has finished, oldest
    // first, up to `max`.
    size_t reap_tx(uint64_t* cookies, size_t max);

    // Tells the device about posted buffers and queued frames (one RDT
    // and/or TDT write, only if something changed).
    void flush();

    // After stop(): every cookie the rings still hold, up to `max` per call
    // (call until it returns 0).
    size_t reclaim_rx(uint64_t* cookies, size_t max);
    size_t reclaim_tx(uint64_t* cookies, size_t max);

    // --- Interrupts ---
    // Reads ICR, which clears the causes and lowers the device's interrupt
    // line: call it on every interrupt before unmasking the line again.
    // Notes link changes and overruns. Returns the cause bits (reg::interrupt).
    uint32_t read_interrupt_causes();
    void enable_interrupts();  // IMS = interrupt_mask
    void disable_interrupts(); // IMC = all (for polling)
    // ITR in 256 ns units (0: off). Ignored by the 82544, which has no ITR.
    void set_interrupt_throttle(uint32_t itr);

    // --- Link and statistics ---
    LinkState link(); // reads STATUS; never waits
    // Adds the clear-on-read hardware counters to statistics().
    void update_statistics();
    const Statistics& statistics() const { return m_stats; }

private:
    struct RxSlot {
        uint64_t phys;
        uint64_t cookie;
    };
    struct TxSlot {
        uint64_t cookie;
        uint16_t frame_end; // index of the frame's last descriptor (EOP, RS)
        bool has_cookie;    // false for context descriptors
        uint16_t length;
    };

    Result<void> reset_device();
    Result<void> read_mac_address();
    Result<uint16_t> read_eeprom(uint32_t word);
    void wait();
    void write_rx_descriptor(uint32_t index, uint64_t phys);
    void repost(const RxSlot& slot);
    Result<void> check_offload(const TxOffload& offload, uint32_t frame_length) const;
    Result<void> check_segmentation(const TxOffload& offload, uint32_t frame_length) const;
    void write_context(const TxOffload& offload, uint32_t frame_length, uint32_t frame_end);
    uint32_t next(uint32_t index, uint32_t count) const { return index + 1 == count ? 0 : index + 1; }

    Registers& m_regs;
    Delay* m_delay;
    Config m_config;
    const DeviceInfo* m_device = nullptr;
    MacAddress m_mac = {};
    bool m_initialized = false;
    bool m_started = false;
    bool m_quiesced = false; // stop() reset the device: the buffers may be reclaimed
    Statistics m_stats;
    CounterBaselines m_baselines;

    volatile uint64_t* m_rx_ring = nullptr; // two 64-bit words per descriptor
    uint32_t m_rx_count = 0;     // descriptors in the ring
    uint32_t m_rx_count_max = 0; // buffers that can be posted at once (count - 1)
    uint32_t m_rx_next = 0;      // oldest posted descriptor: the next to complete
    uint32_t m_rx_tail = 0;      // where the next buffer goes (RDT)
    uint32_t m_rx_posted = 0;      // on the ring, announced or not
    uint32_t m_rx_unannounced = 0; // posted after the last RDT write
    bool m_rx_discarding = false; // inside a frame spread over several buffers
    RxSlot m_rx_slots[max_descriptors];

    volatile uint64_t* m_tx_ring = nullptr;
    uint32_t m_tx_count = 0;
    uint32_t m_tx_count_max = 0;
    uint32_t m_tx_clean = 0; // oldest descriptor in use
    uint32_t m_tx_tail = 0;  // where the next descriptor goes (TDT)
    uint32_t m_tx_used = 0;
    bool m_tx_dirty = false;
    // The device holds m_context, a checksum-only context. Never true after
    // a segmentation frame: its context (TSE, PAYLEN) serves no other frame.
    bool m_have_context = false;
    TxOffload m_context;
    TxSlot m_tx_slots[max_descriptors];
};

} // namespace e1000
