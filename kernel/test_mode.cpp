#include "test_mode.hpp"

#include "arch/acpi.hpp"
#include "arch/cpu.hpp"

namespace kernel {
namespace {

TestMode g_mode = TestMode::none;
constexpr uint16_t isa_debug_exit_port = 0xF4;

} // namespace

TestMode test_mode() { return g_mode; }
void set_test_mode(TestMode mode) { g_mode = mode; }

void exit_qemu(ExitCode code)
{
    // Only in a test mode: on a real PC port 0xF4 may belong to something else.
    if (g_mode == TestMode::none)
        return;
    arch::outl(isa_debug_exit_port, static_cast<uint32_t>(code));
}

void power_off()
{
    exit_qemu(ExitCode::success);
    arch::acpi::power_off();
    arch::halt_forever();
}

void stop_after_fault()
{
    exit_qemu(ExitCode::fault);
    arch::halt_forever();
}

} // namespace kernel
