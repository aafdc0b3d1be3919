// Between bench-ipc and its peers (benchpeer0 on core 0, benchpeer1 on
// core 1). Calls with these message types; notifications too.
#pragma once

#include <cstdint>

#include "runtime/cpu.hpp"

namespace benchpeer {

constexpr uint32_t echo = 1;      // the reply is the request, unchanged
constexpr uint32_t map_stamp = 2; // words[0] = a shared-memory handle of the caller, granted read-write:
                                  // map it; reply words[0] = 0 or -error
constexpr uint32_t quit = 3;      // reply, then exit(0); on a channel: echo it, then close the channel

// A channel (proto/channel.hpp) opened to the peer: it echoes every message.

// A notification from the caller: the peer writes the TSC at which it woke
// into the first word of the mapped page (if any) and notifies the caller back.

using tern::rdtsc;

} // namespace benchpeer
