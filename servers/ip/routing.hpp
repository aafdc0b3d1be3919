// The routing table: connected routes (one per configured interface) and
// routes through gateways, the default route (0.0.0.0/0) among them. Lookup
// is longest-prefix match; among equal prefixes the lower metric wins, then
// the older route. A fixed number of routes, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/result.hpp"
#include "net/address.hpp"

namespace ip {

using tern::Error;
using tern::Result;
using tern::net::Ipv4Address;

struct Route {
    Ipv4Address destination; // the network; bits beyond the prefix are zero
    uint8_t prefix_length = 0;
    Ipv4Address gateway; // any(): directly connected
    unsigned interface = 0;
    uint16_t metric = 0;

    bool connected() const { return gateway.is_any(); }
};

class RoutingTable {
public:
    static constexpr size_t capacity = 16;

    // Adds a route, or replaces the one with the same destination, prefix
    // and interface. invalid_argument for a prefix above 32; out_of_memory
    // when the table is full.
    Result<void> add(const Route& route);
    // Removes routes to exactly this destination/prefix (on any interface).
    // Returns how many.
    size_t remove(Ipv4Address destination, uint8_t prefix_length);
    // Removes every route through `interface` (it went down or lost its address).
    size_t remove_interface(unsigned interface);
    // The default route through `gateway` on `interface`, replacing any other default route.
    Result<void> set_default_gateway(Ipv4Address gateway, unsigned interface);

    // The best route to `destination`, or not_found.
    Result<Route> lookup(Ipv4Address destination) const;

    size_t size() const { return m_count; }
    // The routes in the order they were added (index < size()).
    const Route& at(size_t index) const { return m_routes[index]; }

private:
    Route m_routes[capacity];
    size_t m_count = 0;
};

} // namespace ip
