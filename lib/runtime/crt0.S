/* Entry point of every ring-3 program. The kernel starts it with
 *   rdi = the command line (a NUL-terminated string on the user stack)
 *   rsi = rs's endpoint
 *   rsp = just below the command line
 * and both arguments go unchanged to tern_runtime_start (lib/runtime/start.cpp)
 * as its first two parameters, after a clean frame and an aligned stack. */
    .section .text
    .global _start
_start:
    xor  %ebp, %ebp
    and  $-16, %rsp
    call tern_runtime_start     /* (rdi, rsi) untouched */
    ud2                         /* tern_runtime_start never returns */

    .section .note.GNU-stack, "", @progbits
