#include "reassembly.hpp"

namespace ip {

Reassembler::Slot* Reassembler::find(const Ipv4Header& header)
{
    for (Slot& slot : m_slots) {
        if ((slot.state == State::collecting || slot.state == State::poisoned) && slot.source == header.source &&
            slot.destination == header.destination && slot.identification == header.identification &&
            slot.protocol == header.protocol)
            return &slot;
    }
    return nullptr;
}

// A free slot, else the oldest poisoned one, else the oldest being collected
// (recorded in `result` as evicted). Never the one being delivered.
Reassembler::Slot* Reassembler::claim(AddResult& result)
{
    Slot* oldest_poisoned = nullptr;
    Slot* oldest_collecting = nullptr;
    for (Slot& slot : m_slots) {
        switch (slot.state) {
        case State::free: return &slot;
        case State::poisoned:
            if (oldest_poisoned == nullptr || slot.started_ns < oldest_poisoned->started_ns)
                oldest_poisoned = &slot;
            break;
        case State::collecting:
            if (oldest_collecting == nullptr || slot.started_ns < oldest_collecting->started_ns)
                oldest_collecting = &slot;
            break;
        case State::delivering: break;
        }
    }
    if (oldest_poisoned != nullptr)
        return oldest_poisoned;
    if (oldest_collecting != nullptr) {
        result.evicted = true;
        result.evicted_interface = oldest_collecting->interface;
    }
    return oldest_collecting;
}

Reassembler::Outcome Reassembler::poison(Slot& slot, Outcome why)
{
    slot.state = State::poisoned;
    slot.poisoned_by = why;
    return why;
}

bool Reassembler::any_block(const Slot& slot, size_t first, size_t end) const
{
    for (size_t b = first; b < end; ++b) {
        if (slot.blocks[b / 64] & (uint64_t{1} << (b % 64)))
            return true;
    }
    return false;
}

void Reassembler::mark_blocks(Slot& slot, size_t first, size_t end)
{
    for (size_t b = first; b < end; ++b)
        slot.blocks[b / 64] |= uint64_t{1} << (b % 64);
}

Reassembler::AddResult Reassembler::add(unsigned interface, const Ipv4Header& header, const uint8_t* datagram,
                                        uint64_t now_ns, Datagram& out)
{
    AddResult result;
    const size_t offset = header.fragment_offset;
    const size_t length = header.payload_length();
    const size_t end = offset + length;
    // Ipv4Header::parse guarantees these; a caller that skipped it gets a drop, not a write out of bounds.
    if (length == 0 || end > max_payload || offset % 8 != 0) {
        result.outcome = Outcome::inconsistent;
        return result;
    }

    Slot* slot = find(header);
    if (slot != nullptr && slot->state == State::poisoned) {
        result.outcome = slot->poisoned_by;
        return result;
    }
    if (slot == nullptr) {
        slot = claim(result);
        if (slot == nullptr) { // every slot is being delivered: cannot happen with one delivery at a time
            result.outcome = Outcome::inconsistent;
            return result;
        }
        slot->state = State::collecting;
        slot->interface = interface;
        slot->source = header.source;
        slot->destination = header.destination;
        slot->identification = header.identification;
        slot->protocol = header.protocol;
        slot->started_ns = now_ns;
        slot->has_first = slot->has_last = false;
        slot->payload_length = slot->highest_end = slot->received = 0;
        __builtin_memset(slot->blocks, 0, sizeof(slot->blocks));
    }

    const bool last = !header.more_fragments;
    if (slot->has_last && (end > slot->payload_length || (last && end != slot->payload_length))) {
        result.outcome = poison(*slot, Outcome::inconsistent);
        return result;
    }
    if (last && slot->highest_end > end) {
        result.outcome = poison(*slot, Outcome::inconsistent);
        return result;
    }
    const size_t first_block = offset / 8, end_block = (end + 7) / 8;
    if (any_block(*slot, first_block, end_block)) {
        result.outcome = poison(*slot, Outcome::overlap);
        return result;
    }
    const size_t header_length = offset == 0 ? header.header_length : slot->first_header.header_length;
    if ((offset == 0 || slot->has_first) && (last || slot->has_last)) {
        const size_t payload_length = last ? end : slot->payload_length;
        if (header_length + payload_length > tern::net::ipv4_max_datagram) {
            result.outcome = poison(*slot, Outcome::inconsistent);
            return result;
        }
    }

    mark_blocks(*slot, first_block, end_block);
    __builtin_memcpy(slot->buffer + max_header + offset, datagram + header.header_length, length);
    slot->received += length;
    if (end > slot->highest_end)
        slot->highest_end = end;
    if (last) {
        slot->has_last = true;
        slot->payload_length = end;
    }
    if (offset == 0) {
        slot->has_first = true;
        slot->first_header = header;
        __builtin_memcpy(slot->buffer + max_header - header.header_length, datagram, header.header_length);
    }

    if (!(slot->has_first && slot->has_last && slot->received == slot->payload_length)) {
        result.outcome = Outcome::held;
        return result;
    }
    slot->state = State::delivering;
    out.interface = slot->interface;
    out.header = slot->first_header;
    out.header.total_length = static_cast<uint16_t>(slot->first_header.header_length + slot->payload_length);
    out.header.more_fragments = false;
    out.header.fragment_offset = 0;
    out.bytes = slot->buffer + max_header - slot->first_header.header_length;
    out.length = out.header.total_length;
    out.slot = static_cast<size_t>(slot - m_slots);
    result.outcome = Outcome::complete;
    return result;
}

void Reassembler::release(const Datagram& datagram)
{
    if (datagram.slot < max_datagrams && m_slots[datagram.slot].state == State::delivering)
        m_slots[datagram.slot].state = State::free;
}

size_t Reassembler::in_flight() const
{
    size_t n = 0;
    for (const Slot& slot : m_slots)
        n += slot.state == State::collecting || slot.state == State::poisoned;
    return n;
}

uint64_t Reassembler::next_deadline_ns() const
{
    uint64_t next = UINT64_MAX;
    for (const Slot& slot : m_slots) {
        if ((slot.state == State::collecting || slot.state == State::poisoned) && slot.started_ns + timeout_ns < next)
            next = slot.started_ns + timeout_ns;
    }
    return next;
}

} // namespace ip
