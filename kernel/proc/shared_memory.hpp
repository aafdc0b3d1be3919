// Shared-memory objects: physically contiguous memory a process creates,
// grants to named other processes (read-only or read-write), and that those
// processes map. When the owner dies its grants are revoked (nobody can map
// the object any more), but processes that have it mapped keep their mapping
// until they unmap it or end: a peer of a crashed server must not fault on
// the channel it was polling. The memory is freed with the last mapping.
#pragma once

#include <cstdint>

#include "proc/process.hpp"

namespace kernel {

int64_t shm_create(Process& owner, uint64_t size);
int64_t shm_grant(Process& owner, uint64_t handle, sys::Endpoint grantee, uint64_t flags);
int64_t shm_map(Process& caller, sys::Endpoint owner, uint64_t handle, uint64_t flags, uint64_t min_size);
int64_t shm_release(Process& owner, uint64_t handle);
// The object's physical base, for a driver that gives pool buffers to its
// device (devices privilege; the caller owns the object or has a grant).
int64_t shm_physical(Process& caller, sys::Endpoint owner, uint64_t handle);

// mem_unmap of [start, end) in `caller`: every shared-memory mapping that
// overlaps the range is unmapped whole (never in part).
void shared_memory_unmap(Process& caller, uint64_t start, uint64_t end);
void shared_memory_process_died(Process& dead);

} // namespace kernel
