// The few CPU instructions user programs use directly.
#pragma once

#include <cstdint>

namespace tern {

// The time-stamp counter: cheap (no system call), per core, in cycles.
inline uint64_t rdtsc()
{
    uint32_t low, high;
    asm volatile("rdtsc" : "=a"(low), "=d"(high));
    return (uint64_t{high} << 32) | low;
}

// A hint for spin-wait loops.
inline void cpu_relax() { asm volatile("pause" ::: "memory"); }

} // namespace tern
