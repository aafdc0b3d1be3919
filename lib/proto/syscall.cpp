#include "proto/syscall.hpp"

namespace tern::sys {

const char* error_name(int64_t result)
{
    if (result >= 0)
        return "ok";
    // Negated without overflow, so even INT64_MIN gets an answer.
    switch (static_cast<Error>(0 - static_cast<uint64_t>(result))) {
    case Error::invalid_call: return "invalid call";
    case Error::invalid_argument: return "invalid argument";
    case Error::bad_address: return "bad address";
    case Error::permission: return "permission denied";
    case Error::dead_endpoint: return "dead endpoint";
    case Error::would_block: return "would block";
    case Error::no_memory: return "no memory";
    case Error::not_found: return "not found";
    case Error::busy: return "busy";
    case Error::deadlock: return "deadlock";
    }
    return "unknown error";
}

} // namespace tern::sys
