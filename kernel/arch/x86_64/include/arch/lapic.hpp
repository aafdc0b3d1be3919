// The local APIC (xAPIC, memory-mapped): per-core interrupt controller,
// inter-processor interrupts and the per-core timer.
#pragma once

#include <cstdint>

namespace arch::lapic {

// `registers` is the LAPIC page mapped uncached (same physical page on every core).
void set_base(volatile uint32_t* registers);
// Enables the LAPIC of the calling core with the spurious vector set.
void init_this_cpu();
uint32_t id();
void eoi();

// Start-up sequence for another core; `start_page` is the physical page
// number (address >> 12) of the real-mode trampoline.
void send_init(uint32_t apic_id);
void send_startup(uint32_t apic_id, uint8_t start_page);
void send_ipi(uint32_t apic_id, uint8_t vector);
// Sends `vector` to every core but the caller (no-op before the LAPIC is set up).
void send_ipi_to_others(uint8_t vector);

// Measures the timer's input clock against the PIT (boot core, once).
void calibrate_timer();
uint64_t timer_hz();
// Periodic timer interrupt at `hz` on the calling core (vector::lapic_timer).
void start_periodic_timer(uint32_t hz);

} // namespace arch::lapic
