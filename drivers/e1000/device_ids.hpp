// The 8254x controllers this driver runs, by PCI device ID (vendor 8086h), as
// listed in the "PCI/PCI-X Family of Gigabit Ethernet Controllers Software
// Developer's Manual" (317453, rev. 4.0), table 5-1, with what differs
// between them for the driver: how the EEPROM is read, whether ITR exists,
// and the medium (which sets the inter-packet gap).
#pragma once

#include <cstddef>
#include <cstdint>

namespace e1000 {

constexpr uint16_t intel_vendor_id = 0x8086;

enum class Family : uint8_t { i82540, i82541, i82544, i82545, i82546, i82547 };
enum class Media : uint8_t { copper, fiber, serdes };

struct DeviceInfo {
    uint16_t device_id;
    const char* name;
    Family family;
    Media media;
};

inline constexpr DeviceInfo known_devices[] = {
    {0x1008, "82544EI copper", Family::i82544, Media::copper},
    {0x1009, "82544EI fiber", Family::i82544, Media::fiber},
    {0x100C, "82544GC copper", Family::i82544, Media::copper},
    {0x100D, "82544GC LOM", Family::i82544, Media::copper},
    {0x100E, "82540EM", Family::i82540, Media::copper}, // QEMU's -device e1000
    {0x1015, "82540EM LOM", Family::i82540, Media::copper},
    {0x1016, "82540EP LOM", Family::i82540, Media::copper},
    {0x1017, "82540EP", Family::i82540, Media::copper},
    {0x101E, "82540EP LP", Family::i82540, Media::copper},
    {0x100F, "82545EM copper", Family::i82545, Media::copper},
    {0x1011, "82545EM fiber", Family::i82545, Media::fiber},
    {0x1026, "82545GM copper", Family::i82545, Media::copper},
    {0x1027, "82545GM fiber", Family::i82545, Media::fiber},
    {0x1028, "82545GM SerDes", Family::i82545, Media::serdes},
    {0x1010, "82546EB copper", Family::i82546, Media::copper},
    {0x1012, "82546EB fiber", Family::i82546, Media::fiber},
    {0x101D, "82546EB quad copper", Family::i82546, Media::copper},
    {0x1079, "82546GB copper", Family::i82546, Media::copper},
    {0x107A, "82546GB fiber", Family::i82546, Media::fiber},
    {0x107B, "82546GB SerDes", Family::i82546, Media::serdes},
    {0x1013, "82541EI", Family::i82541, Media::copper},
    {0x1018, "82541EI mobile", Family::i82541, Media::copper},
    {0x1076, "82541GI", Family::i82541, Media::copper},
    {0x1077, "82541GI mobile", Family::i82541, Media::copper},
    {0x1078, "82541ER", Family::i82541, Media::copper},
    {0x107C, "82541PI", Family::i82541, Media::copper},
    {0x1019, "82547EI", Family::i82547, Media::copper},
    {0x101A, "82547EI mobile", Family::i82547, Media::copper},
    {0x1075, "82547GI", Family::i82547, Media::copper},
};

// The entry for a PCI vendor/device pair, or nullptr if we do not drive it.
constexpr const DeviceInfo* find_device(uint16_t vendor_id, uint16_t device_id)
{
    if (vendor_id != intel_vendor_id)
        return nullptr;
    for (const DeviceInfo& info : known_devices)
        if (info.device_id == device_id)
            return &info;
    return nullptr;
}

// How the EEPROM is read: through EERD with one of its two layouts, or (the
// 82544GC/EI, which has no EERD) not at all: the driver then relies on the
// address the hardware loads into RAL0/RAH0 at reset.
enum class EepromAccess : uint8_t { none, eerd, eerd_wide };

constexpr EepromAccess eeprom_access(Family family)
{
    switch (family) {
    case Family::i82544: return EepromAccess::none;
    case Family::i82541:
    case Family::i82547: return EepromAccess::eerd_wide;
    default: return EepromAccess::eerd;
    }
}

// ITR exists on every part but the 82544GC/EI.
constexpr bool has_itr(Family family) { return family != Family::i82544; }

// TCP segmentation works on every part but the 82547, whose transmit FIFO
// needs a software workaround that TSO frames defeat (Linux's e1000 leaves
// TSO off there too).
constexpr bool has_tcp_segmentation(Family family) { return family != Family::i82547; }

// The 82546 is two controllers on one chip; function 1 uses the EEPROM's
// address with the lowest bit of the last byte flipped.
constexpr bool dual_port(Family family) { return family == Family::i82546; }

} // namespace e1000
