#include "arch/descriptors.hpp"


namespace arch {
namespace {

// Flat 64-bit segments: only the access byte and the L/D bits matter.
constexpr uint64_t kernel_code_descriptor = 0x00AF9A000000FFFF;
constexpr uint64_t kernel_data_descriptor = 0x00CF92000000FFFF;
constexpr uint64_t user_data_descriptor = 0x00CFF2000000FFFF;
constexpr uint64_t user_code_descriptor = 0x00AFFA000000FFFF;

struct [[gnu::packed]] DescriptorPointer {
    uint16_t limit;
    uint64_t base;
};

} // namespace

void load_descriptor_tables(DescriptorTables& t, const uint64_t* ist_tops, int ist_count)
{
    t.tss = Tss{};
    for (int i = 0; i < ist_count && i < 7; ++i)
        t.tss.ist[i] = ist_tops[i];
    t.tss.iomap_base = sizeof(Tss); // no I/O permission bitmap

    t.gdt[0] = 0;
    t.gdt[1] = kernel_code_descriptor;
    t.gdt[2] = kernel_data_descriptor;
    t.gdt[3] = 0; // 32-bit user code: not supported
    t.gdt[4] = user_data_descriptor;
    t.gdt[5] = user_code_descriptor;
    // 16-byte available 64-bit TSS descriptor.
    const auto base = reinterpret_cast<uint64_t>(&t.tss);
    const uint64_t limit = sizeof(Tss) - 1;
    t.gdt[6] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (0x89ull << 40) | ((limit >> 16) & 0xF) << 48 |
               ((base >> 24) & 0xFF) << 56;
    t.gdt[7] = base >> 32;

    const DescriptorPointer gdtr{sizeof(t.gdt) - 1, reinterpret_cast<uint64_t>(t.gdt)};
    asm volatile("lgdt %0" : : "m"(gdtr));
    // Reload CS with a far return, then the data segments and the task register.
    asm volatile("pushq %[code]\n"
                 "leaq 1f(%%rip), %%rax\n"
                 "pushq %%rax\n"
                 "lretq\n"
                 "1:\n"
                 "movw %[data], %%ax\n"
                 "movw %%ax, %%ds\n"
                 "movw %%ax, %%es\n"
                 "movw %%ax, %%ss\n"
                 :
                 : [code] "i"(selector::kernel_code), [data] "i"(selector::kernel_data)
                 : "rax", "memory");
    asm volatile("ltr %0" : : "r"(selector::tss));
}

} // namespace arch
