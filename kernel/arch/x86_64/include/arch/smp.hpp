// Bringing up the application processors (APs) listed in the MADT.
#pragma once

#include <cstdint>

#include "arch/acpi.hpp"

namespace arch::smp {

struct StartParams {
    uint64_t trampoline_page; // a free page below 1 MiB, identity-mapped by the caller
    uint32_t page_table_root; // kernel tables, below 4 GiB
    uint32_t efer_features;   // extra EFER bits (NXE) the APs must set
    // Allocates `bytes` of kernel stack and returns its top, or 0.
    uint64_t (*allocate_stack)(uint64_t bytes);
    // Runs on each AP once its CPU state is set up; never returns.
    [[noreturn]] void (*ap_main)(Cpu& cpu);
};

// Starts every core in `madt` except the calling one, one after another.
// Returns how many cores are running, the caller included; a core that
// does not answer is reported and skipped.
unsigned start_application_processors(const acpi::Madt& madt, const StartParams& params);

// Sets up a core's descriptor tables, IDT and LAPIC (boot core and APs).
// Returns false if its stacks cannot be allocated.
bool init_this_cpu(Cpu& cpu, uint64_t (*allocate_stack)(uint64_t bytes));

} // namespace arch::smp
