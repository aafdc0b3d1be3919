/* Multiboot2 entry. GRUB leaves us in 32-bit protected mode with paging off,
 * EAX = multiboot2 magic, EBX = physical address of the boot information.
 * We build just enough page tables to reach long mode and the higher half:
 *   0 .. 4 GiB identity            (this code, until the jump)
 *   0 .. 4 GiB at DIRECT_MAP_BASE  (boot information, ACPI tables, early heap)
 *   0 .. 1 GiB at -2 GiB           (the kernel image)
 * The kernel replaces these tables with its own as soon as memory is set up. */

#define MB2_MAGIC        0xE85250D6
#define MB2_ARCH_I386    0
#define KERNEL_VIRT_OFFSET 0xFFFFFFFF80000000

#define PTE_PRESENT  0x1
#define PTE_WRITABLE 0x2
#define PTE_HUGE     0x80

    .section .multiboot2, "a"
    .balign 8
mb2_header:
    .long MB2_MAGIC
    .long MB2_ARCH_I386
    .long mb2_header_end - mb2_header
    .long -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
    .balign 8              /* end tag */
    .short 0
    .short 0
    .long 8
mb2_header_end:

    .section .boot.bss, "aw", @nobits
    .balign 4096
early_pml4:      .skip 4096
early_pdpt_low:  .skip 4096
early_pdpt_high: .skip 4096
early_pd:        .skip 4096 * 4
early_stack:     .skip 4096
early_stack_top:

    .section .boot.data, "aw"
    .balign 16
early_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF   /* 0x08: 64-bit kernel code */
    .quad 0x00CF92000000FFFF   /* 0x10: kernel data */
early_gdt_end:
early_gdt_ptr:
    .short early_gdt_end - early_gdt - 1
    .long early_gdt

    .section .boot.text, "ax"
    .code32
    .global _start
_start:
    cli
    cld
    mov  $early_stack_top, %esp
    mov  %eax, %edi                 /* keep magic and info pointer for kernel_main */
    mov  %ebx, %esi

    /* Long mode is required: CPUID 0x80000001 EDX bit 29. */
    mov  $0x80000000, %eax
    cpuid
    cmp  $0x80000001, %eax
    jb   no_long_mode
    mov  $0x80000001, %eax
    cpuid
    test $(1 << 29), %edx
    jz   no_long_mode

    /* Four page directories of 2 MiB pages cover 0..4 GiB. */
    xor  %ecx, %ecx
1:  mov  %ecx, %eax
    shl  $21, %eax
    or   $(PTE_PRESENT | PTE_WRITABLE | PTE_HUGE), %eax
    mov  %eax, early_pd(, %ecx, 8)
    mov  %ecx, %eax
    shr  $11, %eax                  /* bits 32+ of the physical address */
    mov  %eax, early_pd + 4(, %ecx, 8)
    inc  %ecx
    cmp  $2048, %ecx
    jne  1b

    /* Low PDPT: four entries, one per page directory. */
    xor  %ecx, %ecx
2:  mov  %ecx, %eax
    shl  $12, %eax
    add  $early_pd, %eax
    or   $(PTE_PRESENT | PTE_WRITABLE), %eax
    mov  %eax, early_pdpt_low(, %ecx, 8)
    inc  %ecx
    cmp  $4, %ecx
    jne  2b

    /* High PDPT: entry 510 (-2 GiB) -> first page directory (0..1 GiB). */
    mov  $early_pd, %eax
    or   $(PTE_PRESENT | PTE_WRITABLE), %eax
    mov  %eax, early_pdpt_high + 510 * 8

    mov  $early_pdpt_low, %eax
    or   $(PTE_PRESENT | PTE_WRITABLE), %eax
    mov  %eax, early_pml4               /* identity */
    mov  %eax, early_pml4 + 256 * 8     /* direct map at 0xFFFF800000000000 */
    mov  $early_pdpt_high, %eax
    or   $(PTE_PRESENT | PTE_WRITABLE), %eax
    mov  %eax, early_pml4 + 511 * 8     /* kernel image */

    mov  $early_pml4, %eax
    mov  %eax, %cr3
    mov  %cr4, %eax
    or   $(1 << 5), %eax                /* PAE */
    mov  %eax, %cr4
    mov  $0xC0000080, %ecx              /* EFER.LME */
    rdmsr
    or   $(1 << 8), %eax
    wrmsr
    mov  %cr0, %eax
    or   $0x80010001, %eax              /* PG | WP | PE */
    mov  %eax, %cr0

    lgdt early_gdt_ptr
    ljmp $0x08, $long_mode

no_long_mode:
    /* Say so on COM1 and leave QEMU with the "fault" code; on a PC, halt. */
    mov  $no_long_mode_text, %esi
3:  lodsb
    test %al, %al
    jz   4f
    mov  $0x3F8, %dx
    out  %al, %dx
    jmp  3b
4:  mov  $0xF4, %dx
    mov  $0x12, %eax
    out  %eax, %dx
5:  hlt
    jmp  5b

    .code64
long_mode:
    mov  $0x10, %ax
    mov  %ax, %ds
    mov  %ax, %es
    mov  %ax, %ss
    xor  %ax, %ax
    mov  %ax, %fs
    mov  %ax, %gs
    movabs $boot_stack_top, %rsp
    xor  %ebp, %ebp
    mov  %edi, %edi                     /* zero-extend magic and info address */
    mov  %esi, %esi
    movabs $kernel_main, %rax
    call *%rax
6:  cli
    hlt
    jmp  6b

no_long_mode_text:
    .asciz "tern: this CPU has no 64-bit long mode; cannot boot\r\n"

    .section .bss
    .balign 16
    .global boot_stack_top
boot_stack:
    .skip 32768
boot_stack_top:

    .section .note.GNU-stack, "", @progbits
