#include "base/result.hpp"

namespace tern {

const char* error_name(Error error)
{
    switch (error) {
    case Error::none: return "none";
    case Error::out_of_memory: return "out of memory";
    case Error::invalid_argument: return "invalid argument";
    case Error::not_found: return "not found";
    case Error::malformed: return "malformed";
    case Error::unsupported: return "unsupported";
    case Error::timed_out: return "timed out";
    case Error::busy: return "busy";
    case Error::not_owner: return "not owner";
    }
    return "unknown";
}

} // namespace tern
