// The process around a transport server's engine (servers/tcp,
// servers/udp): its pool, the channel to ip (connected again whenever ip
// restarts), the applications' socket channels, the control protocol
// (proto/socket.hpp transport_control) and sleeping until something
// happens or lwIP's next timer is due.
//
// The engine is the server's logic (it makes no system calls) with this
// shape:
//   Engine(channel::PoolOwner&, uint32_t seed)
//   void ip_connected(channel::Link*);  bool ip_lost();
//   int add_client(channel::Link*, uint32_t process);  bool client_lost(int);
//   int stalled_client();
//   bool step(uint64_t now_ns);  uint64_t next_deadline_ns() const;
//   Result<Entry> socket_entry(unsigned) const;   (Entry as tcp::SocketEntry)
//   static unsigned counter_count();  uint64_t counter_at(unsigned) const;
//   static const char* counter_label(unsigned);  static bool counter_error(unsigned);
#pragma once

#include <cstdint>

#include "proto/channel.hpp"
#include "proto/ip.hpp"
#include "proto/socket.hpp"
#include "runtime/channel.hpp"
#include "runtime/alarm.hpp"
#include "runtime/assert.hpp"
#include "runtime/channel_link.hpp"
#include "runtime/cpu.hpp"
#include "runtime/print.hpp"
#include "runtime/rs_client.hpp"
#include "runtime/start.hpp"
#include "runtime/sys.hpp"

namespace tern {

struct TransportServerConfig {
    const char* name;       // for messages: "tcp"
    uint8_t protocol;       // the IPv4 protocol it serves
    uint32_t pool_buffers;  // our pool: to ip and to the applications
    uint32_t ip_slots;      // ring slots on the channel to ip
};

template <typename Engine, unsigned max_clients>
class TransportServer {
public:
    explicit TransportServer(const TransportServerConfig& config) : m_config(config) {}

    [[noreturn]] void run()
    {
        if (const auto made = m_pool.create(m_config.pool_buffers); !made.ok())
            exit_with_message(1, m_config.name, ": FAILED: cannot make the buffer pool: %s", error_name(made.error()));
        static Engine engine(m_pool.owner(), static_cast<uint32_t>(rdtsc()));
        m_engine = &engine;
        print("%s: ready\n", m_config.name);
        for (;;) {
            connect_ip();
            const uint64_t now = static_cast<uint64_t>(sys::uptime());
            bool worked = m_engine->step(now);
            worked = settle() || worked;
            if (!worked)
                sleep();
        }
    }

private:
    using Message = channel::Message;

    struct Client {
        Channel channel;
        ChannelLink link{channel};
        int index = -1;  // the engine's
        bool lost = false; // waiting until the engine lets go of its pool
    };

    // The channel to ip: at start, and again after ip restarts.
    void connect_ip()
    {
        if (m_ip.is_open() || m_ip_lost)
            return;
        const uint64_t now = static_cast<uint64_t>(sys::uptime());
        if (now < m_ip_retry_ns)
            return;
        const auto connected =
            m_ip.connect("ip", m_config.ip_slots, &m_pool, ip_transport::transport_argument(m_config.protocol));
        if (!connected.ok()) {
            m_ip_retry_ns = now + 20'000'000; // ip is not (yet, or again) running
            if (!m_ip_complained && connected.error() != Error::not_found) {
                print("%s: cannot connect to ip: %s\n", m_config.name, error_name(connected.error()));
                m_ip_complained = true;
            }
            return;
        }
        m_ip_complained = false;
        m_engine->ip_connected(&m_ip_link);
        print("%s: connected to ip\n", m_config.name);
    }

    // Channels whose peer is gone are closed once the engine holds nothing
    // of theirs; true if anything changed.
    bool settle()
    {
        bool changed = false;
        if (m_ip.is_open() && !m_ip_lost && (m_ip.rx().broken() || m_ip.tx().broken() || m_ip.peer_closed())) {
            print("%s: the channel to ip broke or closed; connecting again\n", m_config.name);
            m_ip_lost = true;
        }
        if (m_ip_lost && m_engine->ip_lost()) {
            m_ip.close();
            m_ip_lost = false;
            changed = true;
        }
        if (const int stalled = m_engine->stalled_client(); stalled >= 0) {
            for (Client& c : m_clients) {
                if (c.channel.is_open() && c.index == stalled && !c.lost) {
                    print("%s: client 0x%lx stopped reading its channel: dropped\n", m_config.name, c.channel.peer());
                    c.lost = true;
                }
            }
        }
        for (Client& c : m_clients) {
            if (!c.channel.is_open())
                continue;
            if (!c.lost && (c.channel.rx().broken() || c.channel.tx().broken() || c.channel.peer_closed()))
                c.lost = true;
            if (c.lost && m_engine->client_lost(c.index)) {
                c.channel.close();
                c.index = -1;
                c.lost = false;
                changed = true;
            }
        }
        return changed;
    }

    void sleep()
    {
        channel::WaitSet set;
        if (m_ip.is_open() && !m_ip_lost)
            set.add(m_ip.rx());
        for (Client& c : m_clients) {
            if (c.channel.is_open() && !c.lost)
                set.add(c.channel.rx());
        }
        uint64_t deadline = m_engine->next_deadline_ns();
        if (!m_ip.is_open() && m_ip_retry_ns < deadline)
            deadline = m_ip_retry_ns;
        m_alarm.before_sleep(static_cast<uint64_t>(sys::uptime()), deadline);
        sys::Message m{};
        if (!wait(set, m))
            return;
        if (m.source == sys::endpoint::clock)
            m_alarm.rang();
        else
            control(m);
    }

    void control(const sys::Message& m)
    {
        if (m.type == channel_proto::open) {
            accept(m);
            return;
        }
        if (m.type == sys::message_type::notify) {
            if (m.source == rs_endpoint()) {
                (void)sys::notify(m.source); // heartbeat
                return;
            }
            if (m_ip.is_open() && m_ip.peer_ended(m)) {
                print("%s: ip ended; connecting again when it is back\n", m_config.name);
                m_ip_lost = true;
            }
            for (Client& c : m_clients) {
                if (c.channel.is_open() && c.channel.peer_ended(m))
                    c.lost = true;
            }
            return;
        }
        sys::Message answer{};
        answer.type = m.type;
        switch (m.type) {
        case transport_control::socket_entry: socket_entry(m, answer); break;
        case transport_control::counter: counter(m, answer); break;
        default: answer.words[0] = static_cast<uint64_t>(sys::error_code(sys::Error::invalid_call)); break;
        }
        (void)sys::reply(m.source, answer);
    }

    void accept(const sys::Message& request)
    {
        Client* slot = nullptr;
        for (Client& c : m_clients) {
            if (!c.channel.is_open()) {
                slot = &c;
                break;
            }
        }
        if (slot == nullptr) {
            sys::Message refused{};
            refused.type = request.type;
            refused.words[0] = static_cast<uint64_t>(sys::error_code(sys::Error::busy));
            (void)sys::reply(request.source, refused);
            return;
        }
        if (const auto accepted = slot->channel.accept(request, &m_pool); !accepted.ok()) {
            print("%s: refused a channel from 0x%lx: %s\n", m_config.name, request.source,
                  error_name(accepted.error()));
            return;
        }
        slot->index = m_engine->add_client(&slot->link, static_cast<uint32_t>(request.source));
        slot->lost = slot->index < 0;
        if (slot->index < 0)
            slot->channel.close();
    }

    void socket_entry(const sys::Message& m, sys::Message& answer)
    {
        const auto entry = m_engine->socket_entry(static_cast<unsigned>(m.words[0]));
        if (!entry.ok()) {
            answer.words[0] = static_cast<uint64_t>(sys::error_code(sys::Error::not_found));
            return;
        }
        const auto& e = entry.value();
        answer.words[1] = socket_proto::endpoint_word(e.local_address, e.local_port);
        answer.words[2] = socket_proto::endpoint_word(e.remote_address, e.remote_port);
        answer.words[3] = e.state | uint64_t{e.owner} << 32;
        answer.words[4] = e.receive_queue | uint64_t{e.send_queue} << 32;
        answer.words[5] = (e.segments_in & 0xFFFFFFFF) | (e.segments_out & 0xFFFFFFFF) << 32;
    }

    void counter(const sys::Message& m, sys::Message& answer)
    {
        const unsigned n = static_cast<unsigned>(m.words[0]);
        if (m.words[0] >= Engine::counter_count()) {
            answer.words[0] = static_cast<uint64_t>(sys::error_code(sys::Error::not_found));
            return;
        }
        answer.words[1] = m_engine->counter_at(n);
        char* name = reinterpret_cast<char*>(&answer.words[2]);
        const char* label = Engine::counter_label(n);
        for (unsigned i = 0; i < 24 && label[i] != '\0'; ++i)
            name[i] = label[i];
        answer.words[5] = Engine::counter_error(n) ? 1 : 0;
    }

    TransportServerConfig m_config;
    SharedPool m_pool;
    Engine* m_engine = nullptr;
    Channel m_ip;
    ChannelLink m_ip_link{m_ip};
    bool m_ip_lost = false;
    bool m_ip_complained = false;
    uint64_t m_ip_retry_ns = 0;
    Alarm m_alarm;
    Client m_clients[max_clients];
};

} // namespace tern
