#include "arch/pci.hpp"

#include "arch/cpu.hpp"

namespace arch::pci {
namespace {

constexpr uint16_t config_address = 0xCF8;
constexpr uint16_t config_data = 0xCFC;

// Selects a configuration register (mechanism #1). Callers run with the
// kernel lock or before other cores start, so the two-step access is not torn.
void select(uint8_t bus, uint8_t device, uint8_t function, uint8_t offset)
{
    outl(config_address, (1u << 31) | (uint32_t{bus} << 16) | (uint32_t{device} << 11) | (uint32_t{function} << 8) |
                              (offset & 0xFC));
}

} // namespace

uint32_t read32(uint8_t bus, uint8_t device, uint8_t function, uint8_t offset)
{
    select(bus, device, function, offset);
    return inl(config_data);
}

void write32(uint8_t bus, uint8_t device, uint8_t function, uint8_t offset, uint32_t value)
{
    select(bus, device, function, offset);
    outl(config_data, value);
}

size_t scan(Function* out, size_t max)
{
    size_t found = 0;
    for (unsigned bus = 0; bus < 256; ++bus) {
        for (uint8_t device = 0; device < 32; ++device) {
            const auto b = static_cast<uint8_t>(bus);
            if ((read32(b, device, 0, 0) & 0xFFFF) == 0xFFFF)
                continue;
            const bool multifunction = (read32(b, device, 0, 0x0C) >> 16) & 0x80;
            for (uint8_t function = 0; function < (multifunction ? 8 : 1); ++function) {
                const uint32_t id = read32(b, device, function, 0);
                if ((id & 0xFFFF) == 0xFFFF)
                    continue;
                const uint32_t class_reg = read32(b, device, function, 0x08);
                if (found < max) {
                    out[found] = Function{b,
                                          device,
                                          function,
                                          static_cast<uint16_t>(id),
                                          static_cast<uint16_t>(id >> 16),
                                          static_cast<uint8_t>(class_reg >> 24),
                                          static_cast<uint8_t>(class_reg >> 16),
                                          static_cast<uint8_t>(class_reg >> 8)};
                }
                ++found;
            }
        }
    }
    return found;
}

} // namespace arch::pci
