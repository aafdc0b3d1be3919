// Kernel command line options: space-separated `key=value` words.
#pragma once

#include <cstddef>

namespace kernel {

// Finds `key=` in `cmdline` and copies its value (up to the next space) into
// `value`. Returns false if the key is absent or the value does not fit.
bool cmdline_value(const char* cmdline, const char* key, char* value, size_t value_size);

// A process's command line: its boot module's line, then each word of the
// kernel command line written `<name>.<option>` (name = the process's name)
// as `<option>`. So booting with `ip.ip=192.168.7.2/24` gives the process ip
// that option without a new ISO (its parser lets a later word override an
// earlier one). Only whole words that fit `size` (with the NUL) are copied.
// Returns the length.
size_t process_cmdline(const char* module_line, const char* name, const char* kernel_line, char* out, size_t size);

} // namespace kernel
