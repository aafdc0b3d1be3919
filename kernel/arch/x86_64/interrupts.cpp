#include "arch/interrupts.hpp"

#include "arch/cpu.hpp"
#include "arch/descriptors.hpp"
#include "arch/lapic.hpp"
#include "arch/percpu.hpp"
#include "log.hpp"
#include "proc/lifecycle.hpp"
#include "test_mode.hpp"

extern "C" char interrupt_stubs[];
extern "C" void interrupt_dispatch(arch::InterruptFrame* frame);

namespace arch {
namespace {

constexpr size_t stub_size = 16; // see interrupt_entry.S

struct [[gnu::packed]] IdtEntry {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attributes;
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
};
static_assert(sizeof(IdtEntry) == 16);

struct [[gnu::packed]] IdtPointer {
    uint16_t limit;
    uint64_t base;
};

alignas(16) IdtEntry g_idt[256];
InterruptHandler g_handlers[256];
std::atomic<uint64_t> g_unexpected_interrupts{0};

constexpr uint8_t interrupt_gate = 0x8E; // present, DPL 0, 64-bit interrupt gate

struct ExceptionInfo {
    const char* mnemonic;
    const char* name;
};
constexpr ExceptionInfo exceptions[32] = {
    {"#DE", "divide error"},
    {"#DB", "debug"},
    {"NMI", "non-maskable interrupt"},
    {"#BP", "breakpoint"},
    {"#OF", "overflow"},
    {"#BR", "bound range exceeded"},
    {"#UD", "invalid opcode"},
    {"#NM", "device not available"},
    {"#DF", "double fault"},
    {"#CSO", "coprocessor segment overrun"},
    {"#TS", "invalid TSS"},
    {"#NP", "segment not present"},
    {"#SS", "stack-segment fault"},
    {"#GP", "general protection fault"},
    {"#PF", "page fault"},
    {"#15", "reserved"},
    {"#MF", "x87 floating-point exception"},
    {"#AC", "alignment check"},
    {"#MC", "machine check"},
    {"#XM", "SIMD floating-point exception"},
    {"#VE", "virtualization exception"},
    {"#CP", "control protection exception"},
    {"#22", "reserved"},
    {"#23", "reserved"},
    {"#24", "reserved"},
    {"#25", "reserved"},
    {"#26", "reserved"},
    {"#27", "reserved"},
    {"#HV", "hypervisor injection exception"},
    {"#VC", "VMM communication exception"},
    {"#SX", "security exception"},
    {"#31", "reserved"},
};

void set_gate(uint8_t vector, uint8_t ist_index)
{
    const auto address = reinterpret_cast<uint64_t>(interrupt_stubs + vector * stub_size);
    g_idt[vector] = IdtEntry{static_cast<uint16_t>(address), selector::kernel_code, ist_index, interrupt_gate,
                             static_cast<uint16_t>(address >> 16), static_cast<uint32_t>(address >> 32), 0};
}

void report_exception(const InterruptFrame& f)
{
    const uint32_t cpu_index = current_cpu_index();
    kernel::log("EXCEPTION %s %s on cpu %u (vector %lu) in %s mode", exception_mnemonic(f.vector),
                exception_name(f.vector), cpu_index, f.vector, (f.cs & 3) == 0 ? "kernel" : "user");
    kernel::log("  error=0x%lx cr2=0x%016lx cr3=0x%016lx", f.error_code, read_cr2(), read_cr3());
    if (f.vector == vector::page_fault) {
        kernel::log("  page fault: %s on %s page, %s access%s", (f.error_code & 1) ? "protection violation" : "not present",
                    (f.error_code & 4) ? "user" : "kernel", (f.error_code & 2) ? "write" : "read",
                    (f.error_code & 16) ? " (instruction fetch)" : "");
    }
    kernel::log("  rip=0x%016lx cs=0x%lx rflags=0x%lx rsp=0x%016lx ss=0x%lx", f.rip, f.cs, f.rflags, f.rsp, f.ss);
    kernel::log("  rax=0x%016lx rbx=0x%016lx rcx=0x%016lx rdx=0x%016lx", f.rax, f.rbx, f.rcx, f.rdx);
    kernel::log("  rsi=0x%016lx rdi=0x%016lx rbp=0x%016lx r8 =0x%016lx", f.rsi, f.rdi, f.rbp, f.r8);
    kernel::log("  r9 =0x%016lx r10=0x%016lx r11=0x%016lx r12=0x%016lx", f.r9, f.r10, f.r11, f.r12);
    kernel::log("  r13=0x%016lx r14=0x%016lx r15=0x%016lx", f.r13, f.r14, f.r15);
}

} // namespace

const char* exception_name(uint64_t vector) { return vector < 32 ? exceptions[vector].name : "interrupt"; }
const char* exception_mnemonic(uint64_t vector) { return vector < 32 ? exceptions[vector].mnemonic : "IRQ"; }

void init_idt()
{
    for (int v = 0; v < 256; ++v)
        set_gate(static_cast<uint8_t>(v), 0);
    set_gate(8, ist::double_fault);
    set_gate(2, ist::nmi);
    set_gate(18, ist::machine_check);
    set_interrupt_handler(vector::ipi_halt, [](InterruptFrame&) { halt_forever(); });
}

void load_idt()
{
    const IdtPointer idtr{sizeof(g_idt) - 1, reinterpret_cast<uint64_t>(g_idt)};
    asm volatile("lidt %0" : : "m"(idtr));
}

void set_interrupt_handler(uint8_t vector, InterruptHandler handler) { g_handlers[vector] = handler; }

} // namespace arch

extern "C" void interrupt_dispatch(arch::InterruptFrame* frame)
{
    using namespace arch;
    const bool from_user = (frame->cs & 3) != 0;
    if (frame->vector < 32) {
        // NMIs, double faults and machine checks are the machine's problem, not the process's.
        const bool process_fault = frame->vector != 2 && frame->vector != 8 && frame->vector != 18;
        if (from_user && process_fault)
            kernel::user_exception(*frame); // ends that process, never returns
        // The kernel does not recover from its own exceptions: report and stop this core.
        report_exception(*frame);
        kernel::log("cpu %u halted after the exception", current_cpu_index());
        kernel::stop_after_fault();
    }
    const auto vector = static_cast<uint8_t>(frame->vector);
    if (vector == vector::spurious)
        return; // no EOI for spurious LAPIC interrupts
    if (g_handlers[vector] != nullptr) {
        g_handlers[vector](*frame);
    } else {
        g_unexpected_interrupts.fetch_add(1, std::memory_order_relaxed);
        // The legacy PIC is masked; its spurious IRQs 7 and 15 need no EOI.
        if (vector >= vector::legacy_pic_base && vector < vector::legacy_pic_base + 16)
            return;
    }
    lapic::eoi();
    if (from_user)
        kernel::interrupted_user_mode(*frame);
}
