#include "runtime/cmdline_args.hpp"

namespace tern {

size_t split_args(const char* line, char* storage, size_t storage_size, char** argv, size_t argv_capacity)
{
    if (argv_capacity == 0)
        return 0;
    size_t argc = 0;
    size_t used = 0;
    const char* p = line == nullptr ? "" : line;
    while (argc + 1 < argv_capacity) {
        while (*p == ' ')
            ++p;
        if (*p == '\0')
            break;
        size_t length = 0;
        while (p[length] != '\0' && p[length] != ' ')
            ++length;
        if (length + 1 > storage_size - used)
            break;
        char* word = storage + used;
        for (size_t i = 0; i < length; ++i)
            word[i] = p[i];
        word[length] = '\0';
        used += length + 1;
        argv[argc++] = word;
        p += length;
    }
    argv[argc] = nullptr;
    return argc;
}

const char* find_option(int argc, char* const* argv, const char* key)
{
    for (int i = 1; i < argc; ++i) {
        const char* word = argv[i];
        size_t k = 0;
        while (key[k] != '\0' && word[k] == key[k])
            ++k;
        if (key[k] == '\0' && word[k] == '=')
            return word + k + 1;
    }
    return nullptr;
}

} // namespace tern
