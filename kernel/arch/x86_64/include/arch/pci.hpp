// PCI configuration space through the legacy 0xCF8/0xCFC ports, and a scan
// of every bus for the banner (and, later, for drivers).
#pragma once

#include <cstddef>
#include <cstdint>

namespace arch::pci {

struct Function {
    uint8_t bus, device, function;
    uint16_t vendor_id, device_id;
    uint8_t class_code, subclass, prog_if;
};

uint32_t read32(uint8_t bus, uint8_t device, uint8_t function, uint8_t offset);
void write32(uint8_t bus, uint8_t device, uint8_t function, uint8_t offset, uint32_t value);

// Fills up to `max` functions; returns how many exist (may exceed `max`).
size_t scan(Function* out, size_t max);

} // namespace arch::pci
