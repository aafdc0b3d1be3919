/* Interrupt and exception entry. Every vector gets a small stub that makes
 * the stack look the same (an error code, real or 0, and the vector number),
 * then the common path saves the general registers into an InterruptFrame
 * (see arch/interrupts.hpp) and calls interrupt_dispatch(frame). */

    .altmacro
    .macro STUB vector
    .balign 16
interrupt_stub_\vector:
    .if (\vector == 8) || ((\vector >= 10) && (\vector <= 14)) || (\vector == 17) || (\vector == 21) || (\vector == 29) || (\vector == 30)
    /* the CPU pushed an error code */
    .else
    pushq $0
    .endif
    pushq $\vector
    jmp  interrupt_common
    .endm

    .section .text
    .balign 16
    .global interrupt_stubs
interrupt_stubs:
    .set vec, 0
    .rept 256
    STUB %vec
    .set vec, vec + 1
    .endr

interrupt_common:
    cld
    /* Coming from ring 3: switch to the kernel's GS base. */
    testb $3, 24(%rsp)          /* CS of the interrupted context */
    jz   1f
    swapgs
1:  pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    mov  %rsp, %rdi
    call interrupt_dispatch
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    testb $3, 24(%rsp)
    jz   2f
    swapgs
2:  add  $16, %rsp              /* vector and error code */
    iretq

    .section .note.GNU-stack, "", @progbits
