// What the boot sequence found, for the rest of the kernel (self-tests, later the shell).
#pragma once

#include <cstddef>

#include "arch/acpi.hpp"
#include "arch/pci.hpp"
#include "boot/multiboot2.hpp"

namespace kernel {

inline constexpr const char* version = "0.1";

const multiboot2::BootInfo& boot_info();
const arch::acpi::Madt& madt();
size_t pci_function_count();
// The PCI functions found at boot (index < pci_function_count(), at most 64 kept), or nullptr.
const arch::pci::Function* pci_function(size_t index);
void run_global_constructors();

} // namespace kernel
