#include "runtime/assert.hpp"

#include <cstdarg>

#include "base/format.hpp"
#include "runtime/print.hpp"
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

void exit_with_message(int status, const char* prefix, const char* fmt, ...)
{
    PrintBuffer out;
    out.append("%s", prefix);
    va_list args;
    va_start(args, fmt);
    out.vappend(fmt, args);
    va_end(args);
    out.append("\n");
    out.flush();
    sys::exit(status);
}

void assertion_failed(const char* expression, const char* file, int line)
{
    panic("assertion failed: %s (%s:%d)", expression, file, line);
}

} // namespace tern
