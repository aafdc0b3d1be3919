#include "routing.hpp"

namespace ip {

Result<void> RoutingTable::add(const Route& route)
{
    if (route.prefix_length > 32)
        return Error::invalid_argument;
    Route normalised = route;
    normalised.destination.value &= tern::net::prefix_mask(route.prefix_length);
    for (size_t i = 0; i < m_count; ++i) {
        Route& existing = m_routes[i];
        if (existing.destination == normalised.destination && existing.prefix_length == normalised.prefix_length &&
            existing.interface == normalised.interface) {
            existing = normalised;
            return {};
        }
    }
    if (m_count == capacity)
        return Error::out_of_memory;
    m_routes[m_count++] = normalised;
    return {};
}

size_t RoutingTable::remove(Ipv4Address destination, uint8_t prefix_length)
{
    destination.value &= tern::net::prefix_mask(prefix_length);
    size_t kept = 0, removed = 0;
    for (size_t i = 0; i < m_count; ++i) {
        if (m_routes[i].destination == destination && m_routes[i].prefix_length == prefix_length)
            ++removed;
        else
            m_routes[kept++] = m_routes[i];
    }
    m_count = kept;
    return removed;
}

size_t RoutingTable::remove_interface(unsigned interface)
{
    size_t kept = 0, removed = 0;
    for (size_t i = 0; i < m_count; ++i) {
        if (m_routes[i].interface == interface)
            ++removed;
        else
            m_routes[kept++] = m_routes[i];
    }
    m_count = kept;
    return removed;
}

Result<void> RoutingTable::set_default_gateway(Ipv4Address gateway, unsigned interface)
{
    if (!gateway.is_unicast())
        return Error::invalid_argument;
    remove(Ipv4Address::any(), 0);
    return add({.destination = Ipv4Address::any(), .prefix_length = 0, .gateway = gateway, .interface = interface});
}

Result<Route> RoutingTable::lookup(Ipv4Address destination) const
{
    const Route* best = nullptr;
    for (size_t i = 0; i < m_count; ++i) {
        const Route& route = m_routes[i];
        if (!tern::net::same_prefix(route.destination, destination, route.prefix_length))
            continue;
        if (best == nullptr || route.prefix_length > best->prefix_length ||
            (route.prefix_length == best->prefix_length && route.metric < best->metric))
            best = &route;
    }
    if (best == nullptr)
        return Error::not_found;
    return *best;
}

} // namespace ip
