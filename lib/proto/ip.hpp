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
    // words[0] = interface index. Reply: words[1] = received packets,
    // words[2] = received bytes, words[3] = sent packets, words[4] = sent
    // bytes, words[5] = drops that were errors (the rest were policy).
    interface_traffic = 0x4950'0003,
    // words[0] = interface index, words[1] = drop reason number (0, 1, …).
    // Reply: words[1] = how many, words[2..4] = the reason's name (up to 24
    // characters, NUL-padded), words[5] = 1 if it counts as an error.
    // not_found past the last reason or interface.
    interface_drop = 0x4950'0004,
    // words[0] = entry number. Reply: words[1] = IPv4 address, words[2] = MAC
    // (proto/nic.hpp mac_word), words[3] = interface | resolved << 8,
    // words[4] = age in ms. not_found past the last; free entries answer
    // with words[3] = 0xFFFF.
    arp_entry = 0x4950'0005,
    // words[0] = entry number. Reply: words[1] = destination | prefix length
    // << 32, words[2] = gateway (0: directly connected), words[3] =
    // interface, words[4] = metric. not_found past the last.
    route_entry = 0x4950'0006,
};

// words[2..4] of an interface_drop reply as text.
struct DropName {
    char text[25];
};
inline DropName drop_name(const uint64_t (&words)[6])
{
    DropName name{};
    const auto* bytes = reinterpret_cast<const char*>(&words[2]);
    for (int i = 0; i < 24; ++i)
        name.text[i] = bytes[i];
    name.text[24] = '\0';
    return name;
}

} // namespace tern::ip_proto
