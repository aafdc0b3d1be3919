#include "arch/cpu_setup.hpp"

#include "arch/cpu.hpp"
#include "arch/descriptors.hpp"

extern "C" void syscall_entry();

namespace arch {
namespace {

constexpr uint32_t msr_star = 0xC0000081;
constexpr uint32_t msr_lstar = 0xC0000082;
constexpr uint32_t msr_fmask = 0xC0000084;
constexpr uint64_t efer_sce = 1;
// RFLAGS bits cleared on SYSCALL: IF (interrupts stay off in the kernel), TF, DF, AC.
constexpr uint64_t syscall_flag_mask = (1u << 9) | (1u << 8) | (1u << 10) | (1u << 18);

constexpr uint64_t cr0_mp = 1u << 1, cr0_em = 1u << 2;
constexpr uint64_t cr4_osfxsr = 1u << 9, cr4_osxmmexcpt = 1u << 10, cr4_smep = 1u << 20, cr4_smap = 1u << 21;

} // namespace

void enable_user_mode_support()
{
    wrmsr(msr::efer, rdmsr(msr::efer) | efer_sce);
    // SYSCALL loads CS = 0x08, SS = 0x10; SYSRET loads CS = 0x18 + 16, SS = 0x18 + 8 (both | 3).
    static_assert(selector::user_code == ((0x18 + 16) | 3) && selector::user_data == ((0x18 + 8) | 3));
    wrmsr(msr_star, (uint64_t{0x18} << 48) | (uint64_t{selector::kernel_code} << 32));
    wrmsr(msr_lstar, reinterpret_cast<uint64_t>(&syscall_entry));
    wrmsr(msr_fmask, syscall_flag_mask);

    write_cr0((read_cr0() & ~cr0_em) | cr0_mp);
    uint64_t cr4 = read_cr4() | cr4_osfxsr | cr4_osxmmexcpt;
    const CpuidResult features = cpuid(7, 0);
    if (features.ebx & (1u << 7))
        cr4 |= cr4_smep; // the kernel never runs user pages
    if (features.ebx & (1u << 20))
        cr4 |= cr4_smap; // nor touches them directly: it copies through the direct map
    write_cr4(cr4);
}

} // namespace arch
