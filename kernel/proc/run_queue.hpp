// A FIFO run queue threaded through the queued items themselves (no
// allocation): each item has a `next_ready` pointer. Pure; host-tested.
#pragma once

#include <cstddef>

namespace kernel {

template <typename T>
class RunQueue {
public:
    void push(T& item)
    {
        item.next_ready = nullptr;
        if (m_tail != nullptr)
            m_tail->next_ready = &item;
        else
            m_head = &item;
        m_tail = &item;
        ++m_size;
    }

    T* pop()
    {
        T* item = m_head;
        if (item == nullptr)
            return nullptr;
        m_head = item->next_ready;
        if (m_head == nullptr)
            m_tail = nullptr;
        item->next_ready = nullptr;
        --m_size;
        return item;
    }

    // Takes `item` out wherever it is; false if it was not queued here.
    bool remove(T& item)
    {
        T* previous = nullptr;
        for (T* at = m_head; at != nullptr; previous = at, at = at->next_ready) {
            if (at != &item)
                continue;
            (previous != nullptr ? previous->next_ready : m_head) = at->next_ready;
            if (m_tail == at)
                m_tail = previous;
            at->next_ready = nullptr;
            --m_size;
            return true;
        }
        return false;
    }

    bool empty() const { return m_head == nullptr; }
    size_t size() const { return m_size; }

private:
    T* m_head = nullptr;
    T* m_tail = nullptr;
    size_t m_size = 0;
};

} // namespace kernel
