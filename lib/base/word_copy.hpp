#pragma once
// Copying and filling memory eight bytes at a time, for the freestanding
// memcpy/memset (base/mem.cpp) on CPUs where `rep movsb` is slow.
//
// `rep movsb` is the right copy on CPUs that advertise fast strings (ERMS),
// but QEMU's TCG, which runs Tern's tests and benchmarks, executes it one
// byte per emulated iteration: several times slower than a loop of 8-byte
// loads and stores, and copying packet data is much of what the network
// servers do. Header-only so that the host unit tests check it against the
// C library.
#include <cstddef>
#include <cstdint>

namespace tern::base {

// Copies `n` bytes from `src` to `dst` (which must not overlap), 32 bytes per
// loop pass, then 8, then single bytes. Unaligned words are fine on x86.
inline void copy_words(unsigned char* dst, const unsigned char* src, size_t n)
{
    while (n >= 32) {
        uint64_t a, b, c, d;
        __builtin_memcpy(&a, src, 8);
        __builtin_memcpy(&b, src + 8, 8);
        __builtin_memcpy(&c, src + 16, 8);
        __builtin_memcpy(&d, src + 24, 8);
        __builtin_memcpy(dst, &a, 8);
        __builtin_memcpy(dst + 8, &b, 8);
        __builtin_memcpy(dst + 16, &c, 8);
        __builtin_memcpy(dst + 24, &d, 8);
        src += 32;
        dst += 32;
        n -= 32;
    }
    while (n >= 8) {
        uint64_t a;
        __builtin_memcpy(&a, src, 8);
        __builtin_memcpy(dst, &a, 8);
        src += 8;
        dst += 8;
        n -= 8;
    }
    while (n > 0) {
        *dst++ = *src++;
        --n;
    }
}

// Sets `n` bytes at `dst` to `value`.
inline void fill_words(unsigned char* dst, unsigned char value, size_t n)
{
    const uint64_t word = value * 0x0101'0101'0101'0101ull;
    while (n >= 32) {
        __builtin_memcpy(dst, &word, 8);
        __builtin_memcpy(dst + 8, &word, 8);
        __builtin_memcpy(dst + 16, &word, 8);
        __builtin_memcpy(dst + 24, &word, 8);
        dst += 32;
        n -= 32;
    }
    while (n >= 8) {
        __builtin_memcpy(dst, &word, 8);
        dst += 8;
        n -= 8;
    }
    while (n > 0) {
        *dst++ = value;
        --n;
    }
}

} // namespace tern::base
