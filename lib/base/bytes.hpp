// Small helpers for raw memory: alignment arithmetic and unaligned loads from
// byte buffers handed over by firmware, boot loaders and (later) the network.
#pragma once

#include <cstdint>

namespace tern {

// `alignment` must be a power of two.
constexpr uint64_t align_up(uint64_t value, uint64_t alignment) { return (value + alignment - 1) & ~(alignment - 1); }
constexpr uint64_t align_down(uint64_t value, uint64_t alignment) { return value & ~(alignment - 1); }

// Reads a T from `bytes`, which need not be aligned for T.
template <typename T>
T load_unaligned(const uint8_t* bytes)
{
    T value;
    __builtin_memcpy(&value, bytes, sizeof(T));
    return value;
}

} // namespace tern
