// ACPI, as much as the kernel needs: from the RSDP (handed over by GRUB) to
// the MADT, which lists the cores' local APICs, the IOAPICs and how legacy
// ISA interrupts are wired. Every table's length and checksum is checked.
#pragma once

#include <cstddef>
#include <cstdint>

#include "arch/percpu.hpp"
#include "base/result.hpp"

namespace arch::acpi {

struct LocalApic {
    uint8_t processor_id;
    uint32_t apic_id;
};

struct IoApic {
    uint8_t id;
    uint32_t address;
    uint32_t gsi_base;
};

struct IsaOverride {
    uint8_t irq;
    uint32_t gsi;
    uint16_t flags; // MPS INTI flags: polarity bits 0-1, trigger bits 2-3
};

struct Madt {
    uint64_t lapic_address = 0;
    LocalApic cpus[max_cpus];
    size_t cpu_count = 0;
    size_t cpus_ignored = 0; // usable cores beyond max_cpus
    IoApic ioapics[8];
    size_t ioapic_count = 0;
    IsaOverride overrides[16];
    size_t override_count = 0;
    bool has_legacy_pic = false;
};

// Returns a readable pointer to `length` bytes at physical address `phys`
// (mapping it if needed), or nullptr.
using PhysicalMapper = const void* (*)(uint64_t phys, size_t length);

tern::Result<void> read_madt(const void* rsdp, size_t rsdp_length, PhysicalMapper map, Madt& out);

// How to switch the machine off (ACPI S5): the PM1a control port and the
// sleep type from the DSDT's \_S5 package.
struct PowerOff {
    uint16_t pm1a_control = 0;
    uint16_t pm1b_control = 0;
    uint8_t sleep_type_a = 0;
    uint8_t sleep_type_b = 0;
};
tern::Result<void> read_power_off(const void* rsdp, size_t rsdp_length, PhysicalMapper map, PowerOff& out);
// Enters S5 with what read_power_off found (kept from the last successful call).
void power_off();

} // namespace arch::acpi
