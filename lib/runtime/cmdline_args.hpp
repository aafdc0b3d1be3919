// Splits a process's command line ("hello core=1 foo") into argv words.
// Pure, so the host tests check it.
#pragma once

#include <cstddef>

namespace tern {

// Copies the space-separated words of `line` (nullptr counts as empty) into
// `storage`, each NUL-terminated, and points argv[0..argc) at them; argv[argc]
// is nullptr. At most `argv_capacity - 1` words are kept; a word that does not
// fit in what is left of `storage` ends the split, so argv only ever holds
// whole words. Returns argc.
size_t split_args(const char* line, char* storage, size_t storage_size, char** argv, size_t argv_capacity);

// The value of the first "key=value" word among argv[1..argc), or nullptr.
const char* find_option(int argc, char* const* argv, const char* key);

} // namespace tern
