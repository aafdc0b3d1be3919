// Adaptive interrupt moderation: pure logic that the driver process feeds
// with how many frames it moved, and that answers how the device should
// interrupt. Light load: every frame interrupts at once (lowest latency).
// Heavier load: ITR spaces interrupts out so each one finds a batch. Sustained
// heavy load: the process polls the rings with interrupts off, since then an
// interrupt (a kernel entry, a notification, a wake-up) per batch is pure
// overhead; when a few polls in a row find nothing it naps, asleep with
// interrupts on until there is work, as Linux's NAPI does, so an idle
// moment costs no CPU. Hysteresis (several samples in a row) keeps it from
// flapping.
#pragma once

#include <cstdint>

namespace e1000 {

class ModerationPolicy {
public:
    enum class Mode : uint8_t { interrupts, polling };

    struct Settings {
        // Frames per second (received plus sent) ...
        uint32_t low_latency_below = 10'000; // ... under which interrupts are not throttled (ITR 0)
        uint32_t bulk_from = 40'000;         // ... from which interrupts are spaced for bulk traffic
        uint32_t polling_from = 120'000;     // ... from which, `samples_to_poll` samples in a row, we poll
        uint32_t interrupts_below = 60'000;  // ... under which, `samples_to_interrupt` samples in a row, we stop polling
        uint32_t samples_to_poll = 2;
        uint32_t samples_to_interrupt = 3;
        // Interrupt rates the ITR values aim at.
        uint32_t moderate_interrupts_per_second = 20'000;
        uint32_t bulk_interrupts_per_second = 8'000;
        // While polling: consecutive polls that find nothing before the
        // process naps (sleeps with interrupts on until the device or its
        // peer has work).
        uint32_t empty_polls_to_nap = 4;
    };

    // What a polling process does after a poll of the rings.
    enum class AfterPoll : uint8_t { poll, nap };

    struct Decision {
        Mode mode;
        uint32_t itr;  // the ITR value to program (256 ns units; 0: no throttling)
        bool changed;  // mode or itr differs from the previous decision
    };

    ModerationPolicy() : ModerationPolicy(Settings{}) {}
    explicit ModerationPolicy(const Settings& settings) : m_settings(settings) {}

    // One sample: `frames` moved during the last `elapsed_ns`. The caller
    // applies the decision when `changed` (ITR write, interrupt mask).
    Decision sample(uint64_t frames, uint64_t elapsed_ns);

    // While polling, after each poll of the rings: `found_work` says whether
    // it moved anything. Polling itself ends only with the samples.
    AfterPoll polled(bool found_work);

    Mode mode() const { return m_mode; }
    uint32_t itr() const { return m_itr; }
    uint64_t last_rate() const { return m_last_rate; }

    // The ITR value that allows at most `per_second` interrupts a second.
    static uint32_t itr_for_rate(uint32_t per_second);

private:
    uint32_t itr_for_load(uint64_t frames_per_second) const;

    Settings m_settings;
    Mode m_mode = Mode::interrupts;
    uint32_t m_itr = 0;
    uint64_t m_last_rate = 0;
    uint32_t m_high_samples = 0;
    uint32_t m_low_samples = 0;
    uint32_t m_empty_polls = 0;
};

} // namespace e1000
