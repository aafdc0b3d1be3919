// Console input: bytes from the serial port (interrupt-driven) into a ring
// buffer, read by one process at a time through console_read.
#pragma once

#include <cstdint>

#include "proc/process.hpp"

namespace kernel {

void console_init();
// The console_read system call (lock held); blocks while there is no input.
int64_t console_read(Process& me, uint64_t user_buffer, uint64_t capacity);
// console_write: copies the text out of the caller and prints it as is.
int64_t console_write(Process& me, uint64_t user_text, uint64_t length);

} // namespace kernel
