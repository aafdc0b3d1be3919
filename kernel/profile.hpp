// A sampling profiler for development. With `profile=on` on the kernel
// command line, every timer tick (100 Hz per core) records where its core
// was: the process (or the kernel, idle included) and the interrupted RIP.
// The samples go round a ring in kernel memory that the host reads with
// QEMU's monitor (`pmemsave`): `./tern bench stream --profile` does that
// around each measurement and names the functions (tools/bench.py). Off by
// default: a tick then costs one flag test.
#pragma once

#include <cstdint>

#include "arch/interrupts.hpp"

namespace kernel::profile {

// One sample. `sequence` counts from 1 (0: the slot was never written), so
// a reader can tell which samples a span of time produced.
struct Sample {
    uint32_t sequence;
    uint16_t slot; // the process's slot, or kernel_slot
    uint16_t core;
    uint64_t rip;
};
static_assert(sizeof(Sample) == 16, "tools/bench.py reads 16-byte samples");

constexpr uint16_t kernel_slot = 0xFFFF; // the tick interrupted kernel code or the idle thread
constexpr uint32_t capacity = 1u << 16;  // samples in the ring (11 minutes of both cores at 100 Hz)

// Reads `profile=on` from the kernel command line; when set, logs where
// the ring is ("profile: ... at physical 0x...").
void configure(const char* cmdline);

// From the timer interrupt of `core`; `slot` of the process it interrupted
// in user mode (ignored when the interrupt came from the kernel).
void on_tick(const arch::InterruptFrame& frame, unsigned core, uint32_t slot);

} // namespace kernel::profile
