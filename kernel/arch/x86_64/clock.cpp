#include "arch/clock.hpp"

#include "arch/cpu.hpp"

namespace arch::clock {
namespace {

constexpr uint16_t pit_channel2 = 0x42;
constexpr uint16_t pit_command = 0x43;
constexpr uint16_t port_b = 0x61; // bit 0: channel 2 gate, bit 5: channel 2 output

uint64_t g_boot_tsc = 0;
uint64_t g_tsc_hz = 0;

} // namespace

void pit_wait_us(uint32_t microseconds)
{
    uint32_t ticks = static_cast<uint32_t>((static_cast<uint64_t>(pit_hz) * microseconds) / 1000000);
    if (ticks == 0)
        ticks = 1;
    if (ticks > 0xFFFF)
        ticks = 0xFFFF;
    // Channel 2, mode 0 (interrupt on terminal count), binary; the output
    // goes high when the count reaches zero.
    const uint8_t b = inb(port_b);
    outb(port_b, static_cast<uint8_t>((b & ~0x02) | 0x01)); // gate on, speaker off
    outb(pit_command, 0xB0);
    outb(pit_channel2, static_cast<uint8_t>(ticks & 0xFF));
    outb(pit_channel2, static_cast<uint8_t>(ticks >> 8));
    while ((inb(port_b) & 0x20) == 0)
        pause();
}

void mark_boot_start() { g_boot_tsc = rdtsc(); }

void calibrate_tsc()
{
    // Take the shortest of three 10 ms windows: polling overshoot and host
    // hiccups only ever make a window look longer.
    uint64_t best = ~0ull;
    for (int i = 0; i < 3; ++i) {
        const uint64_t start = rdtsc();
        pit_wait_us(10000);
        const uint64_t elapsed = rdtsc() - start;
        if (elapsed < best)
            best = elapsed;
    }
    g_tsc_hz = best * 100;
}

uint64_t tsc_hz() { return g_tsc_hz; }

uint64_t uptime_ns()
{
    if (g_tsc_hz == 0)
        return 0;
    const uint64_t ticks = rdtsc() - g_boot_tsc;
    return static_cast<uint64_t>((static_cast<unsigned __int128>(ticks) * 1000000000u) / g_tsc_hz);
}

void delay_us(uint64_t microseconds)
{
    const uint64_t end = rdtsc() + microseconds * (g_tsc_hz / 1000000);
    while (rdtsc() < end)
        pause();
}

} // namespace arch::clock
