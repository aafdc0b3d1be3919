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

size_t process_cmdline(const char* module_line, const char* name, const char* kernel_line, char* out, size_t size)
{
    if (size == 0)
        return 0;
    size_t length = 0;
    // Appends [word, word + count) if it fits whole.
    auto append = [&](const char* word, size_t count, bool space) {
        if (length + (space ? 1 : 0) + count + 1 > size)
            return false;
        if (space)
            out[length++] = ' ';
        for (size_t i = 0; i < count; ++i)
            out[length++] = word[i];
        return true;
    };
    for (const char* p = module_line; *p != '\0';) {
        while (*p == ' ')
            ++p;
        const char* word = p;
        while (*p != '\0' && *p != ' ')
            ++p;
        if (p != word && !append(word, static_cast<size_t>(p - word), length != 0))
            break;
    }
    size_t name_length = 0;
    while (name[name_length] != '\0')
        ++name_length;
    for (const char* p = kernel_line; name_length != 0 && *p != '\0';) {
        while (*p == ' ')
            ++p;
        const char* word = p;
        while (*p != '\0' && *p != ' ')
            ++p;
        const size_t word_length = static_cast<size_t>(p - word);
        bool match = word_length > name_length + 1 && word[name_length] == '.';
        for (size_t i = 0; match && i < name_length; ++i)
            match = word[i] == name[i];
        if (match && !append(word + name_length + 1, word_length - name_length - 1, length != 0))
            break;
    }
    out[length] = '\0';
    return length;
}

} // namespace kernel
