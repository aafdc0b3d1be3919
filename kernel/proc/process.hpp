// Processes: the process table, endpoints with generations, and the state a
// process carries (its one thread, address space, IPC and accounting).
#pragma once

#include <cstddef>
#include <cstdint>

#include "arch/interrupts.hpp"
#include "proc/address_space.hpp"
#include "proto/syscall.hpp"

namespace kernel {

namespace sys = tern::sys;

constexpr size_t max_processes = 64;
constexpr size_t kernel_stack_size = 16384;

struct Process;

// A schedulable thread of execution: a process's thread, or a core's idle thread.
struct Thread {
    uint64_t saved_rsp = 0;  // while switched out
    uint64_t stack_base = 0; // lowest address of the kernel stack
    uint64_t stack_top = 0;
    Process* process = nullptr; // nullptr for idle threads
    unsigned core = 0;

    // The user register frame saved at the top of the kernel stack on every
    // entry from ring 3 (interrupt or system call).
    arch::InterruptFrame* user_frame() const
    {
        return reinterpret_cast<arch::InterruptFrame*>(stack_top - sizeof(arch::InterruptFrame));
    }
};

enum class Wait {
    none,
    send,    // blocked until `ipc_peer` receives our message
    receive, // blocked until a message from `ipc_peer` (or any) arrives
    console, // blocked until console input arrives
    sleep,   // blocked until `wake_time_ns`
};

struct Process {
    Thread thread;
    uint32_t slot = 0;
    uint32_t generation = 0;
    sys::ProcessState state = sys::ProcessState::free;
    char name[32] = {};
    AddressSpace space;
    uint64_t privileges = 0;
    uint32_t pci_device = ~0u;
    uint32_t restarts = 0;
    bool pinned = false;

    // Scheduling and accounting
    Process* next_ready = nullptr;
    uint64_t cpu_time_ticks = 0; // TSC ticks spent running
    uint64_t run_start_tsc = 0;
    uint64_t syscalls = 0;

    // IPC
    Wait wait = Wait::none;
    sys::Endpoint ipc_peer = 0;     // send: destination; receive: source or any
    bool in_call = false;           // the pending send is the first half of a call
    bool awaiting_reply = false;    // a call's message was taken; only a reply (or send) ends the wait
    sys::Message message{};         // outgoing while sending, incoming once received
    int64_t ipc_result = 0;         // result for the woken system call
    Process* senders = nullptr;     // processes blocked sending to us (FIFO)
    Process* next_sender = nullptr;
    uint64_t pending_notify = 0;    // one bit per sender slot
    uint64_t pending_irqs = 0;      // from endpoint::hardware
    bool alarm_pending = false;     // from endpoint::clock
    bool kernel_event_pending = false; // from endpoint::kernel (rs)
    uint64_t pending_exits = 0;     // from endpoint::exits: slots of watched processes that ended
    uint64_t watching = 0;          // proc_watch: one bit per watched slot ...
    uint32_t watched_generation[max_processes] = {}; // ... and the generation watched there
    uint64_t alarm_time_ns = 0;     // 0: no alarm set
    uint64_t wake_time_ns = 0;      // Wait::sleep

    // Requested by another core; acted on before this process runs user code again.
    bool kill_pending = false;
    bool crash_pending = false;
    sys::CrashKind crash_kind = sys::CrashKind::segfault;

    alignas(16) uint8_t fpu_state[512] = {};

    sys::Endpoint endpoint() const { return sys::endpoint::make(slot, generation); }
    bool alive() const
    {
        return state == sys::ProcessState::running || state == sys::ProcessState::ready ||
               state == sys::ProcessState::blocked;
    }
};

Process& process_slot(size_t slot);
// The live process an endpoint names, or nullptr (stale generation, free slot).
Process* process_for(sys::Endpoint endpoint);
Process* current_process();

} // namespace kernel
