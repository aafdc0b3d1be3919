#include "base/sha256.hpp"

namespace tern {
namespace {

// The first 32 bits of the fractional parts of the cube roots of the first
// 64 primes (FIPS 180-4, 4.2.2).
constexpr uint32_t round_constants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

// The first 32 bits of the fractional parts of the square roots of the
// first 8 primes (FIPS 180-4, 5.3.3).
constexpr uint32_t initial_state[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

constexpr uint32_t rotr(uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

uint32_t load_be32(const uint8_t* p)
{
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

void store_be32(uint8_t* p, uint32_t v)
{
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
}

} // namespace

void Sha256::reset()
{
    for (int i = 0; i < 8; ++i)
        m_state[i] = initial_state[i];
    m_length = 0;
    m_filled = 0;
}

void Sha256::compress(const uint8_t* block)
{
    uint32_t w[64];
    for (int i = 0; i < 16; ++i)
        w[i] = load_be32(block + 4 * i);
    for (int i = 16; i < 64; ++i) {
        const uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        const uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = m_state[0], b = m_state[1], c = m_state[2], d = m_state[3];
    uint32_t e = m_state[4], f = m_state[5], g = m_state[6], h = m_state[7];
    for (int i = 0; i < 64; ++i) {
        const uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) +
                            round_constants[i] + w[i];
        const uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    m_state[0] += a;
    m_state[1] += b;
    m_state[2] += c;
    m_state[3] += d;
    m_state[4] += e;
    m_state[5] += f;
    m_state[6] += g;
    m_state[7] += h;
}

void Sha256::update(const void* data, size_t length)
{
    const auto* bytes = static_cast<const uint8_t*>(data);
    m_length += length;
    if (m_filled != 0) {
        while (length != 0 && m_filled != block_size) {
            m_block[m_filled++] = *bytes++;
            --length;
        }
        if (m_filled != block_size)
            return;
        compress(m_block);
        m_filled = 0;
    }
    // Whole blocks straight from the caller's bytes, without copying.
    for (; length >= block_size; bytes += block_size, length -= block_size)
        compress(bytes);
    for (; length != 0; --length)
        m_block[m_filled++] = *bytes++;
}

Sha256::Digest Sha256::finish()
{
    // Padding: 0x80, zeros up to 56 bytes into a block, the length in bits
    // (big-endian, 64 bits).
    const uint64_t bits = m_length * 8;
    m_block[m_filled++] = 0x80;
    if (m_filled > block_size - 8) {
        while (m_filled != block_size)
            m_block[m_filled++] = 0;
        compress(m_block);
        m_filled = 0;
    }
    while (m_filled != block_size - 8)
        m_block[m_filled++] = 0;
    store_be32(m_block + 56, static_cast<uint32_t>(bits >> 32));
    store_be32(m_block + 60, static_cast<uint32_t>(bits));
    compress(m_block);
    Digest digest;
    for (int i = 0; i < 8; ++i)
        store_be32(digest.bytes + 4 * i, m_state[i]);
    reset();
    return digest;
}

Sha256::Hex Sha256::hex(const Digest& digest)
{
    static constexpr char digits[] = "0123456789abcdef";
    Hex hex;
    for (size_t i = 0; i < digest_size; ++i) {
        hex.text[2 * i] = digits[digest.bytes[i] >> 4];
        hex.text[2 * i + 1] = digits[digest.bytes[i] & 0xF];
    }
    hex.text[2 * digest_size] = '\0';
    return hex;
}

Sha256::Digest sha256(const void* data, size_t length)
{
    Sha256 hash;
    hash.update(data, length);
    return hash.finish();
}

} // namespace tern
