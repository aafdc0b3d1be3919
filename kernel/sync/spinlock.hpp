// A test-and-test-and-set spinlock. Builds for the host too (host tests).
// Kernel code that can be interrupted while holding a lock that an interrupt
// handler also takes must use IrqSpinlockGuard (kernel only).
#pragma once

#include <atomic>

namespace kernel {

class Spinlock {
public:
    void lock()
    {
        for (;;) {
            if (!m_locked.exchange(true, std::memory_order_acquire))
                return;
            while (m_locked.load(std::memory_order_relaxed))
                __builtin_ia32_pause();
        }
    }
    bool try_lock() { return !m_locked.exchange(true, std::memory_order_acquire); }
    void unlock() { m_locked.store(false, std::memory_order_release); }
    bool is_locked() const { return m_locked.load(std::memory_order_relaxed); }

private:
    std::atomic<bool> m_locked{false};
};

class SpinlockGuard {
public:
    explicit SpinlockGuard(Spinlock& lock) : m_lock(lock) { m_lock.lock(); }
    ~SpinlockGuard() { m_lock.unlock(); }
    SpinlockGuard(const SpinlockGuard&) = delete;
    SpinlockGuard& operator=(const SpinlockGuard&) = delete;

private:
    Spinlock& m_lock;
};

} // namespace kernel
