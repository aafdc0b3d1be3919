// Per-core data. Each core's GS base points at its own Cpu record, so
// `current_cpu()` is one memory read and needs no lock.
#pragma once

#include <atomic>
#include <cstdint>

#include "arch/descriptors.hpp"

namespace arch {

constexpr unsigned max_cpus = 64;

struct Cpu {
    // The first fields are read by assembly through GS (offsets fixed below).
    Cpu* self;                 // gs:0
    uint32_t index;            // gs:8, 0 is the boot core
    uint32_t apic_id;
    uint64_t syscall_stack;    // gs:16, kernel stack top of the running thread (SYSCALL entry)
    uint64_t user_rsp_scratch; // gs:24, user RSP while SYSCALL entry switches stacks

    DescriptorTables tables;
    uint64_t kernel_stack_top; // the core's boot/idle stack
    std::atomic<uint64_t> timer_ticks;
    std::atomic<bool> online;
};
static_assert(__builtin_offsetof(Cpu, syscall_stack) == 16);
static_assert(__builtin_offsetof(Cpu, user_rsp_scratch) == 24);

Cpu& cpu(unsigned index);
// Cores that are online (or, during bring-up, being started).
unsigned cpu_count();
void set_cpu_count(unsigned count);

// Points GS at `cpu` on the calling core.
void set_current_cpu(Cpu& cpu);

inline Cpu& current_cpu()
{
    Cpu* self;
    asm volatile("mov %%gs:0, %0" : "=r"(self));
    return *self;
}
inline uint32_t current_cpu_index()
{
    uint32_t index;
    asm volatile("movl %%gs:8, %0" : "=r"(index));
    return index;
}

} // namespace arch
