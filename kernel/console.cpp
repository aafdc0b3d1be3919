#include "console.hpp"

#include "arch/interrupts.hpp"
#include "arch/ioapic.hpp"
#include "arch/percpu.hpp"
#include "arch/serial.hpp"
#include "log.hpp"
#include "proc/scheduler.hpp"

namespace kernel {
namespace {

using sys::Error;
using sys::error_code;

constexpr uint8_t serial_irq = 4;
constexpr uint8_t serial_vector = arch::vector::device_base + serial_irq;
constexpr size_t buffer_size = 1024;

uint8_t g_buffer[buffer_size];
size_t g_head = 0, g_count = 0;
sys::Endpoint g_reader = 0; // the process blocked in console_read, if any

void on_serial_interrupt(arch::InterruptFrame&)
{
    KernelLockGuard guard;
    uint8_t byte;
    while (arch::serial::read_byte(byte)) {
        if (g_count < buffer_size) {
            g_buffer[(g_head + g_count) % buffer_size] = byte;
            ++g_count;
        }
    }
    Process* reader = process_for(g_reader);
    if (reader != nullptr && g_count > 0) {
        g_reader = 0;
        if (reader->state == sys::ProcessState::blocked && reader->wait == Wait::console) {
            reader->ipc_result = 0;
            make_ready(*reader);
        }
    }
}

} // namespace

void console_init()
{
    arch::set_interrupt_handler(serial_vector, on_serial_interrupt);
    if (arch::ioapic::route_isa_irq(serial_irq, serial_vector, arch::cpu(0).apic_id) < 0)
        log("console: no IOAPIC input for the serial port; no console input");
    arch::serial::enable_receive_interrupt();
}

int64_t console_read(Process& me, uint64_t user_buffer, uint64_t capacity)
{
    if (capacity == 0)
        return 0;
    uint8_t probe = 0;
    if (!me.space.copy_out(user_buffer, &probe, 1))
        return error_code(Error::bad_address);
    while (g_count == 0) {
        if (g_reader != me.endpoint() && process_for(g_reader) != nullptr)
            return error_code(Error::busy); // one reader at a time
        g_reader = me.endpoint();
        block_current(Wait::console);
        if (me.ipc_result != 0)
            return me.ipc_result;
    }
    uint8_t chunk[256];
    size_t n = 0;
    while (n < capacity && n < sizeof(chunk) && g_count > 0) {
        chunk[n++] = g_buffer[g_head];
        g_head = (g_head + 1) % buffer_size;
        --g_count;
    }
    return me.space.copy_out(user_buffer, chunk, n) ? static_cast<int64_t>(n) : error_code(Error::bad_address);
}

int64_t console_write(Process& me, uint64_t user_text, uint64_t length)
{
    char chunk[256];
    uint64_t done = 0;
    while (done < length) {
        const size_t n = length - done < sizeof(chunk) ? static_cast<size_t>(length - done) : sizeof(chunk);
        if (!me.space.copy_in(chunk, user_text + done, n))
            return done > 0 ? static_cast<int64_t>(done) : error_code(Error::bad_address);
        console_write_raw(chunk, n);
        done += n;
    }
    return static_cast<int64_t>(done);
}

} // namespace kernel
