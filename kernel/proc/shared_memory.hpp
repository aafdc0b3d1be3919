// Shared-memory objects: physically contiguous memory a process creates,
// grants to named other processes (read-only or read-write), and that those
// processes map. When the owner dies every mapping is revoked (unmapped in
// the grantees) and the memory freed; when a grantee dies its mappings go
// with its address space.
#pragma once

#include <cstdint>

#include "proc/process.hpp"

namespace kernel {

int64_t shm_create(Process& owner, uint64_t size);
int64_t shm_grant(Process& owner, uint64_t handle, sys::Endpoint grantee, uint64_t flags);
int64_t shm_map(Process& caller, sys::Endpoint owner, uint64_t handle, uint64_t flags);

void shared_memory_process_died(Process& dead);

} // namespace kernel
