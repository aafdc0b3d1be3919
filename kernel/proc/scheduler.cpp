#include "proc/scheduler.hpp"

#include "arch/clock.hpp"
#include "arch/cpu.hpp"
#include "arch/interrupts.hpp"
#include "arch/lapic.hpp"
#include "arch/percpu.hpp"
#include "log.hpp"
#include "mm/memory.hpp"
#include "proc/lifecycle.hpp"

extern "C" void context_switch(uint64_t* save_rsp, uint64_t new_rsp);

namespace kernel {
namespace {

Spinlock g_kernel_lock;
CoreState g_cores[arch::max_cpus];
alignas(16) uint8_t g_clean_fpu[512];
std::atomic<uint64_t> g_tlb_requests[arch::max_cpus];
std::atomic<uint64_t> g_tlb_done[arch::max_cpus];

void fpu_save(uint8_t* area) { asm volatile("fxsave64 (%0)" : : "r"(area) : "memory"); }
void fpu_restore(const uint8_t* area) { asm volatile("fxrstor64 (%0)" : : "r"(area) : "memory"); }

void on_wakeup_ipi(arch::InterruptFrame&) { core_state(arch::current_cpu_index()).need_resched = true; }

void on_tlb_ipi(arch::InterruptFrame&)
{
    const unsigned me = arch::current_cpu_index();
    arch::write_cr3(arch::read_cr3());
    g_tlb_done[me].store(g_tlb_requests[me].load(std::memory_order_acquire), std::memory_order_release);
}

} // namespace

void lock_kernel()
{
    while (!g_kernel_lock.try_lock()) {
        while (g_kernel_lock.is_locked())
            asm volatile("sti; pause; cli" ::: "memory");
    }
}

void unlock_kernel() { g_kernel_lock.unlock(); }
CoreState& core_state(unsigned core) { return g_cores[core]; }

void capture_clean_fpu_state()
{
    uint32_t mxcsr = 0x1F80; // all SIMD exceptions masked
    asm volatile("fninit; ldmxcsr %0" : : "m"(mxcsr));
    fpu_save(g_clean_fpu);
    arch::set_interrupt_handler(arch::vector::ipi_wakeup, on_wakeup_ipi);
    arch::set_interrupt_handler(arch::vector::ipi_tlb, on_tlb_ipi);
}

const uint8_t* clean_fpu_state() { return g_clean_fpu; }

extern "C" void thread_switched_in()
{
    CoreState& core = g_cores[arch::current_cpu_index()];
    if (core.dead != nullptr) {
        Thread* dead = core.dead;
        core.dead = nullptr;
        reap_thread(*dead);
    }
}

void schedule()
{
    const unsigned me = arch::current_cpu_index();
    CoreState& core = g_cores[me];
    Thread* prev = core.current;
    Process* prev_process = prev->process;
    if (prev_process != nullptr && prev_process->state == sys::ProcessState::running) {
        prev_process->state = sys::ProcessState::ready;
        core.ready.push(*prev_process);
    }
    Process* next_process = core.ready.pop();
    Thread* next = next_process != nullptr ? &next_process->thread : &core.idle;
    if (next_process != nullptr)
        next_process->state = sys::ProcessState::running;
    core.need_resched = false;
    if (next == prev)
        return;

    const uint64_t now = arch::rdtsc();
    if (prev_process != nullptr) {
        prev_process->cpu_time_ticks += now - prev_process->run_start_tsc;
        core.busy_ticks += now - prev_process->run_start_tsc;
        fpu_save(prev_process->fpu_state);
    }
    if (next_process != nullptr) {
        next_process->run_start_tsc = now;
        fpu_restore(next_process->fpu_state);
        if (core.address_space != next_process) {
            arch::write_cr3(next_process->space.root());
            core.address_space = next_process;
        }
    }
    // The idle thread runs on the tables of whoever ran last (its kernel
    // half is everyone's), as Linux's lazy TLB does: a process that sleeps
    // and wakes again on an otherwise idle core costs no CR3 write, whose
    // full TLB flush TCG makes expensive. Safe because a process only runs
    // on its own core and dies there after loading the kernel's tables
    // (drop_address_space), and flush_tlb reaches an idle core that still
    // has the process's tables.
    arch::Cpu& cpu = arch::current_cpu();
    cpu.tables.tss.rsp[0] = next->stack_top;
    cpu.syscall_stack = next->stack_top;
    next->core = me;
    core.current = next;
    context_switch(&prev->saved_rsp, next->saved_rsp);
    thread_switched_in();
}

void make_ready(Process& p)
{
    if (p.state == sys::ProcessState::ready || p.state == sys::ProcessState::running)
        return;
    p.state = sys::ProcessState::ready;
    p.wait = Wait::none;
    const unsigned target = p.thread.core;
    g_cores[target].ready.push(p);
    CoreState& core = g_cores[target];
    if (target != arch::current_cpu_index()) {
        if (core.idle_in_mwait)
            core.wake_word.fetch_add(1, std::memory_order_release); // wakes its MWAIT
        else
            arch::lapic::send_ipi(arch::cpu(target).apic_id, arch::vector::ipi_wakeup);
    }
    else if (core.current == nullptr || core.current->process == nullptr)
        core.need_resched = true; // this core idles: switch at the next chance
}

void block_current(Wait reason)
{
    Process* p = g_cores[arch::current_cpu_index()].current->process;
    p->state = sys::ProcessState::blocked;
    p->wait = reason;
    schedule();
}

void yield_current()
{
    if (!g_cores[arch::current_cpu_index()].ready.empty())
        schedule();
}

void scheduler_tick()
{
    const unsigned me = arch::current_cpu_index();
    KernelLockGuard guard;
    CoreState& core = g_cores[me];
    if (core.current == nullptr)
        return; // this core's scheduler is not running yet
    if (core.current->process != nullptr && !core.ready.empty())
        core.need_resched = true; // the time slice is over and someone is waiting
    if (me == 0)
        wake_expired_timers(arch::clock::uptime_ns());
}

unsigned pick_core()
{
    unsigned best = 0;
    unsigned best_load = ~0u;
    for (unsigned c = 0; c < arch::cpu_count(); ++c) {
        if (!arch::cpu(c).online.load())
            continue;
        unsigned load = static_cast<unsigned>(g_cores[c].ready.size()) + (g_cores[c].current && g_cores[c].current->process ? 1 : 0);
        for (size_t s = 0; s < max_processes; ++s) {
            const Process& p = process_slot(s);
            if (p.state == sys::ProcessState::blocked && p.thread.core == c)
                ++load;
        }
        if (load < best_load) {
            best = c;
            best_load = load;
        }
    }
    return best;
}

void flush_tlb(const Process& p)
{
    const unsigned me = arch::current_cpu_index();
    for (unsigned c = 0; c < arch::cpu_count(); ++c) {
        if (g_cores[c].address_space != &p)
            continue;
        if (c == me) {
            arch::write_cr3(arch::read_cr3());
            continue;
        }
        const uint64_t request = g_tlb_requests[c].fetch_add(1) + 1;
        arch::lapic::send_ipi(arch::cpu(c).apic_id, arch::vector::ipi_tlb);
        const uint64_t deadline = arch::rdtsc() + arch::clock::tsc_hz() / 10;
        while (g_tlb_done[c].load(std::memory_order_acquire) < request && arch::rdtsc() < deadline)
            arch::pause();
    }
}

void drop_address_space()
{
    CoreState& core = g_cores[arch::current_cpu_index()];
    arch::write_cr3(memory::kernel_tables().root());
    core.address_space = nullptr;
}

void scheduler_run_idle(unsigned core_index)
{
    CoreState& core = g_cores[core_index];
    core.idle.core = core_index;
    core.idle.stack_top = arch::cpu(core_index).kernel_stack_top;
    core.current = &core.idle;
    core.online_tsc = arch::rdtsc();
    arch::Cpu& cpu = arch::current_cpu();
    cpu.syscall_stack = core.idle.stack_top;
    const bool use_mwait = (arch::cpuid(1).ecx & (1u << 3)) != 0; // MONITOR/MWAIT
    for (;;) {
        lock_kernel();
        core.idle_in_mwait = false;
        if (!core.ready.empty())
            schedule();
        core.idle_in_mwait = use_mwait;
        unlock_kernel();
        if (use_mwait) {
            // Arm the monitor, then look once more: a make_ready() that came
            // before the arming is seen here, one after it ends the MWAIT.
            asm volatile("monitor" : : "a"(&core.wake_word), "c"(0), "d"(0) : "memory");
            if (core.ready.empty())
                asm volatile("sti; mwait; cli" : : "a"(0), "c"(0) : "memory");
        } else {
            asm volatile("sti; hlt; cli" ::: "memory");
        }
    }
}

} // namespace kernel
