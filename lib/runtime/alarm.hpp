// The kernel's alarm (sys::alarm: one notification from sys::endpoint::clock
// after some milliseconds), set only when the one already set would not wake
// the process in time. A server that sleeps thousands of times a second with
// a timer due every few hundred milliseconds then makes one alarm call per
// timer, not one per sleep.
#pragma once

#include <cstdint>

#include "runtime/sys.hpp"

namespace tern {

class Alarm {
public:
    // Before sleeping at `now` (ns) with work due at `deadline` (ns,
    // UINT64_MAX: none): sets the alarm unless the one set rings first.
    void before_sleep(uint64_t now, uint64_t deadline)
    {
        if (deadline == UINT64_MAX || (m_rings_at != 0 && m_rings_at > now && m_rings_at <= deadline))
            return;
        const uint64_t ms = deadline > now ? (deadline - now) / 1'000'000 + 1 : 1;
        m_rings_at = now + ms * 1'000'000;
        (void)sys::alarm(ms);
    }
    // The clock's notification came: no alarm is set any more.
    void rang() { m_rings_at = 0; }

private:
    uint64_t m_rings_at = 0; // when the alarm set rings (0: none)
};

} // namespace tern
