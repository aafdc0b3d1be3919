#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "arch/acpi.hpp"

namespace {

using arch::acpi::Madt;
using tern::Error;

// A fake physical memory: "physical address" = offset into this buffer.
std::vector<uint8_t> g_memory;

const void* map(uint64_t phys, size_t length)
{
    if (phys > g_memory.size() || length > g_memory.size() - phys)
        return nullptr;
    return g_memory.data() + phys;
}

void fix_checksum(uint8_t* bytes, size_t length, size_t checksum_offset)
{
    bytes[checksum_offset] = 0;
    uint8_t sum = 0;
    for (size_t i = 0; i < length; ++i)
        sum = static_cast<uint8_t>(sum + bytes[i]);
    bytes[checksum_offset] = static_cast<uint8_t>(-sum);
}

template <typename T>
void put(std::vector<uint8_t>& v, size_t at, T value)
{
    std::memcpy(v.data() + at, &value, sizeof(T));
}

// Builds XSDT (at 0x100) -> MADT (at 0x200) with the given MADT entries, and
// returns an ACPI 2.0 RSDP pointing at it.
struct Tables {
    std::vector<uint8_t> rsdp = std::vector<uint8_t>(36, 0);
    size_t madt_length = 0;

    explicit Tables(const std::vector<std::vector<uint8_t>>& entries, uint32_t madt_flags = 1)
    {
        g_memory.assign(0x1000, 0);
        std::memcpy(rsdp.data(), "RSD PTR ", 8);
        rsdp[15] = 2; // revision
        put<uint32_t>(rsdp, 20, 36);
        put<uint64_t>(rsdp, 24, 0x100);
        fix_checksum(rsdp.data(), 20, 8);
        fix_checksum(rsdp.data(), 36, 32);

        uint8_t* xsdt = g_memory.data() + 0x100;
        std::memcpy(xsdt, "XSDT", 4);
        const uint32_t xsdt_length = 36 + 2 * 8;
        std::memcpy(xsdt + 4, &xsdt_length, 4);
        const uint64_t other = 0x300, madt = 0x200;
        std::memcpy(xsdt + 36, &other, 8); // a table that is not the MADT comes first
        std::memcpy(xsdt + 44, &madt, 8);
        fix_checksum(xsdt, xsdt_length, 9);

        uint8_t* facp = g_memory.data() + 0x300;
        std::memcpy(facp, "FACP", 4);
        const uint32_t facp_length = 36;
        std::memcpy(facp + 4, &facp_length, 4);
        fix_checksum(facp, facp_length, 9);

        std::vector<uint8_t> body(8);
        put<uint32_t>(body, 0, 0xFEE00000);
        put<uint32_t>(body, 4, madt_flags);
        for (const auto& e : entries)
            body.insert(body.end(), e.begin(), e.end());
        uint8_t* m = g_memory.data() + 0x200;
        std::memcpy(m, "APIC", 4);
        madt_length = 36 + body.size();
        const auto length32 = static_cast<uint32_t>(madt_length);
        std::memcpy(m + 4, &length32, 4);
        std::memcpy(m + 36, body.data(), body.size());
        fix_checksum(m, madt_length, 9);
    }
    tern::Result<void> read(Madt& out) { return arch::acpi::read_madt(rsdp.data(), rsdp.size(), map, out); }
};

std::vector<uint8_t> lapic(uint8_t processor, uint8_t apic_id, uint32_t flags)
{
    std::vector<uint8_t> e = {0, 8, processor, apic_id, 0, 0, 0, 0};
    std::memcpy(e.data() + 4, &flags, 4);
    return e;
}
std::vector<uint8_t> ioapic(uint8_t id, uint32_t address, uint32_t gsi_base)
{
    std::vector<uint8_t> e(12, 0);
    e[0] = 1;
    e[1] = 12;
    e[2] = id;
    std::memcpy(e.data() + 4, &address, 4);
    std::memcpy(e.data() + 8, &gsi_base, 4);
    return e;
}
std::vector<uint8_t> override_entry(uint8_t irq, uint32_t gsi, uint16_t flags)
{
    std::vector<uint8_t> e(10, 0);
    e[0] = 2;
    e[1] = 10;
    e[3] = irq;
    std::memcpy(e.data() + 4, &gsi, 4);
    std::memcpy(e.data() + 8, &flags, 2);
    return e;
}

TEST(AcpiMadt, ReadsCoresIoapicsAndOverrides)
{
    Tables tables({lapic(0, 0, 1), lapic(1, 2, 1), lapic(2, 4, 0) /* disabled */, lapic(3, 6, 2) /* online-capable */,
                   ioapic(9, 0xFEC00000, 0), override_entry(0, 2, 0)});
    Madt madt;
    ASSERT_TRUE(tables.read(madt).ok());
    EXPECT_EQ(madt.lapic_address, 0xFEE00000u);
    EXPECT_TRUE(madt.has_legacy_pic);
    ASSERT_EQ(madt.cpu_count, 3u);
    EXPECT_EQ(madt.cpus[1].apic_id, 2u);
    EXPECT_EQ(madt.cpus[2].apic_id, 6u);
    ASSERT_EQ(madt.ioapic_count, 1u);
    EXPECT_EQ(madt.ioapics[0].address, 0xFEC00000u);
    ASSERT_EQ(madt.override_count, 1u);
    EXPECT_EQ(madt.overrides[0].gsi, 2u);
}

TEST(AcpiMadt, RejectsBadChecksumsAndSignatures)
{
    {
        Tables tables({lapic(0, 0, 1)});
        tables.rsdp[0] = 'X';
        Madt madt;
        EXPECT_EQ(tables.read(madt).error(), Error::malformed);
    }
    {
        Tables tables({lapic(0, 0, 1)});
        g_memory[0x200 + 40] ^= 0xFF; // MADT body changed, checksum now wrong
        Madt madt;
        EXPECT_EQ(tables.read(madt).error(), Error::malformed);
    }
    {
        Tables tables({lapic(0, 0, 1)});
        g_memory[0x100 + 20] ^= 0x01; // XSDT checksum wrong
        Madt madt;
        EXPECT_EQ(tables.read(madt).error(), Error::malformed);
    }
}

TEST(AcpiMadt, RejectsEntriesThatOverrunTheTable)
{
    auto bad = lapic(0, 0, 1);
    bad[1] = 200; // entry length beyond the table
    Tables tables({lapic(0, 0, 1), bad});
    Madt madt;
    EXPECT_EQ(tables.read(madt).error(), Error::malformed);

    auto zero = lapic(0, 0, 1);
    zero[1] = 0; // would loop forever if accepted
    Tables tables2({zero});
    EXPECT_EQ(tables2.read(madt).error(), Error::malformed);
}

TEST(AcpiMadt, NeedsAtLeastOneCoreAndATableInRange)
{
    Tables no_cores({ioapic(0, 0xFEC00000, 0)});
    Madt madt;
    EXPECT_EQ(no_cores.read(madt).error(), Error::malformed);

    Tables out_of_range({lapic(0, 0, 1)});
    put<uint64_t>(out_of_range.rsdp, 24, 0x100000); // XSDT outside "memory"
    fix_checksum(out_of_range.rsdp.data(), 36, 32);
    EXPECT_EQ(out_of_range.read(madt).error(), Error::malformed);

    EXPECT_EQ(arch::acpi::read_madt(nullptr, 0, map, madt).error(), Error::not_found);
}

} // namespace
