// Starting and ending processes: spawning from a boot module, exit and
// faults (reported to rs as kernel events), kill and crash injection, timers.
#pragma once

#include <cstdint>

#include "arch/interrupts.hpp"
#include "proc/process.hpp"

namespace kernel {

// Sets up the crash page and per-core scheduler data; starts rs (the boot
// module named "rs") with every privilege. Call on the boot core.
void start_processes();

// Creates a process from boot module `request.module`. `parent_privileges`
// bounds what it may get. Returns its endpoint or a negative sys::Error.
int64_t spawn(const sys::SpawnRequest& request, uint64_t parent_privileges);

// Ends the calling process (lock held); never returns.
[[noreturn]] void exit_current(sys::EventKind kind, uint64_t status, const arch::InterruptFrame* fault);

// Asks for `target` to be killed or crashed; takes effect before it next runs user code.
void request_kill(Process& target);
void request_crash(Process& target, sys::CrashKind kind);

// Last stop before returning to ring 3 (lock held): pending kill or crash,
// and a reschedule if one is due.
void before_user_return(arch::InterruptFrame& frame);

// From the interrupt path (lock not held): an exception in user mode ends the
// process; any other interrupt of user code is a chance to reschedule.
[[noreturn]] void user_exception(arch::InterruptFrame& frame);
void interrupted_user_mode(arch::InterruptFrame& frame);

// Frees an exited thread's kernel stack and its slot (after switching away).
void reap_thread(Thread& thread);

// Sleeps and alarms that are due (lock held).
void wake_expired_timers(uint64_t now_ns);

// The next queued exit/fault report for rs; false if none.
bool next_kernel_event(sys::KernelEvent& out);

size_t module_count();
bool module_cmdline(size_t index, const char*& cmdline, uint64_t& size);

} // namespace kernel
