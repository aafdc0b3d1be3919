// xorshift64* (Vigna, 2014) as a byte stream: cheap, deterministic per seed,
// and simple enough to reproduce anywhere (the host tests do it in Python).
// It is test data, not cryptography.
//
// The stream, exactly: state = SEED (0x9E3779B97F4A7C15 if SEED is 0); for
// each 8 bytes, state ^= state >> 12; state ^= state << 25; state ^=
// state >> 27; the word state * 0x2545F4914F6CDD1D (mod 2^64) gives the next
// 8 bytes, least significant first. A length that is not a multiple of 8
// ends with the first bytes of the last word. `nc -n BYTES -s SEED` in the
// shell sends this stream.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tern {

class XorshiftStream {
public:
    static constexpr uint64_t zero_seed_state = 0x9E3779B97F4A7C15ull;

    explicit XorshiftStream(uint64_t seed) : m_state(seed != 0 ? seed : zero_seed_state) {}

    uint64_t next_word()
    {
        m_state ^= m_state >> 12;
        m_state ^= m_state << 25;
        m_state ^= m_state >> 27;
        return m_state * 0x2545F4914F6CDD1Dull;
    }

    // The next `length` bytes of the stream; pieces of any size give the same
    // bytes as one piece.
    void fill(uint8_t* out, size_t length)
    {
        while (length != 0 && m_left != 0) {
            *out++ = static_cast<uint8_t>(m_word);
            m_word >>= 8;
            --m_left;
            --length;
        }
        for (; length >= 8; length -= 8, out += 8) {
            const uint64_t word = next_word();
            for (int i = 0; i < 8; ++i)
                out[i] = static_cast<uint8_t>(word >> (8 * i));
        }
        if (length != 0) {
            m_word = next_word();
            m_left = 8;
            while (length-- != 0) {
                *out++ = static_cast<uint8_t>(m_word);
                m_word >>= 8;
                --m_left;
            }
        }
    }

private:
    uint64_t m_state;
    uint64_t m_word = 0; // the rest of a word cut by the previous fill
    unsigned m_left = 0; // its bytes
};

} // namespace tern
