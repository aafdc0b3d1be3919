// Console output for ring-3 programs. Text is collected in a buffer and goes
// to the kernel as one console_write, so lines from different processes do not
// interleave mid-line (the kernel writes each console_write whole).
#pragma once

#include <cstdarg>
#include <cstddef>

#include "base/format.hpp"

namespace tern {

// Builds console output from several pieces and writes it with one
// console_write, when flushed or destroyed. Output longer than the buffer is
// written in buffer-sized pieces, each cut after its last newline if it has one.
class PrintBuffer final : public FormatSink {
public:
    static constexpr size_t capacity = 1024;

    PrintBuffer() = default;
    PrintBuffer(const PrintBuffer&) = delete;
    PrintBuffer& operator=(const PrintBuffer&) = delete;
    ~PrintBuffer() { flush(); }

    void append(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
    void vappend(const char* fmt, va_list args);
    void write(const char* text, size_t length) override;
    void flush();

private:
    void write_out(size_t length);

    char m_text[capacity];
    size_t m_used = 0;
};

// printf-style (see base/format.hpp for the conversions); one console_write per call.
void print(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void vprint(const char* fmt, va_list args);

} // namespace tern
