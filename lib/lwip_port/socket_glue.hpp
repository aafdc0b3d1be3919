// lwIP's err_t as the errno an application sees (proto/socket.hpp), for
// both transport servers.
#pragma once

#include <cstdint>

#include "lwip/err.h"
#include "proto/socket.hpp"

namespace tern::lwip {

inline int errno_for(err_t err)
{
    namespace e = socket_proto::errno_value;
    switch (err) {
    case ERR_OK: return 0;
    case ERR_MEM: return e::no_memory;
    case ERR_BUF: return e::no_buffers;
    case ERR_TIMEOUT: return e::timed_out;
    case ERR_RTE: return e::network_unreachable;
    case ERR_INPROGRESS: return e::in_progress;
    case ERR_VAL: return e::invalid;
    case ERR_WOULDBLOCK: return e::again;
    case ERR_USE: return e::address_in_use;
    case ERR_ALREADY: return e::already;
    case ERR_ISCONN: return e::is_connected;
    case ERR_CONN: return e::not_connected;
    case ERR_ABRT: return e::connection_aborted;
    case ERR_RST: return e::connection_reset;
    case ERR_CLSD: return e::not_connected;
    default: return e::invalid;
    }
}

} // namespace tern::lwip
