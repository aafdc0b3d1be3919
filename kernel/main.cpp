// Kernel entry: brings the machine up in a fixed order, each step logged,
// then prints the banner and idles (or runs the test mode it was asked for).
#include "arch/acpi.hpp"
#include "arch/clock.hpp"
#include "arch/cpu.hpp"
#include "arch/interrupts.hpp"
#include "arch/ioapic.hpp"
#include "arch/lapic.hpp"
#include "arch/memory_layout.hpp"
#include "arch/pci.hpp"
#include "arch/percpu.hpp"
#include "arch/serial.hpp"
#include "arch/smp.hpp"
#include "boot/multiboot2.hpp"
#include "cmdline.hpp"
#include "console.hpp"
#include "kernel.hpp"
#include "proto/pci.hpp"
#include "log.hpp"
#include "mm/memory.hpp"
#include "proc/lifecycle.hpp"
#include "proc/scheduler.hpp"
#include "profile.hpp"
#include "selftest.hpp"
#include "test_mode.hpp"

extern "C" char boot_stack_top[];

namespace kernel {
namespace {

constexpr uint32_t timer_hz = 100;

multiboot2::BootInfo g_boot_info;
arch::acpi::Madt g_madt;
arch::pci::Function g_pci[64];
size_t g_pci_count = 0;

const void* map_acpi(uint64_t phys, size_t length) { return memory::map_physical(phys, length, false); }
volatile uint32_t* map_mmio_page(uint64_t phys)
{
    return static_cast<volatile uint32_t*>(memory::map_physical(phys, arch::page_size, true));
}

uint64_t allocate_stack(uint64_t bytes)
{
    auto frames = memory::frames().allocate_contiguous(bytes / arch::page_size);
    if (!frames.ok())
        return 0;
    return reinterpret_cast<uint64_t>(arch::phys_to_virt(frames.value())) + bytes;
}

void on_timer(arch::InterruptFrame& frame)
{
    arch::current_cpu().timer_ticks.fetch_add(1, std::memory_order_relaxed);
    const unsigned core = arch::current_cpu_index();
    const Thread* current = core_state(core).current;
    profile::on_tick(frame, core, current != nullptr && current->process != nullptr ? current->process->slot : 0);
    scheduler_tick();
}

[[noreturn]] void ap_main(arch::Cpu& cpu)
{
    arch::lapic::start_periodic_timer(timer_hz);
    cpu.online.store(true, std::memory_order_release);
    log("cpu %u online (apic %u)", cpu.index, cpu.apic_id);
    scheduler_run_idle(cpu.index);
}

TestMode parse_test_mode(const char* cmdline)
{
    char value[32];
    if (!cmdline_value(cmdline, "test", value, sizeof(value)))
        return TestMode::none;
    if (__builtin_strcmp(value, "selftest") == 0)
        return TestMode::selftest;
    if (__builtin_strcmp(value, "pagefault") == 0)
        return TestMode::pagefault;
    if (__builtin_strcmp(value, "processes") == 0)
        return TestMode::processes;
    log("warning: unknown test mode '%s' ignored (known: selftest, pagefault, processes)", value);
    return TestMode::none;
}

bool wait_for_cores_online(unsigned count, uint64_t timeout_ms)
{
    const uint64_t deadline = arch::clock::uptime_ns() + timeout_ms * 1000000;
    for (unsigned i = 0; i < count; ++i) {
        while (!arch::cpu(i).online.load(std::memory_order_acquire)) {
            if (arch::clock::uptime_ns() > deadline)
                return false;
            arch::pause();
        }
    }
    return true;
}

void log_modules()
{
    for (size_t i = 0; i < g_boot_info.module_count; ++i) {
        const auto& m = g_boot_info.modules[i];
        const auto* bytes = static_cast<const uint8_t*>(arch::phys_to_virt(m.start));
        const size_t size = m.end - m.start;
        const bool elf64 = size >= 64 && bytes[0] == 0x7F && bytes[1] == 'E' && bytes[2] == 'L' && bytes[3] == 'F' &&
                           bytes[4] == 2 && bytes[18] == 62; // ELFCLASS64, EM_X86_64
        log("module '%s': %zu bytes at 0x%x%s", m.cmdline, size, m.start, elf64 ? ", ELF64 x86-64" : "");
    }
}

void print_banner(unsigned cores)
{
    log("Tern %s (x86-64): %u cores, %lu MiB usable memory, %zu PCI functions", version, cores,
        memory::usable_bytes() >> 20, g_pci_count);
    log("memory: %lu MiB usable, %zu MiB free", memory::usable_bytes() >> 20,
        (memory::frames().free_frames() * arch::page_size) >> 20);
    for (size_t i = 0; i < g_pci_count && i < sizeof(g_pci) / sizeof(g_pci[0]); ++i) {
        const auto& f = g_pci[i];
        log("pci %02x:%02x.%x %04x:%04x class %02x.%02x %s", f.bus, f.device, f.function, f.vendor_id, f.device_id,
            f.class_code, f.subclass, tern::pci::class_name(f.class_code, f.subclass));
    }
    log_modules();
}

} // namespace

const multiboot2::BootInfo& boot_info() { return g_boot_info; }
const arch::acpi::Madt& madt() { return g_madt; }
size_t pci_function_count() { return g_pci_count; }
const arch::pci::Function* pci_function(size_t index)
{
    return index < g_pci_count && index < sizeof(g_pci) / sizeof(g_pci[0]) ? &g_pci[index] : nullptr;
}

} // namespace kernel

using namespace kernel;

extern "C" [[noreturn]] void kernel_main(uint32_t magic, uint32_t info_phys)
{
    arch::clock::mark_boot_start();
    arch::set_current_cpu(arch::cpu(0)); // before anything logs: the log reads the core index
    arch::serial::init();
    arch::init_idt();
    arch::load_idt();
    run_global_constructors();
    arch::clock::calibrate_tsc();
    log("Tern %s booting", version);

    if (magic != multiboot2::bootloader_magic)
        panic("not started by a multiboot2 loader (magic 0x%x)", magic);
    // The early page tables map the first 4 GiB at the direct-map base; GRUB keeps the info below 4 GiB.
    auto parsed = multiboot2::parse(arch::phys_to_virt(info_phys), (4ull << 30) - info_phys, g_boot_info);
    if (!parsed.ok())
        panic("boot information unusable: %s", tern::error_name(parsed.error()));
    set_test_mode(parse_test_mode(g_boot_info.cmdline));
    profile::configure(g_boot_info.cmdline);
    log("command line: '%s' (loader: %s)", g_boot_info.cmdline, g_boot_info.bootloader);
    log("tsc: %lu MHz", arch::clock::tsc_hz() / 1000000);

    auto memory_ready = memory::init(g_boot_info, info_phys);
    if (!memory_ready.ok())
        panic("memory setup failed: %s", tern::error_name(memory_ready.error()));

    arch::Cpu& boot_cpu = arch::cpu(0);
    boot_cpu.kernel_stack_top = reinterpret_cast<uint64_t>(boot_stack_top);
    auto madt_read = arch::acpi::read_madt(g_boot_info.rsdp, g_boot_info.rsdp_length, map_acpi, g_madt);
    if (!madt_read.ok())
        panic("ACPI MADT unusable: %s", tern::error_name(madt_read.error()));
    arch::acpi::PowerOff power_off_info;
    if (auto found = arch::acpi::read_power_off(g_boot_info.rsdp, g_boot_info.rsdp_length, map_acpi, power_off_info);
        !found.ok())
        log("acpi: no S5 information (%s); poweroff will only halt", tern::error_name(found.error()));
    arch::lapic::set_base(map_mmio_page(g_madt.lapic_address));
    boot_cpu.apic_id = arch::lapic::id();
    if (!arch::smp::init_this_cpu(boot_cpu, allocate_stack))
        panic("no memory for the boot core's stacks");
    const uint32_t irq_inputs = arch::ioapic::init(g_madt, map_mmio_page);
    log("acpi: %zu cores, %zu IOAPIC(s) with %u inputs, lapic at 0x%lx", g_madt.cpu_count, g_madt.ioapic_count,
        irq_inputs, g_madt.lapic_address);
    if (g_madt.cpus_ignored > 0)
        log("warning: %zu cores beyond the supported %u are not used", g_madt.cpus_ignored, arch::max_cpus);

    arch::set_interrupt_handler(arch::vector::lapic_timer, on_timer);
    arch::lapic::calibrate_timer();
    arch::lapic::start_periodic_timer(timer_hz);
    log("lapic timer: %lu MHz input clock, %u Hz tick", arch::lapic::timer_hz() / 1000000, timer_hz);
    boot_cpu.online.store(true, std::memory_order_release);
    log("cpu 0 online (apic %u, boot core)", boot_cpu.apic_id);

    g_pci_count = arch::pci::scan(g_pci, sizeof(g_pci) / sizeof(g_pci[0]));

    // APs start from a page below 1 MiB that must be identity-mapped while they switch modes.
    const uint64_t trampoline = memory::low_page();
    if (!memory::kernel_tables().map(trampoline, trampoline, arch::page_size, arch::pte::writable, true).ok())
        panic("cannot map the AP start-up page");
    const arch::smp::StartParams params{trampoline, static_cast<uint32_t>(memory::kernel_tables().root()),
                                        static_cast<uint32_t>(memory::efer_features()), allocate_stack, ap_main};
    const unsigned cores = arch::smp::start_application_processors(g_madt, params);
    const bool all_online = wait_for_cores_online(cores, 5000);
    (void)memory::kernel_tables().unmap(trampoline, arch::page_size);
    arch::invlpg(trampoline);
    if (!all_online)
        panic("not every started core came online");
    log("all %u cores online", cores);

    print_banner(cores);

    switch (test_mode()) {
    case TestMode::selftest:
        exit_qemu(run_selftest() ? ExitCode::success : ExitCode::failure);
        break;
    case TestMode::pagefault: {
        constexpr uint64_t unmapped = 0xDEAD0000;
        log("test: reading unmapped address 0x%lx on purpose", unmapped);
        (void)*reinterpret_cast<volatile uint64_t*>(unmapped);
        log("test: the page fault did not happen");
        exit_qemu(ExitCode::failure);
        break;
    }
    case TestMode::none:
    case TestMode::processes:
        break;
    }
    console_init();
    start_processes();
    log("tern: ready");
    scheduler_run_idle(0);
}
