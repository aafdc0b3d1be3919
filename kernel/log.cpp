#include "log.hpp"

#include <atomic>

#include "arch/clock.hpp"
#include "arch/cpu.hpp"
#include "arch/interrupts.hpp"
#include "arch/lapic.hpp"
#include "arch/percpu.hpp"
#include "arch/serial.hpp"
#include "base/format.hpp"
#include "test_mode.hpp"

namespace kernel {
namespace {

// The console lock remembers its owner so that a fault while printing on
// one core (or a nested report) does not deadlock that core.
std::atomic<int> g_console_owner{-1};

class ConsoleSink final : public tern::FormatSink {
public:
    void write(const char* text, size_t length) override { arch::serial::write(text, length); }
};

class ConsoleLock {
public:
    ConsoleLock()
    {
        const int me = static_cast<int>(arch::current_cpu_index());
        if (g_console_owner.load(std::memory_order_relaxed) == me)
            return; // nested, e.g. an exception while logging
        m_interrupts = arch::interrupts_enabled();
        arch::disable_interrupts();
        int expected = -1;
        while (!g_console_owner.compare_exchange_weak(expected, me, std::memory_order_acquire)) {
            expected = -1;
            arch::pause();
        }
        m_owner = true;
    }
    ~ConsoleLock()
    {
        if (!m_owner)
            return;
        g_console_owner.store(-1, std::memory_order_release);
        if (m_interrupts)
            arch::enable_interrupts();
    }

private:
    bool m_owner = false;
    bool m_interrupts = false;
};

} // namespace

void vlog(const char* fmt, va_list args)
{
    ConsoleLock lock;
    ConsoleSink sink;
    const uint64_t ns = arch::clock::uptime_ns();
    char stamp[32];
    tern::format_to(stamp, sizeof(stamp), "[%5lu.%06lu] ", ns / 1000000000, (ns / 1000) % 1000000);
    sink.write(stamp, __builtin_strlen(stamp));
    tern::vformat(sink, fmt, args);
    sink.write("\n", 1);
}

void console_write_raw(const char* text, size_t length)
{
    ConsoleLock lock;
    arch::serial::write(text, length);
}

void log(const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vlog(fmt, args);
    va_end(args);
}

void panic(const char* fmt, ...)
{
    arch::disable_interrupts();
    va_list args;
    va_start(args, fmt);
    char message[256];
    tern::vformat_to(message, sizeof(message), fmt, args);
    va_end(args);
    log("PANIC on cpu %u: %s", arch::current_cpu_index(), message);
    arch::lapic::send_ipi_to_others(arch::vector::ipi_halt);
    stop_after_fault();
}

} // namespace kernel
