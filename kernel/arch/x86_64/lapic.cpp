#include "arch/lapic.hpp"

#include "arch/clock.hpp"
#include "arch/cpu.hpp"
#include "arch/interrupts.hpp"

namespace arch::lapic {
namespace {

// Register offsets in bytes.
enum Register : uint32_t {
    reg_id = 0x020,
    reg_tpr = 0x080,
    reg_eoi = 0x0B0,
    reg_svr = 0x0F0,
    reg_esr = 0x280,
    reg_icr_low = 0x300,
    reg_icr_high = 0x310,
    reg_lvt_timer = 0x320,
    reg_lvt_lint0 = 0x350,
    reg_lvt_lint1 = 0x360,
    reg_lvt_error = 0x370,
    reg_timer_initial = 0x380,
    reg_timer_current = 0x390,
    reg_timer_divide = 0x3E0,
};

constexpr uint32_t svr_enable = 1u << 8;
constexpr uint32_t lvt_masked = 1u << 16;
constexpr uint32_t lvt_periodic = 1u << 17;
constexpr uint32_t icr_pending = 1u << 12;
constexpr uint32_t icr_level_assert = 1u << 14;
constexpr uint32_t icr_init = 5u << 8;
constexpr uint32_t icr_startup = 6u << 8;
constexpr uint32_t icr_all_but_self = 3u << 18;
constexpr uint32_t divide_by_16 = 0x3;

volatile uint32_t* g_registers = nullptr;
uint64_t g_timer_hz = 0;

uint32_t read(Register r) { return g_registers[r / 4]; }
void write(Register r, uint32_t value) { g_registers[r / 4] = value; }

void wait_for_delivery()
{
    for (int i = 0; i < 1000000 && (read(reg_icr_low) & icr_pending) != 0; ++i)
        pause();
}

void send(uint32_t apic_id, uint32_t command)
{
    write(reg_icr_high, apic_id << 24);
    write(reg_icr_low, command);
    wait_for_delivery();
}

} // namespace

void set_base(volatile uint32_t* registers) { g_registers = registers; }

void init_this_cpu()
{
    write(reg_tpr, 0);
    write(reg_lvt_lint0, lvt_masked); // legacy PIC path unused: IOAPIC routes devices
    write(reg_lvt_error, lvt_masked);
    write(reg_lvt_timer, lvt_masked);
    write(reg_svr, svr_enable | vector::spurious);
    write(reg_esr, 0);
    write(reg_esr, 0);
}

uint32_t id() { return read(reg_id) >> 24; }
void eoi() { write(reg_eoi, 0); }

void send_init(uint32_t apic_id) { send(apic_id, icr_init | icr_level_assert); }
void send_startup(uint32_t apic_id, uint8_t start_page) { send(apic_id, icr_startup | start_page); }
void send_ipi(uint32_t apic_id, uint8_t vector) { send(apic_id, vector); }

void send_ipi_to_others(uint8_t vector)
{
    if (g_registers != nullptr)
        send(0, icr_all_but_self | vector);
}

void calibrate_timer()
{
    write(reg_timer_divide, divide_by_16);
    write(reg_lvt_timer, lvt_masked);
    uint64_t best = ~0ull;
    for (int i = 0; i < 3; ++i) {
        write(reg_timer_initial, 0xFFFFFFFF);
        clock::pit_wait_us(10000);
        const uint64_t elapsed = 0xFFFFFFFFu - read(reg_timer_current);
        if (elapsed < best)
            best = elapsed;
    }
    write(reg_timer_initial, 0);
    g_timer_hz = best * 100 * 16; // counts per second before the divider
}

uint64_t timer_hz() { return g_timer_hz; }

void start_periodic_timer(uint32_t hz)
{
    write(reg_timer_divide, divide_by_16);
    write(reg_lvt_timer, lvt_periodic | vector::lapic_timer);
    uint64_t count = g_timer_hz / 16 / hz;
    if (count == 0)
        count = 1;
    write(reg_timer_initial, static_cast<uint32_t>(count > 0xFFFFFFFFu ? 0xFFFFFFFFu : count));
}

} // namespace arch::lapic
