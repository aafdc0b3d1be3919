// Control-path IPC between processes: rendezvous send/receive/call/reply
// with 64-byte messages, and notifications (pending bits, never blocking).
// Kernel-side sources (IRQs, alarms, events for rs) arrive as notifications
// from the pseudo-endpoints in sys::endpoint. All functions run under the
// kernel lock; the blocking ones return after the caller was woken.
#pragma once

#include <cstdint>

#include "proc/process.hpp"

namespace kernel {

int64_t ipc_send(Process& me, sys::Endpoint destination, uint64_t user_message, bool nonblocking);
int64_t ipc_call(Process& me, sys::Endpoint destination, uint64_t user_message);
int64_t ipc_receive(Process& me, sys::Endpoint source, uint64_t user_message);
int64_t ipc_reply(Process& me, sys::Endpoint destination, uint64_t user_message);
int64_t ipc_notify(Process& me, sys::Endpoint destination);
// Asks for a notification from endpoint::exits (words[0] bit = the slot) when
// `watched` ends. One-shot; watching the same slot again replaces the watch.
int64_t ipc_watch(Process& me, sys::Endpoint watched);

enum class KernelSource { kernel, hardware, clock, exits };
// Marks a notification pending on `target` from a kernel source and delivers
// it at once if the target is waiting for it.
void post_notification(Process& target, KernelSource source, uint64_t bits = 0);

// Fails everything that waits on `dead` and takes `dead` out of every queue.
void ipc_process_died(Process& dead);

} // namespace kernel
