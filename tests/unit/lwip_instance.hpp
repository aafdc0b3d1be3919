// One lwIP with its TCP (servers/tcp/lwipopts.h) and the port's IpLayer,
// built as an isolated object (tern_add_isolated_instance): the test links
// two of them and reaches each only through its entry function and this
// interface. What the instance sends is kept for the test to carry to the
// other one, playing ip.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lwip_test {

struct Datagram {
    uint32_t source = 0; // host order
    uint32_t destination = 0;
    uint8_t protocol = 0;
    uint16_t length = 0;
    uint8_t bytes[2048] = {}; // from the transport header on
};

class Instance {
public:
    // lwip_init() (once) and interface 0 with this address, link up.
    virtual void start(uint32_t address, uint8_t prefix) = 0;

    // lwIP's own view: pcbs on its lists, and its pools' use counters.
    virtual unsigned listening_pcbs() const = 0;
    virtual unsigned active_pcbs() const = 0;
    virtual unsigned tcp_pcbs_used() const = 0;    // lwip_stats.memp[MEMP_TCP_PCB]->used
    virtual unsigned listen_pcbs_used() const = 0; // ... MEMP_TCP_PCB_LISTEN

    virtual bool listen(uint16_t port) = 0;                 // accepts one connection
    virtual int connect(uint32_t address, uint16_t port) = 0; // lwIP's err_t
    virtual bool established() const = 0;                   // the connection (connected or accepted)
    virtual bool write(const char* text) = 0;
    virtual size_t take_received(char* out, size_t size) = 0;

    // The oldest datagram lwIP sent that the test has not taken.
    virtual bool next_output(Datagram& out) = 0;
    // ip delivering a datagram: copied into one of the instance's receive
    // buffers, handed to lwIP as a custom pbuf over it.
    virtual bool input(const Datagram& datagram, unsigned interface) = 0;
    virtual size_t buffers_with_lwip() const = 0; // receive buffers not yet given back
    virtual unsigned buffers_released() const = 0;

    virtual void advance(uint32_t ms) = 0; // sys_now() moves on; lwIP's timers run

protected:
    ~Instance() = default;
};

} // namespace lwip_test

// The instance's entry (lwip_tcp_instance.cpp), renamed per instance.
extern "C" lwip_test::Instance* lwip_test_instance();
extern "C" lwip_test::Instance* lwip_instance_a();
extern "C" lwip_test::Instance* lwip_instance_b();
