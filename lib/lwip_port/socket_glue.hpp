// Small conversions both transport servers need between lwIP and Tern's
// protocols: addresses (lwIP keeps them in network order, Tern in host
// order) and lwIP's err_t as the errno an application sees.
#pragma once

#include <cstdint>

#include "lwip/err.h"
#include "lwip/ip_addr.h"
#include "proto/socket.hpp"

namespace tern::lwip {

inline ip_addr_t lwip_address(uint32_t host_order)
{
    ip_addr_t a;
    ip_addr_set_ip4_u32_val(a, lwip_htonl(host_order));
    return a;
}

inline uint32_t host_address(const ip_addr_t& a) { return lwip_ntohl(ip4_addr_get_u32(ip_2_ip4(&a))); }

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
