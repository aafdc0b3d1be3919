/* Entry point of every ring-3 program: a clean frame, an aligned stack,
 * then the C++ start-up code (lib/runtime/start.cpp). */
    .section .text
    .global _start
_start:
    xor  %ebp, %ebp
    and  $-16, %rsp
    call tern_runtime_start
    ud2                         /* tern_runtime_start never returns */

    .section .note.GNU-stack, "", @progbits
