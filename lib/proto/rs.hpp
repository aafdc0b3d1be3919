// The protocol of rs, the reincarnation server (supervisor), declared once
// for rs and its clients. Requests are ipc_call messages to rs; the reply has
// the same type with words[0] = result (>= 0, or -tern::sys::Error).
#pragma once

#include <cstdint>

#include "proto/syscall.hpp"

namespace tern::rs {

enum class Op : uint32_t {
    ds_put = 1,   // words[0..1] = key (16 chars, NUL-padded), words[2..5] = value (32 bytes)
    ds_get = 2,   // words[0..1] = key; reply: words[0] = result, words[2..5] = value
    lookup = 3,   // words[0..1] = service name; reply: words[1] = endpoint
    start = 4,    // words[0..1] = module name, words[2] = core (~0: any); reply: words[1] = endpoint
    crash = 5,    // words[0..1] = service name, words[2] = sys::CrashKind; needs the crash privilege
    kill = 6,     // words[0..1] = service name; needs the crash privilege
    status = 7,   // words[0] = slot; reply: words[1] = endpoint, words[2] = restarts,
                  // words[3] = last recovery time in microseconds (0: none)
};

// The message rs sends as a heartbeat ping is a notification from rs; a
// service answers it with sys::notify(rs). Services started with
// `heartbeat=MS` that miss two pings in a row are restarted.

constexpr size_t key_size = 16;
constexpr size_t value_size = 32;

inline void put_name(sys::Message& m, const char* name)
{
    char* dst = reinterpret_cast<char*>(&m.words[0]);
    size_t i = 0;
    for (; i < key_size && name[i] != '\0'; ++i)
        dst[i] = name[i];
    for (; i < key_size; ++i)
        dst[i] = '\0';
}

// Copies the (not necessarily terminated) name in words[0..1] into `out`.
inline void get_name(const sys::Message& m, char (&out)[key_size + 1])
{
    const char* src = reinterpret_cast<const char*>(&m.words[0]);
    for (size_t i = 0; i < key_size; ++i)
        out[i] = src[i];
    out[key_size] = '\0';
}

} // namespace tern::rs
