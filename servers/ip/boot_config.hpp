// Static network configuration from the ip server's boot options:
//   ip=10.0.2.15/24   address and prefix of eth0 (ip0= is the same)
//   ip1=192.168.7.2/24  of eth1, and so on up to ip3=
//   ip=dhcp           ask DHCP (the default for every interface)
//   ip=off            leave the interface unconfigured
//   gw=10.0.2.2       the default gateway (static interfaces only: it must
//                     lie in one of their networks)
//   dns=10.0.2.3      the DNS server
// Other words (core=2, ...) are left to whoever else reads the line; a
// later word overrides an earlier one.
#pragma once

#include <cstddef>
#include <cstdint>

#include "interface.hpp"
#include "net/address.hpp"

namespace ip {

class IpStack;

struct InterfaceBootConfig {
    enum class Mode : uint8_t { dhcp, static_address, off };
    Mode mode = Mode::dhcp;
    Ipv4Address address;
    uint8_t prefix_length = 0;
};

struct BootConfig {
    InterfaceBootConfig interfaces[max_interfaces];
    bool has_gateway = false;
    Ipv4Address gateway;
    unsigned gateway_interface = 0; // the static interface whose network holds the gateway
    bool has_dns = false;
    Ipv4Address dns;
};

// Parses a whole command line (or a single word). On failure returns false
// with a message naming the problem in `error`; `out` is then unspecified.
bool parse_boot_config(const char* line, BootConfig& out, const char*& error);

// Configures the stack's interfaces (those it has) as `config` says and
// starts DHCP where it is asked for. `seed` makes DHCP transaction ids differ
// between boots.
void apply_boot_config(IpStack& stack, const BootConfig& config, uint32_t seed, uint64_t now_ns);

} // namespace ip
