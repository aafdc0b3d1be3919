// Interrupt descriptor table, the saved-register frame every interrupt
// produces, and a small registry of handlers for device and IPI vectors.
#pragma once

#include <cstdint>

namespace arch {

// Layout pushed by interrupt_entry.S; keep in sync with the push order there.
struct InterruptFrame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector;
    uint64_t error_code;
    // pushed by the CPU
    uint64_t rip, cs, rflags, rsp, ss;
};
static_assert(sizeof(InterruptFrame) == 22 * 8);

// Fixed vector assignments.
namespace vector {
constexpr uint8_t page_fault = 14;
constexpr uint8_t legacy_pic_base = 0x20; // masked; only spurious IRQs land here
constexpr uint8_t lapic_timer = 0x30;
constexpr uint8_t device_base = 0x40;     // IOAPIC-routed device interrupts
constexpr uint8_t ipi_wakeup = 0xF0;
constexpr uint8_t ipi_halt = 0xF1; // panic: every other core stops
constexpr uint8_t ipi_tlb = 0xF2;  // reload CR3 (after unmapping)
constexpr uint64_t syscall = 0x100; // InterruptFrame::vector of a SYSCALL entry
constexpr uint8_t spurious = 0xFF;
} // namespace vector

// Interrupt stack table slots (TSS IST1..7) used by the IDT.
namespace ist {
constexpr uint8_t double_fault = 1;
constexpr uint8_t nmi = 2;
constexpr uint8_t machine_check = 3;
constexpr int count = 3;
} // namespace ist

using InterruptHandler = void (*)(InterruptFrame& frame);

// Builds the (shared) IDT. Call once on the boot core before anything can fault.
void init_idt();
// Loads the IDT on the calling core.
void load_idt();
// Handler for a vector >= 32; it runs with interrupts off and the LAPIC EOI is
// sent after it returns.
void set_interrupt_handler(uint8_t vector, InterruptHandler handler);

const char* exception_name(uint64_t vector);
const char* exception_mnemonic(uint64_t vector);

} // namespace arch
