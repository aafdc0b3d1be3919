// Waiting on many rings at once. A process that has nothing to do announces
// sleep on every ring it waits for (the consumer end of its inbound rings,
// the producer end of outbound rings it found full) and sleeps in the kernel
// only if all of them are still idle afterwards; a peer that publishes after
// the announcement sees it and wakes the process with a notification. See
// ring.hpp for why no wake-up is lost.
//
// Usage, with the kernel's receive as the sleep:
//   if (set.prepare_sleep()) { sys::receive(any, m); set.end_sleep(); }
// and then poll every ring again (a wake-up only says "look").
#pragma once

#include <cstddef>

namespace tern::channel {

class WaitSet {
public:
    static constexpr size_t max_rings = 64;

    // `ring` is a Consumer<T> or Producer<T>; false if the set is full.
    template <typename Ring>
    bool add(Ring& ring)
    {
        if (m_count == max_rings)
            return false;
        m_entries[m_count++] = Entry{
            &ring,
            [](void* r) { return static_cast<Ring*>(r)->prepare_sleep(); },
            [](void* r) { static_cast<Ring*>(r)->end_sleep(); },
        };
        return true;
    }
    void clear() { m_count = 0; }
    size_t size() const { return m_count; }

    // Announces sleep on every ring. True: all are still idle, sleep now (a
    // publish from here on wakes us). False: one had work; every announcement
    // is withdrawn.
    bool prepare_sleep()
    {
        for (size_t i = 0; i < m_count; ++i) {
            if (!m_entries[i].prepare(m_entries[i].ring)) {
                for (size_t j = 0; j < i; ++j)
                    m_entries[j].end(m_entries[j].ring);
                return false;
            }
        }
        return true;
    }

    // After waking: withdraw the announcements the peers did not clear.
    void end_sleep()
    {
        for (size_t i = 0; i < m_count; ++i)
            m_entries[i].end(m_entries[i].ring);
    }

private:
    struct Entry {
        void* ring;
        bool (*prepare)(void*);
        void (*end)(void*);
    };
    Entry m_entries[max_rings] = {};
    size_t m_count = 0;
};

} // namespace tern::channel
