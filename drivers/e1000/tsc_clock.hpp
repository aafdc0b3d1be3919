// Time for the driver's loop without a system call per iteration: the CPU's
// time-stamp counter, converted with a rate measured once against the
// kernel's clock (sys::uptime), and the loop's periodic work and alarm on it.
// Pure arithmetic; the readings come from the caller, so host tests can feed
// any.
#pragma once

#include <cstdint>

namespace e1000 {

class TscClock {
public:
    // Used when calibration saw no time pass (or no ticks).
    static constexpr uint64_t fallback_ticks_per_second = 1'000'000'000;

    TscClock() = default;

    // From two (TSC, nanoseconds) pairs read together, the second later.
    static TscClock calibrated(uint64_t tsc0, uint64_t ns0, uint64_t tsc1, uint64_t ns1)
    {
        TscClock clock;
        if (tsc1 > tsc0 && ns1 > ns0) {
            const unsigned __int128 rate = static_cast<unsigned __int128>(tsc1 - tsc0) * 1'000'000'000u / (ns1 - ns0);
            if (rate != 0 && rate <= UINT64_MAX)
                clock.m_ticks_per_second = static_cast<uint64_t>(rate);
        }
        return clock;
    }

    uint64_t ticks_per_second() const { return m_ticks_per_second; }

    uint64_t to_ns(uint64_t ticks) const
    {
        const unsigned __int128 ns = static_cast<unsigned __int128>(ticks) * 1'000'000'000u / m_ticks_per_second;
        return ns > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(ns);
    }

    uint64_t to_ticks(uint64_t ns) const
    {
        const unsigned __int128 ticks = static_cast<unsigned __int128>(ns) * m_ticks_per_second / 1'000'000'000u;
        return ticks > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(ticks);
    }

private:
    uint64_t m_ticks_per_second = fallback_ticks_per_second;
};

// Something to do every `period` ticks, checked from a loop: due() says yes
// once per period (and after expire()), never twice for one deadline.
class Periodic {
public:
    void start(uint64_t now, uint64_t period)
    {
        m_period = period;
        m_deadline = now + period;
    }

    bool due(uint64_t now)
    {
        if (now < m_deadline)
            return false;
        // From now, not from the old deadline: after a long sleep it is due
        // once, not once per missed period.
        m_deadline = now + m_period;
        return true;
    }

    // Makes it due at once (something happened that it should look at).
    void expire() { m_deadline = 0; }

    uint64_t deadline() const { return m_deadline; }
    uint64_t period() const { return m_period; }

private:
    uint64_t m_period = 0;
    uint64_t m_deadline = 0;
};

// The alarm of a loop that also wakes on events: it must ring when the loop
// sleeps through its housekeeping deadline, but not while events keep waking
// it (housekeeping then runs from the loop, on the TSC). So it is kept at
// least `quiet` ticks after every sleep starts, and moved only once it is
// closer than half that: a system call at most every quiet / 2 while busy,
// and no alarm until the loop has slept quiet / 2 in one go.
class QuietAlarm {
public:
    explicit QuietAlarm(uint64_t quiet = 0) : m_quiet(quiet) {}

    // Before sleeping at `now`, with housekeeping due at `deadline`: the
    // time to set the alarm to, or 0 if the one set is still right.
    uint64_t before_sleep(uint64_t now, uint64_t deadline)
    {
        if (m_set != 0 && m_set >= now + m_quiet / 2)
            return 0;
        m_set = deadline > now + m_quiet ? deadline : now + m_quiet;
        return m_set;
    }

    // The alarm rang: none is set any more.
    void rang() { m_set = 0; }

    uint64_t set_for() const { return m_set; }

private:
    uint64_t m_quiet;
    uint64_t m_set = 0; // when the alarm set rings (0: none)
};

} // namespace e1000
