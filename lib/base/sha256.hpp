// SHA-256 (FIPS 180-4), incremental: feed bytes with update() in pieces of
// any size, then finish() gives the digest. Plain C++ with no system calls
// and no floating point, so it builds for the kernel, for ring 3 and for the
// host. Used where data must be proven intact end to end (nc -n in the shell,
// the socket tests).
#pragma once

#include <cstddef>
#include <cstdint>

namespace tern {

class Sha256 {
public:
    static constexpr size_t digest_size = 32;
    static constexpr size_t block_size = 64;

    struct Digest {
        uint8_t bytes[digest_size];
        bool operator==(const Digest&) const = default;
    };
    // 64 lower-case hexadecimal digits and a NUL.
    struct Hex {
        char text[2 * digest_size + 1];
    };

    Sha256() { reset(); }

    // Starts a new message (what a fresh object holds).
    void reset();
    void update(const void* data, size_t length);
    // The digest of everything fed since the last reset; the object is then
    // reset, ready for the next message.
    Digest finish();
    // Bytes fed since the last reset.
    uint64_t length() const { return m_length; }

    static Hex hex(const Digest& digest);

private:
    void compress(const uint8_t* block);

    uint32_t m_state[8];
    uint64_t m_length; // bytes
    uint8_t m_block[block_size];
    size_t m_filled; // bytes waiting in m_block
};

// The digest of one buffer.
Sha256::Digest sha256(const void* data, size_t length);

} // namespace tern
