// IPv4 reassembly (RFC 791, RFC 815), bounded: at most max_datagrams
// datagrams are collected at once, each in a fixed buffer large enough for
// the largest datagram, with a bitmap of the 8-byte blocks received.
//
// Policy, chosen for robustness over leniency:
//  - a fragment that overlaps anything received before (even an exact
//    duplicate) drops the whole datagram; the slot then stays "poisoned"
//    until the timeout, so the rest of that datagram is dropped too instead
//    of starting a new collection;
//  - a fragment that contradicts the datagram's length (beyond the end a
//    last fragment set, a second different end, more than 65535 bytes in
//    all) drops the whole datagram the same way;
//  - a datagram not complete 5 s after its first fragment arrived is dropped;
//  - when every slot is busy a new datagram evicts the oldest one (poisoned
//    slots first), so a flood of never-completing fragments cannot block
//    reassembly for long and never grows memory.
#pragma once

#include <cstddef>
#include <cstdint>

#include "net/icmp.hpp"
#include "net/ipv4.hpp"

namespace ip {

using tern::net::Ipv4Address;
using tern::net::Ipv4Header;

class Reassembler {
public:
    static constexpr size_t max_datagrams = 8;
    static constexpr uint64_t timeout_ns = 5'000'000'000;

    enum class Outcome {
        held,         // kept; the datagram is not complete yet
        complete,     // `out` holds the datagram; release() it after use
        overlap,      // this or an earlier fragment overlapped: datagram dropped
        inconsistent, // lengths contradict each other: datagram dropped
    };

    struct Datagram {
        unsigned interface = 0;
        Ipv4Header header;             // of the first fragment, with total length and fragment fields of the whole
        const uint8_t* bytes = nullptr; // header as received in the first fragment, then the payload
        size_t length = 0;
        size_t slot = 0;
    };

    struct AddResult {
        Outcome outcome = Outcome::held;
        bool evicted = false; // a datagram was dropped to make room
        unsigned evicted_interface = 0;
    };

    // `datagram` is the whole fragment: header.header_length bytes of header,
    // then header.payload_length() bytes, already validated by Ipv4Header::parse.
    AddResult add(unsigned interface, const Ipv4Header& header, const uint8_t* datagram, uint64_t now_ns,
                  Datagram& out);
    void release(const Datagram& datagram);

    struct Expired {
        unsigned interface = 0;
        bool has_first = false;        // the first fragment came: an ICMP error can quote it
        Ipv4Header header;             // valid with has_first
        const uint8_t* quote = nullptr; // its header and first 8 payload bytes
        size_t quote_length = 0;
    };
    // Drops datagrams older than the timeout: calls timed_out(const Expired&)
    // for each that was still being collected (poisoned ones were counted
    // when they were poisoned).
    template <typename TimedOut>
    void expire(uint64_t now_ns, TimedOut&& timed_out)
    {
        for (Slot& slot : m_slots) {
            if (slot.state == State::free || slot.state == State::delivering || now_ns - slot.started_ns < timeout_ns)
                continue;
            if (slot.state == State::collecting) {
                Expired expired;
                expired.interface = slot.interface;
                expired.has_first = slot.has_first;
                if (slot.has_first) {
                    expired.header = slot.first_header;
                    expired.quote = slot.buffer + max_header - slot.first_header.header_length;
                    expired.quote_length = slot.first_header.header_length + tern::net::icmp_quote_bytes;
                }
                timed_out(expired);
            }
            slot.state = State::free;
        }
    }

    size_t in_flight() const;
    // When expire() next has something to drop (UINT64_MAX: nothing).
    uint64_t next_deadline_ns() const;

private:
    static constexpr size_t max_header = tern::net::ipv4_max_header;
    static constexpr size_t max_payload = tern::net::ipv4_max_payload;
    static constexpr size_t block_count = (max_payload + 7) / 8;

    enum class State : uint8_t { free, collecting, poisoned, delivering };

    struct Slot {
        State state = State::free;
        Outcome poisoned_by = Outcome::overlap;
        unsigned interface = 0;
        Ipv4Address source, destination;
        uint16_t identification = 0;
        uint8_t protocol = 0;
        uint64_t started_ns = 0;
        bool has_first = false;
        bool has_last = false;
        Ipv4Header first_header;
        size_t payload_length = 0; // known with has_last
        size_t highest_end = 0;
        size_t received = 0;
        uint64_t blocks[(block_count + 63) / 64] = {};
        // The first fragment's header ends at max_header, where the payload begins.
        uint8_t buffer[max_header + max_payload];
    };

    Slot* find(const Ipv4Header& header);
    Slot* claim(AddResult& result);
    Outcome poison(Slot& slot, Outcome why);
    bool any_block(const Slot& slot, size_t first, size_t end) const;
    void mark_blocks(Slot& slot, size_t first, size_t end);

    Slot m_slots[max_datagrams];
};

} // namespace ip
