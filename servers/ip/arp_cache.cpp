#include "arp_cache.hpp"

namespace ip {

ArpCache::Entry* ArpCache::find(unsigned interface, Ipv4Address ip)
{
    for (Entry& entry : m_entries) {
        if (entry.state != State::free && entry.interface == interface && entry.ip == ip)
            return &entry;
    }
    return nullptr;
}

const ArpCache::Entry* ArpCache::find(unsigned interface, Ipv4Address ip) const
{
    return const_cast<ArpCache*>(this)->find(interface, ip);
}

// A free entry, else the least recently confirmed resolved one, else (if
// allowed) the incomplete one that has waited longest.
ArpCache::Entry* ArpCache::make_room(bool evict_incomplete)
{
    Entry* oldest = nullptr;
    Entry* oldest_incomplete = nullptr;
    for (Entry& entry : m_entries) {
        if (entry.state == State::free)
            return &entry;
        if (entry.state == State::resolved && (oldest == nullptr || entry.confirmed_ns < oldest->confirmed_ns))
            oldest = &entry;
        if (entry.state == State::incomplete &&
            (oldest_incomplete == nullptr || entry.started_ns < oldest_incomplete->started_ns))
            oldest_incomplete = &entry;
    }
    if (oldest != nullptr)
        return oldest;
    return evict_incomplete ? oldest_incomplete : nullptr;
}

const MacAddress* ArpCache::lookup(unsigned interface, Ipv4Address ip, uint64_t now_ns) const
{
    const Entry* entry = find(interface, ip);
    if (entry == nullptr || entry->state != State::resolved || now_ns - entry->confirmed_ns >= lifetime_ns)
        return nullptr;
    return &entry->mac;
}

ArpCache::Update ArpCache::update(unsigned interface, Ipv4Address ip, const MacAddress& mac, uint64_t now_ns)
{
    Entry* entry = find(interface, ip);
    if (entry == nullptr)
        return Update::absent;
    const bool was_incomplete = entry->state == State::incomplete;
    entry->state = State::resolved;
    entry->mac = mac;
    entry->confirmed_ns = now_ns;
    return was_incomplete ? Update::resolved : Update::refreshed;
}

bool ArpCache::insert(unsigned interface, Ipv4Address ip, const MacAddress& mac, uint64_t now_ns)
{
    if (update(interface, ip, mac, now_ns) != Update::absent)
        return true;
    Entry* entry = make_room(false);
    if (entry == nullptr)
        return false;
    *entry = Entry{.state = State::resolved, .interface = interface, .ip = ip, .mac = mac, .confirmed_ns = now_ns};
    return true;
}

ArpCache::Resolve ArpCache::resolve(unsigned interface, Ipv4Address ip, uint64_t now_ns, Evicted& evicted)
{
    evicted = Evicted{};
    Entry* entry = find(interface, ip);
    if (entry != nullptr && entry->state == State::incomplete)
        return Resolve::pending;
    if (entry == nullptr) {
        entry = make_room(true);
        if (entry->state == State::incomplete)
            evicted = Evicted{.any = true, .interface = entry->interface, .ip = entry->ip};
    }
    // A new entry, or a resolved one gone stale: ask again.
    *entry = Entry{.state = State::incomplete,
                   .interface = interface,
                   .ip = ip,
                   .started_ns = now_ns,
                   .next_request_ns = now_ns + retry_ns,
                   .requests = 1};
    return Resolve::started;
}

void ArpCache::forget_interface(unsigned interface)
{
    for (Entry& entry : m_entries) {
        if (entry.interface == interface)
            entry.state = State::free;
    }
}

uint64_t ArpCache::next_deadline_ns() const
{
    uint64_t next = UINT64_MAX;
    for (const Entry& entry : m_entries) {
        if (entry.state == State::incomplete && entry.next_request_ns < next)
            next = entry.next_request_ns;
    }
    return next;
}

size_t ArpCache::used() const
{
    size_t n = 0;
    for (const Entry& entry : m_entries)
        n += entry.state != State::free;
    return n;
}

} // namespace ip
