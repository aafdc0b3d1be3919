#include "arch/percpu.hpp"

#include "arch/cpu.hpp"

namespace arch {
namespace {

Cpu g_cpus[max_cpus];
unsigned g_cpu_count = 1;

} // namespace

Cpu& cpu(unsigned index) { return g_cpus[index]; }
unsigned cpu_count() { return g_cpu_count; }
void set_cpu_count(unsigned count) { g_cpu_count = count; }

void set_current_cpu(Cpu& c)
{
    c.self = &c;
    c.index = static_cast<uint32_t>(&c - g_cpus);
    wrmsr(msr::gs_base, reinterpret_cast<uint64_t>(&c));
}

} // namespace arch
