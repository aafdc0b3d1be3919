/* Interrupt, exception and system-call entry. Every entry builds the same
 * InterruptFrame (see arch/interrupts.hpp) on the kernel stack and leaves
 * through interrupt_exit:
 *  - interrupts/exceptions: a stub per vector pushes an error code (real or
 *    0) and the vector, then the common path saves the general registers and
 *    calls interrupt_dispatch(frame);
 *  - SYSCALL: syscall_entry switches to the thread's kernel stack, pushes what
 *    the CPU would have pushed for an interrupt (vector 0x100) and calls
 *    syscall_dispatch(frame). It returns with SYSRET when it safely can. */

#define SYSCALL_VECTOR 0x100
#define USER_CS 0x2B
#define USER_SS 0x23

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

    .macro SAVE_REGISTERS
    pushq %rax
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
    testb $3, 24(%rsp)          /* CS of the interrupted context: from ring 3? */
    jz   1f
    swapgs
1:  SAVE_REGISTERS
    mov  %rsp, %rdi
    call interrupt_dispatch
    jmp  interrupt_exit

    .balign 16
    .global syscall_entry
syscall_entry:
    swapgs
    mov  %rsp, %gs:24
    mov  %gs:16, %rsp
    pushq $USER_SS
    pushq %gs:24                /* user rsp */
    pushq %r11                  /* user rflags */
    pushq $USER_CS
    pushq %rcx                  /* user rip */
    pushq $0
    pushq $SYSCALL_VECTOR
    SAVE_REGISTERS
    mov  %rsp, %rdi
    call syscall_dispatch
    /* fall through */

    /* Restores an InterruptFrame at %rsp and returns to where it says. New
     * threads start here too (see thread_start). */
    .global interrupt_exit
interrupt_exit:
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
    cmpq $SYSCALL_VECTOR, (%rsp)
    jne  2f
    /* SYSRET only to a canonical user address (else it would fault in ring 0). */
    mov  16(%rsp), %rcx         /* rip */
    mov  $0x00007FFFFFFFFFFF, %r11
    cmp  %r11, %rcx
    ja   2f
    mov  32(%rsp), %r11         /* rflags */
    mov  40(%rsp), %rsp         /* user rsp; interrupts stay off until SYSRET */
    swapgs
    sysretq
2:  testb $3, 24(%rsp)
    jz   3f
    swapgs
3:  add  $16, %rsp              /* vector and error code */
    iretq

    /* void context_switch(uint64_t* save_rsp, uint64_t new_rsp):
     * saves the callee-saved registers on this stack, stores the stack
     * pointer, and resumes the thread whose stack pointer is new_rsp. */
    .global context_switch
context_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    mov  %rsp, (%rdi)
    mov  %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret

    /* First code of a new thread: context_switch "returns" here with the
     * thread's entry function in %r12 and its argument in %r13. */
    .global thread_start
thread_start:
    call thread_switched_in     /* finish the switch (releases the kernel lock) */
    mov  %r13, %rdi
    call *%r12                  /* user threads: returns to enter user mode */
    jmp  interrupt_exit

    .section .note.GNU-stack, "", @progbits
