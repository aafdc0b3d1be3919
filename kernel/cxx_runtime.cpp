// What the C++ compiler expects from a runtime, for a kernel without libstdc++:
// global constructors, operator new/delete on the kernel heap, and stubs for
// hooks that never fire here (no exceptions, no global destructors).
#include <cstddef>
#include <new>

#include "log.hpp"
#include "mm/memory.hpp"

extern "C" {
using Constructor = void (*)();
extern Constructor __init_array_start[], __init_array_end[];

void* __dso_handle = nullptr;

// Global destructors never run in a kernel that does not exit.
int __cxa_atexit(void (*)(void*), void*, void*) { return 0; }

void __cxa_pure_virtual() { kernel::panic("pure virtual function called"); }
}

namespace kernel {

void run_global_constructors()
{
    for (Constructor* c = __init_array_start; c != __init_array_end; ++c)
        (*c)();
}

} // namespace kernel

// Kernel code checks every allocation: `new` returns nullptr when out of memory.
void* operator new(size_t size) { return kernel::memory::heap().allocate(size); }
void* operator new[](size_t size) { return kernel::memory::heap().allocate(size); }
void* operator new(size_t size, const std::nothrow_t&) noexcept { return kernel::memory::heap().allocate(size); }
void* operator new[](size_t size, const std::nothrow_t&) noexcept { return kernel::memory::heap().allocate(size); }

namespace {
void release(void* pointer)
{
    if (!kernel::memory::heap().free(pointer))
        kernel::panic("delete of a pointer the heap never handed out: %p", pointer);
}
} // namespace

void operator delete(void* pointer) noexcept { release(pointer); }
void operator delete[](void* pointer) noexcept { release(pointer); }
void operator delete(void* pointer, size_t) noexcept { release(pointer); }
void operator delete[](void* pointer, size_t) noexcept { release(pointer); }
