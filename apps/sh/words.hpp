// Small helpers for the shell's command words, shared by its command files.
#pragma once

#include <cstdint>

namespace sh {

inline bool equal(const char* a, const char* b)
{
    while (*a != '\0' && *a == *b) {
        ++a;
        ++b;
    }
    return *a == *b;
}

// A whole unsigned number: decimal, or hexadecimal after "0x".
inline bool parse_number(const char* s, uint64_t& value)
{
    unsigned base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (*s == '\0')
        return false;
    uint64_t v = 0;
    for (; *s != '\0'; ++s) {
        unsigned digit;
        if (*s >= '0' && *s <= '9')
            digit = static_cast<unsigned>(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            digit = static_cast<unsigned>(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            digit = static_cast<unsigned>(*s - 'A' + 10);
        else
            return false;
        if (v > (~0ull - digit) / base)
            return false; // overflow
        v = v * base + digit;
    }
    value = v;
    return true;
}

} // namespace sh
