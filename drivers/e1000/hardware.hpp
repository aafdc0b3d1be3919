// What the e1000 logic needs from the world, as small interfaces: the
// device's registers, a way to wait a little, and DMA memory for the rings.
// The driver process implements them over mmio_map/dma_alloc; host tests
// implement them with a fake 8254x (tests/unit/e1000_fake_device.*).
#pragma once

#include <cstdint>

namespace e1000 {

// The device's register file (BAR0). Offsets are in bytes and 4-aligned.
// The process's implementation uses volatile 32-bit accesses to the
// uncached mapping.
class Registers {
public:
    virtual uint32_t read(uint32_t offset) = 0;
    virtual void write(uint32_t offset, uint32_t value) = 0;

protected:
    ~Registers() = default;
};

// Busy-waits (or sleeps) about `microseconds`. Only used while resetting
// the device and reading the EEPROM, each wait bounded by a poll count.
class Delay {
public:
    virtual void wait_us(uint32_t microseconds) = 0;

protected:
    ~Delay() = default;
};

// Physically contiguous memory the device can reach (from dma_alloc):
// `virt` is where this process sees it, `phys` what the device is told.
struct DmaMemory {
    void* virt = nullptr;
    uint64_t phys = 0;
    uint64_t size = 0;
};

} // namespace e1000
