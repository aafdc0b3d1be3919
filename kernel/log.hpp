// The kernel log: formatted lines on the serial console, each stamped with
// the uptime, safe to call from any core and from exception handlers.
#pragma once

#include <cstdarg>
#include <cstddef>

namespace kernel {

// One line, "[    1.234567] text\n".
void log(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void vlog(const char* fmt, va_list args);

// Writes text from a process to the console as is (under the console lock,
// so it never splits a kernel log line).
void console_write_raw(const char* text, size_t length);

// Stops the machine with a message: prints it, then (in a test mode) leaves
// QEMU with the fault code, otherwise halts every core.
[[noreturn]] void panic(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

} // namespace kernel
