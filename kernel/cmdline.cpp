#include "cmdline.hpp"

namespace kernel {

bool cmdline_value(const char* cmdline, const char* key, char* value, size_t value_size)
{
    size_t key_length = 0;
    while (key[key_length] != '\0')
        ++key_length;
    const char* p = cmdline;
    while (*p != '\0') {
        while (*p == ' ')
            ++p;
        const char* word = p;
        while (*p != '\0' && *p != ' ')
            ++p;
        const size_t word_length = static_cast<size_t>(p - word);
        bool match = word_length > key_length && word[key_length] == '=';
        for (size_t i = 0; match && i < key_length; ++i)
            match = word[i] == key[i];
        if (!match)
            continue;
        const size_t length = word_length - key_length - 1;
        if (length + 1 > value_size)
            return false;
        for (size_t i = 0; i < length; ++i)
            value[i] = word[key_length + 1 + i];
        value[length] = '\0';
        return true;
    }
    return false;
}

} // namespace kernel
