#include "profile.hpp"

#include <atomic>

#include "arch/memory_layout.hpp"
#include "cmdline.hpp"
#include "log.hpp"

namespace kernel::profile {
namespace {

bool g_enabled = false;
std::atomic<uint32_t> g_taken{0};
Sample g_ring[capacity];

} // namespace

void configure(const char* cmdline)
{
    char value[8];
    g_enabled = cmdline_value(cmdline, "profile", value, sizeof(value)) && __builtin_strcmp(value, "on") == 0;
    if (g_enabled)
        log("profile: sampling every timer tick into %u samples of %u bytes at physical 0x%lx", capacity,
            static_cast<unsigned>(sizeof(Sample)), arch::virt_to_phys(g_ring));
}

void on_tick(const arch::InterruptFrame& frame, unsigned core, uint32_t slot)
{
    if (!g_enabled)
        return;
    const bool user = (frame.cs & 3) == 3;
    const uint32_t taken = g_taken.fetch_add(1, std::memory_order_relaxed);
    Sample& sample = g_ring[taken % capacity];
    sample.slot = user ? static_cast<uint16_t>(slot) : kernel_slot;
    sample.core = static_cast<uint16_t>(core);
    sample.rip = frame.rip;
    // Last: a reader that sees the new sequence sees this sample's fields
    // (x86 keeps stores in order).
    __atomic_store_n(&sample.sequence, taken + 1, __ATOMIC_RELEASE);
}

} // namespace kernel::profile
