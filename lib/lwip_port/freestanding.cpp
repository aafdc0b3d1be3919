// The C library functions lwIP calls that lib/base/mem.cpp does not have,
// for the freestanding ring-3 build only (the host has the C library's).
#include <cstddef>

extern "C" {

int strncmp(const char* a, const char* b, size_t size)
{
    for (size_t i = 0; i < size; ++i) {
        const auto x = static_cast<unsigned char>(a[i]);
        const auto y = static_cast<unsigned char>(b[i]);
        if (x != y)
            return x < y ? -1 : 1;
        if (x == '\0')
            return 0;
    }
    return 0;
}

// Decimal only, as netif_find() needs it: optional blanks and sign, then
// digits; stops at the first non-digit. Overflow wraps (C leaves it undefined).
int atoi(const char* text)
{
    while (*text == ' ' || (*text >= '\t' && *text <= '\r'))
        ++text;
    bool negative = false;
    if (*text == '+' || *text == '-')
        negative = *text++ == '-';
    unsigned value = 0;
    while (*text >= '0' && *text <= '9')
        value = value * 10 + static_cast<unsigned>(*text++ - '0');
    return static_cast<int>(negative ? 0u - value : value);
}

} // extern "C"
