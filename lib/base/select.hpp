// The k-th smallest element (quickselect), for medians and percentiles in
// benchmarks without sorting. Reorders the values. Plain C++, no OS calls.
#pragma once

#include <cstdint>

namespace tern {

template <typename T>
T kth_smallest(T* values, int64_t count, int64_t k)
{
    int64_t lo = 0, hi = count - 1;
    while (lo < hi) {
        const T pivot = values[lo + (hi - lo) / 2];
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (values[i] < pivot)
                ++i;
            while (values[j] > pivot)
                --j;
            if (i <= j) {
                const T t = values[i];
                values[i++] = values[j];
                values[j--] = t;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            break;
    }
    return values[k];
}

} // namespace tern
