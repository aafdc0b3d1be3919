#include "base/format.hpp"

#include <cstdint>

namespace tern {
namespace {

struct Spec {
    bool left = false;
    bool zero = false;
    int width = 0;
};

class CountingSink final : public FormatSink {
public:
    explicit CountingSink(FormatSink& inner) : m_inner(inner) {}
    void write(const char* text, size_t length) override
    {
        m_count += length;
        m_inner.write(text, length);
    }
    size_t count() const { return m_count; }

private:
    FormatSink& m_inner;
    size_t m_count = 0;
};

void pad(FormatSink& sink, char c, int count)
{
    for (int i = 0; i < count; ++i)
        sink.write(&c, 1);
}

void emit_padded(FormatSink& sink, const Spec& spec, const char* text, size_t length, const char* prefix = "",
                 size_t prefix_length = 0)
{
    int fill = spec.width - static_cast<int>(length + prefix_length);
    if (fill < 0)
        fill = 0;
    if (spec.left) {
        sink.write(prefix, prefix_length);
        sink.write(text, length);
        pad(sink, ' ', fill);
    } else if (spec.zero) {
        sink.write(prefix, prefix_length);
        pad(sink, '0', fill);
        sink.write(text, length);
    } else {
        pad(sink, ' ', fill);
        sink.write(prefix, prefix_length);
        sink.write(text, length);
    }
}

void emit_unsigned(FormatSink& sink, const Spec& spec, uint64_t value, unsigned base, bool upper, bool negative)
{
    const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char buffer[24];
    size_t pos = sizeof(buffer);
    do {
        buffer[--pos] = digits[value % base];
        value /= base;
    } while (value != 0);
    emit_padded(sink, spec, buffer + pos, sizeof(buffer) - pos, "-", negative ? 1 : 0);
}

size_t string_length(const char* s)
{
    size_t n = 0;
    while (s[n] != '\0')
        ++n;
    return n;
}

} // namespace

size_t vformat(FormatSink& out, const char* fmt, va_list args)
{
    CountingSink sink(out);
    while (*fmt != '\0') {
        if (*fmt != '%') {
            const char* start = fmt;
            while (*fmt != '\0' && *fmt != '%')
                ++fmt;
            sink.write(start, static_cast<size_t>(fmt - start));
            continue;
        }
        ++fmt; // skip '%'
        Spec spec;
        for (;; ++fmt) {
            if (*fmt == '-')
                spec.left = true;
            else if (*fmt == '0')
                spec.zero = true;
            else
                break;
        }
        while (*fmt >= '0' && *fmt <= '9')
            spec.width = spec.width * 10 + (*fmt++ - '0');
        int longs = 0;
        bool size_t_arg = false;
        for (;; ++fmt) {
            if (*fmt == 'l')
                ++longs;
            else if (*fmt == 'z')
                size_t_arg = true;
            else
                break;
        }
        const bool wide = longs > 0 || size_t_arg;
        const char conv = *fmt;
        if (conv == '\0')
            break;
        ++fmt;
        switch (conv) {
        case 'd':
        case 'i': {
            int64_t v = wide ? va_arg(args, int64_t) : va_arg(args, int);
            uint64_t magnitude = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
            emit_unsigned(sink, spec, magnitude, 10, false, v < 0);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            uint64_t v = wide ? va_arg(args, uint64_t) : va_arg(args, unsigned);
            emit_unsigned(sink, spec, v, conv == 'u' ? 10 : 16, conv == 'X', false);
            break;
        }
        case 'p': {
            auto v = reinterpret_cast<uintptr_t>(va_arg(args, void*));
            Spec hex{false, true, 16};
            sink.write("0x", 2);
            emit_unsigned(sink, hex, v, 16, false, false);
            break;
        }
        case 's': {
            const char* s = va_arg(args, const char*);
            if (s == nullptr)
                s = "(null)";
            emit_padded(sink, spec, s, string_length(s));
            break;
        }
        case 'c': {
            char c = static_cast<char>(va_arg(args, int));
            emit_padded(sink, spec, &c, 1);
            break;
        }
        case '%':
            sink.write("%", 1);
            break;
        default: // unknown conversion: show it rather than guess
            sink.write("%", 1);
            sink.write(&conv, 1);
            break;
        }
    }
    return sink.count();
}

namespace {
class BufferSink final : public FormatSink {
public:
    BufferSink(char* buffer, size_t size) : m_buffer(buffer), m_size(size) {}
    void write(const char* text, size_t length) override
    {
        for (size_t i = 0; i < length; ++i) {
            if (m_used + 1 < m_size)
                m_buffer[m_used++] = text[i];
        }
    }
    void terminate()
    {
        if (m_size > 0)
            m_buffer[m_used] = '\0';
    }

private:
    char* m_buffer;
    size_t m_size;
    size_t m_used = 0;
};
} // namespace

size_t vformat_to(char* buffer, size_t size, const char* fmt, va_list args)
{
    BufferSink sink(buffer, size);
    size_t n = vformat(sink, fmt, args);
    sink.terminate();
    return n;
}

size_t format_to(char* buffer, size_t size, const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    size_t n = vformat_to(buffer, size, fmt, args);
    va_end(args);
    return n;
}

} // namespace tern
