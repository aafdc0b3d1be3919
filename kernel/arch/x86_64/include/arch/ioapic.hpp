// I/O APIC: routes device interrupts (global system interrupts, GSIs) to a
// vector on a chosen core. The legacy 8259 PICs are remapped and masked.
#pragma once

#include <cstdint>

#include "arch/acpi.hpp"

namespace arch::ioapic {

// Maps every IOAPIC through `map` (uncached), masks all inputs, and silences
// the 8259 PICs. Returns the number of interrupt inputs found.
using MmioMapper = volatile uint32_t* (*)(uint64_t phys);
uint32_t init(const acpi::Madt& madt, MmioMapper map);

// Routes legacy ISA interrupt `irq` (honouring the MADT's overrides) to
// `vector` on the core with `apic_id`, and unmasks it. Returns the GSI used,
// or -1 if no IOAPIC serves it.
int route_isa_irq(uint8_t irq, uint8_t vector, uint32_t apic_id);
// Routes a PCI interrupt line (level-triggered, active low) to `vector`.
int route_pci_irq(uint8_t line, uint8_t vector, uint32_t apic_id);
void mask_gsi(uint32_t gsi);

} // namespace arch::ioapic
