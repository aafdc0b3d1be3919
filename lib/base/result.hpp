// Error handling without exceptions: functions that can fail return
// Result<T> (a value or an Error) and callers must look at it.
#pragma once

#include <new>
#include <type_traits>
#include <utility>

namespace tern {

enum class Error {
    none = 0,
    out_of_memory,
    invalid_argument,
    not_found,
    malformed, // input from firmware, another process or the network failed validation
    unsupported,
    timed_out,
    busy,
    not_owner, // a reference to something the sender does not hold
};

const char* error_name(Error error);

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : m_error(Error::none) { new (&m_value) T(std::move(value)); } // NOLINT: implicit by design
    Result(Error error) : m_error(error) {}                                          // NOLINT: implicit by design
    Result(const Result& other) : m_error(other.m_error)
    {
        if (ok())
            new (&m_value) T(other.m_value);
    }
    Result& operator=(const Result&) = delete;
    ~Result()
    {
        if (ok())
            m_value.~T();
    }

    bool ok() const { return m_error == Error::none; }
    Error error() const { return m_error; }
    T& value() { return m_value; }
    const T& value() const { return m_value; }
    T value_or(T fallback) const { return ok() ? m_value : fallback; }

private:
    Error m_error;
    union {
        T m_value;
    };
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() : m_error(Error::none) {}
    Result(Error error) : m_error(error) {} // NOLINT: implicit by design
    bool ok() const { return m_error == Error::none; }
    Error error() const { return m_error; }

private:
    Error m_error;
};

// Propagates a failure to the caller: `auto x = TRY(f());`
#define TRY(expression)                                                                                                \
    ({                                                                                                                 \
        auto _tern_result = (expression);                                                                              \
        if (!_tern_result.ok())                                                                                        \
            return _tern_result.error();                                                                               \
        std::move(_tern_result.value());                                                                               \
    })

} // namespace tern
