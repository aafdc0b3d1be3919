#include "selftest.hpp"

#include "arch/clock.hpp"
#include "arch/cpu.hpp"
#include "arch/interrupts.hpp"
#include "arch/ioapic.hpp"
#include "arch/lapic.hpp"
#include "arch/memory_layout.hpp"
#include "arch/percpu.hpp"
#include "kernel.hpp"
#include "log.hpp"
#include "mm/memory.hpp"

namespace kernel {
namespace {

using arch::page_size;

// Each check returns nullptr on success or a short reason.
using Check = const char* (*)();

bool wait_until(bool (*condition)(), uint64_t timeout_ms)
{
    const uint64_t deadline = arch::clock::uptime_ns() + timeout_ms * 1000000;
    while (!condition()) {
        if (arch::clock::uptime_ns() > deadline)
            return false;
        arch::pause();
    }
    return true;
}

const char* check_frames()
{
    FrameAllocator& frames = memory::frames();
    const size_t free_before = frames.free_frames();
    constexpr size_t count = 64;
    uint64_t taken[count];
    for (size_t i = 0; i < count; ++i) {
        auto frame = frames.allocate();
        if (!frame.ok())
            return "allocation failed";
        taken[i] = frame.value();
        // Fill through the direct map; a shared or misplaced frame shows up below.
        auto* words = static_cast<uint64_t*>(arch::phys_to_virt(taken[i]));
        for (size_t w = 0; w < page_size / 8; ++w)
            words[w] = taken[i] ^ w;
    }
    for (size_t i = 0; i < count; ++i) {
        const auto* words = static_cast<const uint64_t*>(arch::phys_to_virt(taken[i]));
        for (size_t w = 0; w < page_size / 8; ++w) {
            if (words[w] != (taken[i] ^ w))
                return "frame contents overwritten";
        }
        if (taken[i] < 0x100000)
            return "handed out a frame below 1 MiB";
    }
    for (size_t i = 0; i < count; ++i) {
        if (!frames.free(taken[i]).ok())
            return "free failed";
    }
    if (frames.free(taken[0]).ok())
        return "double free was accepted";
    auto block = frames.allocate_contiguous(16, 64 * 1024);
    if (!block.ok() || block.value() % (64 * 1024) != 0)
        return "aligned contiguous allocation failed";
    if (!frames.free_contiguous(block.value(), 16).ok())
        return "contiguous free failed";
    return frames.free_frames() == free_before ? nullptr : "free frame count changed";
}

const char* check_heap()
{
    Heap& heap = memory::heap();
    const size_t in_use = heap.bytes_in_use();
    constexpr size_t count = 256;
    uint8_t* blocks[count];
    for (size_t i = 0; i < count; ++i) {
        const size_t size = 1 + (i * 37) % 5000;
        blocks[i] = static_cast<uint8_t*>(heap.allocate(size));
        if (blocks[i] == nullptr)
            return "allocation failed";
        for (size_t b = 0; b < size; ++b)
            blocks[i][b] = static_cast<uint8_t>(i);
    }
    for (size_t i = 0; i < count; ++i) {
        const size_t size = 1 + (i * 37) % 5000;
        for (size_t b = 0; b < size; ++b) {
            if (blocks[i][b] != static_cast<uint8_t>(i))
                return "heap blocks overlap";
        }
    }
    for (size_t i = 0; i < count; ++i) {
        if (!heap.free(blocks[i]))
            return "free refused";
    }
    if (heap.free(blocks[0]))
        return "double free was accepted";
    int on_stack = 0;
    if (heap.free(&on_stack))
        return "foreign pointer was accepted";
    auto* object = new uint64_t[100];
    if (object == nullptr)
        return "operator new failed";
    delete[] object;
    return heap.bytes_in_use() == in_use ? nullptr : "bytes in use changed";
}

const char* check_paging()
{
    constexpr uint64_t test_virt = 0xFFFF900000000000;
    auto frame = memory::frames().allocate();
    if (!frame.ok())
        return "no frame";
    auto& tables = memory::kernel_tables();
    if (!tables.map(test_virt, frame.value(), page_size, arch::pte::writable, true).ok())
        return "map failed";
    if (tables.map(test_virt, frame.value(), page_size, arch::pte::writable, true).ok())
        return "mapping twice was accepted";
    auto* through_mapping = reinterpret_cast<volatile uint64_t*>(test_virt);
    *through_mapping = 0x5445524E5445524Eull;
    const auto* through_direct_map = static_cast<const uint64_t*>(arch::phys_to_virt(frame.value()));
    if (*through_direct_map != 0x5445524E5445524Eull)
        return "write through the new mapping not seen in the direct map";
    auto translation = tables.translate(test_virt + 8);
    if (!translation.ok() || translation.value().phys != frame.value() + 8)
        return "translate gave the wrong frame";
    if (!tables.unmap(test_virt, page_size).ok())
        return "unmap failed";
    arch::invlpg(test_virt);
    if (tables.translate(test_virt).ok())
        return "still mapped after unmap";
    return memory::frames().free(frame.value()).ok() ? nullptr : "free failed";
}

const char* check_cores_online()
{
    if (arch::cpu_count() != madt().cpu_count)
        return "fewer cores online than ACPI lists";
    for (unsigned i = 0; i < arch::cpu_count(); ++i) {
        if (!arch::cpu(i).online.load())
            return "a core is not online";
    }
    return nullptr;
}

const char* check_timers()
{
    // Every core's LAPIC timer must be ticking: wait for 3 more ticks each.
    uint64_t start[arch::max_cpus];
    for (unsigned i = 0; i < arch::cpu_count(); ++i)
        start[i] = arch::cpu(i).timer_ticks.load();
    static uint64_t* s_start;
    s_start = start;
    arch::enable_interrupts();
    const bool ok = wait_until(
        [] {
            for (unsigned i = 0; i < arch::cpu_count(); ++i) {
                if (arch::cpu(i).timer_ticks.load() < s_start[i] + 3)
                    return false;
            }
            return true;
        },
        3000);
    arch::disable_interrupts();
    return ok ? nullptr : "a core's timer is not ticking";
}

std::atomic<uint32_t> g_ipi_seen[arch::max_cpus];

const char* check_ipis()
{
    arch::set_interrupt_handler(arch::vector::ipi_wakeup, [](arch::InterruptFrame&) {
        g_ipi_seen[arch::current_cpu_index()].fetch_add(1);
    });
    for (unsigned i = 1; i < arch::cpu_count(); ++i)
        arch::lapic::send_ipi(arch::cpu(i).apic_id, arch::vector::ipi_wakeup);
    const bool ok = wait_until(
        [] {
            for (unsigned i = 1; i < arch::cpu_count(); ++i) {
                if (g_ipi_seen[i].load() == 0)
                    return false;
            }
            return true;
        },
        3000);
    return ok ? nullptr : "a core did not receive its IPI";
}

std::atomic<bool> g_pit_fired{false};

const char* check_ioapic_routing()
{
    // PIT channel 0, one-shot, through the IOAPIC (ISA IRQ 0, usually GSI 2).
    constexpr uint8_t vector = arch::vector::device_base;
    arch::set_interrupt_handler(vector, [](arch::InterruptFrame&) { g_pit_fired.store(true); });
    const int gsi = arch::ioapic::route_isa_irq(0, vector, arch::cpu(0).apic_id);
    if (gsi < 0)
        return "no IOAPIC input for ISA IRQ 0";
    arch::outb(0x43, 0x30); // channel 0, lobyte/hibyte, mode 0
    arch::outb(0x40, 0xA9); // 1193 ticks: about 1 ms
    arch::outb(0x40, 0x04);
    arch::enable_interrupts();
    const bool ok = wait_until([] { return g_pit_fired.load(); }, 2000);
    arch::disable_interrupts();
    arch::ioapic::mask_gsi(static_cast<uint32_t>(gsi));
    return ok ? nullptr : "the PIT interrupt never arrived";
}

const char* check_pci()
{
    return pci_function_count() > 0 ? nullptr : "no PCI functions found";
}

struct NamedCheck {
    const char* name;
    Check run;
};
constexpr NamedCheck checks[] = {
    {"frame allocator", check_frames},  {"kernel heap", check_heap}, {"page tables", check_paging},
    {"cores online", check_cores_online}, {"lapic timers", check_timers}, {"ipis", check_ipis},
    {"ioapic routing", check_ioapic_routing}, {"pci scan", check_pci},
};

} // namespace

bool run_selftest()
{
    unsigned failed = 0;
    for (const NamedCheck& check : checks) {
        const char* problem = check.run();
        if (problem == nullptr) {
            log("selftest: %s ok", check.name);
        } else {
            log("selftest: FAILED %s: %s", check.name, problem);
            ++failed;
        }
    }
    const unsigned total = sizeof(checks) / sizeof(checks[0]);
    if (failed == 0)
        log("selftest: passed (%u checks)", total);
    else
        log("selftest: FAILED (%u of %u checks)", failed, total);
    return failed == 0;
}

} // namespace kernel
