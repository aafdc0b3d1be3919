#include "arch/acpi.hpp"

#include "arch/cpu.hpp"
#include "base/bytes.hpp"

namespace arch::acpi {
namespace {

struct [[gnu::packed]] Rsdp {
    char signature[8];
    uint8_t checksum;
    char oem_id[6];
    uint8_t revision;
    uint32_t rsdt_address;
    // ACPI 2.0+
    uint32_t length;
    uint64_t xsdt_address;
    uint8_t extended_checksum;
    uint8_t reserved[3];
};
static_assert(sizeof(Rsdp) == 36);

struct [[gnu::packed]] SdtHeader {
    char signature[4];
    uint32_t length;
    uint8_t revision;
    uint8_t checksum;
    char oem_id[6];
    char oem_table_id[8];
    uint32_t oem_revision;
    uint32_t creator_id;
    uint32_t creator_revision;
};
static_assert(sizeof(SdtHeader) == 36);

constexpr uint32_t madt_pcat_compat = 1;
enum MadtEntry : uint8_t {
    entry_lapic = 0,
    entry_ioapic = 1,
    entry_override = 2,
    entry_lapic_address = 5,
    entry_x2apic = 9,
};
constexpr uint32_t lapic_enabled = 1;
constexpr uint32_t lapic_online_capable = 2;

bool checksum_ok(const void* data, size_t length)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < length; ++i)
        sum = static_cast<uint8_t>(sum + static_cast<const uint8_t*>(data)[i]);
    return sum == 0;
}

bool same(const char* a, const char* b, size_t n) { return __builtin_memcmp(a, b, n) == 0; }

// Maps a whole table after checking its header.
const SdtHeader* map_table(uint64_t phys, PhysicalMapper map)
{
    const auto* header = static_cast<const SdtHeader*>(map(phys, sizeof(SdtHeader)));
    if (header == nullptr || header->length < sizeof(SdtHeader) || header->length > (1u << 20))
        return nullptr;
    const auto* table = static_cast<const SdtHeader*>(map(phys, header->length));
    if (table == nullptr || !checksum_ok(table, table->length))
        return nullptr;
    return table;
}

tern::Result<void> parse_madt(const SdtHeader* table, Madt& out)
{
    const auto* bytes = reinterpret_cast<const uint8_t*>(table);
    if (table->length < sizeof(SdtHeader) + 8)
        return tern::Error::malformed;
    out.lapic_address = tern::load_unaligned<uint32_t>(bytes + sizeof(SdtHeader));
    out.has_legacy_pic = (tern::load_unaligned<uint32_t>(bytes + sizeof(SdtHeader) + 4) & madt_pcat_compat) != 0;

    for (size_t off = sizeof(SdtHeader) + 8; off + 2 <= table->length;) {
        const uint8_t type = bytes[off];
        const uint8_t length = bytes[off + 1];
        if (length < 2 || off + length > table->length)
            return tern::Error::malformed;
        const uint8_t* e = bytes + off;
        switch (type) {
        case entry_lapic:
        case entry_x2apic: {
            const bool x2 = type == entry_x2apic;
            if (length < (x2 ? 16 : 8))
                return tern::Error::malformed;
            const uint32_t flags = tern::load_unaligned<uint32_t>(e + (x2 ? 8 : 4));
            const uint32_t apic_id = x2 ? tern::load_unaligned<uint32_t>(e + 4) : e[3];
            if ((flags & (lapic_enabled | lapic_online_capable)) == 0)
                break;
            if (x2 && apic_id < 0xFF)
                break; // also listed as an xAPIC entry
            if (out.cpu_count == max_cpus) {
                ++out.cpus_ignored;
                break;
            }
            out.cpus[out.cpu_count++] = LocalApic{x2 ? static_cast<uint8_t>(0) : e[2], apic_id};
            break;
        }
        case entry_ioapic:
            if (length < 12)
                return tern::Error::malformed;
            if (out.ioapic_count < sizeof(out.ioapics) / sizeof(out.ioapics[0]))
                out.ioapics[out.ioapic_count++] = IoApic{e[2], tern::load_unaligned<uint32_t>(e + 4), tern::load_unaligned<uint32_t>(e + 8)};
            break;
        case entry_override:
            if (length < 10)
                return tern::Error::malformed;
            if (out.override_count < sizeof(out.overrides) / sizeof(out.overrides[0]))
                out.overrides[out.override_count++] = IsaOverride{e[3], tern::load_unaligned<uint32_t>(e + 4), tern::load_unaligned<uint16_t>(e + 8)};
            break;
        case entry_lapic_address:
            if (length < 12)
                return tern::Error::malformed;
            out.lapic_address = tern::load_unaligned<uint64_t>(e + 4);
            break;
        default:
            break;
        }
        off += length;
    }
    if (out.cpu_count == 0)
        return tern::Error::malformed;
    return {};
}

} // namespace

namespace {

// Finds the first table with `signature` below the RSDP; nullptr if none.
tern::Result<const SdtHeader*> find_table(const void* rsdp_copy, size_t rsdp_length, PhysicalMapper map,
                                          const char* signature)
{
    if (rsdp_copy == nullptr || rsdp_length < 20)
        return tern::Error::not_found;
    Rsdp rsdp{};
    __builtin_memcpy(&rsdp, rsdp_copy, rsdp_length < sizeof(Rsdp) ? rsdp_length : sizeof(Rsdp));
    if (!same(rsdp.signature, "RSD PTR ", 8) || !checksum_ok(&rsdp, 20))
        return tern::Error::malformed;

    // ACPI 2.0+ gives the XSDT (64-bit entries); otherwise the RSDT (32-bit).
    const bool use_xsdt = rsdp.revision >= 2 && rsdp_length >= sizeof(Rsdp) && rsdp.xsdt_address != 0 &&
                          checksum_ok(&rsdp, sizeof(Rsdp));
    const SdtHeader* root = map_table(use_xsdt ? rsdp.xsdt_address : rsdp.rsdt_address, map);
    if (root == nullptr || !same(root->signature, use_xsdt ? "XSDT" : "RSDT", 4))
        return tern::Error::malformed;

    const size_t entry_size = use_xsdt ? 8 : 4;
    const auto* entries = reinterpret_cast<const uint8_t*>(root) + sizeof(SdtHeader);
    const size_t count = (root->length - sizeof(SdtHeader)) / entry_size;
    for (size_t i = 0; i < count; ++i) {
        const uint64_t phys =
            use_xsdt ? tern::load_unaligned<uint64_t>(entries + i * 8) : tern::load_unaligned<uint32_t>(entries + i * 4);
        const auto* header = static_cast<const SdtHeader*>(map(phys, sizeof(SdtHeader)));
        if (header == nullptr || !same(header->signature, signature, 4))
            continue;
        const SdtHeader* table = map_table(phys, map);
        if (table == nullptr)
            return tern::Error::malformed;
        return table;
    }
    return tern::Error::not_found;
}

// An AML integer at `p` (BytePrefix/WordPrefix/ZeroOp/OneOp); false otherwise.
bool aml_small_integer(const uint8_t* p, const uint8_t* end, uint8_t& value, size_t& used)
{
    if (p >= end)
        return false;
    switch (p[0]) {
    case 0x00: value = 0; used = 1; return true; // ZeroOp
    case 0x01: value = 1; used = 1; return true; // OneOp
    case 0x0A: // BytePrefix
        if (p + 1 >= end)
            return false;
        value = p[1];
        used = 2;
        return true;
    default: return false;
    }
}

PowerOff g_power_off;

} // namespace

tern::Result<void> read_madt(const void* rsdp_copy, size_t rsdp_length, PhysicalMapper map, Madt& out)
{
    out = Madt{};
    auto madt = find_table(rsdp_copy, rsdp_length, map, "APIC");
    if (!madt.ok())
        return madt.error();
    return parse_madt(madt.value(), out);
}

tern::Result<void> read_power_off(const void* rsdp_copy, size_t rsdp_length, PhysicalMapper map, PowerOff& out)
{
    out = PowerOff{};
    auto fadt_found = find_table(rsdp_copy, rsdp_length, map, "FACP");
    if (!fadt_found.ok())
        return fadt_found.error();
    const auto* fadt = reinterpret_cast<const uint8_t*>(fadt_found.value());
    const uint32_t fadt_length = fadt_found.value()->length;
    if (fadt_length < 72)
        return tern::Error::malformed;
    const uint32_t dsdt_phys = tern::load_unaligned<uint32_t>(fadt + 40);
    out.pm1a_control = static_cast<uint16_t>(tern::load_unaligned<uint32_t>(fadt + 64));
    out.pm1b_control = static_cast<uint16_t>(tern::load_unaligned<uint32_t>(fadt + 68));
    const SdtHeader* dsdt = map_table(dsdt_phys, map);
    if (dsdt == nullptr || !same(dsdt->signature, "DSDT", 4) || out.pm1a_control == 0)
        return tern::Error::malformed;

    // Look for the AML of `Name (_S5, Package () { SLP_TYPa, SLP_TYPb, ... })`.
    const auto* aml = reinterpret_cast<const uint8_t*>(dsdt);
    const uint8_t* end = aml + dsdt->length;
    for (const uint8_t* p = aml + sizeof(SdtHeader); p + 8 < end; ++p) {
        if (!same(reinterpret_cast<const char*>(p), "_S5_", 4) || p[4] != 0x12) // PackageOp
            continue;
        const uint8_t* q = p + 5;
        q += ((q[0] >> 6) & 3) + 1; // PkgLength: lead byte plus 0..3 more
        q += 1;                     // NumElements
        size_t used = 0;
        if (!aml_small_integer(q, end, out.sleep_type_a, used))
            return tern::Error::malformed;
        q += used;
        if (!aml_small_integer(q, end, out.sleep_type_b, used))
            out.sleep_type_b = 0;
        g_power_off = out;
        return {};
    }
    return tern::Error::not_found;
}

void power_off()
{
    if (g_power_off.pm1a_control == 0)
        return;
    constexpr uint16_t sleep_enable = 1u << 13;
    outw(g_power_off.pm1a_control, static_cast<uint16_t>((g_power_off.sleep_type_a << 10) | sleep_enable));
    if (g_power_off.pm1b_control != 0)
        outw(g_power_off.pm1b_control, static_cast<uint16_t>((g_power_off.sleep_type_b << 10) | sleep_enable));
}
} // namespace arch::acpi
