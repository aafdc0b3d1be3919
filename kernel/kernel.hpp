// What the boot sequence found, for the rest of the kernel (self-tests, later the shell).
#pragma once

#include <cstddef>

#include "arch/acpi.hpp"
#include "boot/multiboot2.hpp"

namespace kernel {

inline constexpr const char* version = "0.1";

const multiboot2::BootInfo& boot_info();
const arch::acpi::Madt& madt();
size_t pci_function_count();
void run_global_constructors();

} // namespace kernel
