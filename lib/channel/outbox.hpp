// The sending side of a channel for server logic whose messages come from
// callbacks at any moment (lwIP's): messages go straight into the ring when
// it has room and wait in a small queue when it has not, so nothing is lost
// and order is kept; flush() publishes them all at once. A peer that lets
// the queue fill up does not read its channel: the outbox stalls and drops
// from then on, and the owner lets the peer go.
#pragma once

#include <cstdint>

#include "channel/link.hpp"

namespace tern::channel {

template <uint32_t capacity>
class Outbox {
public:
    void attach(Link* link)
    {
        m_link = link;
        m_pending = 0;
        m_head = 0;
        m_count = 0;
        m_stalled = false;
    }
    void detach() { attach(nullptr); }
    Link* link() const { return m_link; }
    bool stalled() const { return m_stalled; }
    // Stops sending (the peer is being let go).
    void stall() { m_stalled = true; }

    // Whether `n` more messages would go straight into the ring.
    bool has_room(uint32_t n = 1) const
    {
        return m_link != nullptr && !m_stalled && m_count == 0 && m_link->tx().space(m_pending + n) >= m_pending + n;
    }
    // The next ring slot to fill directly (check has_room() first).
    Message& claim() { return m_link->tx().slot(m_pending++); }

    // False if the message was dropped (stalled, detached, or the queue
    // just overflowed).
    bool send(const Message& m)
    {
        if (m_link == nullptr || m_stalled)
            return false;
        if (has_room()) {
            claim() = m;
            return true;
        }
        if (m_count == capacity) {
            m_stalled = true;
            return false;
        }
        m_queue[(m_head + m_count++) % capacity] = m;
        return true;
    }

    void flush()
    {
        if (m_link == nullptr || m_stalled)
            return;
        auto& tx = m_link->tx();
        while (m_count != 0 && tx.space(m_pending + 1) >= m_pending + 1) {
            tx.slot(m_pending++) = m_queue[m_head];
            m_head = (m_head + 1) % capacity;
            --m_count;
        }
        if (m_pending != 0) {
            m_link->publish(m_pending);
            m_pending = 0;
        }
    }

private:
    Link* m_link = nullptr;
    uint32_t m_pending = 0; // slots filled since the last publish
    Message m_queue[capacity];
    uint32_t m_head = 0;
    uint32_t m_count = 0;
    bool m_stalled = false;
};

} // namespace tern::channel
