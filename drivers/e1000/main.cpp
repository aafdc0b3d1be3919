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
// between the two without copying them (Service below).
#include "device_ids.hpp"
#include "net/address.hpp"
#include "net/ethernet.hpp"
#include "nic.hpp"
#include "runtime/assert.hpp"
#include "runtime/channel.hpp"
#include "runtime/cpu.hpp"
#include "proto/nic.hpp"
#include "runtime/print.hpp"
#include "runtime/rs_client.hpp"
#include "runtime/start.hpp"
#include "runtime/sys.hpp"

namespace {

namespace sys = tern::sys;
namespace net = tern::net;
using tern::print;
using tern::channel::BufferRef;
using tern::channel::Message;

constexpr uint32_t ring_descriptors = 256;
constexpr uint32_t pool_buffers = 1024; // 2 MiB: a full receive ring plus what ip holds

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
    // interrupt again.
    void acknowledge_irq(const sys::Message& notification)
    {
        if (notification.source != sys::endpoint::hardware || (notification.words[0] & m_irq_bit) == 0)
            return;
        (void)m_nic->read_interrupt_causes();
        (void)sys::irq_attach(m_function.pci.address);
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

// The driver's work once the device is up: frames between the device and ip,
// zero copy. Received
// frames are lent to ip in the driver's pool and come back as rx_return;
// ip lends frames to send in its pool, which go back as tx_done once the
// device has sent them.
class Service {
public:
    explicit Service(Driver& driver) : m_driver(driver) {}

    [[noreturn]] void run()
    {
        connect(0);
        for (;;) {
            bool worked = to_ip();
            worked = from_ip() || worked;
            worked = sent() || worked;
            m_driver.nic().flush();
            if (!worked)
                sleep();
        }
    }

private:
    static constexpr tern::channel::PoolOwner::Holder ip_holder = 1;
    static constexpr uint32_t batch = 32;

    void connect(sys::Endpoint old)
    {
        const int64_t ip = tern::rs_wait_for_endpoint("ip", old, 60'000'000'000ull);
        if (ip < 0)
            fail("the ip server is not running: %s", sys::error_name(ip));
        if (const auto connected = m_channel.connect(static_cast<sys::Endpoint>(ip), 512, &m_driver.pool(),
                                                     m_driver.pci_address());
            !connected.ok())
            fail("cannot connect to ip: %s", tern::error_name(connected.error()));
        const int64_t physical = sys::shm_physical(m_channel.peer(), m_channel.peer_pool_handle());
        if (physical < 0 || m_channel.peer_pool() == nullptr)
            fail("ip's transmit pool: %s", sys::error_name(physical));
        m_ip_pool_physical = static_cast<uint64_t>(physical);
        const e1000::LinkState link = m_driver.nic().link();
        Message m{};
        m.type = tern::nic::link;
        m.words[0] = tern::nic::mac_word(m_driver.mac());
        m.words[1] = link.up ? 1 : 0;
        m.words[2] = link.speed_mbps;
        m.words[3] = net::ethernet_max_payload;
        if (!m_channel.send(m))
            fail("no room for the link message");
        print("e1000: serving ip 0x%lx\n", m_channel.peer());
    }

    // Received frames to ip.
    bool to_ip()
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
        return n != 0;
    }

    // ip's messages: returned receive buffers and frames to send.
    bool from_ip()
    {
        auto& rx = m_channel.rx();
        const uint32_t waiting = rx.available();
        uint32_t n = 0;
        for (; n < waiting && n < batch; ++n) {
            const Message m = rx.read(n);
            if (m.type == tern::nic::rx_return) {
                auto& owner = m_driver.pool().owner();
                if (owner.take_back(m.buffer, ip_holder).ok())
                    (void)owner.free(m.buffer);
            } else if (m.type == tern::nic::tx && !send(m.buffer)) {
                break; // the transmit ring is full: the rest waits in the channel
            }
        }
        if (n != 0)
            m_channel.release(n);
        if (rx.broken() || m_channel.tx().broken())
            fail("the channel to ip is corrupt");
        return n != 0;
    }

    // Queues one of ip's frames on the device; false if the ring is full.
    bool send(const BufferRef& ref)
    {
        const auto bytes = m_channel.peer_pool()->bytes(ref);
        uint32_t slot = 0;
        while (slot < tx_slots && m_in_flight[slot].used)
            ++slot;
        if (!bytes.ok() || ref.length == 0 || slot == tx_slots) {
            if (slot == tx_slots)
                return false;
            done(ref, 1); // malformed: give it straight back
            return true;
        }
        const uint64_t physical = m_ip_pool_physical +
                                  uint64_t{ref.index} * m_channel.peer_pool()->geometry().buffer_size + ref.offset;
        const auto queued = m_driver.nic().transmit(physical, static_cast<uint16_t>(ref.length), slot);
        if (queued.error() == tern::Error::busy)
            return false;
        if (!queued.ok()) {
            done(ref, 1);
            return true;
        }
        m_in_flight[slot] = InFlight{ref, true};
        return true;
    }

    // Frames the device has sent: their buffers back to ip.
    bool sent()
    {
        uint64_t cookies[batch];
        const size_t n = m_driver.nic().reap_tx(cookies, batch);
        for (size_t i = 0; i < n; ++i) {
            InFlight& f = m_in_flight[cookies[i] % tx_slots];
            if (f.used)
                done(f.ref, 0);
            f.used = false;
        }
        return n != 0;
    }

    void done(const BufferRef& ref, uint64_t status)
    {
        Message m{};
        m.type = tern::nic::tx_done;
        m.buffer = ref;
        m.words[0] = status;
        (void)m_channel.send(m);
    }

    void sleep()
    {
        tern::channel::WaitSet set;
        set.add(m_channel.rx());
        sys::Message m{};
        if (!tern::wait(set, m))
            return;
        m_driver.acknowledge_irq(m);
        if (m_channel.peer_ended(m)) {
            // ip restarts: what it held of ours comes back; connect to the new one.
            const sys::Endpoint old = m_channel.peer();
            const uint32_t reclaimed = m_driver.pool().owner().reclaim(ip_holder);
            print("e1000: ip 0x%lx ended (%u buffers reclaimed); waiting for its successor\n", old, reclaimed);
            for (InFlight& f : m_in_flight)
                f.used = false;
            m_channel.close();
            connect(old);
        } else if (m.source == tern::rs_endpoint() && m.type == sys::message_type::notify) {
            (void)sys::notify(m.source); // heartbeat
        }
    }

    struct InFlight {
        BufferRef ref;
        bool used;
    };
    static constexpr uint32_t tx_slots = ring_descriptors;

    Driver& m_driver;
    tern::Channel m_channel;
    uint64_t m_ip_pool_physical = 0;
    InFlight m_in_flight[tx_slots] = {};
};

} // namespace

int main(int, char**)
{
    static Driver driver;
    driver.start();
    static Service service(driver);
    service.run();
}
