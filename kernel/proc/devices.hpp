// Device access for driver processes: DMA memory, MMIO mappings of a PCI
// BAR, and IRQs delivered as notifications. Each call first checks that the
// caller holds the `devices` privilege and names the one PCI function it was
// started for, and only then acts.
#pragma once

#include <cstdint>

#include "proc/process.hpp"

namespace kernel {

int64_t dma_alloc(Process& caller, uint64_t size, uint64_t user_region);
int64_t mmio_map(Process& caller, uint64_t pci_address, uint64_t bar);
int64_t irq_attach(Process& caller, uint64_t pci_address);
int64_t pci_info(Process& caller, uint64_t index, uint64_t user_info);
// Masks the dead driver's IRQ lines and turns off its device's bus mastering.
void devices_process_died(Process& dead);

} // namespace kernel
