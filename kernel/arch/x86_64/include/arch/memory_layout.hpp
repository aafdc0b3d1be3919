// Where things live in the kernel's virtual address space.
#pragma once

#include <cstdint>

namespace arch {

constexpr uint64_t page_size = 4096;
constexpr uint64_t large_page_size = 2 * 1024 * 1024;

// All physical memory is mapped here (the "direct map").
constexpr uint64_t direct_map_base = 0xFFFF800000000000;
// The kernel image is linked here (-mcmodel=kernel), loaded at physical 2 MiB.
constexpr uint64_t kernel_virt_offset = 0xFFFFFFFF80000000;

inline void* phys_to_virt(uint64_t phys) { return reinterpret_cast<void*>(direct_map_base + phys); }
template <typename T>
T* phys_to_ptr(uint64_t phys)
{
    return static_cast<T*>(phys_to_virt(phys));
}
// For addresses inside the direct map or the kernel image.
inline uint64_t virt_to_phys(const void* virt)
{
    auto v = reinterpret_cast<uint64_t>(virt);
    return v >= kernel_virt_offset ? v - kernel_virt_offset : v - direct_map_base;
}

} // namespace arch
