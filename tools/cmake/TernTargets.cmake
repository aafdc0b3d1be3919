# Compiler set-ups for the three kinds of code Tern builds with the host g++:
#   tern_kernel_flags  freestanding ring-0 code (the kernel)
#   tern_user_flags    freestanding ring-3 programs (servers, drivers, apps)
#   tern_host_flags    host unit tests, with AddressSanitizer and UBSan
# and tern_add_user_program(), which builds a ring-3 program.

set(TERN_FREESTANDING_CXX_FLAGS
    -ffreestanding -fno-exceptions -fno-rtti -fno-asynchronous-unwind-tables
    -fno-stack-protector -fno-pie -fno-pic -fno-threadsafe-statics -fcheck-new
    # GCC would otherwise turn our own memcpy/strlen loops into calls to themselves.
    -fno-tree-loop-distribute-patterns
    # No SSE: the kernel must not touch the FPU state it switches, and in
    # user code (which has no floating point) QEMU's TCG, which runs the tests
    # and benchmarks, executes 16-byte vector moves through its CPU state,
    # slower than 8-byte register moves. With vectorised copies and struct
    # moves the stack streamed 4-15% less (docs/PERFORMANCE.md).
    -mgeneral-regs-only)
set(TERN_WARNINGS -Wall -Wextra -Wno-missing-field-initializers)

add_library(tern_kernel_flags INTERFACE)
target_compile_options(tern_kernel_flags INTERFACE
    $<$<COMPILE_LANGUAGE:CXX>:${TERN_FREESTANDING_CXX_FLAGS} -mno-red-zone -mcmodel=kernel ${TERN_WARNINGS}>
    $<$<COMPILE_LANGUAGE:ASM>:-fno-pie>)
target_link_options(tern_kernel_flags INTERFACE -nostdlib -static -no-pie
    -Wl,-z,max-page-size=0x1000 -Wl,--build-id=none)

add_library(tern_user_flags INTERFACE)
target_compile_options(tern_user_flags INTERFACE
    $<$<COMPILE_LANGUAGE:CXX>:${TERN_FREESTANDING_CXX_FLAGS} ${TERN_WARNINGS}>
    $<$<COMPILE_LANGUAGE:ASM>:-fno-pie>)
target_link_options(tern_user_flags INTERFACE -nostdlib -static -no-pie
    -Wl,-z,max-page-size=0x1000 -Wl,--build-id=none
    -Wl,-T,${CMAKE_SOURCE_DIR}/lib/runtime/user.ld)

add_library(tern_host_flags INTERFACE)
target_compile_options(tern_host_flags INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
    -fno-sanitize-recover=all ${TERN_WARNINGS})
target_link_options(tern_host_flags INTERFACE -fsanitize=address,undefined)

# tern_add_user_program(NAME SOURCES...): NAME.elf, a static ring-3 ELF64
# linked at 0x400000. boot/modules.txt decides which programs boot, and how.
function(tern_add_user_program name)
  add_executable(${name}.elf ${ARGN})
  target_link_libraries(${name}.elf PRIVATE tern_runtime tern_user_flags gcc)
  set_target_properties(${name}.elf PROPERTIES LINK_DEPENDS ${CMAKE_SOURCE_DIR}/lib/runtime/user.ld
      POSITION_INDEPENDENT_CODE OFF)
endfunction()
