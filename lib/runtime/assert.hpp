// Checks of a program's own invariants. A failure ends the process through
// the abort system call, which the kernel reports to rs as a fault carrying
// the message. Input from other processes is never asserted on: it is checked
// and answered with an error.
#pragma once

namespace tern {

[[noreturn]] void panic(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
[[noreturn]] void assertion_failed(const char* expression, const char* file, int line);

} // namespace tern

#define TERN_ASSERT(condition)                                                                                         \
    do {                                                                                                               \
        if (!(condition)) [[unlikely]]                                                                                 \
            ::tern::assertion_failed(#condition, __FILE__, __LINE__);                                                  \
    } while (0)
