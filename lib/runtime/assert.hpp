// Checks of a program's own invariants. A failure ends the process through
// the abort system call, which the kernel reports to rs as a fault carrying
// the message. Input from other processes is never asserted on: it is checked
// and answered with an error.
#pragma once

namespace tern {

[[noreturn]] void panic(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// Prints one line (prefix, fmt, newline) and exits with `status`: how a
// test program reports a failure it found (as opposed to a bug of its own).
[[noreturn]] void exit_with_message(int status, const char* prefix, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));
[[noreturn]] void assertion_failed(const char* expression, const char* file, int line);

} // namespace tern

#define TERN_ASSERT(condition)                                                                                         \
    do {                                                                                                               \
        if (!(condition)) [[unlikely]]                                                                                 \
            ::tern::assertion_failed(#condition, __FILE__, __LINE__);                                                  \
    } while (0)
