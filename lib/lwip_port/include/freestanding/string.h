/* The part of <string.h> lwIP uses, for the freestanding ring-3 build only
 * (the host build uses the C library's). memcpy, memset, memmove, memcmp and
 * strlen are in lib/base/mem.cpp; strncmp in lib/lwip_port/freestanding.cpp. */
#ifndef TERN_LWIP_STRING_H
#define TERN_LWIP_STRING_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void* memcpy(void* destination, const void* source, size_t size);
void* memset(void* destination, int value, size_t size);
void* memmove(void* destination, const void* source, size_t size);
int memcmp(const void* a, const void* b, size_t size);
size_t strlen(const char* text);
int strcmp(const char* a, const char* b);
int strncmp(const char* a, const char* b, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* TERN_LWIP_STRING_H */
