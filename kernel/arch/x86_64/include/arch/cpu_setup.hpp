// Per-core CPU features the kernel relies on once processes run: SYSCALL/
// SYSRET, SSE for user code (the kernel itself uses only general registers),
// and SMEP/SMAP where the CPU has them.
#pragma once

namespace arch {

void enable_user_mode_support();

} // namespace arch
