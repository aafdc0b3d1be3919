// Test modes, chosen on the kernel command line (`test=NAME`): the kernel
// runs a check instead of (or after) normal boot and leaves QEMU through the
// isa-debug-exit device with a status the host harness can trust.
// QEMU exits with (code << 1) | 1, so success is 33; 0 (what a triple fault
// under -no-reboot gives) can never look like success.
#pragma once

#include <cstdint>

namespace kernel {

enum class TestMode {
    none,
    selftest,  // run the kernel self-checks, exit with success or failure
    pagefault, // fault in the kernel on purpose; the exception report must appear
    processes, // boot normally; poweroff leaves QEMU with success (scenarios that drive the shell)
};

enum class ExitCode : uint32_t {
    success = 0x10, // QEMU status 33
    failure = 0x11, // QEMU status 35
    fault = 0x12,   // QEMU status 37: exception or panic in a test mode
};

TestMode test_mode();
void set_test_mode(TestMode mode);

// Leaves QEMU with `code` in a test mode; in normal mode it does nothing and returns.
void exit_qemu(ExitCode code);

// Switches the machine off (ACPI S5); in a test mode, leaves QEMU with success.
[[noreturn]] void power_off();

// After an unrecoverable kernel fault: exit QEMU (test mode) or halt this core.
[[noreturn]] void stop_after_fault();

} // namespace kernel
