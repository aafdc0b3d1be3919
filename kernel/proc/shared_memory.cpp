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
    if (o == nullptr || o->owner != owner.endpoint())
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

int64_t shm_map(Process& caller, sys::Endpoint owner, uint64_t handle, uint64_t flags)
{
    Object* o = object_for(handle);
    if (o == nullptr || o->owner != owner || process_for(owner) == nullptr)
        return error_code(Error::not_found);
    if (!flags_ok(flags))
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

void shared_memory_process_died(Process& dead)
{
    const sys::Endpoint gone = dead.endpoint();
    for (Object& o : g_objects) {
        if (!o.in_use)
            continue;
        if (o.owner == gone) {
            // Revoke: unmap from every other process before the memory is reused.
            for (size_t i = 0; i < o.mapping_count; ++i) {
                Process* p = process_for(o.mappings[i].process);
                if (p == nullptr || p == &dead)
                    continue;
                p->space.unmap(o.mappings[i].address, o.size);
                flush_tlb(*p);
            }
            (void)memory::frames().free_contiguous(o.phys, o.size / page_size);
            o.in_use = false;
            continue;
        }
        // A grantee died: forget its mappings and grants.
        size_t kept = 0;
        for (size_t i = 0; i < o.mapping_count; ++i) {
            if (o.mappings[i].process != gone)
                o.mappings[kept++] = o.mappings[i];
        }
        o.mapping_count = kept;
        kept = 0;
        for (size_t i = 0; i < o.grant_count; ++i) {
            if (o.grants[i].grantee != gone)
                o.grants[kept++] = o.grants[i];
        }
        o.grant_count = kept;
    }
}

} // namespace kernel
