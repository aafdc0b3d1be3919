// The kernel's memory: the physical frame allocator, the kernel page tables
// (direct map of physical memory + the kernel image), and the kernel heap.
#pragma once

#include <cstddef>
#include <cstdint>

#include "arch/page_table.hpp"
#include "base/result.hpp"
#include "boot/multiboot2.hpp"
#include "mm/frame_allocator.hpp"
#include "mm/heap.hpp"

namespace kernel::memory {

// Sets up frames, page tables and heap, and switches to the new tables.
// `info_phys` is where the boot information itself lies (it stays reserved).
tern::Result<void> init(const multiboot2::BootInfo& info, uint64_t info_phys);

FrameAllocator& frames();
Heap& heap();
arch::PageTableBuilder& kernel_tables();

// Makes [phys, phys+size) reachable in the direct map (uncached for device
// registers) and returns its virtual address, or nullptr.
void* map_physical(uint64_t phys, size_t size, bool uncached);

// A usable 4 KiB page below 1 MiB kept back for the AP start-up code.
uint64_t low_page();
uint64_t usable_bytes();
// EFER bits the kernel enabled beyond long mode (NXE), for the APs to copy.
uint64_t efer_features();

} // namespace kernel::memory
