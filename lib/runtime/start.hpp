// What the start-up code learned from the kernel, for the rest of the program.
#pragma once

#include "proto/syscall.hpp"

namespace tern {

// The endpoint of rs (the supervisor), handed over at start in rsi.
sys::Endpoint rs_endpoint();

} // namespace tern
