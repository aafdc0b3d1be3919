// udpecho: UDP echo (RFC 862) on port 7, straight on ip's transport channel
// for protocol 17 (proto/ip.hpp ip_transport). A stand-in until the udp
// server exists: it shows the protocol demultiplexing in ip working end to
// end, and gives `./tern bench net` something to measure. While it runs,
// other UDP ports go unanswered (it is not a UDP server); without it ip
// answers UDP with ICMP protocol unreachable.
//
// Every datagram is checked before it is answered: the UDP length against
// the buffer, and the checksum against the addresses ip passed along.
#include "net/address.hpp"
#include "net/udp.hpp"
#include "proto/ip.hpp"
#include "runtime/assert.hpp"
#include "runtime/channel.hpp"
#include "runtime/print.hpp"
#include "runtime/start.hpp"
#include "runtime/sys.hpp"

namespace {

namespace sys = tern::sys;
namespace net = tern::net;
namespace transport = tern::ip_transport;
using tern::print;
using tern::channel::BufferRef;
using tern::channel::Message;

constexpr uint16_t echo_port = 7;
constexpr uint32_t pool_buffers = 512;
constexpr uint32_t slots = 256;
constexpr uint32_t batch = 32;

template <typename... Args>
[[noreturn]] void fail(const char* fmt, Args... args)
{
    tern::exit_with_message(1, "udpecho: ", fmt, args...);
}

class Echo {
public:
    void start()
    {
        if (const auto made = m_pool.create(pool_buffers); !made.ok())
            fail("cannot make the buffer pool: %s", tern::error_name(made.error()));
        if (const auto connected = m_channel.connect("ip", slots, &m_pool, transport::transport_argument(net::ip_protocol::udp));
            !connected.ok())
            fail("cannot connect to ip: %s (is another UDP server running?)", tern::error_name(connected.error()));
        print("udpecho: serving UDP port %u\n", echo_port);
    }

    [[noreturn]] void run()
    {
        for (;;) {
            if (!step())
                sleep();
        }
    }

private:
    // One batch of ip's messages; true if there were any.
    bool step()
    {
        auto& rx = m_channel.rx();
        const uint32_t waiting = rx.available();
        const uint32_t room = m_channel.tx().space(2 * batch) / 2; // a deliver may need two answers
        uint32_t n = waiting < batch ? waiting : batch;
        n = n < room ? n : room;
        uint32_t answers = 0;
        for (uint32_t i = 0; i < n; ++i) {
            const Message m = rx.read(i);
            if (m.type == transport::deliver) {
                answer(m, answers);
                Message& done = m_channel.tx().slot(answers++);
                done = Message{};
                done.type = transport::deliver_done;
                done.buffer = m.buffer;
            } else if (m.type == transport::send_done) {
                if (m_pool.owner().take_back(m.buffer, ip_holder).ok())
                    (void)m_pool.owner().free(m.buffer);
                if (m.words[0] != 0)
                    ++m_refused;
            }
        }
        if (n != 0)
            m_channel.release(n);
        if (answers != 0)
            m_channel.publish(answers);
        if (rx.broken() || m_channel.tx().broken())
            fail("the channel to ip is corrupt");
        return n != 0;
    }

    // Queues the echo of a delivered datagram, if it is one for port 7.
    void answer(const Message& m, uint32_t& answers)
    {
        const auto* pool = m_channel.peer_pool();
        const auto bytes = pool != nullptr ? pool->bytes(m.buffer) : tern::Result<uint8_t*>(tern::Error::malformed);
        const net::Ipv4Address source{static_cast<uint32_t>(m.words[0])};
        const net::Ipv4Address destination{static_cast<uint32_t>(m.words[0] >> 32)};
        net::UdpHeader header;
        if (!bytes.ok() || !net::UdpHeader::parse(bytes.value(), m.buffer.length, header) ||
            !net::udp_checksum_valid(source, destination, bytes.value(), header.length)) {
            ++m_malformed;
            return;
        }
        if (header.destination_port != echo_port)
            return;
        auto buffer = m_pool.owner().allocate();
        if (!buffer.ok())
            return; // all our buffers are out with ip: drop it, as a busy host does
        BufferRef ref = buffer.value();
        ref.length = header.length;
        uint8_t* out = m_pool.data(ref);
        __builtin_memcpy(out, bytes.value(), header.length);
        net::UdpHeader{.source_port = echo_port, .destination_port = header.source_port, .length = header.length}
            .write(out);
        net::store_be16(out + 6, net::udp_checksum(destination, source, out, header.length));
        (void)m_pool.owner().lend(ref, ip_holder);
        Message& send = m_channel.tx().slot(answers++);
        send = Message{};
        send.type = transport::send;
        send.buffer = ref;
        send.words[0] = source.value;
    }

    void sleep()
    {
        tern::channel::WaitSet set;
        set.add(m_channel.rx());
        sys::Message m{};
        if (!tern::wait(set, m))
            return;
        if (m_channel.peer_ended(m))
            fail("ip ended (%lu malformed datagrams, %lu echoes refused by ip); exiting", m_malformed, m_refused);
    }

    static constexpr tern::channel::PoolOwner::Holder ip_holder = 1;

    tern::SharedPool m_pool;
    tern::Channel m_channel;
    uint64_t m_malformed = 0;
    uint64_t m_refused = 0;
};

} // namespace

int main(int, char**)
{
    static Echo echo;
    echo.start();
    echo.run();
}
