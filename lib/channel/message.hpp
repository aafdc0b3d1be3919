// The message a channel carries between two servers: one cache line with a
// type, an optional reference to a packet buffer, and a few words of
// arguments. Protocols (lib/proto/<name>.hpp) define the types and words.
#pragma once

#include <cstdint>

#include "channel/pool.hpp"
#include "channel/ring.hpp"

namespace tern::channel {

struct alignas(cache_line) Message {
    uint32_t type;
    uint32_t flags;
    BufferRef buffer; // valid when the type says a buffer travels with the message
    uint64_t words[5];
};
static_assert(is_slot_type<Message>);
static_assert(offsetof(Message, buffer) == 8);
static_assert(offsetof(Message, words) == 24);

} // namespace tern::channel
