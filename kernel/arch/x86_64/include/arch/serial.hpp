// The 16550 UART at COM1, polled. The kernel's console.
#pragma once

#include <cstddef>
#include <cstdint>

namespace arch::serial {

void init();
void write(const char* text, size_t length);
// Interrupt on received data (IRQ 4); the handler drains with read_byte().
void enable_receive_interrupt();
bool read_byte(uint8_t& byte);

} // namespace arch::serial
