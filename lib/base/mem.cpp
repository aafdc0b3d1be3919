// The four memory functions the compiler may call on its own in freestanding
// code (struct copies, zeroing). Only linked into freestanding images.
#include <cstddef>
#include <cstdint>

#include "base/word_copy.hpp"

namespace {

// Copies at least this long use `rep movsb`/`rep stosb` where the CPU says
// they are fast; below it, starting the string instruction costs more.
constexpr size_t string_threshold = 256;

// CPUID leaf 7, EBX bit 9: Enhanced REP MOVSB/STOSB. Real CPUs of the last
// decade have it; QEMU's default TCG CPU model does not (and TCG runs string
// instructions one element at a time). Asked once; a race between cores only
// asks twice.
bool fast_strings()
{
    static int known = -1;
    if (known < 0) {
        uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
        asm volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
        bool erms = false;
        if (eax >= 7) {
            eax = 7;
            ecx = 0;
            asm volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
            erms = (ebx & (1u << 9)) != 0;
        }
        known = erms ? 1 : 0;
    }
    return known == 1;
}

} // namespace

extern "C" {

void* memcpy(void* dst, const void* src, size_t n)
{
    auto* d = static_cast<unsigned char*>(dst);
    const auto* s = static_cast<const unsigned char*>(src);
    if (n >= string_threshold && fast_strings())
        asm volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    else
        tern::base::copy_words(d, s, n);
    return dst;
}

void* memset(void* dst, int value, size_t n)
{
    auto* d = static_cast<unsigned char*>(dst);
    if (n >= string_threshold && fast_strings())
        asm volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(value) : "memory");
    else
        tern::base::fill_words(d, static_cast<unsigned char>(value), n);
    return dst;
}

void* memmove(void* dst, const void* src, size_t n)
{
    auto* d = static_cast<unsigned char*>(dst);
    const auto* s = static_cast<const unsigned char*>(src);
    if (d <= s || d >= s + n)
        return memcpy(dst, src, n);
    // Overlapping with the destination above the source: copy backwards.
    d += n - 1;
    s += n - 1;
    asm volatile("std; rep movsb; cld" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    return dst;
}

int memcmp(const void* a, const void* b, size_t n)
{
    const auto* x = static_cast<const unsigned char*>(a);
    const auto* y = static_cast<const unsigned char*>(b);
    for (size_t i = 0; i < n; ++i) {
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

size_t strlen(const char* s)
{
    size_t n = 0;
    while (s[n] != '\0')
        ++n;
    return n;
}

} // extern "C"

extern "C" int strcmp(const char* a, const char* b)
{
    while (*a != '\0' && *a == *b) {
        ++a;
        ++b;
    }
    return static_cast<unsigned char>(*a) - static_cast<unsigned char>(*b);
}
