#include "proto/pci.hpp"

namespace tern::pci {
namespace {

struct ClassName {
    uint8_t class_code;
    int subclass; // -1: any
    const char* name;
};
constexpr ClassName class_names[] = {
    {0x01, 0x01, "IDE controller"},    {0x01, 0x06, "SATA controller"},  {0x01, -1, "storage controller"},
    {0x02, 0x00, "Ethernet controller"}, {0x02, -1, "network controller"}, {0x03, -1, "display controller"},
    {0x04, -1, "multimedia device"},   {0x05, -1, "memory controller"},  {0x06, 0x00, "host bridge"},
    {0x06, 0x01, "ISA bridge"},        {0x06, 0x04, "PCI bridge"},       {0x06, -1, "bridge"},
    {0x07, -1, "communication controller"}, {0x08, -1, "system peripheral"}, {0x0C, 0x03, "USB controller"},
    {0x0C, 0x05, "SMBus controller"},  {0x0C, -1, "serial bus controller"},
};

} // namespace

const char* class_name(uint8_t class_code, uint8_t subclass)
{
    for (const ClassName& c : class_names) {
        if (c.class_code == class_code && (c.subclass < 0 || c.subclass == subclass))
            return c.name;
    }
    return "device";
}

} // namespace tern::pci
