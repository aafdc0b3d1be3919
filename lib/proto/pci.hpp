// Names of PCI device classes, for the kernel's boot banner and the shell's
// lspci: declared once here.
#pragma once

#include <cstdint>

namespace tern::pci {

// "Ethernet controller", "host bridge", … or "device" when unknown.
const char* class_name(uint8_t class_code, uint8_t subclass);

} // namespace tern::pci
