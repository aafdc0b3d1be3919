// lwIP's diagnostics and assertions in a Tern process (see arch/cc.h).
#include <cstdarg>

#include "runtime/assert.hpp"
#include "runtime/print.hpp"

extern "C" void tern_lwip_diag(const char* format, ...)
{
    va_list args;
    va_start(args, format);
    tern::PrintBuffer out;
    out.append("lwip: ");
    out.vappend(format, args);
    va_end(args);
}

// A failed LWIP_ASSERT is a bug in the server or in lwIP: end the process
// like TERN_ASSERT does (rs logs the message and restarts the server).
extern "C" void tern_lwip_assert(const char* message, const char* file, int line)
{
    tern::panic("lwIP assertion failed: %s (%s:%d)", message, file, line);
}
