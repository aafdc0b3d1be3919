#include "proc/shared_memory.hpp"

#include "arch/memory_layout.hpp"
#include "base/bytes.hpp"
#include "mm/memory.hpp"
#include "proc/privileges.hpp"
#include "proc/scheduler.hpp"

namespace kernel {
namespace {

using sys::Error;
using sys::error_code;
using arch::page_size;

constexpr size_t max_objects = 128;
constexpr size_t max_grants = 8;
constexpr size_t max_mappings = 8;
constexpr uint64_t max_size = 64ull << 20;

using Grant = privileges::ShmGrant;
struct Mapping {
    sys::Endpoint process;
    uint64_t address;
};
struct Object {
    bool in_use = false;
    bool orphaned = false; // the owner ended: no new grants or mappings; freed with the last mapping
    uint32_t generation = 0;
    sys::Endpoint owner = 0;
    uint64_t phys = 0;
    uint64_t size = 0;
    Grant grants[max_grants] = {};
    size_t grant_count = 0;
    Mapping mappings[max_mappings] = {};
    size_t mapping_count = 0;
};

Object g_objects[max_objects];

uint64_t handle_of(const Object& o) { return (uint64_t{o.generation} << 16) | static_cast<uint64_t>(&o - g_objects); }

Object* object_for(uint64_t handle)
{
    const uint64_t index = handle & 0xFFFF;
    if (index >= max_objects)
        return nullptr;
    Object& o = g_objects[index];
    return o.in_use && o.generation == (handle >> 16) ? &o : nullptr;
}

void free_if_unused(Object& o)
{
    if (!o.orphaned || o.mapping_count != 0)
        return;
    (void)memory::frames().free_contiguous(o.phys, o.size / page_size);
    o.in_use = false;
}

// Drops the records of `process`'s mappings (and grants) of `o`.
void forget(Object& o, sys::Endpoint process)
{
    size_t kept = 0;
    for (size_t i = 0; i < o.mapping_count; ++i) {
        if (o.mappings[i].process != process)
            o.mappings[kept++] = o.mappings[i];
    }
    o.mapping_count = kept;
    kept = 0;
    for (size_t i = 0; i < o.grant_count; ++i) {
        if (o.grants[i].grantee != process)
            o.grants[kept++] = o.grants[i];
    }
    o.grant_count = kept;
}

bool flags_ok(uint64_t flags)
{
    return flags != 0 && (flags & ~(sys::map_flags::read | sys::map_flags::write)) == 0;
}

} // namespace

int64_t shm_create(Process& owner, uint64_t size)
{
    if (size == 0 || size > max_size)
        return error_code(Error::invalid_argument);
    Object* free_object = nullptr;
    for (Object& o : g_objects) {
        if (!o.in_use) {
            free_object = &o;
            break;
        }
    }
    if (free_object == nullptr)
        return error_code(Error::no_memory);
    size = tern::align_up(size, page_size);
    auto frames = memory::frames().allocate_contiguous(size / page_size);
    if (!frames.ok())
        return error_code(Error::no_memory);
    __builtin_memset(arch::phys_to_virt(frames.value()), 0, size);
    Object& o = *free_object;
    const uint32_t generation = o.generation + 1;
    o = Object{};
    o.in_use = true;
    o.generation = generation;
    o.owner = owner.endpoint();
    o.phys = frames.value();
    o.size = size;
    return static_cast<int64_t>(handle_of(o));
}

int64_t shm_grant(Process& owner, uint64_t handle, sys::Endpoint grantee, uint64_t flags)
{
    Object* o = object_for(handle);
    if (o == nullptr || o->orphaned || o->owner != owner.endpoint())
        return error_code(Error::not_found);
    if (!flags_ok(flags))
        return error_code(Error::invalid_argument);
    if (process_for(grantee) == nullptr)
        return error_code(Error::dead_endpoint);
    for (size_t i = 0; i < o->grant_count; ++i) {
        if (o->grants[i].grantee == grantee) {
            o->grants[i].flags = flags;
            return 0;
        }
    }
    if (o->grant_count == max_grants)
        return error_code(Error::no_memory);
    o->grants[o->grant_count++] = Grant{grantee, flags};
    return 0;
}

int64_t shm_map(Process& caller, sys::Endpoint owner, uint64_t handle, uint64_t flags, uint64_t min_size)
{
    Object* o = object_for(handle);
    if (o == nullptr || o->orphaned || o->owner != owner || process_for(owner) == nullptr)
        return error_code(Error::not_found);
    if (!flags_ok(flags) || min_size > o->size)
        return error_code(Error::invalid_argument);
    if (!privileges::may_map_shared(caller.endpoint(), o->owner, o->grants, o->grant_count, flags))
        return error_code(Error::permission);
    if (o->mapping_count == max_mappings)
        return error_code(Error::no_memory);
    auto area = caller.space.allocate_area(o->size);
    if (!area.ok())
        return error_code(Error::no_memory);
    auto mapped = caller.space.map_frames(area.value(), o->phys, o->size, (flags & sys::map_flags::write) != 0,
                                          false, false);
    if (!mapped.ok())
        return error_code(Error::no_memory);
    o->mappings[o->mapping_count++] = Mapping{caller.endpoint(), area.value()};
    return static_cast<int64_t>(area.value());
}

int64_t shm_physical(Process& caller, sys::Endpoint owner, uint64_t handle)
{
    Object* o = object_for(handle);
    if (o == nullptr || o->owner != owner)
        return error_code(Error::not_found);
    if (!privileges::may_map_shared(caller.endpoint(), o->owner, o->grants, o->grant_count, sys::map_flags::read))
        return error_code(Error::permission);
    return static_cast<int64_t>(o->phys);
}

int64_t shm_release(Process& owner, uint64_t handle)
{
    Object* o = object_for(handle);
    if (o == nullptr || o->orphaned || o->owner != owner.endpoint())
        return error_code(Error::not_found);
    o->orphaned = true;
    o->grant_count = 0;
    free_if_unused(*o);
    return 0;
}

void shared_memory_unmap(Process& caller, uint64_t start, uint64_t end)
{
    for (Object& o : g_objects) {
        if (!o.in_use)
            continue;
        size_t kept = 0;
        for (size_t i = 0; i < o.mapping_count; ++i) {
            const Mapping m = o.mappings[i];
            if (m.process == caller.endpoint() && m.address < end && start < m.address + o.size)
                caller.space.unmap(m.address, o.size);
            else
                o.mappings[kept++] = m;
        }
        o.mapping_count = kept;
        free_if_unused(o);
    }
}

void shared_memory_process_died(Process& dead)
{
    const sys::Endpoint gone = dead.endpoint();
    for (Object& o : g_objects) {
        if (!o.in_use)
            continue;
        // The dead process's mappings go with its address space.
        forget(o, gone);
        if (o.owner == gone) {
            // Nobody may map it any more; whoever has it mapped keeps it
            // until they unmap it or end, so a surviving peer never faults.
            o.orphaned = true;
            o.grant_count = 0;
        }
        free_if_unused(o);
    }
}

} // namespace kernel
