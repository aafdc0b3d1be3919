// The state crashtest keeps in rs's data store (key "crashtest") so that it
// survives crashtest's own crashes: a generation counter and three redundant
// copies of it, which a corrupted or half-written value would not match.
// Shared by crashtest and crashloop.
#pragma once

#include <cstdint>

namespace crashtest {

constexpr char data_store_key[] = "crashtest";
constexpr uint64_t magic = 0x7473657468736172; // "rashtest"

struct State {
    uint64_t generation; // the next start's generation
    uint64_t inverted;   // ~generation
    uint64_t scrambled;  // generation * golden ratio constant
    uint64_t tag;        // magic

    static State of(uint64_t generation)
    {
        return State{generation, ~generation, generation * 0x9E3779B97F4A7C15ull, magic};
    }
    bool valid() const { return inverted == ~generation && scrambled == generation * 0x9E3779B97F4A7C15ull && tag == magic; }
};
static_assert(sizeof(State) == 32);

} // namespace crashtest
