// System calls for ring-3 programs: one SYSCALL instruction and a typed
// wrapper per call of the ABI in proto/syscall.hpp (described in
// docs/SYSCALLS.md). Every wrapper returns what the kernel put in rax:
// >= 0 is the result, < 0 is -Error (error_name() spells it out).
#pragma once

#include <cstddef>
#include <cstdint>

#include "proto/syscall.hpp"

namespace tern::sys {

inline int64_t syscall(Call call, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0,
                       uint64_t a4 = 0, uint64_t a5 = 0)
{
    // The fourth argument travels in r10, not rcx: SYSCALL overwrites rcx
    // (return address) and r11 (flags). The kernel keeps every other register.
    register uint64_t r10 asm("r10") = a3;
    register uint64_t r8 asm("r8") = a4;
    register uint64_t r9 asm("r9") = a5;
    int64_t result;
    asm volatile("syscall"
                 : "=a"(result)
                 : "a"(static_cast<uint64_t>(call)), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
                 : "rcx", "r11", "memory");
    return result;
}

namespace detail {
template <typename T>
uint64_t address(T* pointer)
{
    return reinterpret_cast<uint64_t>(pointer);
}
} // namespace detail

// Process

[[noreturn]] inline void exit(int64_t status)
{
    syscall(Call::exit, static_cast<uint64_t>(status));
    __builtin_trap(); // the kernel never returns from exit; if it did, fault loudly
}
inline int64_t yield() { return syscall(Call::yield); }
inline int64_t self() { return syscall(Call::self); }
inline int64_t sleep(uint64_t milliseconds) { return syscall(Call::sleep, milliseconds); }
inline int64_t uptime() { return syscall(Call::uptime); } // nanoseconds since boot
// Ends the process with a fault report to rs that carries `message`.
[[noreturn]] inline void abort(const char* message, size_t length)
{
    syscall(Call::abort, detail::address(message), length);
    __builtin_trap();
}

// Console

inline int64_t console_write(const char* text, size_t length)
{
    return syscall(Call::console_write, detail::address(text), length);
}
inline int64_t console_read(char* buffer, size_t capacity)
{
    return syscall(Call::console_read, detail::address(buffer), capacity);
}

// IPC: the kernel copies the 64-byte Message in and out.

inline int64_t send(Endpoint destination, const Message& message)
{
    return syscall(Call::ipc_send, destination, detail::address(&message));
}
inline int64_t receive(Endpoint source, Message& message)
{
    return syscall(Call::ipc_receive, source, detail::address(&message));
}
// Sends `message`, then waits for the reply, which overwrites `message`.
inline int64_t call(Endpoint destination, Message& message)
{
    return syscall(Call::ipc_call, destination, detail::address(&message));
}
inline int64_t reply(Endpoint destination, const Message& message)
{
    return syscall(Call::ipc_reply, destination, detail::address(&message));
}
inline int64_t notify(Endpoint destination) { return syscall(Call::ipc_notify, destination); }
inline int64_t send_nb(Endpoint destination, const Message& message)
{
    return syscall(Call::ipc_send_nb, destination, detail::address(&message));
}
inline int64_t alarm(uint64_t milliseconds) { return syscall(Call::alarm, milliseconds); }

// Memory

inline int64_t mem_map(size_t size, uint64_t flags = map_flags::read | map_flags::write)
{
    return syscall(Call::mem_map, size, flags);
}
inline int64_t mem_unmap(void* address, size_t size)
{
    return syscall(Call::mem_unmap, detail::address(address), size);
}
inline int64_t shm_create(size_t size) { return syscall(Call::shm_create, size); }
inline int64_t shm_grant(uint64_t handle, Endpoint grantee, uint64_t flags)
{
    return syscall(Call::shm_grant, handle, grantee, flags);
}
// `min_size`: fail with invalid_argument unless the object has at least this
// many bytes (a peer's object is only as big as the peer made it).
inline int64_t shm_map(Endpoint owner, uint64_t handle, uint64_t flags, uint64_t min_size = 0)
{
    return syscall(Call::shm_map, owner, handle, flags, min_size);
}
inline int64_t shm_release(uint64_t handle)
{
    return syscall(Call::shm_release, handle);
}
inline int64_t dma_alloc(size_t size, DmaRegion& region)
{
    return syscall(Call::dma_alloc, size, detail::address(&region));
}
inline int64_t mmio_map(uint32_t pci_address, uint32_t bar) { return syscall(Call::mmio_map, pci_address, bar); }
inline int64_t irq_attach(uint32_t pci_address) { return syscall(Call::irq_attach, pci_address); }

// Process management and information

inline int64_t proc_spawn(const SpawnRequest& request)
{
    return syscall(Call::proc_spawn, detail::address(&request));
}
inline int64_t proc_kill(Endpoint endpoint) { return syscall(Call::proc_kill, endpoint); }
inline int64_t proc_crash(Endpoint endpoint, CrashKind kind)
{
    return syscall(Call::proc_crash, endpoint, static_cast<uint64_t>(kind));
}
inline int64_t proc_info(uint64_t slot, ProcessInfo& info)
{
    return syscall(Call::proc_info, slot, detail::address(&info));
}
inline int64_t module_info(uint64_t index, ModuleInfo& info)
{
    return syscall(Call::module_info, index, detail::address(&info));
}
inline int64_t cpu_info(uint64_t core, CpuInfo& info) { return syscall(Call::cpu_info, core, detail::address(&info)); }
// Returns only on failure (-permission without the poweroff privilege).
inline int64_t poweroff() { return syscall(Call::poweroff); }
inline int64_t kernel_event(KernelEvent& event) { return syscall(Call::kernel_event, detail::address(&event)); }
inline int64_t syscall_count(Endpoint endpoint) { return syscall(Call::syscall_count, endpoint); }
inline int64_t proc_watch(Endpoint endpoint) { return syscall(Call::proc_watch, endpoint); }
inline int64_t pci_info(uint64_t index, PciInfo& info) { return syscall(Call::pci_info, index, detail::address(&info)); }
inline int64_t shm_physical(Endpoint owner, uint64_t handle) { return syscall(Call::shm_physical, owner, handle); }

} // namespace tern::sys
