// The scheduler: one run queue per core, round-robin with a time slice of one
// timer tick, blocking and waking across cores with IPIs, and an idle thread
// per core that sleeps in HLT.
//
// Locking: all process, IPC and scheduler state is guarded by one kernel lock
// (`lock_kernel()`), taken with interrupts off on every entry from user mode
// (system call, interrupt) and by the idle loop. System calls are short and the
// fast path between servers does not enter the kernel at all (channels), so a
// single lock keeps the kernel simple without costing the data path.
#pragma once

#include <atomic>
#include <cstdint>

#include "proc/process.hpp"
#include "proc/run_queue.hpp"
#include "sync/spinlock.hpp"

namespace kernel {

// Takes the kernel lock. While it waits, interrupts are let in, so that a
// core spinning here still answers TLB-flush and wake-up IPIs from the core
// that holds the lock. Returns with interrupts off.
void lock_kernel();
void unlock_kernel();

// Holds the kernel lock for a scope (interrupt handlers).
class KernelLockGuard {
public:
    KernelLockGuard() { lock_kernel(); }
    ~KernelLockGuard() { unlock_kernel(); }
    KernelLockGuard(const KernelLockGuard&) = delete;
    KernelLockGuard& operator=(const KernelLockGuard&) = delete;
};

struct CoreState {
    Thread* current = nullptr;
    Thread idle;
    RunQueue<Process> ready;
    bool need_resched = false;
    Thread* dead = nullptr;       // an exited thread whose stack is freed after the switch
    uint64_t busy_ticks = 0;      // TSC ticks spent running processes
    // The process whose page tables are in CR3 (nullptr: the kernel's). The
    // idle thread keeps the last one's (schedule()).
    const Process* address_space = nullptr;
    uint64_t online_tsc = 0;
    // Idle with MWAIT: the core sleeps watching wake_word, and a write to it
    // wakes the core without an interrupt.
    bool idle_in_mwait = false;
    std::atomic<uint64_t> wake_word{0};
};

CoreState& core_state(unsigned core);

// Per core, once, on the core's boot stack: that context becomes the idle
// thread and never returns.
[[noreturn]] void scheduler_run_idle(unsigned core);

// Puts a blocked or new process on its core's run queue (waking that core).
void make_ready(Process& process);
// Blocks the current process until make_ready(); returns after it was woken.
void block_current(Wait reason);
// Gives up the CPU if anything else is ready (state stays runnable).
void yield_current();
// Picks the next thread on this core and switches to it (lock held).
void schedule();
// Called for every timer tick on every core (lock not held).
void scheduler_tick();

// The least loaded online core, for processes that name none.
unsigned pick_core();
// Makes sure no core still has stale TLB entries for `process` (after unmapping).
void flush_tlb(const Process& process);
// The current core leaves the current process's page tables for the
// kernel's, before they are freed.
void drop_address_space();

// Saves the outgoing thread's FPU state and puts the incoming one's in place.
void capture_clean_fpu_state();
const uint8_t* clean_fpu_state();

} // namespace kernel
