/* lwIP's port header for Tern (lwip/arch.h includes it first of all). The
 * same file serves the freestanding ring-3 build (TERN_LWIP_FREESTANDING,
 * set by tern_add_lwip()) and the host tests. Plain C: lwIP's own sources
 * include it too. */
#ifndef TERN_LWIP_ARCH_CC_H
#define TERN_LWIP_ARCH_CC_H

#include <stdint.h>

/* Byte order: lwIP's default, little endian (not defined here: glibc's
 * <endian.h> defines BYTE_ORDER too, and host code may include both). */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "lwIP's port assumes a little-endian machine"
#endif

/* Formats for lwIP's diagnostics, which tern::format understands too (it
 * has no 'h' modifier: 16-bit values are promoted to int anyway). */
#define LWIP_NO_INTTYPES_H 1
#define X8_F "02x"
#define U16_F "u"
#define S16_F "d"
#define X16_F "x"
#define U32_F "u"
#define S32_F "d"
#define X32_F "x"
#define SZT_F "zu"

/* lwIP's own isdigit() & co. instead of <ctype.h>. */
#define LWIP_NO_CTYPE_H 1

#if defined(TERN_LWIP_FREESTANDING)
/* GCC's freestanding <limits.h> needs the C library's; lwIP only wants
 * INT_MAX and ssize_t from it, and <unistd.h> not at all. */
#define LWIP_NO_LIMITS_H 1
#define LWIP_NO_UNISTD_H 1
#ifndef INT_MAX
#define INT_MAX __INT_MAX__
#endif
#ifndef SSIZE_MAX
#define SSIZE_MAX __LONG_MAX__
#endif
typedef long ssize_t;
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Implemented in C++ by the port (lib/lwip_port/platform_*.cpp): a line of
 * diagnostics (printf-style), and a failed LWIP_ASSERT, which ends the
 * process (Tern) or aborts the test (host). */
void tern_lwip_diag(const char* format, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void tern_lwip_assert(const char* message, const char* file, int line);

/* Random numbers: provided by each server (lwIP uses them for the first
 * ephemeral port and, through LWIP_HOOK_TCP_ISN in the tcp server's
 * lwipopts.h, for initial sequence numbers). */
uint32_t tern_lwip_random(void);

#ifdef __cplusplus
}
#endif

#define LWIP_PLATFORM_DIAG(x) \
    do {                      \
        tern_lwip_diag x;     \
    } while (0)
#define LWIP_PLATFORM_ASSERT(message) tern_lwip_assert((message), __FILE__, __LINE__)
#define LWIP_RAND() tern_lwip_random()

#endif /* TERN_LWIP_ARCH_CC_H */
