// malloc and operator new/delete for ring-3 programs: the allocator core
// (runtime/allocator.cpp) over pages from mem_map.
#include <new>

#include "runtime/allocator.hpp"
#include "runtime/assert.hpp"
#include "runtime/memory.hpp"
#include "runtime/sys.hpp"

namespace {

using tern::Allocator;

class MappedPages final : public tern::PageSource {
public:
    void* map_pages(size_t count) override
    {
        const int64_t address = tern::sys::mem_map(count * Allocator::page_size);
        return address < 0 ? nullptr : reinterpret_cast<void*>(address);
    }
    void unmap_pages(void* pages, size_t count) override
    {
        const int64_t result = tern::sys::mem_unmap(pages, count * Allocator::page_size);
        if (result < 0)
            tern::panic("malloc: mem_unmap(%p, %zu pages): %s", pages, count, tern::sys::error_name(result));
    }
};

// Constant-initialised, so malloc works in static constructors too.
constinit MappedPages g_pages;
constinit Allocator g_allocator{g_pages};

void check(Allocator::Status status, const char* what, const void* pointer)
{
    switch (status) {
    case Allocator::Status::ok: return;
    case Allocator::Status::not_allocated:
        tern::panic("%s(%p): not a live block from malloc (a stray or repeated free)", what, pointer);
    case Allocator::Status::double_free: tern::panic("%s(%p): double free", what, pointer);
    case Allocator::Status::corrupted: tern::panic("%s(%p): heap corrupted (page header overwritten)", what, pointer);
    }
    tern::panic("%s(%p): allocator status %d", what, pointer, static_cast<int>(status));
}

void* allocate_or_abort(size_t size)
{
    void* pointer = g_allocator.allocate(size);
    if (pointer == nullptr)
        tern::panic("out of memory (new of %zu bytes)", size);
    return pointer;
}

void* allocate_aligned_or_abort(size_t size, std::align_val_t align)
{
    void* pointer = g_allocator.allocate_aligned(size, static_cast<size_t>(align));
    if (pointer == nullptr)
        tern::panic("out of memory (new of %zu bytes aligned to %zu)", size, static_cast<size_t>(align));
    return pointer;
}

// Sized delete: the size the program believes in must fit the block.
void free_sized(void* pointer, size_t size)
{
    if (pointer == nullptr)
        return;
    Allocator::Status status;
    const size_t usable = g_allocator.usable_size(pointer, status);
    check(status, "delete", pointer);
    if (size > usable)
        tern::panic("delete(%p, %zu): the block holds only %zu bytes", pointer, size, usable);
    tern::free(pointer);
}

} // namespace

namespace tern {

void* malloc(size_t size) { return g_allocator.allocate(size); }

void* calloc(size_t count, size_t size)
{
    if (size != 0 && count > Allocator::max_size / size)
        return nullptr;
    void* pointer = g_allocator.allocate(count * size);
    if (pointer != nullptr)
        __builtin_memset(pointer, 0, count * size); // reused blocks are not zero
    return pointer;
}

void* realloc(void* pointer, size_t size)
{
    Allocator::Status status;
    void* moved = g_allocator.reallocate(pointer, size, status);
    check(status, "realloc", pointer);
    return moved;
}

void* aligned_alloc(size_t alignment, size_t size) { return g_allocator.allocate_aligned(size, alignment); }

void free(void* pointer) { check(g_allocator.free(pointer), "free", pointer); }

} // namespace tern

// The tag `new (std::nothrow) T` names; there is no C++ library to define it.
namespace std {
const nothrow_t nothrow{};
}

void* operator new(size_t size) { return allocate_or_abort(size); }
void* operator new[](size_t size) { return allocate_or_abort(size); }
void* operator new(size_t size, std::align_val_t align) { return allocate_aligned_or_abort(size, align); }
void* operator new[](size_t size, std::align_val_t align) { return allocate_aligned_or_abort(size, align); }
void* operator new(size_t size, const std::nothrow_t&) noexcept { return tern::malloc(size); }
void* operator new[](size_t size, const std::nothrow_t&) noexcept { return tern::malloc(size); }
void* operator new(size_t size, std::align_val_t align, const std::nothrow_t&) noexcept
{
    return tern::aligned_alloc(static_cast<size_t>(align), size);
}
void* operator new[](size_t size, std::align_val_t align, const std::nothrow_t&) noexcept
{
    return tern::aligned_alloc(static_cast<size_t>(align), size);
}

void operator delete(void* pointer) noexcept { tern::free(pointer); }
void operator delete[](void* pointer) noexcept { tern::free(pointer); }
void operator delete(void* pointer, size_t size) noexcept { free_sized(pointer, size); }
void operator delete[](void* pointer, size_t size) noexcept { free_sized(pointer, size); }
void operator delete(void* pointer, std::align_val_t) noexcept { tern::free(pointer); }
void operator delete[](void* pointer, std::align_val_t) noexcept { tern::free(pointer); }
void operator delete(void* pointer, size_t size, std::align_val_t) noexcept { free_sized(pointer, size); }
void operator delete[](void* pointer, size_t size, std::align_val_t) noexcept { free_sized(pointer, size); }
void operator delete(void* pointer, const std::nothrow_t&) noexcept { tern::free(pointer); }
void operator delete[](void* pointer, const std::nothrow_t&) noexcept { tern::free(pointer); }
void operator delete(void* pointer, std::align_val_t, const std::nothrow_t&) noexcept { tern::free(pointer); }
void operator delete[](void* pointer, std::align_val_t, const std::nothrow_t&) noexcept { tern::free(pointer); }
