// The 16550 UART at COM1, polled. The kernel's console.
#pragma once

#include <cstddef>

namespace arch::serial {

void init();
void write(const char* text, size_t length);

} // namespace arch::serial
