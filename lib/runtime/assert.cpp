#include "runtime/assert.hpp"

#include <cstdarg>

#include "base/format.hpp"
#include "runtime/sys.hpp"

namespace tern {

void panic(const char* fmt, ...)
{
    char message[256];
    va_list args;
    va_start(args, fmt);
    size_t length = vformat_to(message, sizeof(message), fmt, args);
    va_end(args);
    if (length >= sizeof(message))
        length = sizeof(message) - 1; // truncated
    sys::abort(message, length);
}

void assertion_failed(const char* expression, const char* file, int line)
{
    panic("assertion failed: %s (%s:%d)", expression, file, line);
}

} // namespace tern
