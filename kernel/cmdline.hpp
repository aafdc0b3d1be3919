// Kernel command line options: space-separated `key=value` words.
#pragma once

#include <cstddef>

namespace kernel {

// Finds `key=` in `cmdline` and copies its value (up to the next space) into
// `value`. Returns false if the key is absent or the value does not fit.
bool cmdline_value(const char* cmdline, const char* key, char* value, size_t value_size);

} // namespace kernel
