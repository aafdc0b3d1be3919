// drivers/e1000's logic against a fake 8254x: bring-up, the rings (with
// wrap-around, full and empty rings, recycling), checksum offload and TCP
// segmentation (also as ip asks for them, chains included), interrupts, link, statistics and the drops ip is told about,
// the adaptive moderation policy, the driver's TSC clock, and a device that
// misbehaves.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "device_ids.hpp"
#include "e1000_fake_device.hpp"
#include "ip_protocol.hpp"
#include "moderation.hpp"
#include "nic.hpp"
#include "proto/nic.hpp"
#include "registers.hpp"
#include "tsc_clock.hpp"

namespace {

using namespace e1000;
using e1000_test::CountingDelay;
using e1000_test::FakeE1000;
using e1000_test::ones_complement_sum;

uint64_t phys_of(const void* pointer) { return reinterpret_cast<uintptr_t>(pointer); }

// Host memory standing in for DMA memory (physical == virtual in tests).
struct HostMemory {
    explicit HostMemory(size_t bytes) : size(bytes), data(static_cast<uint8_t*>(std::aligned_alloc(4096, bytes)))
    {
        std::memset(data, 0xA5, bytes); // not zero: init must clear the rings itself
    }
    ~HostMemory() { std::free(data); }
    HostMemory(const HostMemory&) = delete;
    HostMemory& operator=(const HostMemory&) = delete;
    DmaMemory dma() const { return {data, phys_of(data), size}; }
    size_t size;
    uint8_t* data;
};

std::vector<uint8_t> make_frame(size_t length, uint32_t seed)
{
    std::vector<uint8_t> frame(length);
    for (size_t i = 0; i < length; ++i)
        frame[i] = static_cast<uint8_t>(seed * 31 + i * 7);
    return frame;
}

class E1000Test : public ::testing::Test {
protected:
    static constexpr uint32_t buffer_count = 2048;

    E1000Test() : rx_ring(Nic::max_descriptors * 16), tx_ring(Nic::max_descriptors * 16), pool(buffer_count * 2048) {}

    uint8_t* buffer(uint64_t cookie) { return pool.data + cookie * Nic::buffer_size; }
    uint64_t buffer_phys(uint64_t cookie) { return phys_of(buffer(cookie)); }

    Result<void> init() { return nic->init(config, rx_ring.dma(), tx_ring.dma()); }

    // init, post `posted` receive buffers (cookies 0..posted-1), start.
    void bring_up(uint32_t posted)
    {
        ASSERT_TRUE(init().ok());
        for (uint32_t i = 0; i < posted; ++i)
            ASSERT_TRUE(nic->post_rx(buffer_phys(i), i).ok());
        ASSERT_TRUE(nic->start().ok());
    }

    std::vector<RxCompletion> poll_all()
    {
        std::vector<RxCompletion> all;
        RxCompletion batch[64];
        for (;;) {
            const size_t n = nic->poll_rx(batch, 64);
            all.insert(all.end(), batch, batch + n);
            if (n < 64)
                return all;
        }
    }

    std::vector<uint64_t> reap_all()
    {
        std::vector<uint64_t> all;
        uint64_t batch[64];
        for (;;) {
            const size_t n = nic->reap_tx(batch, 64);
            all.insert(all.end(), batch, batch + n);
            if (n < 64)
                return all;
        }
    }

    FakeE1000 device;
    CountingDelay delay;
    Config config;
    HostMemory rx_ring;
    HostMemory tx_ring;
    HostMemory pool;
    std::unique_ptr<Nic> nic = std::make_unique<Nic>(device, &delay);
};

// ------------------------------------------------------------------ bring-up

TEST_F(E1000Test, InitLeavesRctlAloneAndStartWritesItExactlyOnce)
{
    ASSERT_TRUE(init().ok());
    EXPECT_EQ(device.rctl_writes, 0u);
    EXPECT_FALSE(nic->started());
    ASSERT_TRUE(nic->start().ok());
    EXPECT_EQ(device.rctl_writes, 1u);
    EXPECT_EQ(nic->start().error(), Error::busy);
    EXPECT_EQ(device.rctl_writes, 1u);

    const uint32_t rctl = device.register_value(reg::rctl);
    EXPECT_TRUE(rctl & reg::rctl_bits::en);
    EXPECT_TRUE(rctl & reg::rctl_bits::bam);
    EXPECT_TRUE(rctl & reg::rctl_bits::secrc);
    EXPECT_EQ(rctl & reg::rctl_bits::bsize_mask, reg::rctl_bits::bsize_2048);
    EXPECT_FALSE(rctl & reg::rctl_bits::bsex);
    EXPECT_FALSE(rctl & reg::rctl_bits::lpe);
    EXPECT_FALSE(rctl & (reg::rctl_bits::upe | reg::rctl_bits::mpe));
    EXPECT_EQ(device.ims(), Nic::interrupt_mask);
}

TEST_F(E1000Test, StartBeforeInitIsRefused)
{
    EXPECT_EQ(nic->start().error(), Error::invalid_argument);
    EXPECT_EQ(device.rctl_writes, 0u);
}

TEST_F(E1000Test, InitResetsAndProgramsTheDevice)
{
    config.interrupt_throttle = 195;
    const uint32_t resets_before = device.resets;
    ASSERT_TRUE(init().ok());
    EXPECT_EQ(device.resets, resets_before + 1);
    EXPECT_EQ(device.bad_accesses, 0u);
    // Interrupts masked before the reset, the reset polled with waits.
    ASSERT_FALSE(device.writes.empty());
    EXPECT_EQ(device.writes.front(), (std::pair<uint32_t, uint32_t>{reg::imc, 0xFFFFFFFFu}));
    EXPECT_GE(delay.calls, 1u);

    const uint32_t ctrl = device.register_value(reg::ctrl);
    EXPECT_TRUE(ctrl & reg::ctrl_bits::slu);
    EXPECT_TRUE(ctrl & reg::ctrl_bits::asde);
    EXPECT_FALSE(ctrl & (reg::ctrl_bits::lrst | reg::ctrl_bits::phy_rst | reg::ctrl_bits::rst));

    EXPECT_EQ(device.register_value(reg::rdbal), static_cast<uint32_t>(phys_of(rx_ring.data)));
    EXPECT_EQ(device.register_value(reg::rdbah), static_cast<uint32_t>(phys_of(rx_ring.data) >> 32));
    EXPECT_EQ(device.register_value(reg::rdlen), 256u * 16);
    EXPECT_EQ(device.register_value(reg::rdh), 0u);
    EXPECT_EQ(device.register_value(reg::rdt), 0u);
    EXPECT_EQ(device.register_value(reg::tdbal), static_cast<uint32_t>(phys_of(tx_ring.data)));
    EXPECT_EQ(device.register_value(reg::tdbah), static_cast<uint32_t>(phys_of(tx_ring.data) >> 32));
    EXPECT_EQ(device.register_value(reg::tdlen), 256u * 16);
    EXPECT_EQ(device.register_value(reg::tdh), 0u);
    EXPECT_EQ(device.register_value(reg::tdt), 0u);
    EXPECT_EQ(device.register_value(reg::rxcsum), reg::rxcsum_bits::ipofld | reg::rxcsum_bits::tuofld);

    const uint32_t tctl = device.register_value(reg::tctl);
    EXPECT_TRUE(tctl & reg::tctl_bits::en);
    EXPECT_TRUE(tctl & reg::tctl_bits::psp);
    EXPECT_EQ((tctl >> reg::tctl_bits::ct_shift) & 0xFF, 0x0Fu);
    EXPECT_EQ((tctl >> reg::tctl_bits::cold_shift) & 0x3FF, 0x40u);
    EXPECT_EQ(device.register_value(reg::tipg), 10u | 8u << 10 | 6u << 20);
    EXPECT_EQ(device.register_value(reg::itr), 195u);

    // Multicast table cleared, one write per register.
    for (uint32_t n = 0; n < reg::mta_count; ++n)
        EXPECT_EQ(device.writes_to(reg::mta + 4 * n), 1u);
    // The rings were cleared although the memory held garbage.
    for (size_t i = 0; i < 256 * 16; ++i)
        ASSERT_EQ(rx_ring.data[i], 0) << i;
    for (size_t i = 0; i < 256 * 16; ++i)
        ASSERT_EQ(tx_ring.data[i], 0) << i;
}

TEST_F(E1000Test, MacComesFromRalRahWhenValid)
{
    ASSERT_TRUE(init().ok());
    EXPECT_EQ(nic->mac(), (MacAddress{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}}));
    EXPECT_EQ(device.eerd_reads_started, 0u);
}

TEST_F(E1000Test, MacComesFromTheEepromWhenRalIsEmpty)
{
    const uint8_t mac[6] = {0x00, 0x1B, 0x21, 0xAA, 0xBB, 0xCC};
    device.set_eeprom_mac(mac);
    device.load_ral_at_reset = false;
    ASSERT_TRUE(init().ok());
    EXPECT_EQ(nic->mac(), (MacAddress{{0x00, 0x1B, 0x21, 0xAA, 0xBB, 0xCC}}));
    EXPECT_EQ(device.eerd_reads_started, 64u); // the address and the checksum words
    EXPECT_EQ(device.register_value(reg::ral0), 0xAA211B00u);
    EXPECT_EQ(device.register_value(reg::rah0), 0xCCBBu | reg::rah_bits::av);
}

TEST_F(E1000Test, MacFromTheEepromUsesTheWideEerdLayoutOn82541)
{
    FakeE1000 device_82541(0x1076);
    const uint8_t mac[6] = {0x00, 0x0E, 0x0C, 0x01, 0x02, 0x03};
    device_82541.set_eeprom_mac(mac);
    device_82541.load_ral_at_reset = false;
    Nic nic_82541(device_82541, &delay);
    config.device_id = 0x1076;
    ASSERT_TRUE(nic_82541.init(config, rx_ring.dma(), tx_ring.dma()).ok());
    EXPECT_EQ(nic_82541.mac(), (MacAddress{{0x00, 0x0E, 0x0C, 0x01, 0x02, 0x03}}));
    EXPECT_STREQ(nic_82541.device()->name, "82541GI");
}

TEST_F(E1000Test, RalWithoutTheValidBitIsNotTrusted)
{
    device.ral_valid_bit = false;
    ASSERT_TRUE(init().ok());
    EXPECT_EQ(device.eerd_reads_started, 64u); // went to the EEPROM instead
    EXPECT_EQ(nic->mac(), (MacAddress{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}}));
    EXPECT_TRUE(device.register_value(reg::rah0) & reg::rah_bits::av);
}

TEST_F(E1000Test, EepromThatNeverAnswersIsATimeoutNotAHang)
{
    device.load_ral_at_reset = false;
    device.eeprom_never_done = true;
    config.eeprom_polls = 50;
    EXPECT_EQ(init().error(), Error::timed_out);
    EXPECT_EQ(device.eerd_reads_started, 1u);
    EXPECT_LE(delay.calls, 50u + 10u);
    EXPECT_EQ(device.rctl_writes, 0u);
    EXPECT_EQ(nic->post_rx(buffer_phys(0), 0).error(), Error::invalid_argument);
}

TEST_F(E1000Test, EepromWithABadChecksumIsRefused)
{
    device.load_ral_at_reset = false;
    device.corrupt_eeprom_checksum();
    EXPECT_EQ(init().error(), Error::malformed);
}

TEST_F(E1000Test, EepromWithAMulticastAddressIsRefused)
{
    const uint8_t mac[6] = {0x01, 0x00, 0x5E, 0x00, 0x00, 0x01};
    device.set_eeprom_mac(mac);
    device.load_ral_at_reset = false;
    EXPECT_EQ(init().error(), Error::malformed);
}

TEST_F(E1000Test, ResetThatNeverCompletesIsATimeout)
{
    device.reset_never_clears = true;
    config.reset_polls = 20;
    EXPECT_EQ(init().error(), Error::timed_out);
    EXPECT_LE(delay.calls, 21u);
}

TEST_F(E1000Test, ResetWithoutADelayStillBounded)
{
    Nic no_delay(device, nullptr);
    device.reset_never_clears = true;
    config.reset_polls = 100;
    EXPECT_EQ(no_delay.init(config, rx_ring.dma(), tx_ring.dma()).error(), Error::timed_out);
}

TEST_F(E1000Test, UnknownDevicesAndBadRingsAreRefused)
{
    config.device_id = 0x10D3; // 82574L: not an 8254x
    EXPECT_EQ(init().error(), Error::unsupported);
    config.device_id = 0x100E;
    config.vendor_id = 0x10EC;
    EXPECT_EQ(init().error(), Error::unsupported);
    config.vendor_id = intel_vendor_id;

    for (uint32_t count : {0u, 4u, 12u, 255u, Nic::max_descriptors + 8}) {
        config.rx_descriptors = count;
        EXPECT_EQ(init().error(), Error::invalid_argument) << count;
    }
    config.rx_descriptors = 256;
    DmaMemory small = rx_ring.dma();
    small.size = 256 * 16 - 1;
    EXPECT_EQ(nic->init(config, small, tx_ring.dma()).error(), Error::invalid_argument);
    DmaMemory misaligned = tx_ring.dma();
    misaligned.phys += 8;
    EXPECT_EQ(nic->init(config, rx_ring.dma(), misaligned).error(), Error::invalid_argument);
    DmaMemory null = rx_ring.dma();
    null.virt = nullptr;
    EXPECT_EQ(nic->init(config, null, tx_ring.dma()).error(), Error::invalid_argument);
    EXPECT_EQ(device.resets, 1u); // only the fake's own power-on reset: nothing was touched
}

TEST_F(E1000Test, LargerRingsWork)
{
    config.rx_descriptors = 1024;
    config.tx_descriptors = 512;
    ASSERT_TRUE(init().ok());
    EXPECT_EQ(device.register_value(reg::rdlen), 1024u * 16);
    EXPECT_EQ(device.register_value(reg::tdlen), 512u * 16);
    EXPECT_EQ(nic->rx_free(), 1023u);
    EXPECT_EQ(nic->tx_free(), 511u);
}

TEST_F(E1000Test, The82544HasNoEerdOrItr)
{
    FakeE1000 device_82544(0x100C);
    Nic nic_82544(device_82544, &delay);
    config.device_id = 0x100C;
    config.interrupt_throttle = 100;
    ASSERT_TRUE(nic_82544.init(config, rx_ring.dma(), tx_ring.dma()).ok());
    EXPECT_EQ(device_82544.writes_to(reg::itr), 0u);
    EXPECT_EQ(device_82544.register_value(reg::tipg) & 0x3FF, 8u);

    FakeE1000 blank_82544(0x100C);
    blank_82544.load_ral_at_reset = false;
    Nic nic_blank(blank_82544, &delay);
    EXPECT_EQ(nic_blank.init(config, rx_ring.dma(), tx_ring.dma()).error(), Error::not_found);
    EXPECT_EQ(blank_82544.eerd_reads_started, 0u);
}

TEST_F(E1000Test, SecondPortOfAn82546FlipsTheLowAddressBit)
{
    FakeE1000 port1(0x1079);
    const uint8_t mac[6] = {0x00, 0x04, 0x23, 0x10, 0x20, 0x30};
    port1.set_eeprom_mac(mac);
    port1.load_ral_at_reset = false;
    port1.function_id = 1;
    Nic nic_port1(port1, &delay);
    config.device_id = 0x1079;
    ASSERT_TRUE(nic_port1.init(config, rx_ring.dma(), tx_ring.dma()).ok());
    EXPECT_EQ(nic_port1.mac(), (MacAddress{{0x00, 0x04, 0x23, 0x10, 0x20, 0x31}}));
}

TEST_F(E1000Test, FiberPartsAdvertiseAutoNegotiation)
{
    FakeE1000 fiber(0x1011);
    Nic nic_fiber(fiber, &delay);
    config.device_id = 0x1011;
    ASSERT_TRUE(nic_fiber.init(config, rx_ring.dma(), tx_ring.dma()).ok());
    EXPECT_EQ(fiber.register_value(reg::txcw), reg::txcw_bits::ane | reg::txcw_bits::full_duplex);
    EXPECT_EQ(fiber.register_value(reg::tipg) & 0x3FF, 6u);
}

// ------------------------------------------------------------------ receive

TEST_F(E1000Test, ReceivesFramesAcrossManyRingWrapsRecyclingBuffers)
{
    bring_up(255);
    EXPECT_EQ(device.rx_free_descriptors(), 255u);
    EXPECT_EQ(nic->rx_free(), 0u);

    // 4000 frames in bursts of 1..200: every buffer goes back as soon as it
    // is consumed, like the driver process returning pool buffers.
    uint32_t delivered = 0, received = 0;
    uint32_t burst = 1;
    while (delivered < 4000) {
        for (uint32_t i = 0; i < burst && delivered < 4000; ++i, ++delivered)
            ASSERT_TRUE(device.deliver(make_frame(60 + delivered % 1455, delivered)));
        for (const RxCompletion& c : poll_all()) {
            const std::vector<uint8_t> expected = make_frame(60 + received % 1455, received);
            ASSERT_EQ(c.length, expected.size());
            ASSERT_EQ(std::memcmp(buffer(c.cookie), expected.data(), expected.size()), 0) << received;
            ASSERT_EQ(c.status & (rx_status::dd | rx_status::eop), rx_status::dd | rx_status::eop);
            ASSERT_TRUE(nic->post_rx(buffer_phys(c.cookie), c.cookie).ok());
            ++received;
        }
        nic->flush();
        burst = burst % 200 + 37;
    }
    EXPECT_EQ(received, 4000u);
    EXPECT_EQ(nic->statistics()[Counter::driver_rx_frames], 4000u);
    EXPECT_EQ(device.rx_free_descriptors(), 255u);
    EXPECT_EQ(device.register_value(reg::rdt), (4000u + 255u) % 256u);
}

TEST_F(E1000Test, CookiesComeBackInArrivalOrderWithFreshBuffers)
{
    bring_up(8);
    for (uint32_t i = 0; i < 8; ++i)
        ASSERT_TRUE(device.deliver(make_frame(100, i)));
    std::vector<RxCompletion> got = poll_all();
    ASSERT_EQ(got.size(), 8u);
    for (uint32_t i = 0; i < 8; ++i)
        EXPECT_EQ(got[i].cookie, i);
    // Post different buffers (cookies 100..): the next frames land there.
    for (uint32_t i = 0; i < 8; ++i)
        ASSERT_TRUE(nic->post_rx(buffer_phys(100 + i), 100 + i).ok());
    nic->flush();
    for (uint32_t i = 0; i < 16; ++i)
        EXPECT_EQ(device.deliver(make_frame(100, 50 + i)), i < 8);
    got = poll_all();
    ASSERT_EQ(got.size(), 8u);
    for (uint32_t i = 0; i < 8; ++i) {
        EXPECT_EQ(got[i].cookie, 100 + i);
        EXPECT_EQ(std::memcmp(buffer(100 + i), make_frame(100, 50 + i).data(), 100), 0);
    }
}

TEST_F(E1000Test, PollRxStopsAtMaxAndResumes)
{
    bring_up(100);
    for (uint32_t i = 0; i < 10; ++i)
        ASSERT_TRUE(device.deliver(make_frame(64, i)));
    RxCompletion out[3];
    EXPECT_EQ(nic->poll_rx(out, 3), 3u);
    EXPECT_EQ(out[2].cookie, 2u);
    EXPECT_EQ(nic->poll_rx(out, 0), 0u);
    EXPECT_EQ(poll_all().size(), 7u);
    EXPECT_EQ(nic->poll_rx(out, 3), 0u);
}

TEST_F(E1000Test, PostingIsInvisibleToTheDeviceUntilFlush)
{
    bring_up(0);
    ASSERT_TRUE(nic->post_rx(buffer_phys(0), 0).ok());
    EXPECT_FALSE(device.deliver(make_frame(64, 0)));
    const uint32_t rdt_writes = device.writes_to(reg::rdt);
    nic->flush();
    EXPECT_EQ(device.writes_to(reg::rdt), rdt_writes + 1);
    nic->flush(); // nothing new: no register write
    EXPECT_EQ(device.writes_to(reg::rdt), rdt_writes + 1);
    EXPECT_TRUE(device.deliver(make_frame(64, 0)));
}

// Reposted buffers reach the device 16 at a time (one RDT write, which QEMU
// runs under its big lock), and at once when the device has few left.
TEST_F(E1000Test, ReturnedBuffersReachTheDeviceInBatches)
{
    bring_up(255);
    const uint32_t rdt_writes = device.writes_to(reg::rdt);
    for (uint32_t i = 0; i < Nic::rx_announce_batch; ++i) {
        ASSERT_TRUE(device.deliver(make_frame(64, i)));
        for (const RxCompletion& c : poll_all())
            ASSERT_TRUE(nic->post_rx(buffer_phys(c.cookie), c.cookie).ok());
        nic->flush();
        EXPECT_EQ(device.writes_to(reg::rdt), rdt_writes + (i + 1 == Nic::rx_announce_batch ? 1u : 0u)) << i;
    }
    EXPECT_EQ(device.rx_free_descriptors(), 255u);
}

TEST_F(E1000Test, ReturnedBuffersReachADeviceLowOnBuffersAtOnce)
{
    bring_up(Nic::rx_announce_batch);
    ASSERT_TRUE(device.deliver(make_frame(64, 0)));
    const std::vector<RxCompletion> got = poll_all();
    ASSERT_EQ(got.size(), 1u);
    ASSERT_TRUE(nic->post_rx(buffer_phys(got[0].cookie), got[0].cookie).ok());
    const uint32_t rdt_writes = device.writes_to(reg::rdt);
    nic->flush();
    EXPECT_EQ(device.writes_to(reg::rdt), rdt_writes + 1);
    EXPECT_EQ(device.rx_free_descriptors(), Nic::rx_announce_batch);
}

TEST_F(E1000Test, PostToAFullRingIsBusy)
{
    ASSERT_TRUE(init().ok());
    for (uint32_t i = 0; i < 255; ++i)
        ASSERT_TRUE(nic->post_rx(buffer_phys(i), i).ok());
    EXPECT_EQ(nic->post_rx(buffer_phys(255), 255).error(), Error::busy);
    EXPECT_EQ(nic->rx_posted(), 255u);
}

TEST_F(E1000Test, PostingAddressZeroIsRefused)
{
    ASSERT_TRUE(init().ok());
    EXPECT_EQ(nic->post_rx(0, 1).error(), Error::invalid_argument);
    EXPECT_EQ(nic->rx_posted(), 0u);
}

TEST_F(E1000Test, OverrunWithNoBuffersIsReportedAndRecovers)
{
    bring_up(0);
    EXPECT_FALSE(device.deliver(make_frame(64, 1)));
    EXPECT_FALSE(device.deliver(make_frame(64, 2)));
    EXPECT_TRUE(device.interrupt_asserted());
    const uint32_t causes = nic->read_interrupt_causes();
    EXPECT_TRUE(causes & reg::interrupt::rxo);
    EXPECT_FALSE(device.interrupt_asserted()); // reading ICR lowered the line
    EXPECT_EQ(nic->statistics()[Counter::driver_rx_overruns], 1u);
    nic->update_statistics();
    EXPECT_EQ(nic->statistics()[Counter::rx_no_buffers], 2u);
    EXPECT_EQ(nic->statistics()[Counter::missed_packets], 2u);
    EXPECT_EQ(nic->poll_rx(nullptr, 0), 0u);

    ASSERT_TRUE(nic->post_rx(buffer_phys(0), 0).ok());
    nic->flush();
    EXPECT_TRUE(device.deliver(make_frame(64, 3)));
    EXPECT_EQ(poll_all().size(), 1u);
}

TEST_F(E1000Test, RunningLowRaisesRxdmt0)
{
    bring_up(20);
    for (uint32_t i = 0; i < 15; ++i)
        ASSERT_TRUE(device.deliver(make_frame(64, i)));
    EXPECT_TRUE(nic->read_interrupt_causes() & reg::interrupt::rxdmt0);
}

TEST_F(E1000Test, ChecksumResultsAreReported)
{
    bring_up(10);
    FakeE1000::RxOptions good;
    good.extra_status = rx_status::ipcs | rx_status::tcpcs;
    FakeE1000::RxOptions bad_l4 = good;
    bad_l4.errors = rx_error::tcpe;
    FakeE1000::RxOptions bad_ip = good;
    bad_ip.errors = rx_error::ipe;
    FakeE1000::RxOptions ignored = good;
    ignored.extra_status |= rx_status::ixsm;
    FakeE1000::RxOptions ip_only;
    ip_only.extra_status = rx_status::ipcs;
    for (const auto& options : {good, bad_l4, bad_ip, ignored, ip_only})
        ASSERT_TRUE(device.deliver(make_frame(80, 0), options));
    const std::vector<RxCompletion> got = poll_all();
    ASSERT_EQ(got.size(), 5u); // checksum errors describe the frame; it is still delivered
    EXPECT_EQ(got[0].ip_checksum, ChecksumResult::good);
    EXPECT_EQ(got[0].l4_checksum, ChecksumResult::good);
    EXPECT_EQ(got[1].ip_checksum, ChecksumResult::good);
    EXPECT_EQ(got[1].l4_checksum, ChecksumResult::bad);
    EXPECT_EQ(got[2].ip_checksum, ChecksumResult::bad);
    EXPECT_EQ(got[2].l4_checksum, ChecksumResult::good);
    EXPECT_EQ(got[3].ip_checksum, ChecksumResult::not_checked);
    EXPECT_EQ(got[3].l4_checksum, ChecksumResult::not_checked);
    EXPECT_EQ(got[4].ip_checksum, ChecksumResult::good);
    EXPECT_EQ(got[4].l4_checksum, ChecksumResult::not_checked);
}

TEST_F(E1000Test, ChecksumOffloadOffReportsNothing)
{
    config.rx_checksum_offload = false;
    bring_up(2);
    EXPECT_EQ(device.register_value(reg::rxcsum), 0u);
    FakeE1000::RxOptions options;
    options.extra_status = rx_status::ipcs | rx_status::tcpcs;
    ASSERT_TRUE(device.deliver(make_frame(80, 0), options));
    const std::vector<RxCompletion> got = poll_all();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].ip_checksum, ChecksumResult::not_checked);
    EXPECT_EQ(got[0].l4_checksum, ChecksumResult::not_checked);
}

TEST_F(E1000Test, VlanTagIsPassedOn)
{
    bring_up(2);
    FakeE1000::RxOptions tagged;
    tagged.extra_status = rx_status::vp;
    tagged.special = 0x2064;
    FakeE1000::RxOptions untagged;
    untagged.special = 0x1234; // meaningless without VP
    ASSERT_TRUE(device.deliver(make_frame(80, 0), tagged));
    ASSERT_TRUE(device.deliver(make_frame(80, 0), untagged));
    const std::vector<RxCompletion> got = poll_all();
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].vlan_tag, 0x2064);
    EXPECT_EQ(got[1].vlan_tag, 0);
}

TEST_F(E1000Test, PromiscuousAndAllMulticastSetTheirBits)
{
    config.promiscuous = true;
    bring_up(0);
    EXPECT_TRUE(device.register_value(reg::rctl) & reg::rctl_bits::upe);
    EXPECT_TRUE(device.register_value(reg::rctl) & reg::rctl_bits::mpe);
}

// ------------------------------------------------------------------ a misbehaving device

TEST_F(E1000Test, LengthOverTheBufferIsCountedAndTheBufferReposted)
{
    bring_up(4);
    FakeE1000::RxOptions too_long;
    too_long.length_override = 4000;
    FakeE1000::RxOptions zero;
    zero.length_override = 0;
    ASSERT_TRUE(device.deliver(make_frame(100, 1), too_long));
    ASSERT_TRUE(device.deliver(make_frame(100, 2), zero));
    ASSERT_TRUE(device.deliver(make_frame(100, 3)));
    const std::vector<RxCompletion> got = poll_all();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].cookie, 2u);
    EXPECT_EQ(nic->statistics()[Counter::driver_rx_bad_length], 2u);
    // Both bad buffers went straight back to the ring (3 of 4 still posted).
    EXPECT_EQ(nic->rx_posted(), 3u);
    nic->flush();
    ASSERT_TRUE(device.deliver(make_frame(100, 4)));
    ASSERT_TRUE(device.deliver(make_frame(100, 5)));
    ASSERT_TRUE(device.deliver(make_frame(100, 6)));
    const std::vector<RxCompletion> later = poll_all();
    ASSERT_EQ(later.size(), 3u);
    EXPECT_EQ(later[0].cookie, 3u);
    EXPECT_EQ(later[1].cookie, 0u);
    EXPECT_EQ(later[2].cookie, 1u);
}

TEST_F(E1000Test, FramesWithErrorsAreDroppedAndReposted)
{
    bring_up(3);
    FakeE1000::RxOptions crc;
    crc.errors = rx_error::ce;
    FakeE1000::RxOptions data;
    data.errors = rx_error::rxe;
    ASSERT_TRUE(device.deliver(make_frame(100, 1), crc));
    ASSERT_TRUE(device.deliver(make_frame(100, 2), data));
    EXPECT_TRUE(poll_all().empty());
    EXPECT_EQ(nic->statistics()[Counter::driver_rx_frame_errors], 2u);
    EXPECT_EQ(nic->rx_posted(), 3u);
}

TEST_F(E1000Test, AFrameSpreadOverSeveralBuffersIsDroppedWhole)
{
    bring_up(10);
    FakeE1000::RxOptions no_eop;
    no_eop.omit_eop = true;
    ASSERT_TRUE(device.deliver(make_frame(2048, 1), no_eop));
    ASSERT_TRUE(device.deliver(make_frame(2048, 2), no_eop));
    ASSERT_TRUE(device.deliver(make_frame(500, 3))); // the end of that frame
    ASSERT_TRUE(device.deliver(make_frame(64, 4)));  // a good one
    const std::vector<RxCompletion> got = poll_all();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].cookie, 3u);
    EXPECT_EQ(got[0].length, 64);
    EXPECT_EQ(nic->statistics()[Counter::driver_rx_split_frames], 3u);
    EXPECT_EQ(nic->rx_posted(), 9u);
}

TEST_F(E1000Test, ReservedStatusBitsAreCountedButTheFrameKept)
{
    bring_up(2);
    FakeE1000::RxOptions odd;
    odd.extra_status = 1u << 4;
    ASSERT_TRUE(device.deliver(make_frame(64, 0), odd));
    EXPECT_EQ(poll_all().size(), 1u);
    EXPECT_EQ(nic->statistics()[Counter::driver_rx_unexpected_status], 1u);
}

TEST_F(E1000Test, AddressesAreNeverReadBackFromTheRing)
{
    bring_up(2);
    FakeE1000::RxOptions scribble;
    scribble.scribble_buffer_address = true;
    scribble.length_override = 0; // bad: reposted
    ASSERT_TRUE(device.deliver(make_frame(64, 0), scribble));
    ASSERT_TRUE(device.deliver(make_frame(64, 1), FakeE1000::RxOptions{.scribble_buffer_address = true}));
    std::vector<RxCompletion> got = poll_all();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].cookie, 1u);
    // The reposted buffer carries its real address, not the scribbled one.
    nic->flush();
    ASSERT_TRUE(device.deliver(make_frame(64, 9)));
    got = poll_all();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].cookie, 0u);
    EXPECT_EQ(std::memcmp(buffer(0), make_frame(64, 9).data(), 64), 0);
}

TEST_F(E1000Test, DoneBitsOutsideThePostedRangeAreIgnored)
{
    bring_up(4);
    // Descriptors 4..255 hold no buffer; a device claiming them is ignored.
    device.inject_rx_status(10, rx_status::dd | rx_status::eop, 64);
    device.inject_rx_status(255, rx_status::dd | rx_status::eop, 64);
    EXPECT_TRUE(poll_all().empty());
    // A done bit on a posted descriptor the device skipped to is not
    // believed out of order either: completion is strictly in ring order.
    device.inject_rx_status(1, rx_status::dd | rx_status::eop, 64);
    EXPECT_TRUE(poll_all().empty());
    ASSERT_TRUE(device.deliver(make_frame(64, 0)));
    const std::vector<RxCompletion> got = poll_all();
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].cookie, 0u);
    EXPECT_EQ(got[1].cookie, 1u);
}

// ------------------------------------------------------------------ transmit

TEST_F(E1000Test, TransmitsAFrameAndReapsItsCookie)
{
    bring_up(0);
    const std::vector<uint8_t> frame = make_frame(200, 7);
    std::memcpy(buffer(5), frame.data(), frame.size());
    ASSERT_TRUE(nic->transmit(buffer_phys(5), 200, 5).ok());
    EXPECT_TRUE(device.sent.empty()); // not before flush
    nic->flush();
    ASSERT_EQ(device.sent.size(), 1u);
    EXPECT_EQ(device.sent[0].bytes, frame);
    EXPECT_TRUE(device.sent[0].legacy);
    EXPECT_EQ(device.sent[0].command, tx_command::eop | tx_command::ifcs | tx_command::rs);
    EXPECT_EQ(reap_all(), (std::vector<uint64_t>{5}));
    EXPECT_EQ(nic->statistics()[Counter::driver_tx_frames], 1u);
    EXPECT_EQ(nic->statistics()[Counter::driver_tx_bytes], 200u);
    EXPECT_TRUE(nic->read_interrupt_causes() & reg::interrupt::txdw);
}

TEST_F(E1000Test, NothingIsReapedBeforeTheDeviceIsDone)
{
    bring_up(0);
    device.tx_paused = true;
    ASSERT_TRUE(nic->transmit(buffer_phys(0), 64, 0).ok());
    nic->flush();
    EXPECT_TRUE(reap_all().empty());
    EXPECT_EQ(nic->tx_in_flight(), 1u);
    device.process_tx();
    EXPECT_EQ(reap_all(), (std::vector<uint64_t>{0}));
    EXPECT_EQ(nic->tx_in_flight(), 0u);
}

TEST_F(E1000Test, FullTransmitRingIsBusyAndReapingWorksAcrossTheWrap)
{
    bring_up(0);
    device.tx_paused = true;
    for (uint32_t i = 0; i < 255; ++i)
        ASSERT_TRUE(nic->transmit(buffer_phys(i), 60, i).ok()) << i;
    EXPECT_EQ(nic->tx_free(), 0u);
    EXPECT_EQ(nic->transmit(buffer_phys(255), 60, 255).error(), Error::busy);
    EXPECT_EQ(nic->statistics()[Counter::driver_tx_ring_full], 1u);
    nic->flush();
    device.process_tx();
    std::vector<uint64_t> reaped = reap_all();
    ASSERT_EQ(reaped.size(), 255u);
    for (uint32_t i = 0; i < 255; ++i)
        ASSERT_EQ(reaped[i], i);

    // Keep the ring busy for many wraps: queue, let the device send part,
    // reap, repeat; cookies must come back exactly once, in order.
    uint64_t next_cookie = 1000, expected = 1000;
    for (int round = 0; round < 60; ++round) {
        while (nic->tx_free() > 0) {
            const uint64_t cookie = next_cookie++;
            ASSERT_TRUE(nic->transmit(buffer_phys(cookie % buffer_count), 60 + cookie % 1400, cookie).ok());
        }
        nic->flush();
        device.process_tx();
        for (uint64_t c : reap_all())
            ASSERT_EQ(c, expected++);
    }
    EXPECT_EQ(expected, next_cookie);
    EXPECT_EQ(device.sent.size(), 255u + (next_cookie - 1000));
    EXPECT_EQ(nic->statistics()[Counter::driver_tx_frames], device.sent.size());
}

TEST_F(E1000Test, AFrameInSeveralFragmentsIsOneFrameOnTheWire)
{
    bring_up(0);
    const std::vector<uint8_t> frame = make_frame(1400, 3);
    std::memcpy(buffer(10), frame.data(), 14);
    std::memcpy(buffer(11), frame.data() + 14, 600);
    std::memcpy(buffer(12), frame.data() + 614, 786);
    const TxFragment fragments[] = {
        {buffer_phys(10), 14, 10}, {buffer_phys(11), 600, 11}, {buffer_phys(12), 786, 12}};
    device.tx_paused = true;
    ASSERT_TRUE(nic->transmit(fragments, 3).ok());
    EXPECT_EQ(nic->tx_in_flight(), 3u);
    nic->flush();
    // Only the last descriptor asks for a status write-back.
    const uint8_t* ring = tx_ring.data;
    EXPECT_EQ(ring[11], tx_command::ifcs);
    EXPECT_EQ(ring[16 + 11], tx_command::ifcs);
    EXPECT_EQ(ring[32 + 11], tx_command::ifcs | tx_command::eop | tx_command::rs);
    EXPECT_TRUE(reap_all().empty());
    device.process_tx();
    ASSERT_EQ(device.sent.size(), 1u);
    EXPECT_EQ(device.sent[0].bytes, frame);
    EXPECT_EQ(device.sent[0].descriptors, 3u);
    EXPECT_EQ(reap_all(), (std::vector<uint64_t>{10, 11, 12}));
    EXPECT_EQ(nic->statistics()[Counter::driver_tx_frames], 1u);
    EXPECT_EQ(nic->statistics()[Counter::driver_tx_bytes], 1400u);
}

TEST_F(E1000Test, ReapRespectsMaxInsideAFrame)
{
    bring_up(0);
    const TxFragment fragments[] = {{buffer_phys(1), 20, 1}, {buffer_phys(2), 20, 2}, {buffer_phys(3), 20, 3}};
    ASSERT_TRUE(nic->transmit(fragments, 3).ok());
    nic->flush();
    uint64_t out[2];
    ASSERT_EQ(nic->reap_tx(out, 2), 2u);
    EXPECT_EQ(out[0], 1u);
    EXPECT_EQ(out[1], 2u);
    ASSERT_EQ(nic->reap_tx(out, 2), 1u);
    EXPECT_EQ(out[0], 3u);
    EXPECT_EQ(nic->tx_in_flight(), 0u);
}

TEST_F(E1000Test, AFrameThatDoesNotFitIsNotSplit)
{
    bring_up(0);
    device.tx_paused = true;
    for (uint32_t i = 0; i < 253; ++i)
        ASSERT_TRUE(nic->transmit(buffer_phys(i), 60, i).ok());
    const TxFragment three[] = {{buffer_phys(1), 20, 1}, {buffer_phys(2), 20, 2}, {buffer_phys(3), 20, 3}};
    EXPECT_EQ(nic->transmit(three, 3).error(), Error::busy);
    EXPECT_EQ(nic->tx_free(), 2u);
    const TxFragment two[] = {{buffer_phys(1), 20, 1}, {buffer_phys(2), 40, 2}};
    EXPECT_TRUE(nic->transmit(two, 2).ok());
}

TEST_F(E1000Test, BadTransmitArgumentsAreRefusedAndNothingIsQueued)
{
    bring_up(0);
    const uint32_t tdt_writes = device.writes_to(reg::tdt);
    EXPECT_EQ(nic->transmit(buffer_phys(0), 0, 0).error(), Error::invalid_argument);
    EXPECT_EQ(nic->transmit(buffer_phys(0), 1519, 0).error(), Error::invalid_argument);
    EXPECT_EQ(nic->transmit(nullptr, 1).error(), Error::invalid_argument);
    TxFragment many[Nic::max_fragments + 1];
    for (uint32_t i = 0; i <= Nic::max_fragments; ++i)
        many[i] = {buffer_phys(i), 10, i};
    EXPECT_EQ(nic->transmit(many, 0).error(), Error::invalid_argument);
    EXPECT_EQ(nic->transmit(many, Nic::max_fragments + 1).error(), Error::invalid_argument);
    EXPECT_TRUE(nic->transmit(many, Nic::max_fragments).ok());
    ASSERT_EQ(reap_all().size(), 0u); // not flushed yet
    nic->flush();
    EXPECT_EQ(reap_all().size(), Nic::max_fragments);

    // Offsets outside the frame.
    EXPECT_EQ(nic->transmit(buffer_phys(0), 60, 0, TxOffload::legacy(60, 10)).error(), Error::invalid_argument);
    EXPECT_EQ(nic->transmit(buffer_phys(0), 60, 0, TxOffload::legacy(14, 59)).error(), Error::invalid_argument);
    EXPECT_EQ(nic->transmit(buffer_phys(0), 40, 0, TxOffload::ipv4(14, 20, TxOffload::L4::tcp)).error(),
              Error::invalid_argument);
    EXPECT_EQ(nic->transmit(buffer_phys(0), 100, 0, TxOffload::ipv4(14, 12, TxOffload::L4::none)).error(),
              Error::invalid_argument);
    EXPECT_EQ(nic->transmit(buffer_phys(0), 300, 0, TxOffload::ipv4(250, 20, TxOffload::L4::udp)).error(),
              Error::invalid_argument);
    TxOffload nothing;
    nothing.kind = TxOffload::Kind::context;
    EXPECT_EQ(nic->transmit(buffer_phys(0), 100, 0, nothing).error(), Error::invalid_argument);
    TxOffload bad_end = TxOffload::ipv4(14, 20, TxOffload::L4::udp);
    bad_end.tucse = 200;
    EXPECT_EQ(nic->transmit(buffer_phys(0), 100, 0, bad_end).error(), Error::invalid_argument);

    EXPECT_EQ(nic->statistics()[Counter::driver_tx_rejected], 12u);
    EXPECT_EQ(nic->tx_in_flight(), 0u);
    EXPECT_EQ(device.writes_to(reg::tdt), tdt_writes + 1);
    EXPECT_EQ(nic->statistics()[Counter::driver_tx_contexts], 0u);
}

TEST_F(E1000Test, LongerFramesCanBeAllowed)
{
    config.max_tx_frame = 9000;
    bring_up(0);
    const TxFragment jumbo[] = {{buffer_phys(0), 2048, 0}, {buffer_phys(1), 2048, 1}, {buffer_phys(2), 2048, 2},
                                {buffer_phys(3), 2048, 3}, {buffer_phys(4), 808, 4}};
    EXPECT_TRUE(nic->transmit(jumbo, 5).ok());
}

TEST_F(E1000Test, TransmitErrorsAreCountedAndBuffersStillReturned)
{
    bring_up(0);
    device.tx_error_status = tx_status::ec;
    ASSERT_TRUE(nic->transmit(buffer_phys(0), 64, 0).ok());
    nic->flush();
    EXPECT_EQ(reap_all(), (std::vector<uint64_t>{0}));
    EXPECT_EQ(nic->statistics()[Counter::driver_tx_errors], 1u);
    EXPECT_EQ(nic->statistics()[Counter::driver_tx_frames], 0u);
}

// An Ethernet + IPv4 + TCP/UDP frame with a zero IP checksum and the
// pseudo-header sum in the TCP/UDP checksum field, as a stack hands it to a
// device that offloads checksums.
std::vector<uint8_t> make_ipv4_frame(uint8_t protocol, size_t payload)
{
    const size_t l4_header = protocol == 6 ? 20 : 8;
    std::vector<uint8_t> f(14 + 20 + l4_header + payload);
    const uint8_t dst[6] = {0x52, 0x55, 0x0A, 0x00, 0x02, 0x02}, src[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    std::memcpy(&f[0], dst, 6);
    std::memcpy(&f[6], src, 6);
    f[12] = 0x08;
    f[13] = 0x00;
    uint8_t* ip = &f[14];
    const uint16_t total = static_cast<uint16_t>(20 + l4_header + payload);
    ip[0] = 0x45;
    ip[2] = static_cast<uint8_t>(total >> 8);
    ip[3] = static_cast<uint8_t>(total);
    ip[4] = 0x12;
    ip[5] = 0x34;
    ip[8] = 64;
    ip[9] = protocol;
    const uint8_t src_ip[4] = {10, 0, 2, 15}, dst_ip[4] = {10, 0, 2, 2};
    std::memcpy(ip + 12, src_ip, 4);
    std::memcpy(ip + 16, dst_ip, 4);
    uint8_t* l4 = ip + 20;
    l4[0] = 0x1F;
    l4[1] = 0x90;
    l4[2] = 0xC3;
    l4[3] = 0x50;
    const uint16_t l4_length = static_cast<uint16_t>(l4_header + payload);
    if (protocol == 17) {
        l4[4] = static_cast<uint8_t>(l4_length >> 8);
        l4[5] = static_cast<uint8_t>(l4_length);
    } else {
        l4[12] = 0x50;
        l4[13] = 0x18;
        l4[14] = 0xFF;
    }
    for (size_t i = 0; i < payload; ++i)
        l4[l4_header + i] = static_cast<uint8_t>(i * 13 + 1);
    // Pseudo header: addresses, protocol, length.
    uint8_t pseudo[12];
    std::memcpy(pseudo, src_ip, 4);
    std::memcpy(pseudo + 4, dst_ip, 4);
    pseudo[8] = 0;
    pseudo[9] = protocol;
    pseudo[10] = static_cast<uint8_t>(l4_length >> 8);
    pseudo[11] = static_cast<uint8_t>(l4_length);
    const uint16_t seed = ones_complement_sum(pseudo, 12);
    const size_t at = protocol == 6 ? 16 : 6;
    l4[at] = static_cast<uint8_t>(seed >> 8);
    l4[at + 1] = static_cast<uint8_t>(seed);
    return f;
}

bool ip_checksum_ok(const std::vector<uint8_t>& f) { return ones_complement_sum(&f[14], 20) == 0xFFFF; }

bool l4_checksum_ok(const std::vector<uint8_t>& f)
{
    uint8_t pseudo[12];
    std::memcpy(pseudo, &f[14 + 12], 8);
    pseudo[8] = 0;
    pseudo[9] = f[14 + 9];
    const uint16_t l4_length = static_cast<uint16_t>(f.size() - 34);
    pseudo[10] = static_cast<uint8_t>(l4_length >> 8);
    pseudo[11] = static_cast<uint8_t>(l4_length);
    const uint16_t seed = ones_complement_sum(pseudo, 12);
    return ones_complement_sum(&f[34], l4_length, seed) == 0xFFFF;
}

TEST_F(E1000Test, ChecksumOffloadUsesAContextDescriptorOncePerContext)
{
    bring_up(0);
    const std::vector<uint8_t> tcp = make_ipv4_frame(6, 500);
    std::memcpy(buffer(0), tcp.data(), tcp.size());
    std::memcpy(buffer(1), tcp.data(), tcp.size());
    const TxOffload offload = TxOffload::ipv4(14, 20, TxOffload::L4::tcp);
    ASSERT_TRUE(nic->transmit(buffer_phys(0), static_cast<uint16_t>(tcp.size()), 0, offload).ok());
    ASSERT_TRUE(nic->transmit(buffer_phys(1), static_cast<uint16_t>(tcp.size()), 1, offload).ok());
    EXPECT_EQ(nic->tx_in_flight(), 3u); // one context, two data descriptors
    nic->flush();

    ASSERT_EQ(device.contexts.size(), 1u);
    const FakeE1000::Context& c = device.contexts[0];
    EXPECT_EQ(c.ipcss, 14);
    EXPECT_EQ(c.ipcso, 24);
    EXPECT_EQ(c.ipcse, 33);
    EXPECT_EQ(c.tucss, 34);
    EXPECT_EQ(c.tucso, 50);
    EXPECT_EQ(c.tucse, 0);
    EXPECT_EQ(c.tucmd, tucmd::dext | tucmd::ip | tucmd::tcp);
    // The data descriptors: extended, DTYP data, IXSM and TXSM.
    const uint8_t* ring = tx_ring.data;
    uint32_t dword;
    std::memcpy(&dword, ring + 16 + 8, 4);
    EXPECT_EQ(dword & dtyp_mask, dtyp_data);
    EXPECT_EQ(dword & 0xFFFFF, tcp.size());
    EXPECT_EQ(dword >> 24, uint32_t{tx_command::dext | tx_command::ifcs | tx_command::eop | tx_command::rs});
    EXPECT_EQ(ring[16 + 13], popts::ixsm | popts::txsm);

    ASSERT_EQ(device.sent.size(), 2u);
    for (const auto& sent : device.sent) {
        EXPECT_FALSE(sent.legacy);
        EXPECT_TRUE(ip_checksum_ok(sent.bytes));
        EXPECT_TRUE(l4_checksum_ok(sent.bytes));
    }
    EXPECT_FALSE(ip_checksum_ok(tcp)); // the buffer itself was not touched by the driver
    EXPECT_EQ(reap_all(), (std::vector<uint64_t>{0, 1}));
    EXPECT_EQ(nic->statistics()[Counter::driver_tx_contexts], 1u);

    // UDP needs another context; going back to TCP another again.
    const std::vector<uint8_t> udp = make_ipv4_frame(17, 333);
    std::memcpy(buffer(2), udp.data(), udp.size());
    ASSERT_TRUE(nic->transmit(buffer_phys(2), static_cast<uint16_t>(udp.size()), 2,
                              TxOffload::ipv4(14, 20, TxOffload::L4::udp))
                    .ok());
    ASSERT_TRUE(nic->transmit(buffer_phys(1), static_cast<uint16_t>(tcp.size()), 1, offload).ok());
    nic->flush();
    ASSERT_EQ(device.contexts.size(), 3u);
    EXPECT_EQ(device.contexts[1].tucso, 34 + 6);
    EXPECT_EQ(device.contexts[1].tucmd, tucmd::dext | tucmd::ip);
    ASSERT_EQ(device.sent.size(), 4u);
    EXPECT_TRUE(ip_checksum_ok(device.sent[2].bytes));
    EXPECT_TRUE(l4_checksum_ok(device.sent[2].bytes));
    EXPECT_TRUE(l4_checksum_ok(device.sent[3].bytes));
    EXPECT_EQ(reap_all(), (std::vector<uint64_t>{2, 1}));
}

TEST_F(E1000Test, PlainFramesBetweenOffloadedOnesKeepTheContext)
{
    bring_up(0);
    const std::vector<uint8_t> tcp = make_ipv4_frame(6, 100);
    std::memcpy(buffer(0), tcp.data(), tcp.size());
    const TxOffload offload = TxOffload::ipv4(14, 20, TxOffload::L4::tcp);
    ASSERT_TRUE(nic->transmit(buffer_phys(0), static_cast<uint16_t>(tcp.size()), 0, offload).ok());
    ASSERT_TRUE(nic->transmit(buffer_phys(1), 60, 1).ok());
    ASSERT_TRUE(nic->transmit(buffer_phys(0), static_cast<uint16_t>(tcp.size()), 0, offload).ok());
    nic->flush();
    EXPECT_EQ(device.contexts.size(), 1u);
    ASSERT_EQ(device.sent.size(), 3u);
    EXPECT_TRUE(device.sent[1].legacy);
    EXPECT_TRUE(l4_checksum_ok(device.sent[2].bytes));
}

TEST_F(E1000Test, ContextIsResentAfterAReset)
{
    bring_up(0);
    const std::vector<uint8_t> tcp = make_ipv4_frame(6, 100);
    std::memcpy(buffer(0), tcp.data(), tcp.size());
    const TxOffload offload = TxOffload::ipv4(14, 20, TxOffload::L4::tcp);
    ASSERT_TRUE(nic->transmit(buffer_phys(0), static_cast<uint16_t>(tcp.size()), 0, offload).ok());
    nic->flush();
    (void)reap_all();
    ASSERT_TRUE(nic->stop().ok());
    ASSERT_TRUE(init().ok());
    ASSERT_TRUE(nic->start().ok());
    ASSERT_TRUE(nic->transmit(buffer_phys(0), static_cast<uint16_t>(tcp.size()), 0, offload).ok());
    nic->flush();
    EXPECT_EQ(device.contexts.size(), 2u);
    EXPECT_TRUE(l4_checksum_ok(device.sent.back().bytes));
}

TEST_F(E1000Test, LegacyChecksumInsertion)
{
    bring_up(0);
    // A UDP frame; the legacy checksum covers from CSS to the end only, so
    // use it for the UDP checksum (seeded with the pseudo header).
    const std::vector<uint8_t> udp = make_ipv4_frame(17, 77);
    std::memcpy(buffer(0), udp.data(), udp.size());
    ASSERT_TRUE(nic->transmit(buffer_phys(0), static_cast<uint16_t>(udp.size()), 0, TxOffload::legacy(34, 40)).ok());
    nic->flush();
    ASSERT_EQ(device.sent.size(), 1u);
    EXPECT_TRUE(device.sent[0].legacy);
    EXPECT_EQ(device.sent[0].command & tx_command::ic, tx_command::ic);
    EXPECT_EQ(tx_ring.data[10], 40); // CSO
    EXPECT_EQ(tx_ring.data[13], 34); // CSS
    EXPECT_TRUE(l4_checksum_ok(device.sent[0].bytes));
    EXPECT_TRUE(device.contexts.empty());
}

// ------------------------------------------------------------------ checksum offload asked for by ip

// An ICMP echo request in Ethernet + IPv4 with a zero checksum field, as ip
// hands it over with checksum offload (the seed of an ICMP checksum is 0).
std::vector<uint8_t> make_icmp_frame(size_t payload)
{
    std::vector<uint8_t> f = make_ipv4_frame(17, payload); // Ethernet + IPv4 headers
    f[14 + 9] = 1;                                          // ICMP
    uint8_t* icmp = &f[34];
    std::memset(icmp, 0, 8);
    icmp[0] = 8; // echo request
    icmp[4] = 0x12;
    icmp[6] = 0x00;
    icmp[7] = 0x05;
    return f;
}

uint16_t tx_word(uint32_t start, uint32_t offset) { return static_cast<uint16_t>(start | offset << 8); }

TEST(E1000IpProtocol, TxWithoutTheOffloadFlagAsksForNothing)
{
    const auto offload = tx_offload(0, tx_word(34, 36), 98);
    ASSERT_TRUE(offload.ok());
    EXPECT_EQ(offload.value().kind, TxOffload::Kind::none);
    // The word means nothing without the flag, whatever it holds.
    EXPECT_TRUE(tx_offload(0, ~0ull, 98).ok());
}

TEST(E1000IpProtocol, TxChecksumOffloadBecomesAnL4OnlyContext)
{
    const auto offload = tx_offload(tern::nic::tx_flags::checksum_offload, tx_word(34, 40), 60);
    ASSERT_TRUE(offload.ok());
    const TxOffload& o = offload.value();
    EXPECT_EQ(o.kind, TxOffload::Kind::context);
    EXPECT_FALSE(o.ip_checksum);
    EXPECT_EQ(o.tucss, 34);
    EXPECT_EQ(o.tucso, 40);
    EXPECT_EQ(o.tucse, 0);
    EXPECT_NE(o.l4, TxOffload::L4::none);
}

TEST(E1000IpProtocol, BadTxChecksumRequestsAreRefused)
{
    const uint32_t flag = tern::nic::tx_flags::checksum_offload;
    // Fields at the very end of the frame are fine ...
    EXPECT_TRUE(tx_offload(flag, tx_word(56, 58), 60).ok());
    EXPECT_TRUE(tx_offload(flag, tx_word(0, 254), 256).ok());
    // ... one byte further is not.
    EXPECT_EQ(tx_offload(flag, tx_word(34, 59), 60).error(), Error::invalid_argument);
    EXPECT_EQ(tx_offload(flag, tx_word(59, 60), 100).ok(), true);
    EXPECT_EQ(tx_offload(flag, tx_word(59, 60), 61).error(), Error::invalid_argument);
    EXPECT_EQ(tx_offload(flag, tx_word(34, 36), 0).error(), Error::invalid_argument);
    // The checksum field must lie after the start, inside what is summed.
    EXPECT_EQ(tx_offload(flag, tx_word(34, 34), 100).error(), Error::invalid_argument);
    EXPECT_EQ(tx_offload(flag, tx_word(40, 34), 100).error(), Error::invalid_argument);
    // Offsets the 8-bit descriptor fields cannot hold (bits above the two bytes).
    EXPECT_EQ(tx_offload(flag, 34 | 300u << 8, 1000).error(), Error::invalid_argument);
    EXPECT_EQ(tx_offload(flag, tx_word(34, 40) | 1ull << 16, 100).error(), Error::invalid_argument);
    EXPECT_EQ(tx_offload(flag, tx_word(34, 40) | 1ull << 63, 100).error(), Error::invalid_argument);
}

TEST_F(E1000Test, IpsChecksumOffloadGetsTheRightContextDescriptor)
{
    bring_up(0);
    const uint32_t flag = tern::nic::tx_flags::checksum_offload;
    // ICMP: summed from its header (34), the checksum at 36, seed 0.
    const std::vector<uint8_t> icmp = make_icmp_frame(56);
    std::memcpy(buffer(0), icmp.data(), icmp.size());
    const auto icmp_offload = tx_offload(flag, tx_word(34, 36), static_cast<uint32_t>(icmp.size()));
    ASSERT_TRUE(icmp_offload.ok());
    ASSERT_TRUE(nic->transmit(buffer_phys(0), static_cast<uint16_t>(icmp.size()), 0, icmp_offload.value()).ok());
    nic->flush();

    ASSERT_EQ(device.contexts.size(), 1u);
    const FakeE1000::Context& c = device.contexts[0];
    EXPECT_EQ(c.tucss, 34);
    EXPECT_EQ(c.tucso, 36);
    EXPECT_EQ(c.tucse, 0);
    // No IP header checksum: that is ip's (the IPv4 header is not summed).
    EXPECT_EQ(c.ipcss, 0);
    EXPECT_EQ(c.ipcso, 0);
    EXPECT_EQ(c.ipcse, 0);
    EXPECT_EQ(c.tucmd, tucmd::dext);
    // The data descriptor: extended, TCP/UDP checksum only.
    uint32_t dword;
    std::memcpy(&dword, tx_ring.data + 16 + 8, 4);
    EXPECT_EQ(dword & dtyp_mask, dtyp_data);
    EXPECT_EQ(tx_ring.data[16 + 13], popts::txsm);

    ASSERT_EQ(device.sent.size(), 1u);
    const std::vector<uint8_t>& sent = device.sent[0].bytes;
    EXPECT_FALSE(device.sent[0].legacy);
    EXPECT_EQ(ones_complement_sum(&sent[34], sent.size() - 34), 0xFFFF); // the ICMP checksum holds
    EXPECT_NE(sent[36] | sent[37], 0);
    EXPECT_TRUE(std::equal(sent.begin(), sent.begin() + 34, icmp.begin())); // headers untouched

    // UDP, seeded with the pseudo-header sum: another context.
    const std::vector<uint8_t> udp = make_ipv4_frame(17, 100);
    std::memcpy(buffer(1), udp.data(), udp.size());
    const auto udp_offload = tx_offload(flag, tx_word(34, 40), static_cast<uint32_t>(udp.size()));
    ASSERT_TRUE(udp_offload.ok());
    ASSERT_TRUE(nic->transmit(buffer_phys(1), static_cast<uint16_t>(udp.size()), 1, udp_offload.value()).ok());
    // The same kind again needs no new context.
    ASSERT_TRUE(nic->transmit(buffer_phys(1), static_cast<uint16_t>(udp.size()), 2, udp_offload.value()).ok());
    nic->flush();
    ASSERT_EQ(device.contexts.size(), 2u);
    EXPECT_EQ(device.contexts[1].tucss, 34);
    EXPECT_EQ(device.contexts[1].tucso, 40);
    ASSERT_EQ(device.sent.size(), 3u);
    EXPECT_TRUE(l4_checksum_ok(device.sent[1].bytes));
    EXPECT_TRUE(l4_checksum_ok(device.sent[2].bytes));
    EXPECT_EQ(reap_all(), (std::vector<uint64_t>{0, 1, 2}));
}

// ------------------------------------------------------------------ TCP segmentation (TSO)

constexpr uint16_t tso_mss = 1460;
constexpr uint32_t tso_header = 14 + 20 + 20;

// A large TCP segment as ip hands it over for segmentation: the IPv4
// checksum field 0, the TCP one seeded with the pseudo-header sum of the
// addresses and protocol only (the device adds each frame's length), and
// PSH and FIN set (the device keeps them for the last frame only).
std::vector<uint8_t> make_tso_frame(size_t payload)
{
    std::vector<uint8_t> f = make_ipv4_frame(6, payload);
    f[14 + 2] = f[14 + 3] = 0; // total length: the device writes each frame's
    f[34 + 13] = 0x19;         // FIN, PSH, ACK
    uint8_t pseudo[12] = {};
    std::memcpy(pseudo, &f[14 + 12], 8);
    pseudo[9] = 6;
    const uint16_t seed = ones_complement_sum(pseudo, 12);
    f[50] = static_cast<uint8_t>(seed >> 8);
    f[51] = static_cast<uint8_t>(seed);
    return f;
}

uint32_t load_be32(const uint8_t* p) { return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3]; }

struct RingContext {
    TxContextDescriptor descriptor;
    uint8_t tucmd() const { return static_cast<uint8_t>(descriptor.paylen_dtyp_tucmd >> 24); }
    uint32_t paylen() const { return descriptor.paylen_dtyp_tucmd & 0xFFFFF; }
    uint32_t dtyp() const { return descriptor.paylen_dtyp_tucmd & dtyp_mask; }
};
RingContext context_at(const HostMemory& ring, uint32_t index)
{
    RingContext c;
    std::memcpy(&c.descriptor, ring.data + 16 * index, 16);
    return c;
}
TxDataDescriptor data_at(const HostMemory& ring, uint32_t index)
{
    TxDataDescriptor d;
    std::memcpy(&d, ring.data + 16 * index, 16);
    return d;
}

class E1000Segmentation : public E1000Test {
protected:
    // Copies `frame` into pool buffers from `first_cookie` on, Nic::buffer_size
    // bytes each, as ip chains it; returns the fragments.
    std::vector<TxFragment> fragments_of(const std::vector<uint8_t>& frame, uint64_t first_cookie)
    {
        std::vector<TxFragment> fragments;
        for (size_t at = 0; at < frame.size(); at += Nic::buffer_size) {
            const uint64_t cookie = first_cookie + fragments.size();
            const size_t length = std::min<size_t>(Nic::buffer_size, frame.size() - at);
            std::memcpy(buffer(cookie), frame.data() + at, length);
            fragments.push_back({buffer_phys(cookie), static_cast<uint16_t>(length), cookie});
        }
        return fragments;
    }

    static TxOffload tso(uint16_t mss = tso_mss) { return TxOffload::tcp_segmentation(14, 20, 20, mss); }

    // The frames the device cut `frame` into: each a valid TCP/IPv4 frame
    // with the right piece of the data, lengths, identification, sequence
    // number, and PSH/FIN on the last only.
    void expect_segments(const std::vector<uint8_t>& frame, size_t first_sent, uint16_t mss)
    {
        const size_t data = frame.size() - tso_header;
        const size_t frames = (data + mss - 1) / mss;
        ASSERT_EQ(device.sent.size(), first_sent + frames);
        const uint32_t sequence = load_be32(&frame[34 + 4]);
        for (size_t i = 0; i < frames; ++i) {
            const std::vector<uint8_t>& f = device.sent[first_sent + i].bytes;
            const size_t expected_data = std::min<size_t>(mss, data - i * mss);
            SCOPED_TRACE(i);
            EXPECT_TRUE(device.sent[first_sent + i].tse);
            EXPECT_EQ(device.sent[first_sent + i].segment, i);
            ASSERT_EQ(f.size(), tso_header + expected_data);
            EXPECT_TRUE(std::equal(f.begin() + tso_header, f.end(), frame.begin() + tso_header + i * mss));
            EXPECT_EQ(f[16] << 8 | f[17], 20 + 20 + expected_data);   // IPv4 total length
            EXPECT_EQ(f[18] << 8 | f[19], 0x1234 + i);                // identification
            EXPECT_EQ(load_be32(&f[34 + 4]), sequence + i * mss);     // sequence number
            EXPECT_EQ(f[34 + 13], i + 1 == frames ? 0x19 : 0x10);     // PSH and FIN on the last only
            EXPECT_TRUE(ip_checksum_ok(f));
            EXPECT_TRUE(l4_checksum_ok(f));
        }
    }
};

TEST_F(E1000Segmentation, AFrameInThreeFragmentsGetsATseContextAndTseDataDescriptors)
{
    bring_up(0);
    const std::vector<uint8_t> frame = make_tso_frame(5000 - tso_header);
    const std::vector<TxFragment> fragments = fragments_of(frame, 10);
    ASSERT_EQ(fragments.size(), 3u);
    device.tx_paused = true;
    ASSERT_TRUE(nic->transmit(fragments.data(), fragments.size(), tso()).ok());
    EXPECT_EQ(nic->tx_in_flight(), 4u); // the context and three data descriptors
    nic->flush();

    // The context descriptor (3.3.6): checksum offsets, TSE, PAYLEN, HDRLEN, MSS.
    const RingContext c = context_at(tx_ring, 0);
    EXPECT_EQ(c.descriptor.ipcss, 14);
    EXPECT_EQ(c.descriptor.ipcso, 24);
    EXPECT_EQ(c.descriptor.ipcse, 33);
    EXPECT_EQ(c.descriptor.tucss, 34);
    EXPECT_EQ(c.descriptor.tucso, 50);
    EXPECT_EQ(c.descriptor.tucse, 0);
    EXPECT_EQ(c.tucmd(), tucmd::dext | tucmd::tse | tucmd::ip | tucmd::tcp);
    EXPECT_EQ(c.dtyp(), dtyp_context);
    EXPECT_EQ(c.paylen(), 5000u - tso_header);
    EXPECT_EQ(c.descriptor.hdrlen, tso_header);
    EXPECT_EQ(c.descriptor.mss, tso_mss);

    // The data descriptors (3.3.7): TSE in each, EOP and RS in the last only.
    for (uint32_t i = 0; i < 3; ++i) {
        SCOPED_TRACE(i);
        const TxDataDescriptor d = data_at(tx_ring, 1 + i);
        const uint8_t base = tx_command::dext | tx_command::tse | tx_command::ifcs;
        const uint8_t expected = i == 2 ? base | tx_command::eop | tx_command::rs : base;
        EXPECT_EQ(d.buffer, fragments[i].phys);
        EXPECT_EQ(d.length_dtyp_dcmd & 0xFFFFF, fragments[i].length);
        EXPECT_EQ(d.length_dtyp_dcmd & dtyp_mask, dtyp_data);
        EXPECT_EQ(d.length_dtyp_dcmd >> 24, expected);
        EXPECT_EQ(d.popts, popts::ixsm | popts::txsm);
    }

    device.process_tx();
    EXPECT_EQ(device.segmentation_errors, 0u);
    expect_segments(frame, 0, tso_mss);
    EXPECT_EQ(reap_all(), (std::vector<uint64_t>{10, 11, 12}));
    EXPECT_EQ(nic->statistics()[Counter::driver_tx_frames], 1u);
    EXPECT_EQ(nic->statistics()[Counter::driver_tx_bytes], 5000u);
    EXPECT_EQ(nic->statistics()[Counter::driver_tx_contexts], 1u);
}

TEST_F(E1000Segmentation, TheLargestFrameFitsItsPoolBuffersAndOneByteMoreDoesNot)
{
    bring_up(0);
    const std::vector<uint8_t> frame = make_tso_frame(Nic::max_segmentation_frame - tso_header);
    const std::vector<TxFragment> fragments = fragments_of(frame, 100);
    ASSERT_EQ(fragments.size(), 33u);
    ASSERT_LE(fragments.size(), Nic::max_fragments);
    ASSERT_TRUE(nic->transmit(fragments.data(), fragments.size(), tso()).ok());
    nic->flush();
    expect_segments(frame, 0, tso_mss);
    EXPECT_EQ(reap_all().size(), 33u);

    std::vector<TxFragment> too_long = fragments;
    too_long.push_back({buffer_phys(200), 1, 200});
    EXPECT_EQ(nic->transmit(too_long.data(), too_long.size(), tso()).error(), Error::invalid_argument);
    // A smaller mss: more frames, still right.
    const size_t sent = device.sent.size();
    ASSERT_TRUE(nic->transmit(fragments.data(), 2, tso(536)).ok());
    nic->flush();
    std::vector<uint8_t> two(frame.begin(), frame.begin() + 2 * Nic::buffer_size);
    expect_segments(two, sent, 536);
}

TEST_F(E1000Segmentation, BusyWhenTheRingLacksRoomForTheContextAndEveryFragment)
{
    bring_up(0);
    device.tx_paused = true;
    for (uint32_t i = 0; i < 252; ++i)
        ASSERT_TRUE(nic->transmit(buffer_phys(i), 60, i).ok());
    ASSERT_EQ(nic->tx_free(), 3u);
    const std::vector<uint8_t> frame = make_tso_frame(5000 - tso_header);
    const std::vector<TxFragment> fragments = fragments_of(frame, 300);
    const uint32_t tdt_writes = device.writes_to(reg::tdt);
    // Three fragments and a context need four.
    EXPECT_EQ(nic->transmit(fragments.data(), fragments.size(), tso()).error(), Error::busy);
    EXPECT_EQ(nic->tx_free(), 3u);
    EXPECT_EQ(nic->statistics()[Counter::driver_tx_ring_full], 1u);
    EXPECT_EQ(nic->statistics()[Counter::driver_tx_contexts], 0u);
    nic->flush();
    EXPECT_EQ(device.writes_to(reg::tdt), tdt_writes + 1); // the 252 frames only

    device.process_tx();
    EXPECT_EQ(reap_all().size(), 252u);
    ASSERT_TRUE(nic->transmit(fragments.data(), fragments.size(), tso()).ok());
    nic->flush();
    device.process_tx();
    expect_segments(frame, 252, tso_mss);
}

TEST_F(E1000Segmentation, MalformedRequestsAreRefusedAndNothingIsQueued)
{
    bring_up(0);
    const std::vector<uint8_t> frame = make_tso_frame(5000 - tso_header);
    const std::vector<TxFragment> fragments = fragments_of(frame, 0);
    const uint32_t tdt_writes = device.writes_to(reg::tdt);
    const auto refused = [&](const TxOffload& offload, const std::vector<TxFragment>& frags) {
        return nic->transmit(frags.data(), frags.size(), offload).error() == Error::invalid_argument;
    };
    uint64_t expected_rejections = 0;
    const auto expect_refused = [&](const TxOffload& offload, const char* what,
                                    const std::vector<TxFragment>* frags = nullptr) {
        EXPECT_TRUE(refused(offload, frags ? *frags : fragments)) << what;
        ++expected_rejections;
    };

    expect_refused(tso(0), "mss 0");
    expect_refused(tso(1500 - 40 + 1), "frames longer than Ethernet's MTU");
    EXPECT_TRUE(nic->transmit(fragments.data(), 1, tso(1460)).ok()) << "the largest mss";
    expect_refused(TxOffload::tcp_segmentation(14, 16, 20, tso_mss), "IPv4 header too short");
    expect_refused(TxOffload::tcp_segmentation(14, 64, 20, tso_mss), "IPv4 header too long");
    expect_refused(TxOffload::tcp_segmentation(14, 22, 20, tso_mss), "IPv4 header not in 4-byte steps");
    expect_refused(TxOffload::tcp_segmentation(14, 20, 16, tso_mss), "TCP header too short");
    expect_refused(TxOffload::tcp_segmentation(14, 20, 64, tso_mss), "TCP header too long");
    expect_refused(TxOffload::tcp_segmentation(14, 20, 0, tso_mss), "no TCP header");
    expect_refused(TxOffload::tcp_segmentation(0, 20, 20, tso_mss), "no Ethernet header");
    expect_refused(TxOffload::tcp_segmentation(200, 40, 40, tso_mss), "headers past 255 bytes");

    TxOffload wrong = tso();
    wrong.tucso = 40;
    expect_refused(wrong, "TCP checksum not in the TCP header's place");
    wrong = tso();
    wrong.ipcso = 30;
    expect_refused(wrong, "IPv4 checksum not in its place");
    wrong = tso();
    wrong.tucse = 100;
    expect_refused(wrong, "a TCP checksum end");
    wrong = tso();
    wrong.l4 = TxOffload::L4::udp;
    expect_refused(wrong, "UDP");
    wrong = tso();
    wrong.ip_checksum = false;
    expect_refused(wrong, "no IPv4 checksum");
    wrong = tso();
    wrong.tucss = 30;
    expect_refused(wrong, "TCP header overlapping the IPv4 one");

    // Lengths: no data after the headers, headers beyond the first fragment,
    // more than 64 KiB of IPv4 datagram.
    const std::vector<TxFragment> headers_only = {{fragments[0].phys, tso_header, 0}};
    expect_refused(tso(), "no data", &headers_only);
    const std::vector<TxFragment> split_header = {{fragments[0].phys, 30, 0}, {fragments[0].phys + 30, 1000, 1}};
    expect_refused(tso(), "headers over two fragments", &split_header);
    std::vector<TxFragment> many(33, {buffer_phys(0), 2048, 0});
    many.back().length = 14 + 65535 - 32 * 2048 + 1;
    expect_refused(tso(), "an IPv4 datagram over 64 KiB", &many);

    EXPECT_EQ(nic->statistics()[Counter::driver_tx_rejected], expected_rejections);
    EXPECT_EQ(nic->tx_in_flight(), 2u); // the one good frame: a context and one fragment
    EXPECT_EQ(device.writes_to(reg::tdt), tdt_writes);
    EXPECT_EQ(nic->statistics()[Counter::driver_tx_contexts], 1u);
}

TEST_F(E1000Segmentation, ChecksumFramesAfterASegmentationFrameGetAFreshContext)
{
    bring_up(0);
    const std::vector<uint8_t> tcp = make_ipv4_frame(6, 500);
    std::memcpy(buffer(0), tcp.data(), tcp.size());
    const TxOffload checksum = TxOffload::ipv4(14, 20, TxOffload::L4::tcp);
    const std::vector<uint8_t> large = make_tso_frame(3000);
    const std::vector<TxFragment> fragments = fragments_of(large, 10);

    ASSERT_TRUE(nic->transmit(buffer_phys(0), static_cast<uint16_t>(tcp.size()), 0, checksum).ok());
    ASSERT_TRUE(nic->transmit(fragments.data(), fragments.size(), tso()).ok());
    // The same checksum offsets as before the segmentation frame: still a new context.
    ASSERT_TRUE(nic->transmit(buffer_phys(0), static_cast<uint16_t>(tcp.size()), 1, checksum).ok());
    ASSERT_TRUE(nic->transmit(buffer_phys(0), static_cast<uint16_t>(tcp.size()), 2, checksum).ok());
    // Two segmentation frames in a row: one context each (PAYLEN differs).
    ASSERT_TRUE(nic->transmit(fragments.data(), fragments.size(), tso()).ok());
    ASSERT_TRUE(nic->transmit(fragments.data(), 1, tso()).ok());
    nic->flush();

    ASSERT_EQ(device.contexts.size(), 5u);
    EXPECT_EQ(device.contexts[0].tucmd & tucmd::tse, 0);
    EXPECT_EQ(device.contexts[1].tucmd & tucmd::tse, tucmd::tse);
    EXPECT_EQ(device.contexts[2].tucmd, tucmd::dext | tucmd::ip | tucmd::tcp); // no TSE
    EXPECT_EQ(device.contexts[2].paylen, 0u);
    EXPECT_EQ(device.contexts[2].hdrlen, 0);
    EXPECT_EQ(device.contexts[2].mss, 0);
    EXPECT_EQ(device.contexts[3].paylen, large.size() - tso_header);
    EXPECT_EQ(device.contexts[4].paylen, Nic::buffer_size - tso_header);

    EXPECT_EQ(device.segmentation_errors, 0u);
    // 1 + 3 segments + 1 + 1 + 3 + 2 frames on the wire.
    ASSERT_EQ(device.sent.size(), 11u);
    for (size_t i : {0, 4, 5}) {
        EXPECT_FALSE(device.sent[i].tse) << i;
        EXPECT_TRUE(ip_checksum_ok(device.sent[i].bytes)) << i;
        EXPECT_TRUE(l4_checksum_ok(device.sent[i].bytes)) << i;
        EXPECT_EQ(device.sent[i].bytes, device.sent[0].bytes) << i;
    }
    for (size_t i : {1, 2, 3, 6, 7, 8, 9, 10}) {
        EXPECT_TRUE(device.sent[i].tse) << i;
        EXPECT_TRUE(ip_checksum_ok(device.sent[i].bytes)) << i;
        EXPECT_TRUE(l4_checksum_ok(device.sent[i].bytes)) << i;
    }
    EXPECT_EQ(reap_all().size(), 1 + 2 + 1 + 1 + 2 + 1u); // a cookie per fragment
    EXPECT_EQ(nic->statistics()[Counter::driver_tx_frames], 6u);
}

TEST_F(E1000Segmentation, TheDeviceWithoutSegmentationRefusesIt)
{
    FakeE1000 device_82547(0x1019);
    Nic nic_82547(device_82547, &delay);
    config.device_id = 0x1019;
    ASSERT_TRUE(nic_82547.init(config, rx_ring.dma(), tx_ring.dma()).ok());
    const std::vector<uint8_t> frame = make_tso_frame(3000);
    const std::vector<TxFragment> fragments = fragments_of(frame, 0);
    EXPECT_EQ(nic_82547.transmit(fragments.data(), fragments.size(), tso()).error(), Error::invalid_argument);
    EXPECT_EQ(nic_82547.tx_in_flight(), 0u);
}

// ------------------------------------------------------------------ segmentation asked for by ip

TEST(E1000IpProtocol, TxSegmentationBecomesATcpSegmentationOffload)
{
    const uint64_t word = tern::nic::segmentation_word(14, 24, 32, 1448);
    const auto offload = tx_offload(tern::nic::tx_flags::segmentation | tern::nic::tx_flags::more, word, 20000);
    ASSERT_TRUE(offload.ok());
    const TxOffload& o = offload.value();
    EXPECT_EQ(o.kind, TxOffload::Kind::segmentation);
    EXPECT_TRUE(o.ip_checksum);
    EXPECT_EQ(o.l4, TxOffload::L4::tcp);
    EXPECT_EQ(o.ipcss, 14);
    EXPECT_EQ(o.ipcso, 24);
    EXPECT_EQ(o.ipcse, 14 + 24 - 1);
    EXPECT_EQ(o.tucss, 38);
    EXPECT_EQ(o.tucso, 38 + 16);
    EXPECT_EQ(o.tucse, 0);
    EXPECT_EQ(o.hdrlen, 14 + 24 + 32);
    EXPECT_EQ(o.mss, 1448);
}

TEST(E1000IpProtocol, BadTxSegmentationWordsAreRefused)
{
    namespace flags = tern::nic::tx_flags;
    using tern::nic::segmentation_word;
    const uint64_t good = segmentation_word(14, 20, 20, 1460);
    EXPECT_TRUE(tx_offload(flags::segmentation, good, 55).ok());
    EXPECT_EQ(tx_offload(flags::segmentation, good, 54).error(), Error::invalid_argument); // no data
    EXPECT_EQ(tx_offload(flags::segmentation | flags::checksum_offload, good, 5000).error(),
              Error::invalid_argument);
    EXPECT_EQ(tx_offload(flags::segmentation, good | 1ull << 24, 5000).error(), Error::invalid_argument);
    EXPECT_EQ(tx_offload(flags::segmentation, good | 1ull << 48, 5000).error(), Error::invalid_argument);
    EXPECT_EQ(tx_offload(flags::segmentation, good | 1ull << 63, 5000).error(), Error::invalid_argument);
    EXPECT_EQ(tx_offload(flags::segmentation, segmentation_word(14, 20, 20, 0), 5000).error(),
              Error::invalid_argument);
    for (unsigned length : {0u, 16u, 22u, 64u, 255u}) {
        EXPECT_EQ(tx_offload(flags::segmentation, segmentation_word(14, length, 20, 1460), 5000).error(),
                  Error::invalid_argument)
            << length;
        EXPECT_EQ(tx_offload(flags::segmentation, segmentation_word(14, 20, length, 1460), 5000).error(),
                  Error::invalid_argument)
            << length;
    }
}

TEST_F(E1000Segmentation, IpsSegmentationRequestSendsRightFrames)
{
    bring_up(0);
    const std::vector<uint8_t> frame = make_tso_frame(9000);
    const std::vector<TxFragment> fragments = fragments_of(frame, 0);
    const auto offload = tx_offload(tern::nic::tx_flags::segmentation, tern::nic::segmentation_word(14, 20, 20, 1460),
                                    static_cast<uint32_t>(frame.size()));
    ASSERT_TRUE(offload.ok());
    ASSERT_TRUE(nic->transmit(fragments.data(), fragments.size(), offload.value()).ok());
    nic->flush();
    expect_segments(frame, 0, 1460);
}

// ------------------------------------------------------------------ chains of tx messages

struct Messages {
    std::vector<tern::channel::Message> list;
    void add(uint32_t type, uint32_t flags, uint32_t index)
    {
        tern::channel::Message m{};
        m.type = type;
        m.flags = flags;
        m.buffer.index = index;
        list.push_back(m);
    }
    Chain scan(uint32_t first, uint32_t max, tern::channel::BufferRef* refs) const
    {
        return scan_chain([&](uint32_t i) { return list.at(first + i); },
                          static_cast<uint32_t>(list.size()) - first, max, refs);
    }
};

TEST(E1000IpProtocol, ChainsAreGatheredUpToTheirLastMessage)
{
    namespace flags = tern::nic::tx_flags;
    const uint32_t tso = flags::segmentation, more = flags::more;
    Messages m;
    m.add(tern::nic::tx, 0, 1);                // a frame on its own
    m.add(tern::nic::tx, tso | more, 2);       // a chain of three
    m.add(tern::nic::tx, tso | more, 3);
    m.add(tern::nic::tx, tso, 4);
    m.add(tern::nic::rx_return, 0, 5);
    tern::channel::BufferRef refs[8];

    Chain chain = m.scan(0, 8, refs);
    EXPECT_EQ(chain.status, Chain::Status::complete);
    EXPECT_EQ(chain.count, 1u);
    EXPECT_EQ(refs[0].index, 1u);
    chain = m.scan(1, 8, refs);
    EXPECT_EQ(chain.status, Chain::Status::complete);
    ASSERT_EQ(chain.count, 3u);
    EXPECT_EQ(refs[0].index, 2u);
    EXPECT_EQ(refs[2].index, 4u);
    EXPECT_TRUE(chain_allowed(tso | more, 3));
    EXPECT_FALSE(chain_allowed(flags::checksum_offload | more, 3));
    EXPECT_TRUE(chain_allowed(flags::checksum_offload, 1));

    // The chain's end not published yet.
    Messages unfinished;
    unfinished.add(tern::nic::tx, tso | more, 1);
    unfinished.add(tern::nic::tx, tso | more, 2);
    chain = unfinished.scan(0, 8, refs);
    EXPECT_EQ(chain.status, Chain::Status::unfinished);
    EXPECT_EQ(chain.count, 2u);

    // Longer than a frame may be: stops at the limit.
    Messages too_long;
    for (uint32_t i = 0; i < 10; ++i)
        too_long.add(tern::nic::tx, tso | more, i);
    too_long.add(tern::nic::tx, tso, 10);
    chain = too_long.scan(0, 4, refs);
    EXPECT_EQ(chain.status, Chain::Status::too_long);
    EXPECT_EQ(chain.count, 4u);
    chain = too_long.scan(7, 4, refs); // ... while its last four fit
    EXPECT_EQ(chain.status, Chain::Status::complete);
    EXPECT_EQ(chain.count, 4u);

    // Another kind of message before the end.
    Messages broken;
    broken.add(tern::nic::tx, tso | more, 1);
    broken.add(tern::nic::rx_return, 0, 2);
    broken.add(tern::nic::tx, tso, 3);
    chain = broken.scan(0, 8, refs);
    EXPECT_EQ(chain.status, Chain::Status::broken);
    EXPECT_EQ(chain.count, 1u);
    EXPECT_EQ(refs[0].index, 1u);
}

// ------------------------------------------------------------------ what ip is told

TEST(E1000IpProtocol, DeviceDropsSumTheCountersByReason)
{
    namespace drop = tern::nic::device_drop;
    Statistics s;
    EXPECT_EQ(device_drops(s), DeviceDrops{});
    s[Counter::missed_packets] = 1;
    s[Counter::rx_oversize] = 20;
    s[Counter::rx_undersize] = 300;
    s[Counter::rx_fragments] = 4'000;
    s[Counter::rx_jabber] = 50'000;
    s[Counter::crc_errors] = 1ull << 20;
    s[Counter::alignment_errors] = 1ull << 21;
    s[Counter::symbol_errors] = 1ull << 22;
    s[Counter::rx_errors] = 1ull << 23;
    s[Counter::rx_length_errors] = 1ull << 24;
    s[Counter::driver_rx_frame_errors] = 1ull << 25;
    s[Counter::driver_rx_bad_length] = 1ull << 26;
    s[Counter::driver_rx_split_frames] = 1ull << 27;
    // Not drops before ip: none of these may show up.
    s[Counter::rx_no_buffers] = 7;
    s[Counter::driver_rx_overruns] = 7;
    s[Counter::driver_tx_errors] = 7;
    s[Counter::driver_tx_rejected] = 7;
    s[Counter::excessive_collisions] = 7;
    s[Counter::sequence_errors] = 7;
    s[Counter::carrier_extension_errors] = 7;
    s[Counter::good_packets_received] = 7;
    const DeviceDrops drops = device_drops(s);
    EXPECT_EQ(drops.counts[drop::missed], 1u);
    EXPECT_EQ(drops.counts[drop::oversize], 20u);
    EXPECT_EQ(drops.counts[drop::undersize], 54'300u);
    EXPECT_EQ(drops.counts[drop::errors], 0xFFull << 20);

    const tern::channel::Message m = device_drops_message(drops);
    EXPECT_EQ(m.type, tern::nic::device_drops);
    EXPECT_EQ(m.words[drop::missed], 1u);
    EXPECT_EQ(m.words[drop::oversize], 20u);
    EXPECT_EQ(m.words[drop::undersize], 54'300u);
    EXPECT_EQ(m.words[drop::errors], 0xFFull << 20);
    EXPECT_EQ(m.words[4], 0u);

    DeviceDrops other = drops;
    EXPECT_EQ(other, drops);
    ++other.counts[drop::oversize];
    EXPECT_NE(other, drops);
}

TEST_F(E1000Test, DeviceDropsFollowTheDevicesCounters)
{
    namespace drop = tern::nic::device_drop;
    bring_up(2);
    device.set_counter(reg::stat::roc, 2);
    device.set_counter(reg::stat::ruc, 3);
    device.set_counter(reg::stat::rfc, 4);
    device.set_counter(reg::stat::rjc, 5);
    device.set_counter(reg::stat::crcerrs, 6);
    device.set_counter(reg::stat::rlec, 7);
    FakeE1000::RxOptions crc;
    crc.errors = rx_error::ce;
    ASSERT_TRUE(device.deliver(make_frame(64, 0), crc)); // dropped by the driver
    EXPECT_TRUE(poll_all().empty());
    nic->flush();
    ASSERT_TRUE(device.deliver(make_frame(64, 1)));
    ASSERT_TRUE(device.deliver(make_frame(64, 2)));
    EXPECT_FALSE(device.deliver(make_frame(64, 3))); // no buffer: missed
    nic->update_statistics();
    DeviceDrops drops = device_drops(nic->statistics());
    EXPECT_EQ(drops.counts[drop::missed], 1u);
    EXPECT_EQ(drops.counts[drop::oversize], 2u);
    EXPECT_EQ(drops.counts[drop::undersize], 12u);
    EXPECT_EQ(drops.counts[drop::errors], 6u + 7u + 1u);
    // Totals: the next reading adds to them.
    device.set_counter(reg::stat::roc, 1);
    nic->update_statistics();
    drops = device_drops(nic->statistics());
    EXPECT_EQ(drops.counts[drop::oversize], 3u);
    EXPECT_EQ(drops.counts[drop::missed], 1u);
}

TEST(E1000IpProtocol, TheLinkMessageOffersChecksumOffloadAndSegmentation)
{
    namespace capability = tern::nic::capability;
    const MacAddress mac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
    tern::channel::Message m = link_message(mac, LinkState{true, 1000, true}, 1500, true);
    EXPECT_EQ(m.type, tern::nic::link);
    EXPECT_EQ(tern::nic::mac_address(m.words[0]), mac);
    EXPECT_EQ(m.words[1], 1u);
    EXPECT_EQ(m.words[2], 1000u);
    EXPECT_EQ(m.words[3], 1500u);
    EXPECT_EQ(m.words[4], capability::tx_checksum | capability::tcp_segmentation);
    m = link_message(mac, LinkState{false, 0, false}, 1500, false);
    EXPECT_EQ(m.words[1], 0u);
    EXPECT_EQ(m.words[2], 0u);
    EXPECT_EQ(m.words[4], capability::tx_checksum);
    // Every part but the 82547 segments.
    EXPECT_TRUE(has_tcp_segmentation(find_device(intel_vendor_id, 0x100E)->family));
    EXPECT_FALSE(has_tcp_segmentation(find_device(intel_vendor_id, 0x1019)->family));
}

TEST(E1000IpProtocol, LinkChangesAreUpDownSpeedOrDuplex)
{
    const LinkState up{true, 1000, true};
    EXPECT_FALSE(link_changed(up, up));
    EXPECT_TRUE(link_changed(up, LinkState{false, 0, false}));
    EXPECT_TRUE(link_changed(up, LinkState{true, 100, true}));
    EXPECT_TRUE(link_changed(up, LinkState{true, 1000, false}));
}

TEST_F(E1000Test, ALinkChangeIsSeenInTheCausesAndTheStatus)
{
    bring_up(0);
    const LinkState before = nic->link();
    device.set_link(false);
    EXPECT_TRUE(nic->read_interrupt_causes() & reg::interrupt::lsc);
    EXPECT_TRUE(link_changed(before, nic->link()));
    const LinkState down = nic->link();
    device.set_link(true, 1000, true);
    EXPECT_TRUE(nic->read_interrupt_causes() & reg::interrupt::lsc);
    EXPECT_TRUE(link_changed(down, nic->link()));
    EXPECT_FALSE(link_changed(before, nic->link()));
}

// ------------------------------------------------------------------ the driver's clock

TEST(E1000TscClock, CalibratesFromTwoReadings)
{
    // 2 ms in which a 2.5 GHz TSC advanced 5 million ticks.
    const TscClock clock = TscClock::calibrated(1'000'000'000, 7'000'000, 1'005'000'000, 9'000'000);
    EXPECT_EQ(clock.ticks_per_second(), 2'500'000'000u);
    EXPECT_EQ(clock.to_ns(2'500'000'000), 1'000'000'000u);
    EXPECT_EQ(clock.to_ns(25), 10u);
    EXPECT_EQ(clock.to_ticks(10'000'000), 25'000'000u);
    EXPECT_EQ(clock.to_ticks(0), 0u);
    // Large values do not overflow: ~3.7 years of ticks.
    EXPECT_EQ(clock.to_ns(uint64_t{1} << 58), static_cast<uint64_t>((static_cast<unsigned __int128>(1) << 58) *
                                                                     1'000'000'000 / 2'500'000'000u));
    EXPECT_EQ(clock.to_ticks(UINT64_MAX), UINT64_MAX); // saturates
}

TEST(E1000TscClock, ADegenerateCalibrationFallsBackToOneGigahertz)
{
    EXPECT_EQ(TscClock::calibrated(100, 5, 100, 10).ticks_per_second(), TscClock::fallback_ticks_per_second);
    EXPECT_EQ(TscClock::calibrated(100, 5, 200, 5).ticks_per_second(), TscClock::fallback_ticks_per_second);
    EXPECT_EQ(TscClock::calibrated(200, 5, 100, 10).ticks_per_second(), TscClock::fallback_ticks_per_second);
    EXPECT_EQ(TscClock().to_ns(123), 123u);
}

TEST(E1000TscClock, TheQuietAlarmNeverRingsWhileEventsKeepTheLoopBusy)
{
    QuietAlarm alarm(500);
    // The first sleep sets it: housekeeping due at 1000 is far enough.
    EXPECT_EQ(alarm.before_sleep(0, 1000), 1000u);
    // Short sleeps (events every 10 ticks) leave it alone while it is at
    // least half the quiet time away ...
    uint64_t moves = 0, now = 10;
    for (; now < 5000; now += 10) {
        const uint64_t deadline = (now / 1000 + 1) * 1000; // housekeeping ran from the loop
        const uint64_t at = alarm.before_sleep(now, deadline);
        if (at != 0) {
            ++moves;
            EXPECT_GE(at, now + 500); // never closer than the quiet time
        }
        EXPECT_GE(alarm.set_for(), now + 250);
    }
    // ... and are moved rarely: once per quiet / 2 at most.
    EXPECT_LE(moves, 5000u / 250 + 1);
    EXPECT_GE(moves, 5000u / 500 - 1);
    // Idle: it rings, and the next one is the housekeeping deadline.
    alarm.rang();
    EXPECT_EQ(alarm.set_for(), 0u);
    EXPECT_EQ(alarm.before_sleep(6000, 7000), 7000u);
    EXPECT_EQ(alarm.before_sleep(6001, 7000), 0u);
    // A deadline that is close (or past) still gives the quiet time.
    alarm.rang();
    EXPECT_EQ(alarm.before_sleep(8000, 8100), 8500u);
}

TEST(E1000TscClock, PeriodicIsDueOncePerPeriodAndOnceAfterALongGap)
{
    Periodic p;
    p.start(1000, 100);
    EXPECT_EQ(p.deadline(), 1100u);
    EXPECT_FALSE(p.due(1099));
    EXPECT_TRUE(p.due(1100));
    EXPECT_FALSE(p.due(1100));
    EXPECT_EQ(p.deadline(), 1200u);
    EXPECT_TRUE(p.due(5000)); // a long sleep: due once ...
    EXPECT_FALSE(p.due(5001)); // ... not once per missed period
    EXPECT_EQ(p.deadline(), 5100u);
    p.expire();
    EXPECT_TRUE(p.due(5002));
    EXPECT_EQ(p.deadline(), 5102u);
}

TEST_F(E1000Test, TransmitWorksBeforeStart)
{
    ASSERT_TRUE(init().ok());
    ASSERT_TRUE(nic->transmit(buffer_phys(0), 60, 0).ok());
    nic->flush();
    EXPECT_EQ(device.sent.size(), 1u);
}

// ------------------------------------------------------------------ stop and reclaim

TEST_F(E1000Test, StopResetsTheDeviceAndEveryBufferComesBack)
{
    bring_up(100);
    device.tx_paused = true;
    for (uint32_t i = 0; i < 10; ++i)
        ASSERT_TRUE(nic->transmit(buffer_phys(500 + i), 60, 500 + i).ok());
    nic->flush();
    ASSERT_TRUE(device.deliver(make_frame(64, 0)));
    uint64_t out[300];
    EXPECT_EQ(nic->reclaim_rx(out, 300), 0u); // refused while the device runs
    EXPECT_EQ(nic->reclaim_tx(out, 300), 0u);

    const uint32_t resets = device.resets;
    ASSERT_TRUE(nic->stop().ok());
    EXPECT_EQ(device.resets, resets + 1);
    EXPECT_EQ(device.ims(), 0u);
    std::set<uint64_t> rx;
    size_t n;
    while ((n = nic->reclaim_rx(out, 7)) > 0)
        rx.insert(out, out + n);
    EXPECT_EQ(rx.size(), 100u); // including the one that had a frame in it
    EXPECT_EQ(*rx.begin(), 0u);
    EXPECT_EQ(*rx.rbegin(), 99u);
    std::vector<uint64_t> tx;
    while ((n = nic->reclaim_tx(out, 3)) > 0)
        tx.insert(tx.end(), out, out + n);
    ASSERT_EQ(tx.size(), 10u);
    EXPECT_EQ(tx.front(), 500u);
    EXPECT_EQ(tx.back(), 509u);
    EXPECT_EQ(nic->post_rx(buffer_phys(0), 0).error(), Error::invalid_argument);
    EXPECT_EQ(nic->transmit(buffer_phys(0), 60, 0).error(), Error::invalid_argument);

    // And it comes back up, writing RCTL once more (once per start).
    ASSERT_TRUE(init().ok());
    EXPECT_EQ(nic->reclaim_rx(out, 300), 0u);
    ASSERT_TRUE(nic->post_rx(buffer_phys(0), 0).ok());
    ASSERT_TRUE(nic->start().ok());
    EXPECT_EQ(device.rctl_writes, 2u);
    EXPECT_TRUE(device.deliver(make_frame(64, 1)));
    EXPECT_EQ(poll_all().size(), 1u);
}

// ------------------------------------------------------------------ interrupts and link

TEST_F(E1000Test, InterruptCausesAreReadAndCleared)
{
    bring_up(4);
    EXPECT_EQ(nic->read_interrupt_causes(), 0u);
    EXPECT_EQ(nic->statistics()[Counter::driver_interrupts], 0u);
    ASSERT_TRUE(device.deliver(make_frame(64, 0)));
    EXPECT_TRUE(device.interrupt_asserted());
    EXPECT_EQ(nic->read_interrupt_causes() & reg::interrupt::rxt0, reg::interrupt::rxt0);
    EXPECT_FALSE(device.interrupt_asserted());
    EXPECT_EQ(nic->read_interrupt_causes(), 0u);
    EXPECT_EQ(nic->statistics()[Counter::driver_interrupts], 1u);

    nic->disable_interrupts();
    EXPECT_EQ(device.ims(), 0u);
    ASSERT_TRUE(device.deliver(make_frame(64, 1)));
    EXPECT_FALSE(device.interrupt_asserted()); // polling mode: no interrupt
    nic->enable_interrupts();
    EXPECT_EQ(device.ims(), Nic::interrupt_mask);
    EXPECT_TRUE(device.interrupt_asserted()); // the pending cause shows now

    nic->set_interrupt_throttle(488);
    EXPECT_EQ(device.register_value(reg::itr), 488u);
    nic->set_interrupt_throttle(1u << 20);
    EXPECT_EQ(device.register_value(reg::itr), 0xFFFFu);
}

TEST_F(E1000Test, LinkStateComesFromStatusWithoutWaiting)
{
    bring_up(0);
    const uint64_t waits = delay.calls;
    LinkState link = nic->link();
    EXPECT_TRUE(link.up);
    EXPECT_EQ(link.speed_mbps, 1000u);
    EXPECT_TRUE(link.full_duplex);

    device.set_link(false);
    EXPECT_TRUE(nic->read_interrupt_causes() & reg::interrupt::lsc);
    EXPECT_EQ(nic->statistics()[Counter::driver_link_changes], 1u);
    link = nic->link();
    EXPECT_FALSE(link.up);
    EXPECT_EQ(link.speed_mbps, 0u);

    device.set_link(true, 100, false);
    EXPECT_TRUE(nic->read_interrupt_causes() & reg::interrupt::lsc);
    link = nic->link();
    EXPECT_TRUE(link.up);
    EXPECT_EQ(link.speed_mbps, 100u);
    EXPECT_FALSE(link.full_duplex);
    device.set_link(true, 10, true);
    EXPECT_EQ(nic->link().speed_mbps, 10u);
    EXPECT_EQ(delay.calls, waits);
}

TEST_F(E1000Test, InitSucceedsWithTheLinkDown)
{
    device.set_link(false);
    ASSERT_TRUE(init().ok());
    ASSERT_TRUE(nic->start().ok());
    EXPECT_FALSE(nic->link().up);
}

// ------------------------------------------------------------------ statistics

TEST_F(E1000Test, StatisticsAccumulateAcrossClearOnReadRegisters)
{
    bring_up(0);
    device.set_counter(reg::stat::crcerrs, 3);
    device.set_counter(reg::stat::mpc, 5);
    device.set_counter(reg::stat::gorcl, 0x1'0000'0010ull);
    device.set_counter(reg::stat::tpt, 9);
    nic->update_statistics();
    device.set_counter(reg::stat::crcerrs, 4);
    device.set_counter(reg::stat::gorcl, 0x20);
    nic->update_statistics();
    nic->update_statistics(); // registers cleared by the reads: nothing more
    const Statistics& s = nic->statistics();
    EXPECT_EQ(s[Counter::crc_errors], 7u);
    EXPECT_EQ(s[Counter::missed_packets], 5u);
    EXPECT_EQ(s[Counter::good_octets_received], 0x1'0000'0030ull);
    EXPECT_EQ(s[Counter::total_packets_sent], 9u);
    EXPECT_EQ(device.bad_accesses, 0u);
}

TEST_F(E1000Test, ARestartWithASmallerRingStartsFromZero)
{
    device.reset_does_nothing = true;
    bring_up(200);
    for (uint32_t i = 0; i < 100; ++i)
        ASSERT_TRUE(device.deliver(make_frame(64, i)));
    Nic restarted(device, &delay);
    config.rx_descriptors = 64; // the old head (100) is outside the new ring
    ASSERT_TRUE(restarted.init(config, rx_ring.dma(), tx_ring.dma()).ok());
    EXPECT_EQ(device.register_value(reg::rdh), 0u);
    EXPECT_EQ(device.register_value(reg::rdt), 0u);
    ASSERT_TRUE(restarted.post_rx(buffer_phys(7), 7).ok());
    ASSERT_TRUE(restarted.start().ok());
    ASSERT_TRUE(device.deliver(make_frame(64, 0)));
    RxCompletion out[2];
    ASSERT_EQ(restarted.poll_rx(out, 2), 1u);
    EXPECT_EQ(out[0].cookie, 7u);
}

TEST_F(E1000Test, CountersThatDoNotClearOnReadAreNotCountedTwice)
{
    // QEMU's e1000 leaves CRCERRS..MPC and RNBC (among others) running.
    device.counters_not_cleared_on_read = {reg::stat::mpc, reg::stat::rnbc};
    device.reset_does_nothing = true;
    device.set_counter(reg::stat::mpc, 4); // left from before this driver
    bring_up(0);
    nic->update_statistics();
    EXPECT_EQ(nic->statistics()[Counter::missed_packets], 0u);
    EXPECT_FALSE(device.deliver(make_frame(64, 0)));
    EXPECT_FALSE(device.deliver(make_frame(64, 1)));
    nic->update_statistics();
    nic->update_statistics();
    EXPECT_EQ(nic->statistics()[Counter::missed_packets], 2u);
    EXPECT_EQ(nic->statistics()[Counter::rx_no_buffers], 2u);
    EXPECT_FALSE(device.deliver(make_frame(64, 2)));
    nic->update_statistics();
    EXPECT_EQ(nic->statistics()[Counter::missed_packets], 3u);
    // A counter that went back (a real reset) counts from zero again.
    device.set_counter(reg::stat::mpc, 1);
    nic->update_statistics();
    EXPECT_EQ(nic->statistics()[Counter::missed_packets], 4u);
}

TEST_F(E1000Test, ARestartOnQemuDoesNotRewriteRctl)
{
    device.reset_does_nothing = true;
    bring_up(10);
    ASSERT_TRUE(device.deliver(make_frame(64, 0)));
    EXPECT_EQ(device.rctl_writes, 1u);

    // The driver process dies and a new one starts on the same device,
    // whose registers still hold everything the old one wrote.
    Nic restarted(device, &delay);
    const size_t first_write = device.writes.size();
    ASSERT_TRUE(restarted.init(config, rx_ring.dma(), tx_ring.dma()).ok());
    // The old ring is emptied (RDT = RDH) before anything else is touched.
    ASSERT_GE(device.writes.size(), first_write + 2);
    EXPECT_EQ(device.writes[first_write + 1], (std::pair<uint32_t, uint32_t>{reg::rdt, 1u}));
    // The ring carries on from the device's head (1): RDH and RDT are never
    // apart while the receiver runs.
    EXPECT_EQ(device.register_value(reg::rdh), 1u);
    EXPECT_EQ(device.register_value(reg::rdt), 1u);
    for (size_t i = first_write; i < device.writes.size(); ++i)
        EXPECT_NE(device.writes[i].first, reg::rdh);
    EXPECT_FALSE(device.deliver(make_frame(64, 1))); // no buffers yet: dropped, not written anywhere
    for (uint32_t i = 0; i < 10; ++i)
        ASSERT_TRUE(restarted.post_rx(buffer_phys(100 + i), 100 + i).ok());
    ASSERT_TRUE(restarted.start().ok());
    EXPECT_EQ(device.rctl_writes, 1u); // RCTL already right: no second write, no 1 s pause
    EXPECT_EQ(device.register_value(reg::rdt), 11u);
    for (uint32_t i = 0; i < 10; ++i)
        ASSERT_TRUE(device.deliver(make_frame(64, 2 + i)));
    RxCompletion out[16];
    ASSERT_EQ(restarted.poll_rx(out, 16), 10u);
    for (uint32_t i = 0; i < 10; ++i)
        EXPECT_EQ(out[i].cookie, 100u + i);
    EXPECT_EQ(std::memcmp(buffer(100), make_frame(64, 2).data(), 64), 0);
    EXPECT_EQ(restarted.mac(), (MacAddress{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}}));
}

TEST_F(E1000Test, StatisticsFollowTraffic)
{
    bring_up(20);
    for (uint32_t i = 0; i < 10; ++i)
        ASSERT_TRUE(device.deliver(make_frame(100, i)));
    (void)poll_all();
    for (uint32_t i = 0; i < 4; ++i)
        ASSERT_TRUE(nic->transmit(buffer_phys(i), 200, i).ok());
    nic->flush();
    (void)reap_all();
    nic->update_statistics();
    const Statistics& s = nic->statistics();
    EXPECT_EQ(s[Counter::good_packets_received], 10u);
    EXPECT_EQ(s[Counter::good_octets_received], 10u * 104);
    EXPECT_EQ(s[Counter::good_packets_sent], 4u);
    EXPECT_EQ(s[Counter::good_octets_sent], 4u * 204);
    EXPECT_EQ(s[Counter::driver_rx_bytes], 1000u);
}

TEST(E1000Statistics, EveryCounterHasAUniqueName)
{
    std::set<std::string> names;
    for (size_t i = 0; i < counter_count; ++i) {
        const char* name = counter_name(static_cast<Counter>(i));
        ASSERT_NE(name, nullptr);
        EXPECT_TRUE(names.insert(name).second) << name;
    }
    EXPECT_STREQ(counter_name(Counter::missed_packets), "missed_packets");
    EXPECT_STREQ(counter_name(Counter::count), "?");
    // Every hardware counter has exactly one register, inside the block.
    std::set<uint32_t> offsets;
    for (size_t i = 0; i < hardware_counter_count; ++i) {
        EXPECT_EQ(static_cast<size_t>(hardware_counters[i].counter), i);
        EXPECT_GE(hardware_counters[i].offset, reg::stat::first);
        EXPECT_LE(hardware_counters[i].offset, reg::stat::last);
        EXPECT_TRUE(offsets.insert(hardware_counters[i].offset).second);
    }
}

// ------------------------------------------------------------------ device IDs

TEST(E1000DeviceIds, TheFamilyIsKnownAndNothingElse)
{
    const DeviceInfo* qemu = find_device(0x8086, 0x100E);
    ASSERT_NE(qemu, nullptr);
    EXPECT_EQ(qemu->family, Family::i82540);
    EXPECT_EQ(find_device(0x8086, 0x10D3), nullptr); // 82574L (e1000e)
    EXPECT_EQ(find_device(0x1234, 0x100E), nullptr);
    std::set<uint16_t> ids;
    for (const DeviceInfo& d : known_devices)
        EXPECT_TRUE(ids.insert(d.device_id).second) << d.name;
    EXPECT_EQ(ids.size(), 29u);
    EXPECT_EQ(eeprom_access(find_device(0x8086, 0x1008)->family), EepromAccess::none);
    EXPECT_EQ(eeprom_access(find_device(0x8086, 0x1075)->family), EepromAccess::eerd_wide);
    EXPECT_EQ(eeprom_access(find_device(0x8086, 0x107C)->family), EepromAccess::eerd_wide);
    EXPECT_EQ(eeprom_access(find_device(0x8086, 0x1026)->family), EepromAccess::eerd);
    EXPECT_FALSE(has_itr(Family::i82544));
    EXPECT_TRUE(has_itr(Family::i82540));
    EXPECT_EQ(find_device(0x8086, 0x1028)->media, Media::serdes);
}

// ------------------------------------------------------------------ moderation policy

TEST(E1000Moderation, ItrForRate)
{
    EXPECT_EQ(ModerationPolicy::itr_for_rate(8000), 489u);  // 125 us / 256 ns, rounded up
    EXPECT_EQ(ModerationPolicy::itr_for_rate(20000), 196u);
    EXPECT_EQ(ModerationPolicy::itr_for_rate(0), 0xFFFFu);
    EXPECT_EQ(ModerationPolicy::itr_for_rate(10), 0xFFFFu); // clamps to the 16-bit field
    EXPECT_EQ(ModerationPolicy::itr_for_rate(1'000'000'000), 1u);
}

TEST(E1000Moderation, LightLoadIsNotThrottled)
{
    ModerationPolicy policy;
    const auto d = policy.sample(500, 100'000'000); // 5000 frames/s
    EXPECT_EQ(d.mode, ModerationPolicy::Mode::interrupts);
    EXPECT_EQ(d.itr, 0u);
    EXPECT_FALSE(d.changed);
    EXPECT_EQ(policy.last_rate(), 5000u);
}

TEST(E1000Moderation, HeavierLoadSpacesInterruptsOut)
{
    ModerationPolicy policy;
    auto d = policy.sample(2'000, 100'000'000); // 20k/s
    EXPECT_EQ(d.mode, ModerationPolicy::Mode::interrupts);
    EXPECT_EQ(d.itr, ModerationPolicy::itr_for_rate(20'000));
    EXPECT_TRUE(d.changed);
    d = policy.sample(2'000, 100'000'000);
    EXPECT_FALSE(d.changed);
    d = policy.sample(8'000, 100'000'000); // 80k/s: bulk
    EXPECT_EQ(d.itr, ModerationPolicy::itr_for_rate(8'000));
    EXPECT_TRUE(d.changed);
    d = policy.sample(10, 100'000'000); // quiet again
    EXPECT_EQ(d.itr, 0u);
    EXPECT_TRUE(d.changed);
}

TEST(E1000Moderation, SustainedHeavyLoadSwitchesToPollingWithHysteresis)
{
    ModerationPolicy policy;
    // One burst is not enough.
    EXPECT_EQ(policy.sample(20'000, 100'000'000).mode, ModerationPolicy::Mode::interrupts); // 200k/s
    EXPECT_EQ(policy.sample(1'000, 100'000'000).mode, ModerationPolicy::Mode::interrupts);
    EXPECT_EQ(policy.sample(20'000, 100'000'000).mode, ModerationPolicy::Mode::interrupts);
    auto d = policy.sample(20'000, 100'000'000);
    EXPECT_EQ(d.mode, ModerationPolicy::Mode::polling);
    EXPECT_TRUE(d.changed);
    // Between the thresholds: stays polling.
    EXPECT_EQ(policy.sample(9'000, 100'000'000).mode, ModerationPolicy::Mode::polling); // 90k/s
    // Below the exit threshold three times in a row: back to interrupts.
    EXPECT_EQ(policy.sample(1'000, 100'000'000).mode, ModerationPolicy::Mode::polling);
    EXPECT_EQ(policy.sample(1'000, 100'000'000).mode, ModerationPolicy::Mode::polling);
    EXPECT_EQ(policy.sample(20'000, 100'000'000).mode, ModerationPolicy::Mode::polling); // streak broken
    EXPECT_EQ(policy.sample(500, 100'000'000).mode, ModerationPolicy::Mode::polling);
    EXPECT_EQ(policy.sample(500, 100'000'000).mode, ModerationPolicy::Mode::polling);
    d = policy.sample(500, 100'000'000);
    EXPECT_EQ(d.mode, ModerationPolicy::Mode::interrupts);
    EXPECT_TRUE(d.changed);
    EXPECT_EQ(d.itr, 0u); // 5k/s: light load, no throttling
}

// A polling process naps (sleeps with interrupts on) after a few empty
// polls in a row; it keeps polling when it wakes: only the samples end that.
TEST(E1000Moderation, EmptyPollsInARowLeadToANap)
{
    ModerationPolicy::Settings settings;
    settings.empty_polls_to_nap = 5;
    ModerationPolicy policy(settings);
    using After = ModerationPolicy::AfterPoll;
    EXPECT_EQ(policy.polled(false), After::poll); // not polling: nothing to say
    policy.sample(50'000, 100'000'000);
    const auto d = policy.sample(50'000, 100'000'000);
    ASSERT_EQ(policy.mode(), ModerationPolicy::Mode::polling);
    EXPECT_EQ(d.itr, 0u); // a nap's first interrupt comes at once
    for (int i = 0; i < 4; ++i)
        EXPECT_EQ(policy.polled(false), After::poll);
    EXPECT_EQ(policy.polled(true), After::poll); // work found: streak restarts
    for (int i = 0; i < 4; ++i)
        EXPECT_EQ(policy.polled(false), After::poll);
    EXPECT_EQ(policy.polled(false), After::nap);
    EXPECT_EQ(policy.mode(), ModerationPolicy::Mode::polling);
    for (int i = 0; i < 4; ++i) // the streak starts again after a nap
        EXPECT_EQ(policy.polled(false), After::poll);
    EXPECT_EQ(policy.polled(false), After::nap);
}

TEST(E1000Moderation, DegenerateSamplesChangeNothing)
{
    ModerationPolicy policy;
    policy.sample(2'000, 100'000'000);
    const uint32_t itr = policy.itr();
    const auto d = policy.sample(123, 0);
    EXPECT_FALSE(d.changed);
    EXPECT_EQ(d.itr, itr);
    const auto huge = policy.sample(UINT64_MAX, 1);
    EXPECT_EQ(huge.itr, ModerationPolicy::itr_for_rate(8'000));
}

} // namespace
