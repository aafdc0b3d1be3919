// The control protocol of the ip server, for the shell (ifconfig, ping):
// ipc_call to the service "ip"; the reply has the same type with words[0] =
// result (>= 0, or -tern::sys::Error). Frames never travel here: drivers
// talk to ip through channels (proto/nic.hpp).
#pragma once

#include <cstdint>

namespace tern::ip_proto {

enum Op : uint32_t {
    // words[0] = interface index. Reply: words[1] = MAC (proto/nic.hpp
    // mac_word), words[2] = IPv4 address | prefix length << 32 | link up << 40
    // | DHCP state << 48, words[3] = received packets, words[4] = sent
    // packets, words[5] = dropped packets. not_found past the last interface.
    interface_info = 0x4950'0001,
    // words[0] = destination IPv4 address, words[1] = sequence, words[2] =
    // data bytes, words[3] = timeout in ms. The reply comes when the echo
    // reply arrives (words[1] = round trip in ns, words[2] = TTL, words[3] =
    // data bytes) or the timeout passes (result -would_block); other errors:
    // not_found (no route), invalid_argument, busy (another ping waits).
    ping = 0x4950'0002,
};

} // namespace tern::ip_proto
