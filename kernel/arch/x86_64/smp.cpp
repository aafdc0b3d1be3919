#include "arch/smp.hpp"

#include "arch/clock.hpp"
#include "arch/cpu.hpp"
#include "arch/cpu_setup.hpp"
#include "arch/interrupts.hpp"
#include "arch/lapic.hpp"
#include "arch/memory_layout.hpp"
#include "log.hpp"

extern "C" char ap_trampoline_start[], ap_trampoline_end[], ap_trampoline_params[];

namespace arch::smp {
namespace {

// Mirrors the parameter block at the end of boot/ap_trampoline.S.
struct [[gnu::packed]] TrampolineParams {
    uint32_t cr3;
    uint32_t efer;
    uint64_t stack;
    uint64_t entry;
    uint64_t argument;
};
static_assert(sizeof(TrampolineParams) == 32);

constexpr uint64_t kernel_stack_bytes = 16384;
constexpr uint64_t ist_stack_bytes = 8192;
constexpr uint64_t efer_lme = 1u << 8;

struct ApStart {
    Cpu* cpu;
    uint64_t (*allocate_stack)(uint64_t);
    void (*ap_main)(Cpu&);
    std::atomic<bool> started;
};
ApStart g_start;

// First C++ code on an AP, on its own stack, still with the trampoline page mapped.
[[noreturn]] void ap_entry(ApStart* start)
{
    Cpu& cpu = *start->cpu;
    auto allocate_stack = start->allocate_stack;
    auto ap_main = start->ap_main;
    start->started.store(true, std::memory_order_release); // the boot core may reuse g_start now
    set_current_cpu(cpu);
    if (!init_this_cpu(cpu, allocate_stack)) {
        kernel::log("cpu %u: no memory for its stacks; stopping it", cpu.index);
        halt_forever();
    }
    ap_main(cpu);
    halt_forever(); // ap_main does not return
}

bool wait_until_started(uint64_t timeout_us)
{
    const uint64_t hz = clock::tsc_hz();
    const uint64_t deadline = rdtsc() + timeout_us * (hz / 1000000);
    while (!g_start.started.load(std::memory_order_acquire)) {
        if (rdtsc() > deadline)
            return false;
        pause();
    }
    return true;
}

} // namespace

bool init_this_cpu(Cpu& cpu, uint64_t (*allocate_stack)(uint64_t bytes))
{
    uint64_t ist_tops[ist::count];
    for (uint64_t& top : ist_tops) {
        top = allocate_stack(ist_stack_bytes);
        if (top == 0)
            return false;
    }
    load_descriptor_tables(cpu.tables, ist_tops, ist::count);
    load_idt();
    lapic::init_this_cpu();
    enable_user_mode_support();
    return true;
}

unsigned start_application_processors(const acpi::Madt& madt, const StartParams& params)
{
    const size_t code_size = static_cast<size_t>(ap_trampoline_end - ap_trampoline_start);
    auto* page = static_cast<uint8_t*>(phys_to_virt(params.trampoline_page));
    __builtin_memcpy(page, ap_trampoline_start, code_size);
    auto* block = reinterpret_cast<TrampolineParams*>(page + (ap_trampoline_params - ap_trampoline_start));

    const uint32_t my_apic_id = lapic::id();
    unsigned running = 1;
    for (size_t i = 0; i < madt.cpu_count; ++i) {
        const uint32_t apic_id = madt.cpus[i].apic_id;
        if (apic_id == my_apic_id)
            continue;
        Cpu& cpu = arch::cpu(running);
        cpu.index = running;
        cpu.apic_id = apic_id;
        cpu.kernel_stack_top = params.allocate_stack(kernel_stack_bytes);
        if (cpu.kernel_stack_top == 0) {
            kernel::log("smp: no memory for a stack for apic %u; not starting it", apic_id);
            continue;
        }
        g_start.cpu = &cpu;
        g_start.allocate_stack = params.allocate_stack;
        g_start.ap_main = params.ap_main;
        g_start.started.store(false, std::memory_order_relaxed);
        *block = TrampolineParams{params.page_table_root, static_cast<uint32_t>(efer_lme | params.efer_features),
                                  cpu.kernel_stack_top, reinterpret_cast<uint64_t>(&ap_entry),
                                  reinterpret_cast<uint64_t>(&g_start)};
        asm volatile("mfence" ::: "memory");

        // INIT, 10 ms, then STARTUP; a second STARTUP only if the first was missed.
        const auto start_page = static_cast<uint8_t>(params.trampoline_page >> 12);
        lapic::send_init(apic_id);
        clock::delay_us(10000);
        lapic::send_startup(apic_id, start_page);
        if (!wait_until_started(1000)) {
            lapic::send_startup(apic_id, start_page);
            // Generous: under emulation with more virtual than host cores an AP can be slow to get going.
            if (!wait_until_started(5000000)) {
                kernel::log("smp: cpu with apic %u did not start; continuing without it", apic_id);
                lapic::send_init(apic_id); // park it, so a late start cannot pick up another core's parameters
                continue;
            }
        }
        ++running;
        set_cpu_count(running);
    }
    return running;
}

} // namespace arch::smp
