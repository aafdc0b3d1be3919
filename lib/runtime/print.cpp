#include "runtime/print.hpp"

#include "runtime/sys.hpp"

namespace tern {

void PrintBuffer::append(const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vappend(fmt, args);
    va_end(args);
}

void PrintBuffer::vappend(const char* fmt, va_list args) { vformat(*this, fmt, args); }

void PrintBuffer::write(const char* text, size_t length)
{
    for (size_t i = 0; i < length; ++i) {
        if (m_used == capacity) {
            // Full: write out whole lines if there are any, else everything.
            size_t cut = capacity;
            while (cut > 0 && m_text[cut - 1] != '\n')
                --cut;
            write_out(cut == 0 ? capacity : cut);
        }
        m_text[m_used++] = text[i];
    }
}

void PrintBuffer::flush() { write_out(m_used); }

// Writes the first `length` buffered bytes and keeps the rest.
void PrintBuffer::write_out(size_t length)
{
    size_t written = 0;
    while (written < length) { // the kernel may take less than all of it
        const int64_t result = sys::console_write(m_text + written, length - written);
        if (result <= 0)
            break; // nowhere to report a console failure; drop the text
        written += static_cast<size_t>(result);
    }
    for (size_t i = length; i < m_used; ++i)
        m_text[i - length] = m_text[i];
    m_used -= length;
}

void vprint(const char* fmt, va_list args)
{
    PrintBuffer buffer;
    buffer.vappend(fmt, args);
}

void print(const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vprint(fmt, args);
    va_end(args);
}

} // namespace tern
