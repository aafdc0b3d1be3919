// Dynamic memory for ring-3 programs: the C allocation functions in namespace
// tern (not extern "C": nothing in Tern needs C linkage yet; a C library such
// as lwIP is pointed at these through its own configuration macros). operator
// new/delete use the same allocator, and `new` ends the process with
// "out of memory" rather than return nullptr (the nothrow forms do return it).
//
// Blocks are 16-byte aligned. Freeing a pointer that did not come from here,
// or freeing one twice, ends the process with abort and a message. Memory
// comes from mem_map; see runtime/allocator.hpp for how it is organised.
#pragma once

#include <cstddef>

namespace tern {

void* malloc(size_t size);                       // nullptr when out of memory
void* calloc(size_t count, size_t size);         // zeroed; nullptr on overflow too
void* realloc(void* pointer, size_t size);       // nullptr: failure, the old block stays
void* aligned_alloc(size_t alignment, size_t size); // power of two up to 4096
void free(void* pointer);                        // nullptr is fine

} // namespace tern
