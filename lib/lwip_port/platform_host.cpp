// lwIP's diagnostics and assertions in the host tests (see arch/cc.h).
#include <cstdarg>
#include <cstdio>
#include <cstdlib>

extern "C" void tern_lwip_diag(const char* format, ...)
{
    va_list args;
    va_start(args, format);
    std::fputs("lwip: ", stderr);
    std::vfprintf(stderr, format, args);
    va_end(args);
}

extern "C" void tern_lwip_assert(const char* message, const char* file, int line)
{
    std::fprintf(stderr, "lwIP assertion failed: %s (%s:%d)\n", message, file, line);
    std::abort();
}
