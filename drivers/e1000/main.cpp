// e1000: the user-space driver process for Intel 8254x NICs (QEMU's
// `-device e1000` is an 82540EM). The hardware logic is e1000::Nic
// (nic.hpp); this file binds it to Tern: the device's registers through
// mmio_map, descriptor rings from dma_alloc, receive buffers from a
// packet-buffer pool whose physical address the kernel tells us
// (shm_physical), and the device's IRQ as notifications.
//
// rs starts one instance per Intel Ethernet function (module line
// `pci=8086:* pciclass=0200 priv=devices`); the instance finds its function
// by asking for the registers of each candidate: only its own is granted.
//
// Once the device is up it connects to the ip server and moves frames
// between the two without copying them (Service below), including TCP
// segmentation frames that ip sends as chains of buffers. Under sustained load
// it stops taking interrupts and polls the rings, napping with interrupts on
// whenever they go quiet (Moderation below).
#include "device_ids.hpp"
#include "ip_protocol.hpp"
#include "moderation.hpp"
#include "net/address.hpp"
#include "net/ethernet.hpp"
#include "nic.hpp"
#include "proto/nic.hpp"
#include "runtime/assert.hpp"
#include "runtime/channel.hpp"
#include "runtime/cmdline_args.hpp"
#include "runtime/cpu.hpp"
#include "runtime/print.hpp"
#include "runtime/rs_client.hpp"
#include "runtime/start.hpp"
#include "runtime/sys.hpp"
#include "tsc_clock.hpp"

namespace {

namespace sys = tern::sys;
namespace net = tern::net;
using tern::print;
using tern::channel::BufferRef;
using tern::channel::Message;

constexpr uint32_t ring_descriptors = 256;
constexpr uint32_t pool_buffers = 1024; // 2 MiB: a full receive ring plus what ip holds
// Slots per direction of the channel to ip: as many as both pools have
// buffers (ours and ip's 1024), so neither side can find its ring full —
// every message lends or returns one buffer (proto/nic.hpp).
constexpr uint32_t channel_slots = 2048;

// How often the loop looks at the load (moderation) and at the device's
// drop counters and link.
constexpr uint64_t sample_period_ns = 10'000'000;
constexpr uint64_t housekeeping_period_ns = 1'000'000'000;
// The alarm for housekeeping rings only after this long asleep (QuietAlarm).
constexpr uint64_t quiet_ns = 500'000'000;
// While polling: the pause after a pass over the rings that found nothing.
constexpr uint64_t idle_poll_pause_ns = 5'000;
// ip publishes a chain of tx messages at once; one whose end has not shown up
// after this long never will (ip broke the protocol) and is refused, so that
// it does not hold up the channel for good.
constexpr uint64_t chain_wait_ns = 10'000'000;

// Moderation for QEMU under TCG, where one core moves some 20-100k frames/s
// (the policy's defaults are for real hardware). QEMU's e1000 never
// interrupts more often than every 128 us whatever ITR says (7.8k/s), so ITR
// only matters in the bulk range. A flood of 30k frames/s or more for 30 ms
// turns polling on: no interrupts, wake-ups or ICR reads for as long as it
// lasts, for the price of a busy core (`ping -f -l 16` from the host under
// TCG: ~120k frames/s polling, ~100k on interrupts).
// `polling=off` (kernel command line: `e1000.polling=off`) keeps the driver
// on interrupts, for comparisons.
e1000::ModerationPolicy::Settings moderation_settings(bool polling)
{
    e1000::ModerationPolicy::Settings s;
    s.low_latency_below = 5'000; // ping, DHCP, the shell: every frame at once
    s.bulk_from = 15'000;
    s.polling_from = 30'000;
    s.interrupts_below = 10'000;
    s.samples_to_poll = 3;      // 30 ms of flood
    s.samples_to_interrupt = 5; // 50 ms of calm
    s.moderate_interrupts_per_second = 8'000;
    s.bulk_interrupts_per_second = 4'000;
    // With idle_poll_pause_ns between them: some 20 us without work, and
    // the driver naps. Spinning longer keeps a host CPU from QEMU's I/O
    // thread, which moves the frames (UDP echo: 27-34k datagrams/s each way
    // spinning until polling ended, 38-41k with naps after 1-8 passes).
    s.empty_polls_to_nap = 4;
    if (!polling)
        s.polling_from = UINT32_MAX;
    return s;
}

template <typename... Args>
[[noreturn]] void fail(const char* fmt, Args... args)
{
    tern::exit_with_message(1, "e1000: FAILED: ", fmt, args...);
}

// BAR0, mapped uncached by the kernel.
class MmioRegisters final : public e1000::Registers {
public:
    explicit MmioRegisters(uint64_t base) : m_base(reinterpret_cast<volatile uint32_t*>(base)) {}
    uint32_t read(uint32_t offset) override { return m_base[offset / 4]; }
    void write(uint32_t offset, uint32_t value) override { m_base[offset / 4] = value; }

private:
    volatile uint32_t* m_base;
};

// The TSC's rate, measured against the kernel's clock over ~2 ms.
e1000::TscClock calibrate_clock()
{
    const uint64_t ns0 = static_cast<uint64_t>(sys::uptime());
    const uint64_t tsc0 = tern::rdtsc();
    uint64_t ns1 = ns0;
    while (ns1 - ns0 < 2'000'000) {
        tern::cpu_relax();
        ns1 = static_cast<uint64_t>(sys::uptime());
    }
    return e1000::TscClock::calibrated(tsc0, ns0, tern::rdtsc(), ns1);
}

// Waits by polling the kernel's clock (only during reset and EEPROM reads).
class ClockDelay final : public e1000::Delay {
public:
    void wait_us(uint32_t microseconds) override
    {
        const uint64_t until = static_cast<uint64_t>(sys::uptime()) + uint64_t{microseconds} * 1000;
        while (static_cast<uint64_t>(sys::uptime()) < until)
            tern::cpu_relax();
    }
};

struct Function {
    sys::PciInfo pci;
    const e1000::DeviceInfo* device;
    uint64_t registers;
};

// The one 8254x function rs gave us: the only one whose registers we may map.
Function find_function()
{
    for (uint64_t i = 0;; ++i) {
        sys::PciInfo pci{};
        if (sys::pci_info(i, pci) < 0)
            break;
        const e1000::DeviceInfo* device = e1000::find_device(pci.vendor_id, pci.device_id);
        if (device == nullptr)
            continue;
        const int64_t registers = sys::mmio_map(pci.address, 0);
        if (registers == sys::error_code(sys::Error::permission))
            continue; // another instance's device
        if (registers < 0)
            fail("cannot map the registers of %02x:%02x.%x: %s", pci.address >> 8, (pci.address >> 3) & 0x1F,
                 pci.address & 7, sys::error_name(registers));
        return Function{pci, device, static_cast<uint64_t>(registers)};
    }
    // rs matched an Intel Ethernet function that is not an 8254x: not ours.
    print("e1000: no 8254x device for this instance (see lspci); nothing to do\n");
    sys::exit(0);
}

e1000::DmaMemory dma(uint64_t size)
{
    sys::DmaRegion region{};
    if (const int64_t result = sys::dma_alloc(size, region); result < 0)
        fail("dma_alloc(%lu): %s", size, sys::error_name(result));
    return e1000::DmaMemory{reinterpret_cast<void*>(region.address), region.physical, region.size};
}

class Driver {
public:
    void start()
    {
        m_function = find_function();
        const sys::PciInfo& pci = m_function.pci;
        if (const auto made = m_pool.create(pool_buffers); !made.ok())
            fail("cannot make the buffer pool: %s", tern::error_name(made.error()));
        const int64_t physical = sys::shm_physical(static_cast<sys::Endpoint>(sys::self()), m_pool.handle());
        if (physical < 0)
            fail("shm_physical: %s", sys::error_name(physical));
        m_pool_physical = static_cast<uint64_t>(physical);

        e1000::Config config;
        config.vendor_id = pci.vendor_id;
        config.device_id = pci.device_id;
        config.rx_descriptors = ring_descriptors;
        config.tx_descriptors = ring_descriptors;
        const e1000::DmaMemory rx_ring = dma(ring_descriptors * 16);
        const e1000::DmaMemory tx_ring = dma(ring_descriptors * 16);
        m_registers = new MmioRegisters(m_function.registers);
        m_nic = new e1000::Nic(*m_registers, &m_delay);
        if (const auto up = m_nic->init(config, rx_ring, tx_ring); !up.ok())
            fail("cannot bring the device up: %s", tern::error_name(up.error()));
        refill();
        m_nic->flush();
        const int64_t line = sys::irq_attach(pci.address);
        if (line < 0)
            fail("irq_attach: %s", sys::error_name(line));
        m_irq_bit = 1ull << line;
        if (const auto started = m_nic->start(); !started.ok())
            fail("cannot start the device: %s", tern::error_name(started.error()));
        const e1000::LinkState link = m_nic->link();
        print("e1000: %02x:%02x.%x %04x:%04x (%s), MAC %s, link %s %u Mb/s, irq %ld\n", pci.address >> 8,
              (pci.address >> 3) & 0x1F, pci.address & 7, pci.vendor_id, pci.device_id, m_function.device->name,
              net::to_text(mac()).text, link.up ? "up" : "down", link.speed_mbps, line);
    }

    const net::MacAddress& mac() const { return m_nic->mac(); }

    e1000::Nic& nic() { return *m_nic; }
    tern::SharedPool& pool() { return m_pool; }
    uint32_t pci_address() const { return m_function.pci.address; }

    // After an interrupt: read (and so clear) the causes, and let the line
    // interrupt again. Returns the causes (reg::interrupt bits; 0 if the
    // notification is not our interrupt).
    uint32_t acknowledge_irq(const sys::Message& notification)
    {
        if (notification.source != sys::endpoint::hardware || (notification.words[0] & m_irq_bit) == 0)
            return 0;
        const uint32_t causes = m_nic->read_interrupt_causes();
        (void)sys::irq_attach(m_function.pci.address);
        return causes;
    }

    // Keeps the receive ring full of empty buffers.
    void refill()
    {
        while (m_nic->rx_free() != 0) {
            auto buffer = m_pool.owner().allocate();
            if (!buffer.ok())
                return;
            if (!m_nic->post_rx(physical(buffer.value().index), buffer.value().index).ok()) {
                (void)m_pool.owner().free(buffer.value());
                return;
            }
        }
    }

private:
    uint64_t physical(uint32_t index) const { return m_pool_physical + uint64_t{index} * m_pool.geometry().buffer_size; }

    Function m_function{};
    MmioRegisters* m_registers = nullptr;
    ClockDelay m_delay;
    e1000::Nic* m_nic = nullptr; // made once the device is found
    tern::SharedPool m_pool;
    uint64_t m_pool_physical = 0;
    uint64_t m_irq_bit = 0;
};

// Interrupts or polling, and how far ITR spaces interrupts out, as
// e1000::ModerationPolicy decides from the frames the loop moves.
class Moderation {
public:
    using Mode = e1000::ModerationPolicy::Mode;

    Moderation(e1000::Nic& nic, const e1000::TscClock& clock, const e1000::ModerationPolicy::Settings& settings)
        : m_nic(nic), m_clock(clock), m_settings(settings), m_policy(settings)
    {
    }

    void start(uint64_t now) { m_last_sample = now; }

    // Polling pays only on a core of the driver's own: next to ip it would
    // take the CPU ip needs to answer. Call while taking interrupts.
    void allow_polling(bool allowed)
    {
        e1000::ModerationPolicy::Settings settings = m_settings;
        if (!allowed)
            settings.polling_from = UINT32_MAX;
        m_policy = e1000::ModerationPolicy(settings);
    }
    bool polling() const { return m_polling; }
    void count(uint32_t frames) { m_frames += frames; }

    // Every sample period: the rate since the last sample decides. True
    // when polling has just ended (the link may have changed unseen).
    bool sample(uint64_t now)
    {
        const auto decision = m_policy.sample(m_frames, m_clock.to_ns(now - m_last_sample));
        m_frames = 0;
        m_last_sample = now;
        return decision.changed && apply(decision.mode, decision.itr, m_policy.last_rate());
    }

    // While polling, after each pass over the rings: poll again, or nap.
    e1000::ModerationPolicy::AfterPoll polled(bool found_work) { return m_policy.polled(found_work); }

private:
    // Programs the device; true when polling ended.
    bool apply(Mode mode, uint32_t itr, uint64_t frames_per_second)
    {
        if (itr != m_itr) {
            m_nic.set_interrupt_throttle(itr);
            m_itr = itr;
        }
        const bool poll = mode == Mode::polling;
        if (poll == m_polling)
            return false;
        m_polling = poll;
        if (poll) {
            m_nic.disable_interrupts();
            print("e1000: polling (%lu frames/s)\n", frames_per_second);
            return false;
        }
        // Causes piled up while polling would interrupt at once: drop them
        // (the caller looks at the link, the one cause that matters).
        (void)m_nic.read_interrupt_causes();
        m_nic.enable_interrupts();
        print("e1000: interrupts again (%lu frames/s)\n", frames_per_second);
        return true;
    }

    e1000::Nic& m_nic;
    e1000::TscClock m_clock;
    e1000::ModerationPolicy::Settings m_settings;
    e1000::ModerationPolicy m_policy;
    bool m_polling = false;
    uint32_t m_itr = 0; // what init() programmed (Config::interrupt_throttle)
    uint64_t m_frames = 0;
    uint64_t m_last_sample = 0;
};

// The driver's work once the device is up: frames between the device and ip,
// zero copy. Received frames are lent to ip in the driver's pool and come back
// as rx_return; ip lends frames to send in its pool, which go back as tx_done
// once the device has sent them (at once, refused, if the request is wrong).
// A frame to send may span several of ip's buffers (a chain, for TCP
// segmentation): it goes to the device as one frame, and each buffer comes
// back with its own tx_done.
// On timers: moderation samples, and the device's drop counters and link
// state, which ip hears of when they change.
class Service {
public:
    Service(Driver& driver, const e1000::TscClock& clock, const e1000::ModerationPolicy::Settings& moderation)
        : m_driver(driver), m_clock(clock), m_moderation(driver.nic(), clock, moderation)
    {
    }

    [[noreturn]] void run()
    {
        connect(0);
        start_timers();
        for (;;) {
            const bool worked = pass();
            on_timers();
            if (m_moderation.polling())
                keep_polling(worked);
            else if (!worked)
                sleep();
        }
    }

private:
    static constexpr tern::channel::PoolOwner::Holder ip_holder = 1;
    static constexpr uint32_t batch = 32;
    // One per buffer on the device: the ring never holds more.
    static constexpr uint32_t tx_slots = ring_descriptors;
    static constexpr uint32_t max_chain = e1000::Nic::max_fragments;

    void connect(sys::Endpoint old)
    {
        const int64_t ip = tern::rs_wait_for_endpoint("ip", old, 60'000'000'000ull);
        if (ip < 0)
            fail("the ip server is not running: %s", sys::error_name(ip));
        if (const auto connected = m_channel.connect(static_cast<sys::Endpoint>(ip), channel_slots, &m_driver.pool(),
                                                     m_driver.pci_address());
            !connected.ok())
            fail("cannot connect to ip: %s", tern::error_name(connected.error()));
        const int64_t physical = sys::shm_physical(m_channel.peer(), m_channel.peer_pool_handle());
        if (physical < 0 || m_channel.peer_pool() == nullptr)
            fail("ip's transmit pool: %s", sys::error_name(physical));
        m_ip_pool_physical = static_cast<uint64_t>(physical);
        const bool shared_core = on_my_core(m_channel.peer());
        m_moderation.allow_polling(!shared_core);
        if (shared_core)
            print("e1000: ip runs on this core: interrupts only, no polling\n");
        forget_frames_in_flight();
        m_reported_link = m_driver.nic().link();
        if (!m_channel.send(link_message(m_reported_link)))
            fail("no room for the link message");
        m_reported_drops = {}; // a new ip has heard of none: it gets the totals so far
        m_drops_check = true;
        print("e1000: serving ip 0x%lx\n", m_channel.peer());
    }

    Message link_message(const e1000::LinkState& link) const
    {
        const bool segmentation = e1000::has_tcp_segmentation(m_driver.nic().device()->family);
        return e1000::link_message(m_driver.mac(), link, net::ethernet_max_payload, segmentation);
    }

    static bool on_my_core(sys::Endpoint other)
    {
        sys::ProcessInfo mine{}, theirs{};
        return sys::proc_info(sys::endpoint::slot(static_cast<sys::Endpoint>(sys::self())), mine) == 0 &&
               sys::proc_info(sys::endpoint::slot(other), theirs) == 0 && mine.core == theirs.core;
    }

    // ip ended: what it held of ours comes back; connect to its successor.
    void reconnect()
    {
        const sys::Endpoint old = m_channel.peer();
        const uint32_t reclaimed = m_driver.pool().owner().reclaim(ip_holder);
        print("e1000: ip 0x%lx ended (%u buffers reclaimed); waiting for its successor\n", old, reclaimed);
        m_channel.close();
        connect(old);
    }

    // One pass over the rings and the channel; true if it moved anything.
    bool pass()
    {
        uint32_t frames = to_ip();
        const bool messages = from_ip();
        frames += sent();
        m_driver.nic().flush();
        m_moderation.count(frames);
        return frames != 0 || messages;
    }

    // Received frames to ip; returns how many.
    uint32_t to_ip()
    {
        auto& tx = m_channel.tx();
        e1000::RxCompletion done[batch];
        const uint32_t room = tx.space(batch);
        const size_t n = m_driver.nic().poll_rx(done, room < batch ? room : batch);
        auto& owner = m_driver.pool().owner();
        for (size_t i = 0; i < n; ++i) {
            const BufferRef ref{m_driver.pool().geometry().id, static_cast<uint32_t>(done[i].cookie), 0,
                                done[i].length};
            (void)owner.lend(ref, ip_holder);
            Message& m = tx.slot(static_cast<uint32_t>(i));
            m = Message{};
            m.type = tern::nic::rx;
            m.buffer = ref;
        }
        if (n != 0)
            m_channel.publish(static_cast<uint32_t>(n));
        m_driver.refill();
        return static_cast<uint32_t>(n);
    }

    // ip's messages: returned receive buffers and frames to send. True if
    // there were any. A frame may take several messages (a chain), which
    // may reach past `batch`: a chain is never split.
    bool from_ip()
    {
        auto& rx = m_channel.rx();
        const uint32_t waiting = rx.available();
        uint32_t n = 0;
        while (n < waiting && n < batch) {
            const Message m = rx.read(n);
            if (m.type == tern::nic::tx) {
                const uint32_t taken = send(n, waiting);
                if (taken == 0)
                    break; // not now: the rest waits in the channel
                n += taken;
                continue;
            }
            if (m.type == tern::nic::rx_return) {
                auto& owner = m_driver.pool().owner();
                if (owner.take_back(m.buffer, ip_holder).ok())
                    (void)owner.free(m.buffer);
            }
            ++n;
        }
        if (n != 0)
            m_channel.release(n);
        if (rx.broken() || m_channel.tx().broken())
            fail("the channel to ip is corrupt");
        return n != 0;
    }

    // Queues the frame that starts at the `first`-th of the `waiting`
    // messages on the device: one tx message, or a chain of them, all but
    // the last flagged tx_flags::more, sent as one frame with a fragment per
    // buffer. Refuses it, every buffer, if the request is wrong. Returns how
    // many messages it took; 0 means not now (no room on the device or for
    // the answers, or the chain's end not published yet): they stay in the
    // channel.
    uint32_t send(uint32_t first, uint32_t waiting)
    {
        auto& rx = m_channel.rx();
        const Message head = rx.read(first);
        if (m_discarding_chain) {
            // The rest of a chain already refused in part.
            if (!refuse(&head.buffer, 1))
                return 0;
            m_discarding_chain = (head.flags & tern::nic::tx_flags::more) != 0;
            return 1;
        }

        // The chain's buffers; each message is read from shared memory once.
        BufferRef refs[max_chain];
        const auto read = [&](uint32_t i) { return i == 0 ? head : rx.read(first + i); };
        const e1000::Chain chain = e1000::scan_chain(read, waiting - first, max_chain, refs);
        const uint32_t count = chain.count;
        using Status = e1000::Chain::Status;
        // An unfinished chain waits for its end, but not for ever
        // (chain_wait_ns); one too long already does not. What comes of
        // either later is refused too (m_discarding_chain).
        if (chain.status == Status::unfinished && !chain_overdue())
            return 0;
        m_chain_wait_since = 0;
        if (chain.status == Status::unfinished || chain.status == Status::too_long) {
            if (!refuse(refs, count))
                return 0;
            m_discarding_chain = true;
            return count;
        }
        // A broken chain is refused up to the message that broke it, which
        // is then handled on its own.
        if (chain.status == Status::broken || !e1000::chain_allowed(head.flags, count))
            return refuse(refs, count) ? count : 0;

        const tern::channel::PoolView& pool = *m_channel.peer_pool();
        e1000::TxFragment fragments[max_chain];
        uint32_t frame_length = 0;
        for (uint32_t i = 0; i < count; ++i) {
            const BufferRef& ref = refs[i];
            if (!pool.bytes(ref).ok() || ref.length == 0 || ref.length > e1000::Nic::max_descriptor_bytes)
                return refuse(refs, count) ? count : 0;
            const uint64_t physical =
                m_ip_pool_physical + uint64_t{ref.index} * pool.geometry().buffer_size + ref.offset;
            // Cookies are filled in below, once the device took the frame.
            fragments[i] = {physical, static_cast<uint16_t>(ref.length), 0};
            frame_length += ref.length;
        }
        const auto offload = e1000::tx_offload(head.flags, head.words[0], frame_length);
        if (!offload.ok())
            return refuse(refs, count) ? count : 0;
        if (m_free_count < count)
            return 0;
        // Fragment i takes the i-th free slot from the top of the stack.
        for (uint32_t i = 0; i < count; ++i)
            fragments[i].cookie = m_connection << 16 | m_free_slots[m_free_count - 1 - i];
        const auto queued = m_driver.nic().transmit(fragments, count, offload.value());
        if (queued.error() == tern::Error::busy)
            return 0;
        if (!queued.ok())
            return refuse(refs, count) ? count : 0;
        for (uint32_t i = 0; i < count; ++i)
            m_in_flight[m_free_slots[--m_free_count]] = InFlight{refs[i], true};
        return count;
    }

    // True once an unfinished chain has waited chain_wait_ns (the clock
    // starts at the first call).
    bool chain_overdue()
    {
        const uint64_t now = tern::rdtsc();
        if (m_chain_wait_since == 0) {
            m_chain_wait_since = now;
            return false;
        }
        return now - m_chain_wait_since >= m_clock.to_ticks(chain_wait_ns);
    }

    // Buffers of a frame the device will not send, straight back to ip;
    // false if the channel has no room for all the answers yet.
    bool refuse(const BufferRef* refs, uint32_t count)
    {
        auto& tx = m_channel.tx();
        if (tx.space(count) < count)
            return false;
        for (uint32_t i = 0; i < count; ++i) {
            Message& m = tx.slot(i);
            m = Message{};
            m.type = tern::nic::tx_done;
            m.buffer = refs[i];
            m.words[0] = 1;
        }
        m_channel.publish(count);
        return true;
    }

    // Frames the device has sent: their buffers back to ip, as many as the
    // channel has room for (the others wait on the device's ring). Returns
    // how many.
    uint32_t sent()
    {
        auto& tx = m_channel.tx();
        const uint32_t room = tx.space(batch);
        uint64_t cookies[batch];
        const size_t n = m_driver.nic().reap_tx(cookies, room < batch ? room : batch);
        uint32_t answers = 0;
        for (size_t i = 0; i < n; ++i) {
            const uint32_t slot = cookies[i] & 0xFFFF;
            if (cookies[i] >> 16 != m_connection || slot >= tx_slots || !m_in_flight[slot].used)
                continue; // an ended ip's frame
            m_in_flight[slot].used = false;
            m_free_slots[m_free_count++] = static_cast<uint16_t>(slot);
            Message& m = tx.slot(answers++);
            m = Message{};
            m.type = tern::nic::tx_done;
            m.buffer = m_in_flight[slot].ref;
        }
        if (answers != 0)
            m_channel.publish(answers);
        return static_cast<uint32_t>(n);
    }

    // Frames of an ip that ended may still be on the device: the connection
    // number in each cookie tells them from the new ip's.
    void forget_frames_in_flight()
    {
        ++m_connection;
        m_discarding_chain = false;
        m_chain_wait_since = 0;
        for (uint32_t slot = 0; slot < tx_slots; ++slot) {
            m_in_flight[slot].used = false;
            m_free_slots[slot] = static_cast<uint16_t>(slot);
        }
        m_free_count = tx_slots;
    }

    void start_timers()
    {
        const uint64_t now = tern::rdtsc();
        m_sample.start(now, m_clock.to_ticks(sample_period_ns));
        m_housekeeping.start(now, m_clock.to_ticks(housekeeping_period_ns));
        m_alarm = e1000::QuietAlarm(m_clock.to_ticks(quiet_ns));
        m_moderation.start(now);
        m_idle_poll_pause = m_clock.to_ticks(idle_poll_pause_ns);
    }

    // What runs on the TSC rather than on events: moderation samples, and
    // the statistics (once a second and when polling ends) and link state,
    // reported to ip when they changed.
    void on_timers()
    {
        const uint64_t now = tern::rdtsc();
        if (m_sample.due(now)) {
            if (m_moderation.sample(now))
                polling_ended();
            if (m_moderation.polling())
                m_link_check = true; // no link-change interrupt while polling
        }
        if (m_housekeeping.due(now)) {
            m_driver.nic().update_statistics();
            m_drops_check = true;
            m_link_check = true;
        }
        if (m_link_check)
            m_link_check = !report_link();
        if (m_drops_check)
            m_drops_check = !report_drops();
    }

    // False if ip must hear of a change but the channel is full (try again).
    bool report_link()
    {
        const e1000::LinkState link = m_driver.nic().link();
        if (!e1000::link_changed(m_reported_link, link))
            return true;
        if (!m_channel.send(link_message(link)))
            return false;
        m_reported_link = link;
        print("e1000: link %s %u Mb/s\n", link.up ? "up" : "down", link.speed_mbps);
        return true;
    }

    bool report_drops()
    {
        const e1000::DeviceDrops drops = e1000::device_drops(m_driver.nic().statistics());
        if (drops == m_reported_drops)
            return true;
        if (!m_channel.send(e1000::device_drops_message(drops)))
            return false;
        m_reported_drops = drops;
        return true;
    }

    // Polling: straight back to the rings, after a short pause if this pass
    // found nothing; after a few such passes, a nap. The samples end polling
    // (on_timers).
    void keep_polling(bool worked)
    {
        // Polling must not starve what shares this core (tcp, applications):
        // after every pass they get the core if they are ready; yield()
        // returns at once when nobody is.
        (void)sys::yield();
        if (m_moderation.polled(worked) == e1000::ModerationPolicy::AfterPoll::nap) {
            nap();
            return;
        }
        if (!worked) {
            const uint64_t now = tern::rdtsc();
            while (tern::rdtsc() - now < m_idle_poll_pause)
                tern::cpu_relax();
        }
    }

    // Polling found nothing for a while: sleep with the device's interrupts
    // on until it or ip has work, then poll again with them off (as Linux's
    // NAPI). Spinning on would keep the core busy for nothing, and under
    // QEMU a host CPU that its I/O thread needs to move the frames. A frame
    // that arrives after the causes are cleared interrupts at once, also
    // one the last pass below missed.
    void nap()
    {
        e1000::Nic& nic = m_driver.nic();
        (void)nic.read_interrupt_causes();
        nic.enable_interrupts();
        if (!pass())
            sleep();
        nic.disable_interrupts();
    }

    // After a busy period: the drop counters now, and the link (its
    // interrupt was off).
    void polling_ended()
    {
        m_housekeeping.expire();
        m_link_check = true;
    }

    // Nothing to do: sleep until ip sends (or makes room in a full ring), the
    // device interrupts, or the housekeeping alarm rings.
    void sleep()
    {
        arm_alarm();
        tern::channel::WaitSet set;
        set.add(m_channel.rx());
        if (m_channel.tx().space() == 0)
            set.add(m_channel.tx());
        sys::Message m{};
        if (tern::wait(set, m))
            notified(m);
    }

    // The alarm for housekeeping, rung only when the driver sleeps through
    // it: while traffic keeps waking it, the loop does housekeeping itself.
    // (Alarms ringing amid the device's interrupts have been seen to leave
    // those interrupts undelivered for good, with the driver on core 1.)
    void arm_alarm()
    {
        const uint64_t now = tern::rdtsc();
        const uint64_t at = m_alarm.before_sleep(now, m_housekeeping.deadline());
        if (at != 0)
            (void)sys::alarm(m_clock.to_ns(at - now) / 1'000'000 + 1);
    }

    void notified(const sys::Message& m)
    {
        if (m.source == sys::endpoint::clock) {
            m_alarm.rang();
        } else if (m.source == sys::endpoint::hardware) {
            if (m_driver.acknowledge_irq(m) & e1000::reg::interrupt::lsc)
                m_link_check = true;
        } else if (m_channel.peer_ended(m)) {
            reconnect();
        } else if (m.source == tern::rs_endpoint() && m.type == sys::message_type::notify) {
            (void)sys::notify(m.source); // heartbeat
        }
    }

    struct InFlight {
        BufferRef ref;
        bool used;
    };

    Driver& m_driver;
    tern::Channel m_channel;
    uint64_t m_ip_pool_physical = 0;
    // ip's buffers on the device, one slot each (a chain takes several):
    // cookie = connection number << 16 | slot.
    InFlight m_in_flight[tx_slots] = {};
    uint16_t m_free_slots[tx_slots] = {};
    uint32_t m_free_count = 0;
    uint64_t m_connection = 0;
    // Chains ip got wrong: refusing the rest of one, and since when (TSC)
    // an unfinished one has been waiting for its end (0: none).
    bool m_discarding_chain = false;
    uint64_t m_chain_wait_since = 0;

    e1000::TscClock m_clock;
    Moderation m_moderation;
    e1000::Periodic m_sample;
    e1000::Periodic m_housekeeping;
    uint64_t m_idle_poll_pause = 0; // TSC ticks
    e1000::QuietAlarm m_alarm;

    e1000::LinkState m_reported_link{};
    e1000::DeviceDrops m_reported_drops;
    bool m_link_check = false;
    bool m_drops_check = false;
};

} // namespace

int main(int argc, char** argv)
{
    const char* polling = tern::find_option(argc, argv, "polling");
    const bool may_poll = polling == nullptr || __builtin_strcmp(polling, "off") != 0;
    static Driver driver;
    driver.start();
    static Service service(driver, calibrate_clock(), moderation_settings(may_poll));
    service.run();
}
