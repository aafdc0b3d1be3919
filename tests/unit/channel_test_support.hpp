// Shared pieces of the host tests of lib/channel (channel_*_test.cpp): ring
// memory that ASan can police, a host "doorbell" standing in for the kernel's
// notification, test messages with sequence numbers and checksums, and
// watchdogs that turn a hang into a test failure with a message.
//
// Threads never call gtest assertions that return (ASSERT_*); they record the
// first failure in a Failure, every loop checks it and stops, and the test
// body checks it after joining.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#include "base/result.hpp"
#include "channel/message.hpp"

namespace tern {
// Lets gtest print "not owner" instead of an integer when an EXPECT_EQ fails.
inline void PrintTo(Error error, std::ostream* os) { *os << error_name(error); }
} // namespace tern

namespace channel_test {

using tern::channel::cache_line;
using tern::channel::Message;
using tern::channel::ring_bytes;
using tern::channel::RingControl;

// How long a sleeper waits for its doorbell before the test calls it a lost
// wake-up, and how long a spinning loop may see no progress before the test
// calls it stuck. Only watchdogs: nothing waits for them to pass.
constexpr auto wake_watchdog = std::chrono::seconds(10);
constexpr auto idle_watchdog = std::chrono::seconds(60);

// A count from the environment, for runs by hand (a longer soak); the test
// suite sets none. Falls back to `fallback` if unset, zero or not a number.
inline uint64_t count_from_env(const char* name, uint64_t fallback)
{
    const char* text = std::getenv(name);
    if (text == nullptr || *text == '\0')
        return fallback;
    char* end = nullptr;
    const unsigned long long value = std::strtoull(text, &end, 10);
    return (end != nullptr && *end == '\0' && value != 0) ? value : fallback;
}

inline void cpu_relax()
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

// xorshift64*: cheap, deterministic per seed.
class Rng {
public:
    explicit Rng(uint64_t seed) : m_state(seed | 1) {}
    uint64_t next()
    {
        m_state ^= m_state >> 12;
        m_state ^= m_state << 25;
        m_state ^= m_state >> 27;
        return m_state * 0x2545F4914F6CDD1Dull;
    }
    // Uniform enough in [0, bound).
    uint32_t below(uint32_t bound) { return static_cast<uint32_t>((next() >> 32) % bound); }
    // In [1, max].
    uint32_t between_1_and(uint32_t max) { return 1 + below(max); }

private:
    uint64_t m_state;
};

// The first failure any thread of a test reports.
class Failure {
public:
    void fail(const std::string& message)
    {
        std::lock_guard lock(m_mutex);
        if (!m_failed.load(std::memory_order_relaxed))
            m_message = message;
        m_failed.store(true, std::memory_order_relaxed);
    }
    bool failed() const { return m_failed.load(std::memory_order_relaxed); }
    std::string message() const
    {
        std::lock_guard lock(m_mutex);
        return m_message;
    }

private:
    mutable std::mutex m_mutex;
    std::atomic<bool> m_failed{false};
    std::string m_message;
};

// Shared memory for one ring: exactly ring_bytes(capacity) bytes from the
// heap, so ASan reports any access past the last slot.
class RingMemory {
public:
    explicit RingMemory(uint32_t capacity, uint32_t first_index = 0)
        : m_capacity(capacity), m_bytes(ring_bytes(capacity)), m_memory(std::aligned_alloc(cache_line, m_bytes))
    {
        tern::channel::ring_init(m_memory, first_index);
    }
    ~RingMemory() { std::free(m_memory); }
    RingMemory(const RingMemory&) = delete;
    RingMemory& operator=(const RingMemory&) = delete;

    void* get() const { return m_memory; }
    size_t bytes() const { return m_bytes; }
    uint32_t capacity() const { return m_capacity; }
    RingControl& control() const { return *static_cast<RingControl*>(m_memory); }

private:
    uint32_t m_capacity;
    size_t m_bytes;
    void* m_memory;
};

// An end of `memory`'s ring, attached (the attach must succeed).
template <typename End>
End attach_end(const RingMemory& memory)
{
    End end;
    const auto attached = end.attach(memory.get(), memory.bytes(), memory.capacity());
    EXPECT_TRUE(attached.ok()) << tern::error_name(attached.error());
    return end;
}

// The host stand-in for a Tern notification: ring() sets a pending flag and
// wakes the sleeper; several rings before a wait merge into one, as the
// kernel's pending notifications do.
class Doorbell {
public:
    enum class Woken {
        at_once, // a notification was already pending: the thread did not block
        blocked, // the thread really waited until somebody rang
        timed_out,
    };

    void ring()
    {
        {
            std::lock_guard lock(m_mutex);
            m_pending = true;
        }
        m_wake.notify_one();
    }

    Woken wait()
    {
        std::unique_lock lock(m_mutex);
        if (m_pending) {
            m_pending = false;
            return Woken::at_once;
        }
        if (!m_wake.wait_for(lock, wake_watchdog, [this] { return m_pending; }))
            return Woken::timed_out;
        m_pending = false;
        return Woken::blocked;
    }

private:
    std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_pending = false;
};

// For loops that spin while the other side catches up: pause, then yield
// (the suite runs on two cores next to other tests), and fail the test if
// there has been no progress for idle_watchdog.
class Idle {
public:
    Idle(Failure& failure, const char* what) : m_failure(failure), m_what(what) {}

    // One round without progress; false when the loop should give up.
    bool wait()
    {
        if (m_failure.failed())
            return false;
        if (++m_rounds < 32) {
            cpu_relax();
            return true;
        }
        std::this_thread::yield();
        if (m_rounds % 256 == 0) {
            const auto now = std::chrono::steady_clock::now();
            if (!m_timing) {
                m_timing = true;
                m_since = now;
            } else if (now - m_since > idle_watchdog) {
                m_failure.fail(std::string(m_what) + ": no progress for " +
                               std::to_string(std::chrono::duration_cast<std::chrono::seconds>(idle_watchdog).count()) +
                               " s");
                return false;
            }
        }
        return true;
    }
    void progress()
    {
        m_rounds = 0;
        m_timing = false;
    }

private:
    Failure& m_failure;
    const char* m_what;
    uint64_t m_rounds = 0;
    bool m_timing = false;
    std::chrono::steady_clock::time_point m_since;
};

// Test messages: sequence number in words[0], payload derived from it, and a
// checksum of everything else in words[4].
constexpr uint32_t data_message = 1;
constexpr uint32_t stop_message = 2;

inline uint64_t mix(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x7FB5D329728EA185ull;
    x ^= x >> 27;
    x *= 0x81DADEF4BC2DD44Dull;
    x ^= x >> 33;
    return x;
}

inline uint64_t checksum(const Message& m)
{
    uint64_t h = 0x9E3779B97F4A7C15ull;
    const uint64_t words[] = {
        uint64_t{m.type} << 32 | m.flags,
        uint64_t{m.buffer.pool} << 32 | m.buffer.index,
        uint64_t{m.buffer.offset} << 32 | m.buffer.length,
        m.words[0],
        m.words[1],
        m.words[2],
        m.words[3],
    };
    for (const uint64_t w : words)
        h = (h ^ w) * 0x100000001B3ull + (h >> 29);
    return h;
}

inline Message make_message(uint64_t seq, uint32_t type = data_message)
{
    Message m{};
    const uint64_t r = mix(seq);
    m.type = type;
    m.flags = static_cast<uint32_t>(seq * 2654435761u);
    m.buffer = {static_cast<uint32_t>(r), static_cast<uint32_t>(r >> 32), static_cast<uint32_t>(seq),
                static_cast<uint32_t>(seq >> 32)};
    m.words[0] = seq;
    m.words[1] = r;
    m.words[2] = ~seq;
    m.words[3] = r * 3 + seq;
    m.words[4] = checksum(m);
    return m;
}

// Empty if `m` is the intact message number `expected` of type `type`.
inline std::string check_message(const Message& m, uint64_t expected, uint32_t type = data_message)
{
    if (m.words[4] != checksum(m))
        return "message " + std::to_string(expected) + ": bad checksum (torn or corrupted; words[0] = " +
               std::to_string(m.words[0]) + ")";
    if (m.words[0] != expected)
        return "expected message " + std::to_string(expected) + ", got " + std::to_string(m.words[0]) +
               (m.words[0] < expected ? " (duplicate or reordered)" : " (lost messages)");
    if (m.type != type)
        return "message " + std::to_string(expected) + ": type " + std::to_string(m.type) + ", expected " +
               std::to_string(type);
    if (m.words[1] != mix(expected))
        return "message " + std::to_string(expected) + ": wrong payload";
    return {};
}

} // namespace channel_test
