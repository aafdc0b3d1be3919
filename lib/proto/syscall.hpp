// The system-call ABI, declared once for the kernel and for user programs.
// Human-readable description: docs/SYSCALLS.md (keep the two in step).
//
// Calling convention (x86-64 SYSCALL): number in rax; arguments in rdi, rsi,
// rdx, r10, r8, r9; the result comes back in rax: >= 0 is success (a value),
// < 0 is -Error. rcx and r11 are clobbered by the instruction itself.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tern::sys {

enum class Call : uint64_t {
    // Process
    exit = 0,      // (status) -> does not return
    yield = 1,     // () -> 0
    self = 2,      // () -> own endpoint
    sleep = 3,     // (milliseconds) -> 0
    uptime = 4,    // () -> nanoseconds since boot
    abort = 5,     // (message, length) -> does not return; reported to rs as a fault

    // Console
    console_write = 10, // (text, length) -> bytes written
    console_read = 11,  // (buffer, capacity) -> bytes read (blocks until at least one)

    // IPC (control path): see struct Message.
    ipc_send = 20,       // (destination, message*) -> 0; blocks until received
    ipc_receive = 21,    // (source or any, message*) -> 0
    ipc_call = 22,       // (destination, message*) -> 0; send, then wait for the reply into message*
    ipc_reply = 23,      // (destination, message*) -> 0; never blocks (destination must wait in call)
    ipc_notify = 24,     // (destination) -> 0; never blocks, sets a pending bit
    ipc_send_nb = 25,    // (destination, message*) -> 0 or -would_block
    alarm = 26,          // (milliseconds) -> 0; a notification from endpoint::clock after that time (0 cancels)

    // Memory
    mem_map = 30,        // (size, flags) -> address of fresh zeroed memory
    mem_unmap = 31,      // (address, size) -> 0
    shm_create = 32,     // (size) -> handle
    shm_grant = 33,      // (handle, grantee endpoint, flags) -> 0
    shm_map = 34,        // (owner endpoint, handle, flags, min size) -> address
    dma_alloc = 35,      // (size, DmaRegion*) -> 0; physically contiguous, privileged
    mmio_map = 36,       // (pci address, bar) -> address; privileged for that device
    irq_attach = 37,     // (pci address) -> irq bit; IRQs arrive as notifications from endpoint::hardware
    shm_release = 38,    // (handle) -> 0; the owner gives the object up: freed once nobody maps it
    shm_physical = 39,   // (owner endpoint, handle) -> physical address; privileged (devices): DMA into pools

    // Process management and information
    proc_spawn = 40,     // (SpawnRequest*) -> endpoint; privileged (rs)
    proc_kill = 41,      // (endpoint) -> 0; privileged (rs)
    proc_crash = 42,     // (endpoint, CrashKind) -> 0; privileged (rs): crash injection
    proc_info = 43,      // (slot, ProcessInfo*) -> 0 or -not_found
    module_info = 44,    // (index, ModuleInfo*) -> 0 or -not_found; privileged (rs)
    cpu_info = 45,       // (core, CpuInfo*) -> 0 or -not_found
    poweroff = 46,       // () -> does not return; privileged
    kernel_event = 47,   // (KernelEvent*) -> 0 or -would_block; privileged (rs): next exit/fault report
    syscall_count = 48,  // (endpoint) -> system calls made by that process
    proc_watch = 49,     // (endpoint) -> 0; a notification from endpoint::exits when that process ends
    pci_info = 50,       // (index, PciInfo*) -> 0 or -not_found: the PCI functions found at boot
};

// Error codes (returned negated).
enum class Error : int64_t {
    invalid_call = 1,     // no such system call
    invalid_argument = 2, // bad value, unaligned or out of range
    bad_address = 3,      // a pointer argument is not valid memory of the caller
    permission = 4,       // the caller lacks the privilege
    dead_endpoint = 5,    // the endpoint's process is gone (or was restarted: new generation)
    would_block = 6,      // a non-blocking operation could not complete
    no_memory = 7,
    not_found = 8,
    busy = 9,             // e.g. the destination is not waiting for a reply
    deadlock = 10,        // sending to yourself, or a send cycle
};

constexpr int64_t error_code(Error e) { return -static_cast<int64_t>(e); }
const char* error_name(int64_t result);

// Endpoints name processes: (generation << 16) | slot. A restarted process
// gets a new generation, so messages to the old endpoint fail with
// dead_endpoint instead of reaching the new process.
using Endpoint = uint64_t;
namespace endpoint {
constexpr Endpoint any = ~0ull;            // receive from anyone
constexpr uint64_t slot(Endpoint e) { return e & 0xFFFF; }
constexpr uint64_t generation(Endpoint e) { return e >> 16; }
constexpr Endpoint make(uint64_t slot, uint64_t generation) { return (generation << 16) | slot; }
// Kernel-side senders use slot 0xFFFF, which no process ever has.
constexpr uint64_t pseudo_slot = 0xFFFF;
constexpr Endpoint kernel = make(pseudo_slot, 1);   // kernel-generated messages (events for rs)
constexpr Endpoint hardware = make(pseudo_slot, 2); // IRQ notifications
constexpr Endpoint clock = make(pseudo_slot, 3);    // alarm notifications
constexpr Endpoint exits = make(pseudo_slot, 4);    // a watched process ended (proc_watch)
} // namespace endpoint

// A control-path message: 64 bytes, one cache line.
struct Message {
    Endpoint source;   // filled in by the kernel
    uint32_t type;     // protocol-specific; message_type::notify for notifications
    uint32_t reserved;
    uint64_t words[6]; // payload
};
static_assert(sizeof(Message) == 64);

namespace message_type {
constexpr uint32_t notify = 0xFFFFFFFF; // words[0] = pending bits (hardware: IRQ bits; exits: slots)
} // namespace message_type

// mem_map / shm_grant / shm_map flags
namespace map_flags {
constexpr uint64_t read = 1;
constexpr uint64_t write = 2;
} // namespace map_flags

// Privileges (a process's set comes from its boot module line via rs).
namespace privilege {
constexpr uint64_t spawn = 1u << 0;       // proc_spawn, proc_kill, module_info, kernel_event
constexpr uint64_t crash = 1u << 1;       // proc_crash
constexpr uint64_t devices = 1u << 2;     // dma_alloc, mmio_map, irq_attach (for SpawnRequest::pci_device only)
constexpr uint64_t poweroff = 1u << 3;
constexpr uint64_t console_read = 1u << 4;
} // namespace privilege

struct SpawnRequest {
    uint32_t module;       // boot module index
    int32_t core;          // -1: let the kernel place it
    uint64_t privileges;
    uint32_t pci_device;   // bus << 8 | device << 3 | function, or ~0u: none
    uint32_t restarts;     // shown by ps
    char name[32];
};

enum class CrashKind : uint64_t {
    segfault = 0, // touch an unmapped address
    hang = 1,     // spin forever in user mode (detected by missed heartbeats)
};

enum class ProcessState : uint32_t { free = 0, running, ready, blocked, stopped };

struct ProcessInfo {
    Endpoint endpoint;
    char name[32];
    uint32_t core;
    ProcessState state;
    uint32_t restarts;
    uint32_t reserved;
    uint64_t cpu_time_ns;
    uint64_t syscalls;
};

constexpr size_t max_cmdline = 120; // bytes of a module command line, NUL included

struct ModuleInfo {
    uint64_t size;
    char cmdline[max_cmdline];
};

struct CpuInfo {
    uint32_t apic_id;
    uint32_t online;
    uint64_t busy_ns;  // time running processes since boot
    uint64_t total_ns; // time since the core came online
};

struct PciInfo {
    uint32_t address;   // bus << 8 | device << 3 | function
    uint16_t vendor_id;
    uint16_t device_id;
    uint8_t class_code;
    uint8_t subclass;
    uint8_t prog_if;
    uint8_t irq_line;   // the legacy IRQ line the firmware routed it to (0xFF: none)
    uint32_t reserved;
};

struct DmaRegion {
    uint64_t address;  // virtual, in the caller
    uint64_t physical; // for the device
    uint64_t size;
};

enum class EventKind : uint32_t { exited = 1, faulted = 2, killed = 3, aborted = 4 };

// What rs learns about a process that ended (via kernel_event).
struct KernelEvent {
    EventKind kind;
    uint32_t vector;      // faulted: exception vector (14 = page fault ...)
    Endpoint endpoint;
    uint64_t status;      // exited: exit status
    uint64_t address;     // faulted: CR2 for page faults
    uint64_t rip;
    uint64_t error_code;
    uint64_t time_ns;     // when it happened (uptime), for recovery timing
};

} // namespace tern::sys
