// Reads the multiboot2 boot information that GRUB hands the kernel: command
// line, memory map, modules, ACPI RSDP. Everything is validated, because a
// broken boot loader must give a clear error and not a wild pointer.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/result.hpp"

namespace kernel::multiboot2 {

constexpr uint32_t bootloader_magic = 0x36D76289;

enum class MemoryType : uint32_t {
    available = 1,
    reserved = 2,
    acpi_reclaimable = 3,
    acpi_nvs = 4,
    bad = 5,
};

struct MemoryRegion {
    uint64_t base;
    uint64_t length;
    MemoryType type;
};

struct Module {
    uint32_t start; // physical, as GRUB loads modules below 4 GiB
    uint32_t end;   // exclusive
    const char* cmdline;
};

struct BootInfo {
    static constexpr size_t max_regions = 128;
    static constexpr size_t max_modules = 48; // as many as rs has service slots

    uint32_t total_size = 0;
    const char* cmdline = "";
    const char* bootloader = "";
    MemoryRegion regions[max_regions];
    size_t region_count = 0;
    Module modules[max_modules];
    size_t module_count = 0;
    const void* rsdp = nullptr; // copy of the ACPI RSDP inside the boot information
    size_t rsdp_length = 0;
    bool rsdp_v2 = false;
};

// `info` points to the boot information; `available` is how many bytes may be
// read there at most (the parser trusts nothing beyond it).
tern::Result<void> parse(const void* info, size_t available, BootInfo& out);

} // namespace kernel::multiboot2
