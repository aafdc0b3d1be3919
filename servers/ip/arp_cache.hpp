// The ARP cache: which MAC answers for which IPv4 address on which
// interface. Resolved entries live for a minute after they were last
// confirmed; an incomplete entry (a request is out) is asked again every
// second and given up after three requests. Fixed capacity: a full cache
// makes room by evicting its least recently confirmed resolved entry; only a
// new resolution may evict an incomplete one (the oldest), so a burst of
// next hops that never answer (spoofed sources) cannot block resolution.
#pragma once

#include <cstddef>
#include <cstdint>

#include "net/address.hpp"

namespace ip {

using tern::net::Ipv4Address;
using tern::net::MacAddress;

class ArpCache {
public:
    static constexpr size_t capacity = 32;
    static constexpr uint64_t lifetime_ns = 60'000'000'000;
    static constexpr uint64_t retry_ns = 1'000'000'000;
    static constexpr unsigned max_requests = 3;

    enum class State : uint8_t { free, incomplete, resolved };

    struct Entry {
        State state = State::free;
        unsigned interface = 0;
        Ipv4Address ip;
        MacAddress mac;           // resolved
        uint64_t confirmed_ns = 0; // resolved: last heard from
        uint64_t started_ns = 0;      // incomplete: when resolution began
        uint64_t next_request_ns = 0; // incomplete
        unsigned requests = 0;        // incomplete: requests sent so far
    };

    // The MAC of `ip` on `interface` if it is resolved and fresh.
    const MacAddress* lookup(unsigned interface, Ipv4Address ip, uint64_t now_ns) const;

    enum class Update {
        absent,    // no entry for that address: nothing changed
        refreshed, // a resolved entry was confirmed (and its MAC updated)
        resolved,  // an incomplete entry got its answer: send what waits on it
    };
    // RFC 826's merge step: only an address already in the cache is updated.
    Update update(unsigned interface, Ipv4Address ip, const MacAddress& mac, uint64_t now_ns);
    // Adds (or updates) a resolved entry; false if every entry is incomplete.
    bool insert(unsigned interface, Ipv4Address ip, const MacAddress& mac, uint64_t now_ns);

    enum class Resolve {
        started, // a new incomplete entry: the caller sends the first request now
        pending, // a request is already out
    };
    // An incomplete entry evicted to make room: packets waiting on it must go.
    struct Evicted {
        bool any = false;
        unsigned interface = 0;
        Ipv4Address ip;
    };
    // Call when lookup() found nothing.
    Resolve resolve(unsigned interface, Ipv4Address ip, uint64_t now_ns, Evicted& evicted);

    // Timers: `request(interface, ip)` for each incomplete entry due for
    // another request; `failed(interface, ip)` for each that used up its
    // requests (the entry is gone when it is called). Stale resolved entries
    // are freed.
    template <typename Request, typename Failed>
    void tick(uint64_t now_ns, Request&& request, Failed&& failed)
    {
        for (Entry& entry : m_entries) {
            if (entry.state == State::resolved && now_ns - entry.confirmed_ns >= lifetime_ns) {
                entry.state = State::free;
            } else if (entry.state == State::incomplete && now_ns >= entry.next_request_ns) {
                if (entry.requests >= max_requests) {
                    entry.state = State::free;
                    failed(entry.interface, entry.ip);
                } else {
                    ++entry.requests;
                    entry.next_request_ns = now_ns + retry_ns;
                    request(entry.interface, entry.ip);
                }
            }
        }
    }

    // When tick() next has a request to send or a resolution to give up
    // (UINT64_MAX: none). Stale resolved entries need no timer: lookup()
    // already ignores them.
    uint64_t next_deadline_ns() const;

    // Forgets every entry of `interface` (it went down or changed address).
    void forget_interface(unsigned interface);

    // For `arp -a`: every slot, free ones included.
    const Entry& slot(size_t index) const { return m_entries[index]; }
    size_t used() const;

private:
    Entry* find(unsigned interface, Ipv4Address ip);
    const Entry* find(unsigned interface, Ipv4Address ip) const;
    Entry* make_room(bool evict_incomplete);

    Entry m_entries[capacity];
};

} // namespace ip
