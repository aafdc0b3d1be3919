// Reading numbers from text (command lines, options).
#pragma once

#include <cstdint>

namespace tern {

// `text` as a whole decimal number no larger than `limit`; false for an
// empty text, anything but digits, or a larger number.
inline bool parse_decimal(const char* text, uint64_t limit, uint64_t& value)
{
    if (text == nullptr || *text == '\0')
        return false;
    uint64_t v = 0;
    for (; *text != '\0'; ++text) {
        if (*text < '0' || *text > '9')
            return false;
        v = v * 10 + static_cast<uint64_t>(*text - '0');
        if (v > limit)
            return false;
    }
    value = v;
    return true;
}

} // namespace tern
