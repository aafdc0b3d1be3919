// Per-core segment descriptors: a GDT with kernel and user segments and a TSS
// whose interrupt stack table gives double faults, NMIs and machine checks a
// known-good stack.
#pragma once

#include <cstdint>

namespace arch {

// Selector values. The order user-data-then-user-code is what SYSRET expects.
namespace selector {
constexpr uint16_t kernel_code = 0x08;
constexpr uint16_t kernel_data = 0x10;
constexpr uint16_t user_data = 0x20 | 3;
constexpr uint16_t user_code = 0x28 | 3;
constexpr uint16_t tss = 0x30;
} // namespace selector

struct [[gnu::packed]] Tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
};
static_assert(sizeof(Tss) == 104);

struct alignas(16) DescriptorTables {
    uint64_t gdt[8];
    Tss tss;
};

// Fills `tables` for one core (ist_tops[i] is the top of IST stack i+1) and
// loads GDT, segment registers and task register on the calling core.
void load_descriptor_tables(DescriptorTables& tables, const uint64_t* ist_tops, int ist_count);

} // namespace arch
