/* Application-processor start-up code. The boot core copies the bytes between
 * ap_trampoline_start and ap_trampoline_end to a free page below 1 MiB, fills in
 * the parameter block at its end (see arch/smp.cpp, struct TrampolineParams)
 * and sends INIT-SIPI-SIPI with that page as the start vector.
 * The AP starts in real mode at CS:IP = page:0. The code works at any page
 * because it finds its own linear base from CS and patches its pointers. */

#define OFF(label) ((label) - ap_trampoline_start)

    .section .rodata, "a"
    .global ap_trampoline_start, ap_trampoline_end
    .code16
ap_trampoline_start:
    cli
    cld
    mov  %cs, %ax
    mov  %ax, %ds
    movzwl %ax, %ebx
    shl  $4, %ebx                               /* ebx = linear base of this page */

    /* Patch the absolute addresses this copy needs. */
    lea  OFF(tramp_gdt)(%ebx), %eax
    mov  %eax, OFF(tramp_gdt_base)
    lea  OFF(tramp_protected)(%ebx), %eax
    mov  %eax, OFF(tramp_far32)
    lea  OFF(tramp_long)(%ebx), %eax
    mov  %eax, OFF(tramp_far64)

    lgdtl OFF(tramp_gdt_ptr)
    mov  %cr0, %eax
    or   $1, %eax                               /* PE */
    mov  %eax, %cr0
    ljmpl *OFF(tramp_far32)

    .code32
tramp_protected:
    mov  $0x10, %ax
    mov  %ax, %ds
    mov  %ax, %es
    mov  %ax, %ss
    mov  %cr4, %eax
    or   $(1 << 5), %eax                        /* PAE */
    mov  %eax, %cr4
    mov  OFF(param_cr3)(%ebx), %eax
    mov  %eax, %cr3
    mov  $0xC0000080, %ecx                      /* EFER: LME (+ NXE if the kernel uses it) */
    rdmsr
    or   OFF(param_efer)(%ebx), %eax
    wrmsr
    mov  %cr0, %eax
    or   $0x80010000, %eax                      /* PG | WP */
    mov  %eax, %cr0
    ljmp *OFF(tramp_far64)(%ebx)

    .code64
tramp_long:
    mov  $0x10, %ax
    mov  %ax, %ds
    mov  %ax, %es
    mov  %ax, %ss
    xor  %ax, %ax
    mov  %ax, %fs
    mov  %ax, %gs
    mov  %ebx, %ebx                             /* upper half is undefined after the switch */
    mov  OFF(param_stack)(%rbx), %rsp
    mov  OFF(param_argument)(%rbx), %rdi
    xor  %ebp, %ebp
    jmp  *OFF(param_entry)(%rbx)                /* never returns */

    .balign 8
tramp_gdt:
    .quad 0
    .quad 0x00CF9A000000FFFF                    /* 0x08: 32-bit code */
    .quad 0x00CF92000000FFFF                    /* 0x10: data */
    .quad 0x00AF9A000000FFFF                    /* 0x18: 64-bit code */
tramp_gdt_end:
tramp_gdt_ptr:
    .short tramp_gdt_end - tramp_gdt - 1
tramp_gdt_base:
    .long 0
tramp_far32:
    .long 0
    .short 0x08
tramp_far64:
    .long 0
    .short 0x18

    /* Parameter block, filled in by the boot core (TrampolineParams). */
    .balign 8
    .global ap_trampoline_params
ap_trampoline_params:
param_cr3:      .long 0
param_efer:     .long 0
param_stack:    .quad 0
param_entry:    .quad 0
param_argument: .quad 0
ap_trampoline_end:

    .section .note.GNU-stack, "", @progbits
