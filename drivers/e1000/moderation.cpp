#include "moderation.hpp"

#include "registers.hpp"

namespace e1000 {

uint32_t ModerationPolicy::itr_for_rate(uint32_t per_second)
{
    if (per_second == 0)
        return reg::itr_max;
    const uint64_t gap_ns = 1'000'000'000ull / per_second;
    const uint64_t itr = (gap_ns + reg::itr_unit_ns - 1) / reg::itr_unit_ns;
    if (itr == 0)
        return 1;
    return itr > reg::itr_max ? reg::itr_max : static_cast<uint32_t>(itr);
}

uint32_t ModerationPolicy::itr_for_load(uint64_t frames_per_second) const
{
    if (frames_per_second < m_settings.low_latency_below)
        return 0;
    if (frames_per_second < m_settings.bulk_from)
        return itr_for_rate(m_settings.moderate_interrupts_per_second);
    return itr_for_rate(m_settings.bulk_interrupts_per_second);
}

ModerationPolicy::Decision ModerationPolicy::sample(uint64_t frames, uint64_t elapsed_ns)
{
    const Mode old_mode = m_mode;
    const uint32_t old_itr = m_itr;

    // A zero-length sample says nothing about the rate: keep everything.
    if (elapsed_ns == 0)
        return {m_mode, m_itr, false};

    // Frames per second; an absurd count (over 10^10 in one sample) saturates.
    const uint64_t rate =
        frames > UINT64_MAX / 1'000'000'000ull ? UINT64_MAX : frames * 1'000'000'000ull / elapsed_ns;
    m_last_rate = rate;

    if (m_mode == Mode::interrupts) {
        m_high_samples = rate >= m_settings.polling_from ? m_high_samples + 1 : 0;
        if (m_high_samples >= m_settings.samples_to_poll) {
            m_mode = Mode::polling;
            m_high_samples = 0;
            m_low_samples = 0;
            m_empty_polls = 0;
        }
    } else {
        m_low_samples = rate < m_settings.interrupts_below ? m_low_samples + 1 : 0;
        if (m_low_samples >= m_settings.samples_to_interrupt) {
            m_mode = Mode::interrupts;
            m_low_samples = 0;
            m_high_samples = 0;
        }
    }
    // While polling, interrupts only wake a napping process, which masks
    // them at once: no throttling, so that the first frame after a quiet
    // moment wakes it without delay. (Once polling ends the rate sets ITR.)
    m_itr = m_mode == Mode::polling ? 0 : itr_for_load(rate);
    return {m_mode, m_itr, m_mode != old_mode || m_itr != old_itr};
}

ModerationPolicy::AfterPoll ModerationPolicy::polled(bool found_work)
{
    if (m_mode != Mode::polling || found_work) {
        m_empty_polls = 0;
        return AfterPoll::poll;
    }
    if (++m_empty_polls < m_settings.empty_polls_to_nap)
        return AfterPoll::poll;
    m_empty_polls = 0;
    return AfterPoll::nap;
}

} // namespace e1000
