#include "data_store.hpp"

namespace rs {

const DataStore::Entry* DataStore::find(const Key& key) const
{
    for (size_t i = 0; i < m_count; ++i) {
        if (__builtin_memcmp(m_entries[i].key, key, sizeof(Key)) == 0)
            return &m_entries[i];
    }
    return nullptr;
}

bool DataStore::put(const Key& key, const Value& value)
{
    auto* entry = const_cast<Entry*>(find(key));
    if (entry == nullptr) {
        if (m_count == capacity)
            return false;
        entry = &m_entries[m_count++];
        __builtin_memcpy(entry->key, key, sizeof(Key));
    }
    __builtin_memcpy(entry->value, value, sizeof(Value));
    return true;
}

bool DataStore::get(const Key& key, Value& value) const
{
    const Entry* entry = find(key);
    if (entry == nullptr)
        return false;
    __builtin_memcpy(value, entry->value, sizeof(Value));
    return true;
}

} // namespace rs
