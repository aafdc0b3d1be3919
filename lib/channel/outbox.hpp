// The sending side of a channel for server logic whose messages come from
// callbacks at any moment (lwIP's): messages go straight into the ring when
// it has room and wait in a small queue when it has not, so nothing is lost
// and order is kept; flush() publishes them all at once, lazily (see
// Link::publish_lazily) when every one of them may wait. A peer that lets
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
        m_urgent = false;
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
    Message& claim()
    {
        m_urgent = true;
        return m_link->tx().slot(m_pending++);
    }

    // False if the message was dropped (stalled, detached, or the queue
    // just overflowed). A message that `may_wait` (a buffer going back)
    // does not by itself wake a sleeping peer at the next flush().
    bool send(const Message& m, bool may_wait = false)
    {
        if (m_link == nullptr || m_stalled)
            return false;
        m_urgent = m_urgent || !may_wait;
        if (has_room()) {
            m_link->tx().slot(m_pending++) = m;
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
            if (m_urgent)
                m_link->publish(m_pending);
            else
                m_link->publish_lazily(m_pending);
            m_pending = 0;
        }
        m_urgent = m_count != 0; // what still waits in the queue goes out urgently
    }

private:
    Link* m_link = nullptr;
    uint32_t m_pending = 0; // slots filled since the last publish
    Message m_queue[capacity];
    uint32_t m_head = 0;
    uint32_t m_count = 0;
    bool m_stalled = false;
    bool m_urgent = false; // a message since the last publish must wake the peer
};

} // namespace tern::channel
