#include "arch/ioapic.hpp"

#include "arch/cpu.hpp"

namespace arch::ioapic {
namespace {

struct Controller {
    volatile uint32_t* registers; // IOREGSEL at [0], IOWIN at [4]
    uint32_t gsi_base;
    uint32_t inputs;
};

Controller g_controllers[8];
unsigned g_controller_count = 0;
acpi::IsaOverride g_overrides[16];
unsigned g_override_count = 0;

constexpr uint32_t reg_version = 0x01;
constexpr uint32_t reg_redirection = 0x10;
constexpr uint64_t entry_masked = 1ull << 16;
constexpr uint64_t entry_level = 1ull << 15;
constexpr uint64_t entry_active_low = 1ull << 13;

uint32_t read(const Controller& c, uint32_t reg)
{
    c.registers[0] = reg;
    return c.registers[4];
}
void write(const Controller& c, uint32_t reg, uint32_t value)
{
    c.registers[0] = reg;
    c.registers[4] = value;
}
// Masked while the destination changes, but never through another trigger
// mode: a level-triggered entry that is edge-triggered even for a moment can
// lose the line's state in the IOAPIC (QEMU's forgets a line that is already
// high), and then a device that keeps its line high never interrupts again.
void write_entry(const Controller& c, uint32_t input, uint64_t entry)
{
    write(c, reg_redirection + input * 2, static_cast<uint32_t>(entry | entry_masked));
    write(c, reg_redirection + input * 2 + 1, static_cast<uint32_t>(entry >> 32));
    write(c, reg_redirection + input * 2, static_cast<uint32_t>(entry));
}

Controller* controller_for(uint32_t gsi)
{
    for (unsigned i = 0; i < g_controller_count; ++i) {
        Controller& c = g_controllers[i];
        if (gsi >= c.gsi_base && gsi < c.gsi_base + c.inputs)
            return &c;
    }
    return nullptr;
}

void disable_legacy_pic()
{
    // Remap the PICs away from the exception vectors, then mask every line.
    constexpr uint16_t master_cmd = 0x20, master_data = 0x21, slave_cmd = 0xA0, slave_data = 0xA1;
    outb(master_cmd, 0x11);
    outb(slave_cmd, 0x11);
    outb(master_data, 0x20);
    outb(slave_data, 0x28);
    outb(master_data, 0x04);
    outb(slave_data, 0x02);
    outb(master_data, 0x01);
    outb(slave_data, 0x01);
    outb(master_data, 0xFF);
    outb(slave_data, 0xFF);
}

} // namespace

uint32_t init(const acpi::Madt& madt, MmioMapper map)
{
    if (madt.has_legacy_pic)
        disable_legacy_pic();
    uint32_t total = 0;
    for (size_t i = 0; i < madt.ioapic_count && g_controller_count < 8; ++i) {
        Controller c{map(madt.ioapics[i].address), madt.ioapics[i].gsi_base, 0};
        if (c.registers == nullptr)
            continue;
        c.inputs = ((read(c, reg_version) >> 16) & 0xFF) + 1;
        for (uint32_t input = 0; input < c.inputs; ++input)
            write_entry(c, input, entry_masked);
        g_controllers[g_controller_count++] = c;
        total += c.inputs;
    }
    for (size_t i = 0; i < madt.override_count && i < 16; ++i)
        g_overrides[g_override_count++] = madt.overrides[i];
    return total;
}

int route_isa_irq(uint8_t irq, uint8_t vector, uint32_t apic_id)
{
    uint32_t gsi = irq;
    uint16_t flags = 0;
    for (unsigned i = 0; i < g_override_count; ++i) {
        if (g_overrides[i].irq == irq) {
            gsi = g_overrides[i].gsi;
            flags = g_overrides[i].flags;
        }
    }
    Controller* c = controller_for(gsi);
    if (c == nullptr)
        return -1;
    // ISA defaults are edge-triggered, active high; overrides may say otherwise.
    uint64_t entry = vector | (static_cast<uint64_t>(apic_id) << 56);
    if ((flags & 0x3) == 0x3)
        entry |= entry_active_low;
    if (((flags >> 2) & 0x3) == 0x3)
        entry |= entry_level;
    write_entry(*c, gsi - c->gsi_base, entry);
    return static_cast<int>(gsi);
}

int route_pci_irq(uint8_t line, uint8_t vector, uint32_t apic_id)
{
    Controller* c = controller_for(line);
    if (c == nullptr)
        return -1;
    // PCI interrupts are level-triggered. Lines the firmware routed to an ISA
    // IRQ number (below 16; what the BIOS writes into the Interrupt Line
    // register) reach the IOAPIC active high through the chipset's PIRQ
    // router (QEMU's PIIX and ICH9 do this) unless the MADT overrides them;
    // lines from 16 up are wired straight, active low. (The exact answer is
    // in ACPI's _PRT, which needs an AML interpreter Tern does not have.)
    uint64_t entry = vector | entry_level | (static_cast<uint64_t>(apic_id) << 56);
    bool active_low = line >= 16;
    for (unsigned i = 0; i < g_override_count; ++i) {
        if (g_overrides[i].gsi == line && (g_overrides[i].flags & 0x3) != 0)
            active_low = (g_overrides[i].flags & 0x3) == 0x3;
    }
    if (active_low)
        entry |= entry_active_low;
    write_entry(*c, line - c->gsi_base, entry);
    return line;
}

void mask_gsi(uint32_t gsi)
{
    // Only the mask bit changes: an entry that turned edge-triggered while
    // masked would keep the IOAPIC from seeing the level line go low, and it
    // would fire again the moment it is unmasked (QEMU's IOAPIC does exactly
    // that), an endless interrupt storm.
    if (Controller* c = controller_for(gsi)) {
        const uint32_t reg = reg_redirection + (gsi - c->gsi_base) * 2;
        write(*c, reg, read(*c, reg) | static_cast<uint32_t>(entry_masked));
    }
}

} // namespace arch::ioapic
