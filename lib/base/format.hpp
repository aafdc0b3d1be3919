// Minimal printf-style formatting shared by the kernel and (later) user programs.
// It never allocates and never writes past the buffer it is given, so it is safe
// to call from an exception handler. Supported: %d %i %u %x %X %p %s %c %%, with
// flags '-' and '0', a field width, and the length modifiers l, ll, z.
#pragma once

#include <cstdarg>
#include <cstddef>

namespace tern {

// A sink receives formatted output one chunk at a time.
class FormatSink {
public:
    virtual void write(const char* text, size_t length) = 0;

protected:
    ~FormatSink() = default;
};

// Formats into `sink`; returns the number of characters produced.
size_t vformat(FormatSink& sink, const char* fmt, va_list args);

// snprintf-like: always NUL-terminates when size > 0; returns the length the
// full output would have had (so a caller can detect truncation).
size_t vformat_to(char* buffer, size_t size, const char* fmt, va_list args);
size_t format_to(char* buffer, size_t size, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));

} // namespace tern
