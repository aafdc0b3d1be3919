// rs's data store: a small key-value table where services keep state that
// must survive their own restart. Keys are up to 16 bytes, values 32 bytes.
// Pure logic, also built for host tests.
#pragma once

#include <cstddef>
#include <cstdint>

#include "proto/rs.hpp"

namespace rs {

class DataStore {
public:
    static constexpr size_t capacity = 128;
    using Key = uint8_t[tern::rs::key_size];
    using Value = uint8_t[tern::rs::value_size];

    // False when the store is full (an existing key is always overwritten).
    bool put(const Key& key, const Value& value);
    bool get(const Key& key, Value& value) const;
    size_t size() const { return m_count; }

private:
    struct Entry {
        Key key;
        Value value;
    };
    const Entry* find(const Key& key) const;

    Entry m_entries[capacity] = {};
    size_t m_count = 0;
};

} // namespace rs
