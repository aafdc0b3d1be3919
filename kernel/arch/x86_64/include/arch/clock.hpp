// Time: the legacy PIT as the known reference clock, and the TSC calibrated
// against it for uptime stamps and short waits.
#pragma once

#include <cstdint>

namespace arch::clock {

constexpr uint32_t pit_hz = 1193182;

// Busy-waits `microseconds` (at most ~50 ms) on PIT channel 2. Used for
// calibration and the INIT-SIPI delays, before the TSC is known.
void pit_wait_us(uint32_t microseconds);

// Measures the TSC frequency against the PIT. Call once on the boot core.
void calibrate_tsc();
uint64_t tsc_hz();

// Nanoseconds since the kernel started (0 until calibration has run).
uint64_t uptime_ns();
void mark_boot_start();

// Busy-waits using the calibrated TSC.
void delay_us(uint64_t microseconds);

} // namespace arch::clock
