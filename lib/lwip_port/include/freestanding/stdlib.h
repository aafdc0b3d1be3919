/* The part of <stdlib.h> lwIP uses (netif_find's atoi), for the
 * freestanding ring-3 build only; atoi is in lib/lwip_port/freestanding.cpp. */
#ifndef TERN_LWIP_STDLIB_H
#define TERN_LWIP_STDLIB_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

int atoi(const char* text);

#ifdef __cplusplus
}
#endif

#endif /* TERN_LWIP_STDLIB_H */
