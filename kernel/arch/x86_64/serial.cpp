#include "arch/serial.hpp"

#include "arch/cpu.hpp"

namespace arch::serial {
namespace {

constexpr uint16_t com1 = 0x3F8;
enum Register : uint16_t {
    data = 0,
    interrupt_enable = 1,
    fifo_control = 2,
    line_control = 3,
    modem_control = 4,
    line_status = 5,
};
constexpr uint8_t line_status_transmit_empty = 0x20;
constexpr uint8_t line_status_data_ready = 0x01;

void put(char c)
{
    // A missing UART reads as 0xFF; do not spin forever on it.
    for (int i = 0; i < 100000; ++i) {
        if (inb(com1 + line_status) & line_status_transmit_empty)
            break;
        pause();
    }
    outb(com1 + data, static_cast<uint8_t>(c));
}

} // namespace

void init()
{
    outb(com1 + interrupt_enable, 0x00);
    outb(com1 + line_control, 0x80); // divisor latch
    outb(com1 + data, 0x01);         // 115200 baud
    outb(com1 + interrupt_enable, 0x00);
    outb(com1 + line_control, 0x03); // 8N1
    outb(com1 + fifo_control, 0xC5); // FIFO on, 14-byte threshold; keep bytes already received
    outb(com1 + modem_control, 0x03);
}

void enable_receive_interrupt()
{
    outb(com1 + modem_control, 0x0B); // OUT2 gates the UART's interrupt line
    outb(com1 + interrupt_enable, 0x01);
}

bool read_byte(uint8_t& byte)
{
    if ((inb(com1 + line_status) & line_status_data_ready) == 0)
        return false;
    byte = inb(com1 + data);
    return true;
}

void write(const char* text, size_t length)
{
    for (size_t i = 0; i < length; ++i) {
        if (text[i] == '\n')
            put('\r');
        put(text[i]);
    }
}

} // namespace arch::serial
