#include "proc/devices.hpp"

#include "arch/interrupts.hpp"
#include "arch/ioapic.hpp"
#include "arch/memory_layout.hpp"
#include "arch/pci.hpp"
#include "arch/percpu.hpp"
#include "base/bytes.hpp"
#include "mm/memory.hpp"
#include "proc/ipc.hpp"
#include "proc/privileges.hpp"
#include "proc/scheduler.hpp"
#include "kernel.hpp"

namespace kernel {
namespace {

using sys::Error;
using sys::error_code;
using arch::page_size;

constexpr uint64_t max_dma = 16ull << 20;
constexpr unsigned irq_lines = 16;
sys::Endpoint g_irq_owner[irq_lines] = {};

bool may_use(const Process& caller, uint64_t pci_address)
{
    return privileges::may_use_device(caller.privileges, caller.pci_device, pci_address);
}

void split(uint64_t address, uint8_t& bus, uint8_t& device, uint8_t& function)
{
    bus = static_cast<uint8_t>(address >> 8);
    device = static_cast<uint8_t>((address >> 3) & 0x1F);
    function = static_cast<uint8_t>(address & 0x7);
}

constexpr uint8_t pci_command = 0x04;
constexpr uint32_t command_memory_space = 1u << 1;
constexpr uint32_t command_bus_master = 1u << 2;

// Turns the function's memory decoding and bus mastering (its DMA) on or off.
void set_pci_command(uint64_t pci_address, uint32_t bits, bool on)
{
    uint8_t bus, device, function;
    split(pci_address, bus, device, function);
    const uint32_t reg = arch::pci::read32(bus, device, function, pci_command);
    // The upper half is the status register, whose bits are cleared by writing 1: keep them 0.
    const uint32_t command = reg & 0xFFFF;
    arch::pci::write32(bus, device, function, pci_command, on ? command | bits : command & ~bits);
}

void on_device_irq(arch::InterruptFrame& frame)
{
    const unsigned line = static_cast<unsigned>(frame.vector - arch::vector::device_base);
    KernelLockGuard guard;
    // Level-triggered PCI lines stay masked until the driver re-arms them
    // with irq_attach, after it has quietened its device.
    arch::ioapic::mask_gsi(line);
    if (Process* owner = process_for(g_irq_owner[line]))
        post_notification(*owner, KernelSource::hardware, 1ull << line);
}

} // namespace

int64_t dma_alloc(Process& caller, uint64_t size, uint64_t user_region)
{
    if (size == 0 || size > max_dma)
        return error_code(Error::invalid_argument);
    sys::DmaRegion region{};
    if (!caller.space.copy_out(user_region, &region, sizeof(region)))
        return error_code(Error::bad_address);
    size = tern::align_up(size, page_size);
    auto frames = memory::frames().allocate_contiguous(size / page_size, page_size, 4ull << 30);
    if (!frames.ok())
        return error_code(Error::no_memory);
    __builtin_memset(arch::phys_to_virt(frames.value()), 0, size);
    auto area = caller.space.allocate_area(size);
    if (!area.ok() || !caller.space.map_frames(area.value(), frames.value(), size, true, false, true).ok()) {
        (void)memory::frames().free_contiguous(frames.value(), size / page_size);
        return error_code(Error::no_memory);
    }
    region = sys::DmaRegion{area.value(), frames.value(), size};
    (void)caller.space.copy_out(user_region, &region, sizeof(region));
    return 0;
}

int64_t mmio_map(Process& caller, uint64_t pci_address, uint64_t bar)
{
    if (!may_use(caller, pci_address))
        return error_code(Error::permission);
    if (bar > 5)
        return error_code(Error::invalid_argument);
    uint8_t bus, device, function;
    split(pci_address, bus, device, function);
    const auto offset = static_cast<uint8_t>(0x10 + bar * 4);
    const uint32_t original = arch::pci::read32(bus, device, function, offset);
    if ((original & 1) != 0)
        return error_code(Error::invalid_argument); // an I/O-port BAR
    // Size the BAR: write all ones, read back the size mask, restore.
    arch::pci::write32(bus, device, function, offset, 0xFFFFFFFF);
    const uint32_t mask = arch::pci::read32(bus, device, function, offset);
    arch::pci::write32(bus, device, function, offset, original);
    uint64_t base = original & ~0xFull;
    if (((original >> 1) & 3) == 2) // 64-bit BAR: the next one holds the high half
        base |= uint64_t{arch::pci::read32(bus, device, function, static_cast<uint8_t>(offset + 4))} << 32;
    const uint64_t size = (~(uint64_t{mask} & ~0xFull) + 1) & 0xFFFFFFFF;
    if (base == 0 || size == 0)
        return error_code(Error::not_found);
    const uint64_t mapped_size = tern::align_up(size, page_size);
    auto area = caller.space.allocate_area(mapped_size);
    if (!area.ok())
        return error_code(Error::no_memory);
    if (!caller.space.map_frames(area.value(), tern::align_down(base, page_size), mapped_size, true, true, false).ok())
        return error_code(Error::no_memory);
    // A driver that maps its registers will program DMA: let the function decode and master.
    set_pci_command(pci_address, command_memory_space | command_bus_master, true);
    return static_cast<int64_t>(area.value() + (base % page_size));
}

int64_t irq_attach(Process& caller, uint64_t pci_address)
{
    if (!may_use(caller, pci_address))
        return error_code(Error::permission);
    uint8_t bus, device, function;
    split(pci_address, bus, device, function);
    const uint8_t line = arch::pci::read32(bus, device, function, 0x3C) & 0xFF;
    if (line >= irq_lines)
        return error_code(Error::not_found);
    if (g_irq_owner[line] != 0 && g_irq_owner[line] != caller.endpoint() && process_for(g_irq_owner[line]) != nullptr)
        return error_code(Error::busy);
    g_irq_owner[line] = caller.endpoint();
    const auto vector = static_cast<uint8_t>(arch::vector::device_base + line);
    arch::set_interrupt_handler(vector, on_device_irq);
    if (arch::ioapic::route_pci_irq(line, vector, arch::cpu(caller.thread.core).apic_id) < 0)
        return error_code(Error::not_found);
    return line;
}

int64_t pci_info(Process& caller, uint64_t index, uint64_t user_info)
{
    const arch::pci::Function* f = pci_function(index);
    if (f == nullptr)
        return error_code(Error::not_found);
    const uint64_t address = uint64_t{f->bus} << 8 | uint64_t{f->device} << 3 | f->function;
    const uint8_t line = arch::pci::read32(f->bus, f->device, f->function, 0x3C) & 0xFF;
    const sys::PciInfo info{static_cast<uint32_t>(address), f->vendor_id, f->device_id, f->class_code,
                            f->subclass, f->prog_if, line, 0};
    return caller.space.copy_out(user_info, &info, sizeof(info)) ? 0 : error_code(Error::bad_address);
}

void devices_process_died(Process& dead)
{
    // Stop the device's DMA: the memory it was given is about to be freed
    // (and reused), and the driver's successor resets the device anyway.
    if (dead.pci_device != ~0u && (dead.privileges & sys::privilege::devices) != 0)
        set_pci_command(dead.pci_device, command_bus_master, false);
    for (unsigned line = 0; line < irq_lines; ++line) {
        if (g_irq_owner[line] == dead.endpoint()) {
            arch::ioapic::mask_gsi(line);
            g_irq_owner[line] = 0;
        }
    }
}

} // namespace kernel
