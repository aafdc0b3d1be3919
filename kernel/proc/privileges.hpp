// Which privilege each system call needs, and the other permission rules,
// in one place. The dispatcher checks them before it does anything (the
// seL4 way: decode and check, then act). Pure; host-tested.
#pragma once

#include <cstddef>
#include <cstdint>

#include "proto/syscall.hpp"

namespace kernel::privileges {

namespace sys = tern::sys;

// The privilege bit a call requires, or 0 for calls open to every process.
constexpr uint64_t required_for(sys::Call call)
{
    switch (call) {
    case sys::Call::proc_spawn:
    case sys::Call::proc_kill:
    case sys::Call::module_info:
    case sys::Call::kernel_event: return sys::privilege::spawn;
    case sys::Call::proc_crash: return sys::privilege::crash;
    case sys::Call::dma_alloc:
    case sys::Call::mmio_map:
    case sys::Call::irq_attach:
    case sys::Call::shm_physical: return sys::privilege::devices;
    case sys::Call::poweroff: return sys::privilege::poweroff;
    case sys::Call::console_read: return sys::privilege::console_read;
    default: return 0;
    }
}

constexpr bool may_call(uint64_t held, sys::Call call)
{
    const uint64_t needed = required_for(call);
    return (held & needed) == needed;
}

// A spawner can hand out only privileges it holds itself.
constexpr bool may_grant(uint64_t parent, uint64_t requested) { return (requested & ~parent) == 0; }

// Device calls: only for the one PCI function the process was started for.
constexpr bool may_use_device(uint64_t held, uint32_t own_device, uint64_t requested_device)
{
    return (held & sys::privilege::devices) != 0 && own_device != ~0u && requested_device == own_device;
}

struct ShmGrant {
    sys::Endpoint grantee;
    uint64_t flags;
};

// The owner may map its object as it likes; anyone else needs a grant whose
// flags cover every flag asked for.
constexpr bool may_map_shared(sys::Endpoint caller, sys::Endpoint owner, const ShmGrant* grants, size_t count,
                              uint64_t flags)
{
    if (caller == owner)
        return true;
    for (size_t i = 0; i < count; ++i) {
        if (grants[i].grantee == caller && (flags & ~grants[i].flags) == 0)
            return true;
    }
    return false;
}

} // namespace kernel::privileges
