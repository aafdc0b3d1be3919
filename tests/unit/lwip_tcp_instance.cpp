// lwip_instance.hpp's Instance: lwIP's TCP over the port's IpLayer, with
// ip played by the test. Built twice as isolated objects (see
// tests/unit/CMakeLists.txt), so each copy has its own lwIP.
#include <cstring>

#include "lwip/init.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/stats.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "lwip_instance.hpp"
#include "lwip_port/external_pbufs.hpp"
#include "lwip_port/ip_layer.hpp"

namespace {

uint32_t g_now_ms = 0;
uint32_t g_random = 0x2545F491;

constexpr unsigned receive_buffers = 64;
constexpr unsigned output_queue = 64;

class TcpInstance final : public lwip_test::Instance, tern::lwip::IpOutput, tern::lwip::ExternalRelease<unsigned> {
public:
    TcpInstance()
    {
        for (unsigned i = 0; i < receive_buffers; ++i)
            m_next_free[i] = i + 1;
        m_free_buffer = 0;
    }

    void start(uint32_t address, uint8_t prefix) override
    {
        if (!m_started) {
            lwip_init();
            m_layer.set_output(this);
            m_started = true;
        }
        (void)m_layer.interface_changed(0, address, prefix, 1500, true, false);
    }

    unsigned listening_pcbs() const override { return count(tcp_listen_pcbs.pcbs); }
    unsigned active_pcbs() const override { return count(tcp_active_pcbs); }
    unsigned tcp_pcbs_used() const override { return lwip_stats.memp[MEMP_TCP_PCB]->used; }
    unsigned listen_pcbs_used() const override { return lwip_stats.memp[MEMP_TCP_PCB_LISTEN]->used; }

    bool listen(uint16_t port) override
    {
        struct tcp_pcb* pcb = tcp_new();
        if (pcb == nullptr || tcp_bind(pcb, IP4_ADDR_ANY, port) != ERR_OK)
            return false;
        struct tcp_pcb* listener = tcp_listen(pcb);
        if (listener == nullptr)
            return false;
        tcp_arg(listener, this);
        tcp_accept(listener, [](void* arg, struct tcp_pcb* accepted, err_t err) -> err_t {
            auto* self = static_cast<TcpInstance*>(arg);
            if (err != ERR_OK || accepted == nullptr || self->m_connection != nullptr)
                return ERR_VAL;
            self->attach(accepted);
            return ERR_OK;
        });
        return true;
    }

    int connect(uint32_t address, uint16_t port) override
    {
        struct tcp_pcb* pcb = tcp_new();
        if (pcb == nullptr)
            return ERR_MEM;
        const ip_addr_t to = tern::lwip::to_lwip(address);
        const err_t err = tcp_connect(pcb, &to, port, [](void* arg, struct tcp_pcb*, err_t) -> err_t {
            static_cast<TcpInstance*>(arg)->m_connected = true;
            return ERR_OK;
        });
        if (err != ERR_OK) {
            tcp_abort(pcb);
            return err;
        }
        attach(pcb);
        return ERR_OK;
    }

    bool established() const override { return m_connection != nullptr && m_connection->state == ESTABLISHED; }

    bool write(const char* text) override
    {
        return m_connection != nullptr &&
               tcp_write(m_connection, text, static_cast<u16_t>(std::strlen(text)), TCP_WRITE_FLAG_COPY) == ERR_OK &&
               tcp_output(m_connection) == ERR_OK;
    }

    size_t take_received(char* out, size_t size) override
    {
        const size_t n = m_received < size ? m_received : size;
        std::memcpy(out, m_text, n);
        std::memmove(m_text, m_text + n, m_received - n);
        m_received -= n;
        return n;
    }

    bool next_output(lwip_test::Datagram& out) override
    {
        if (m_output_count == 0)
            return false;
        out = m_output[m_output_head];
        m_output_head = (m_output_head + 1) % output_queue;
        --m_output_count;
        return true;
    }

    bool input(const lwip_test::Datagram& datagram, unsigned interface) override
    {
        if (m_free_buffer == receive_buffers || datagram.length > sizeof(m_buffers[0]))
            return false;
        const unsigned index = m_free_buffer;
        m_free_buffer = m_next_free[index];
        std::memcpy(m_buffers[index], datagram.bytes, datagram.length);
        struct pbuf* p = m_pbufs.wrap(m_buffers[index], datagram.length, index);
        if (p == nullptr) {
            release(index);
            return false;
        }
        return m_layer.input(p, datagram.source, datagram.destination, interface, datagram.protocol);
    }

    size_t buffers_with_lwip() const override { return m_pbufs.in_use(); }
    unsigned buffers_released() const override { return m_released; }

    void advance(uint32_t ms) override
    {
        g_now_ms += ms;
        sys_check_timeouts();
    }

private:
    // IpOutput: lwIP sent a datagram; keep a copy for the test.
    err_t output(struct pbuf* p, uint32_t source, uint32_t destination, uint8_t protocol) override
    {
        if (m_output_count == output_queue || p->tot_len > sizeof(lwip_test::Datagram::bytes))
            return ERR_MEM;
        lwip_test::Datagram& d = m_output[(m_output_head + m_output_count) % output_queue];
        d.source = source;
        d.destination = destination;
        d.protocol = protocol;
        d.length = pbuf_copy_partial(p, d.bytes, p->tot_len, 0);
        ++m_output_count;
        return ERR_OK;
    }

    // ExternalRelease: lwIP let go of a receive buffer.
    void release(const unsigned& index) override
    {
        m_next_free[index] = m_free_buffer;
        m_free_buffer = index;
        ++m_released;
    }

    void attach(struct tcp_pcb* pcb)
    {
        m_connection = pcb;
        tcp_arg(pcb, this);
        // lwIP freed the pcb (aborted, reset): forget it.
        tcp_err(pcb, [](void* arg, err_t) { static_cast<TcpInstance*>(arg)->m_connection = nullptr; });
        tcp_recv(pcb, [](void* arg, struct tcp_pcb* pcb, struct pbuf* p, err_t) -> err_t {
            auto* self = static_cast<TcpInstance*>(arg);
            if (p == nullptr)
                return ERR_OK; // the peer closed
            const u16_t room = static_cast<u16_t>(sizeof(self->m_text) - self->m_received);
            const u16_t n = pbuf_copy_partial(p, self->m_text + self->m_received, room, 0);
            self->m_received += n;
            tcp_recved(pcb, p->tot_len);
            pbuf_free(p);
            return ERR_OK;
        });
    }

    template <typename Pcb>
    static unsigned count(Pcb* list)
    {
        unsigned n = 0;
        for (; list != nullptr; list = list->next)
            ++n;
        return n;
    }

    bool m_started = false;
    tern::lwip::ExternalPbufs<unsigned, receive_buffers> m_pbufs{*this};
    uint8_t m_buffers[receive_buffers][2048] = {};
    unsigned m_next_free[receive_buffers] = {};
    unsigned m_free_buffer = receive_buffers;
    unsigned m_released = 0;
    lwip_test::Datagram m_output[output_queue];
    unsigned m_output_head = 0;
    unsigned m_output_count = 0;
    struct tcp_pcb* m_connection = nullptr;
    bool m_connected = false;
    char m_text[4096] = {};
    size_t m_received = 0;
    // Last: destroyed first, it removes the netif and so aborts the pcbs,
    // which give their receive buffers back to the members above.
    tern::lwip::IpLayer m_layer;
};

} // namespace

extern "C" u32_t sys_now(void) { return g_now_ms; }

extern "C" uint32_t tern_lwip_random(void)
{
    g_random ^= g_random << 13;
    g_random ^= g_random >> 17;
    g_random ^= g_random << 5;
    return g_random;
}

extern "C" lwip_test::Instance* lwip_test_instance()
{
    static TcpInstance instance;
    return &instance;
}
