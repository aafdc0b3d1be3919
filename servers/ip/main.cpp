// ip: the IP server process. The protocol logic is ip::IpStack (no system
// calls); this file binds it to Tern: NIC drivers connect to the service
// "ip" over channels (proto/nic.hpp) and lend it received frames, which go
// through the stack and back to the driver; frames the stack sends are copied
// into ip's own transmit pool and lent to the driver. Transport servers
// (udp, tcp) connect the same way for their protocol's datagrams
// (proto/ip.hpp ip_transport). The shell asks over the
// control path (proto/ip.hpp). A restarted driver (same PCI address) gets
// its interface back; the interface's link is down while it is gone.
#include "ip_stack.hpp"
#include "boot_config.hpp"
#include "transport_port.hpp"
#include "proto/channel.hpp"
#include "proto/ip.hpp"
#include "proto/nic.hpp"
#include "runtime/assert.hpp"
#include "runtime/alarm.hpp"
#include "runtime/channel.hpp"
#include "runtime/cpu.hpp"
#include "runtime/print.hpp"
#include "runtime/rs_client.hpp"
#include "runtime/start.hpp"
#include "runtime/sys.hpp"

namespace {

namespace sys = tern::sys;
namespace net = tern::net;
using tern::channel::BufferRef;
using tern::channel::Message;
using tern::print;

constexpr uint32_t tx_buffers = 1024;
constexpr uint32_t batch = 32;
constexpr size_t max_links = ip::max_interfaces;
constexpr size_t max_transports = 4;

uint64_t now_ns() { return static_cast<uint64_t>(sys::uptime()); }

// A driver's channel and the interface it serves.
struct Link {
    tern::Channel channel;
    uint64_t pci_address = 0;
    int interface = -1; // made when the driver first reports its MAC
    bool used = false;
    // The driver instance's last device_drops totals (it starts from 0).
    uint64_t device_drops[tern::nic::device_drop::count] = {};
    // Slots of the ring to the driver that drain() keeps for its answers
    // while frames it is handling send frames of their own (transmit()).
    uint32_t reserved = 0;
};

// A transport server's channel (udp, tcp; proto/ip.hpp ip_transport): the
// datagrams of its protocol go up copied into ip's pool, and its own come
// down in its pool (ip::TransportPort does both).
struct Transport {
    tern::Channel channel;
    ip::TransportPort port;
    uint32_t reserved = 0; // as Link::reserved, for drain()'s send_done answers
};

class Server final : public ip::FrameSink, public ip::EchoListener, public ip::Upper {
public:
    Server() : m_stack(*this)
    {
        m_stack.set_echo_listener(this);
        m_stack.set_upper(this);
    }

    void run(int argc, char** argv)
    {
        if (const auto made = m_pool.create(tx_buffers); !made.ok())
            tern::exit_with_message(1, "ip: FAILED: ", "cannot make the transmit pool: %s",
                                    tern::error_name(made.error()));
        const char* error = nullptr;
        if (!ip::parse_boot_config(joined_options(argc, argv), m_config, error))
            print("ip: boot options ignored: %s\n", error);
        print("ip: ready for drivers\n");
        for (;;) {
            bool worked = false;
            for (Link& link : m_links) {
                if (link.used && link.channel.is_open())
                    worked = drain(link) || worked;
            }
            for (Transport& transport : m_transports) {
                if (transport.channel.is_open()) {
                    announce(transport);
                    worked = drain(transport) || worked;
                }
            }
            const uint64_t now = now_ns();
            if (now >= m_stack.next_deadline_ns()) {
                m_stack.tick(now);
                worked = true;
            }
            expire_ping(now);
            report_dhcp();
            publish_deliveries();
            if (!worked)
                sleep();
        }
    }

    // --- FrameSink: a frame the stack sends, to the driver of `interface`.
    bool transmit(unsigned interface, const uint8_t* frame, size_t length, const ip::TxChecksum& checksum) override
    {
        Link* link = link_for(interface);
        Message* m = link != nullptr ? lend_copy(link->channel, link->reserved, holder(*link), frame, length) : nullptr;
        if (m == nullptr)
            return false;
        m->type = tern::nic::tx;
        if (checksum.requested()) {
            m->flags = tern::nic::tx_flags::checksum_offload;
            m->words[0] = checksum.start | uint64_t{checksum.offset} << 8;
        }
        link->channel.publish(1);
        return true;
    }

    // A large TCP segment for the NIC to cut into frames: a chain of ip's
    // buffers (proto/nic.hpp tx_flags::segmentation), all or nothing.
    bool transmit_segmentation(unsigned interface, const ip::FrameBytes& frame, size_t length,
                               const ip::TxSegmentation& s) override
    {
        Link* link = link_for(interface);
        const size_t size = m_pool.geometry().buffer_size;
        const auto count = static_cast<uint32_t>((length + size - 1) / size);
        if (link == nullptr || length > tern::nic::max_segmentation_frame || count > m_pool.owner().free_count() ||
            link->channel.tx().space(link->reserved + count) < link->reserved + count)
            return false;
        auto& tx = link->channel.tx();
        for (uint32_t i = 0; i < count; ++i) {
            BufferRef ref = m_pool.owner().allocate().value(); // counted free above
            const size_t offset = i * size;
            ref.length = static_cast<uint32_t>(length - offset < size ? length - offset : size);
            frame.copy(offset, m_pool.data(ref), ref.length);
            (void)m_pool.owner().lend(ref, holder(*link));
            Message& m = tx.slot(i);
            m = Message{};
            m.type = tern::nic::tx;
            m.flags = tern::nic::tx_flags::segmentation | (i + 1 < count ? tern::nic::tx_flags::more : 0);
            m.buffer = ref;
            m.words[0] = tern::nic::segmentation_word(tern::net::ethernet_header_size, s.ip_header_length,
                                                      s.tcp_header_length, s.mss);
        }
        link->channel.publish(count);
        return true;
    }

    // --- Upper: a datagram for a transport server, copied into ip's pool
    // (as a chain of buffers if it needs several), pending until published.
    ip::Delivery deliver(unsigned interface, const tern::net::Ipv4Header& header, bool to_broadcast,
                         const uint8_t* payload, size_t length) override
    {
        Transport* transport = transport_for(header.protocol);
        if (transport == nullptr)
            return ip::Delivery::no_server;
        if (!transport->port.deliver(interface, header, to_broadcast, payload, length, transport->reserved))
            return ip::Delivery::busy;
        return ip::Delivery::taken; // published by publish_deliveries()
    }

    // --- EchoListener: the shell's ping waits for this.
    void echo_reply(const ip::EchoReply& reply) override
    {
        if (m_ping.client == 0 || reply.source != m_ping.destination || reply.sequence != m_ping.sequence ||
            reply.identifier != ping_identifier)
            return;
        sys::Message answer{};
        answer.type = tern::ip_proto::ping;
        answer.words[1] = reply.rtt_ns;
        answer.words[2] = reply.ttl;
        answer.words[3] = reply.payload_length;
        (void)sys::reply(m_ping.client, answer);
        m_ping.client = 0;
    }

private:
    static constexpr uint16_t ping_identifier = 0x7465; // "te"

    static tern::channel::PoolOwner::Holder holder(const Link& link) { return static_cast<uint16_t>(1 + link.interface); }
    tern::channel::PoolOwner::Holder holder(const Transport& transport) const
    {
        return static_cast<uint16_t>(16 + (&transport - m_transports));
    }

    // A frame copied into a buffer of ip's pool, lent to `holder`, in the
    // next slot of `channel` (not published: the caller fills in the type and
    // words, then publishes). nullptr if it is longer than a buffer, the pool
    // is empty, or only the `reserved` answer slots are left.
    Message* lend_copy(tern::Channel& channel, uint32_t reserved, tern::channel::PoolOwner::Holder holder,
                       const uint8_t* bytes, size_t length)
    {
        if (length > m_pool.geometry().buffer_size || channel.tx().space(reserved + 1) <= reserved)
            return nullptr;
        auto buffer = m_pool.owner().allocate();
        if (!buffer.ok())
            return nullptr;
        BufferRef ref = buffer.value();
        ref.length = static_cast<uint32_t>(length);
        __builtin_memcpy(m_pool.data(ref), bytes, length);
        (void)m_pool.owner().lend(ref, holder);
        Message& m = channel.tx().slot(0);
        m = Message{};
        m.buffer = ref;
        return &m;
    }

    // How many of a peer's messages to handle now: up to a batch, and no
    // more than there are slots for answers to them (and to `held` earlier
    // messages whose answers may come with them).
    static uint32_t batch_size(tern::Channel& channel, uint32_t held = 0)
    {
        const uint32_t waiting = channel.rx().available();
        const uint32_t space = channel.tx().space(batch + held);
        const uint32_t room = space > held ? space - held : 0;
        const uint32_t n = waiting < batch ? waiting : batch;
        return n < room ? n : room;
    }

    Transport* transport_for(uint8_t protocol)
    {
        for (Transport& transport : m_transports) {
            if (transport.channel.is_open() && transport.port.protocol() == protocol)
                return &transport;
        }
        return nullptr;
    }

    // Tells a transport about the interfaces when they changed (or it is new).
    void announce(Transport& transport)
    {
        if (transport.port.announce(m_stack))
            publish_deliveries(transport);
    }

    // What the port wrote on the transport's ring (deliveries, announcements)
    // goes out: after every batch of frames, so that consecutive segments of
    // a connection reach tcp merged (and with one wake-up), and before
    // anything else is written on that ring.
    void publish_deliveries(Transport& transport)
    {
        if (const uint32_t pending = transport.port.take_pending(); pending != 0)
            transport.channel.publish(pending);
    }

    void publish_deliveries()
    {
        for (Transport& transport : m_transports) {
            if (transport.channel.is_open())
                publish_deliveries(transport);
        }
    }

    // Handles up to one batch from a transport server; true if there was anything.
    bool drain(Transport& transport)
    {
        auto& rx = transport.channel.rx();
        auto& tx = transport.channel.tx();
        // Each send needs its send_done slot, and the end of a chain brings
        // the answers to its buffers from earlier batches too.
        const uint32_t held = transport.port.held();
        const uint32_t n = batch_size(transport.channel, held);
        // Sending may loop a datagram back to this very server: answers go in
        // after the batch and after those deliveries, as in drain(Link&).
        Message answers[batch + ip::TransportPort::max_chain];
        uint32_t count = 0;
        transport.reserved = n + held;
        const uint64_t now = n != 0 ? now_ns() : 0;
        for (uint32_t i = 0; i < n; ++i)
            transport.port.receive(rx.read(i), m_stack, now, answers, count);
        transport.reserved = 0;
        if (n != 0)
            transport.channel.release(n);
        publish_deliveries(transport);
        for (uint32_t i = 0; i < count; ++i)
            tx.slot(i) = answers[i];
        if (count != 0)
            transport.channel.publish(count);
        if (rx.broken() || tx.broken() || (n == 0 && transport.channel.peer_closed()))
            close(transport, "its channel broke or closed");
        return n != 0;
    }

    void close(Transport& transport, const char* why)
    {
        print("ip: protocol %u server 0x%lx: %s\n", transport.port.protocol(), transport.channel.peer(), why);
        (void)m_pool.owner().reclaim(holder(transport));
        transport.port.close();
        transport.channel.close();
    }

    // A transport server connects: one per protocol; ICMP is ip's own.
    void accept_transport(const sys::Message& request)
    {
        const auto protocol = static_cast<uint8_t>(request.words[5] & 0xFF);
        Transport* slot = nullptr;
        for (Transport& transport : m_transports) {
            if (slot == nullptr && !transport.channel.is_open())
                slot = &transport;
        }
        if (protocol == net::ip_protocol::icmp || transport_for(protocol) != nullptr || slot == nullptr) {
            sys::Message refused{};
            refused.type = request.type;
            refused.words[0] = static_cast<uint64_t>(sys::error_code(sys::Error::busy));
            (void)sys::reply(request.source, refused);
            return;
        }
        if (const auto accepted = slot->channel.accept(request, &m_pool); !accepted.ok()) {
            print("ip: refused a transport channel from 0x%lx: %s\n", request.source, tern::error_name(accepted.error()));
            return;
        }
        slot->port.open(protocol, slot->channel.tx(), m_pool.owner(), holder(*slot), slot->channel.peer_pool());
        // Before anything else: tcp needs our addresses for its pseudo headers.
        announce(*slot);
        print("ip: protocol %u served by 0x%lx\n", protocol, request.source);
    }

    // The boot options after the program name, as one line for the parser.
    const char* joined_options(int argc, char** argv)
    {
        static char line[128];
        size_t at = 0;
        for (int i = 1; i < argc; ++i) {
            for (const char* p = argv[i]; *p != '\0' && at + 2 < sizeof(line); ++p)
                line[at++] = *p;
            if (at + 2 < sizeof(line))
                line[at++] = ' ';
        }
        line[at] = '\0';
        return line;
    }

    Link* link_for(unsigned interface)
    {
        for (Link& link : m_links) {
            if (link.used && link.interface == static_cast<int>(interface) && link.channel.is_open())
                return &link;
        }
        return nullptr;
    }

    // Handles up to one batch from a driver; true if there was anything.
    bool drain(Link& link)
    {
        auto& rx = link.channel.rx();
        auto& tx = link.channel.tx();
        const uint32_t n = batch_size(link.channel); // each message may need an answer slot
        // Handling a frame may send frames (published at once on the same
        // ring): the answers are written only after the batch, into slots
        // kept free for them.
        BufferRef returns[batch];
        uint32_t answers = 0;
        link.reserved = n;
        const uint64_t now = n != 0 ? now_ns() : 0; // one system call per batch, not per frame
        for (uint32_t i = 0; i < n; ++i) {
            const Message m = rx.read(i);
            switch (m.type) {
            case tern::nic::link: on_link(link, m); break;
            case tern::nic::device_drops: on_device_drops(link, m); break;
            case tern::nic::rx: {
                const auto* pool = link.channel.peer_pool();
                const auto bytes = pool != nullptr ? pool->bytes(m.buffer) : tern::Result<uint8_t*>(tern::Error::malformed);
                if (bytes.ok() && link.interface >= 0)
                    m_stack.on_frame(static_cast<unsigned>(link.interface), bytes.value(), m.buffer.length, now);
                returns[answers++] = m.buffer;
                break;
            }
            case tern::nic::tx_done:
                if (m_pool.owner().take_back(m.buffer, holder(link)).ok())
                    (void)m_pool.owner().free(m.buffer);
                break;
            default: break;
            }
        }
        link.reserved = 0;
        if (n != 0)
            link.channel.release(n);
        for (uint32_t i = 0; i < answers; ++i) {
            Message& back = tx.slot(i);
            back = Message{};
            back.type = tern::nic::rx_return;
            back.buffer = returns[i];
        }
        if (answers != 0)
            link.channel.publish(answers);
        publish_deliveries();
        if (rx.broken() || tx.broken() || (n == 0 && link.channel.peer_closed()))
            drop(link, "its channel broke or closed");
        return n != 0;
    }

    void on_link(Link& link, const Message& m)
    {
        const net::MacAddress mac = tern::nic::mac_address(m.words[0]);
        const bool up = m.words[1] != 0;
        if (link.interface < 0) {
            const auto added = m_stack.add_interface(mac);
            if (!added.ok()) {
                print("ip: no interface for driver 0x%lx: %s\n", link.channel.peer(), tern::error_name(added.error()));
                return;
            }
            link.interface = static_cast<int>(added.value());
            configure(added.value());
        }
        m_stack.set_link(static_cast<unsigned>(link.interface), up);
        m_stack.set_tx_checksum_offload(static_cast<unsigned>(link.interface),
                                        (m.words[4] & tern::nic::capability::tx_checksum) != 0);
        m_stack.set_tcp_segmentation(static_cast<unsigned>(link.interface),
                                     (m.words[4] & tern::nic::capability::tcp_segmentation) != 0);
        print("ip: %s: driver 0x%lx, MAC %s, link %s\n", m_stack.interface(link.interface)->name,
              link.channel.peer(), net::to_text(mac).text, up ? "up" : "down");
    }

    // The driver's totals become increments of the interface's nic_* drops.
    void on_device_drops(Link& link, const Message& m)
    {
        static constexpr ip::Drop reasons[tern::nic::device_drop::count] = {
            ip::Drop::nic_missed, ip::Drop::nic_oversize, ip::Drop::nic_undersize, ip::Drop::nic_errors};
        for (unsigned i = 0; i < tern::nic::device_drop::count; ++i) {
            const uint64_t total = m.words[i];
            const uint64_t more = total >= link.device_drops[i] ? total - link.device_drops[i] : total;
            link.device_drops[i] = total;
            if (link.interface >= 0 && more != 0)
                m_stack.count_device_drops(static_cast<unsigned>(link.interface), reasons[i], more);
        }
    }

    // A new interface gets what the boot options say (DHCP by default).
    void configure(unsigned interface)
    {
        const ip::InterfaceBootConfig& c = m_config.interfaces[interface];
        const char* name = m_stack.interface(interface)->name;
        switch (c.mode) {
        case ip::InterfaceBootConfig::Mode::static_address:
            (void)m_stack.configure(interface, c.address, c.prefix_length);
            print("ip: %s: %s/%u (static)\n", name, net::to_text(c.address).text, c.prefix_length);
            break;
        case ip::InterfaceBootConfig::Mode::dhcp:
            (void)m_stack.start_dhcp(interface, static_cast<uint32_t>(tern::rdtsc()) + interface, now_ns());
            break;
        case ip::InterfaceBootConfig::Mode::off: break;
        }
        if (m_config.has_gateway && m_config.gateway_interface == interface)
            (void)m_stack.set_default_gateway(m_config.gateway, interface);
        if (m_config.has_dns)
            m_stack.set_dns_server(m_config.dns);
    }

    // Says when an interface's DHCP lease changes (and so when the network
    // is ready).
    void report_dhcp()
    {
        for (unsigned i = 0; i < m_stack.interface_count(); ++i) {
            const ip::DhcpClient* dhcp = m_stack.dhcp(i);
            const bool bound = dhcp != nullptr && dhcp->state() == ip::DhcpClient::State::bound;
            const uint32_t address = bound ? dhcp->lease().address.value : 0;
            if (address == m_reported[i])
                continue;
            m_reported[i] = address;
            if (!bound)
                continue;
            const ip::DhcpLease& lease = dhcp->lease();
            print("ip: %s: DHCP lease %s/%u, gateway %s, %u s, after %lu ms of uptime\n", m_stack.interface(i)->name,
                  net::to_text(lease.address).text, lease.prefix_length, net::to_text(lease.router).text,
                  lease.lease_seconds, now_ns() / 1'000'000);
        }
    }

    // A driver went away (crashed, or closed its channel): its interface
    // stays, link down, until a driver for the same device connects again.
    void drop(Link& link, const char* why)
    {
        print("ip: driver 0x%lx: %s; link down until it is back\n", link.channel.peer(), why);
        if (link.interface >= 0)
            m_stack.set_link(static_cast<unsigned>(link.interface), false);
        (void)m_pool.owner().reclaim(holder(link));
        link.channel.close();
    }

    void accept(const sys::Message& request)
    {
        if (tern::ip_transport::is_transport_argument(request.words[5]))
            return accept_transport(request);
        // The same device again (a restarted driver): its old link.
        Link* slot = nullptr;
        for (Link& link : m_links) {
            if (link.used && link.pci_address == request.words[5] && !link.channel.is_open())
                slot = &link;
        }
        for (Link& link : m_links) {
            if (slot == nullptr && !link.used)
                slot = &link;
        }
        if (slot == nullptr) {
            sys::Message refused{};
            refused.type = request.type;
            refused.words[0] = static_cast<uint64_t>(sys::error_code(sys::Error::busy));
            (void)sys::reply(request.source, refused);
            return;
        }
        if (const auto accepted = slot->channel.accept(request, &m_pool); !accepted.ok()) {
            print("ip: refused a driver channel from 0x%lx: %s\n", request.source, tern::error_name(accepted.error()));
            return;
        }
        slot->used = true;
        slot->pci_address = request.words[5];
        for (uint64_t& total : slot->device_drops)
            total = 0; // a new driver instance counts from 0
    }

    void control(const sys::Message& m)
    {
        if (m.type == tern::channel_proto::open) {
            accept(m);
            return;
        }
        if (m.type == sys::message_type::notify) {
            if (m.source == tern::rs_endpoint()) {
                (void)sys::notify(m.source); // heartbeat
                return;
            }
            for (Link& link : m_links) {
                if (link.used && link.channel.peer_ended(m))
                    drop(link, "it ended");
            }
            for (Transport& transport : m_transports) {
                if (transport.channel.is_open() && transport.channel.peer_ended(m))
                    close(transport, "it ended");
            }
            return;
        }
        sys::Message answer{};
        answer.type = m.type;
        switch (m.type) {
        case tern::ip_proto::interface_info: interface_info(m, answer); break;
        case tern::ip_proto::interface_traffic: interface_traffic(m, answer); break;
        case tern::ip_proto::interface_drop: interface_drop(m, answer); break;
        case tern::ip_proto::arp_entry: arp_entry(m, answer); break;
        case tern::ip_proto::route_entry: route_entry(m, answer); break;
        case tern::ip_proto::ping:
            if (start_ping(m, answer))
                return; // answered when the echo reply comes (or the timeout)
            break;
        default: answer.words[0] = static_cast<uint64_t>(sys::error_code(sys::Error::invalid_call)); break;
        }
        (void)sys::reply(m.source, answer);
    }

    void interface_info(const sys::Message& m, sys::Message& answer)
    {
        const ip::Interface* i = m.words[0] < ip::max_interfaces ? m_stack.interface(static_cast<unsigned>(m.words[0])) : nullptr;
        if (i == nullptr) {
            answer.words[0] = static_cast<uint64_t>(sys::error_code(sys::Error::not_found));
            return;
        }
        const ip::DhcpClient* dhcp = m_stack.dhcp(static_cast<unsigned>(m.words[0]));
        answer.words[1] = tern::nic::mac_word(i->mac);
        answer.words[2] = i->address.value | uint64_t{i->prefix_length} << 32 | uint64_t{i->link_up} << 40 |
                          uint64_t{dhcp != nullptr ? static_cast<uint8_t>(dhcp->state()) : 0u} << 48;
        answer.words[3] = i->counters.rx_packets;
        answer.words[4] = i->counters.tx_packets;
        answer.words[5] = i->counters.total_drops();
    }

    static void not_found(sys::Message& answer)
    {
        answer.words[0] = static_cast<uint64_t>(sys::error_code(sys::Error::not_found));
    }

    void interface_traffic(const sys::Message& m, sys::Message& answer)
    {
        const ip::Counters* c = m.words[0] < ip::max_interfaces ? m_stack.counters(static_cast<unsigned>(m.words[0])) : nullptr;
        if (c == nullptr)
            return not_found(answer);
        answer.words[1] = c->rx_packets;
        answer.words[2] = c->rx_bytes;
        answer.words[3] = c->tx_packets;
        answer.words[4] = c->tx_bytes;
        answer.words[5] = c->errors();
    }

    void interface_drop(const sys::Message& m, sys::Message& answer)
    {
        const ip::Counters* c = m.words[0] < ip::max_interfaces ? m_stack.counters(static_cast<unsigned>(m.words[0])) : nullptr;
        if (c == nullptr || m.words[1] >= ip::drop_reason_count)
            return not_found(answer);
        const auto reason = static_cast<ip::Drop>(m.words[1]);
        answer.words[1] = c->dropped(reason);
        char* name = reinterpret_cast<char*>(&answer.words[2]);
        const char* text = ip::drop_name(reason);
        for (size_t i = 0; i < 24 && text[i] != '\0'; ++i)
            name[i] = text[i];
        answer.words[5] = ip::drop_is_error(reason) ? 1 : 0;
    }

    void arp_entry(const sys::Message& m, sys::Message& answer)
    {
        if (m.words[0] >= ip::ArpCache::capacity)
            return not_found(answer);
        const ip::ArpCache::Entry& e = m_stack.arp_cache().slot(m.words[0]);
        if (e.state == ip::ArpCache::State::free) {
            answer.words[3] = 0xFFFF;
            return;
        }
        const bool resolved = e.state == ip::ArpCache::State::resolved;
        answer.words[1] = e.ip.value;
        answer.words[2] = tern::nic::mac_word(e.mac);
        answer.words[3] = e.interface | uint64_t{resolved} << 8;
        answer.words[4] = (now_ns() - (resolved ? e.confirmed_ns : e.started_ns)) / 1'000'000;
    }

    void route_entry(const sys::Message& m, sys::Message& answer)
    {
        if (m.words[0] >= m_stack.routes().size())
            return not_found(answer);
        const ip::Route& r = m_stack.routes().at(m.words[0]);
        answer.words[1] = r.destination.value | uint64_t{r.prefix_length} << 32;
        answer.words[2] = r.gateway.value;
        answer.words[3] = r.interface;
        answer.words[4] = r.metric;
    }

    bool start_ping(const sys::Message& m, sys::Message& answer)
    {
        if (m_ping.client != 0) {
            answer.words[0] = static_cast<uint64_t>(sys::error_code(sys::Error::busy));
            return false;
        }
        const net::Ipv4Address destination{static_cast<uint32_t>(m.words[0])};
        const auto sent = m_stack.ping(destination, ping_identifier, static_cast<uint16_t>(m.words[1]),
                                       m.words[2], now_ns());
        if (!sent.ok()) {
            answer.words[0] = static_cast<uint64_t>(sys::error_code(
                sent.error() == tern::Error::not_found ? sys::Error::not_found : sys::Error::invalid_argument));
            return false;
        }
        m_ping = Ping{m.source, destination, static_cast<uint16_t>(m.words[1]), now_ns() + m.words[3] * 1'000'000};
        return true;
    }

    void expire_ping(uint64_t now)
    {
        if (m_ping.client == 0 || now < m_ping.deadline_ns)
            return;
        sys::Message answer{};
        answer.type = tern::ip_proto::ping;
        answer.words[0] = static_cast<uint64_t>(sys::error_code(sys::Error::would_block));
        (void)sys::reply(m_ping.client, answer);
        m_ping.client = 0;
    }

    // Nothing to do: sleep until a driver publishes, a request comes, or the
    // next timer (the stack's or a ping's) is due.
    void sleep()
    {
        tern::channel::WaitSet set;
        for (Link& link : m_links) {
            if (link.used && link.channel.is_open())
                set.add(link.channel.rx());
        }
        for (Transport& transport : m_transports) {
            if (transport.channel.is_open())
                set.add(transport.channel.rx());
        }
        uint64_t deadline = m_stack.next_deadline_ns();
        if (m_ping.client != 0 && m_ping.deadline_ns < deadline)
            deadline = m_ping.deadline_ns;
        m_alarm.before_sleep(now_ns(), deadline);
        sys::Message m{};
        if (!tern::wait(set, m))
            return;
        if (m.source == sys::endpoint::clock)
            m_alarm.rang();
        else
            control(m);
    }

    struct Ping {
        sys::Endpoint client = 0; // waiting in ipc_call for the answer
        net::Ipv4Address destination;
        uint16_t sequence = 0;
        uint64_t deadline_ns = 0;
    };

    ip::IpStack m_stack;
    ip::BootConfig m_config;
    tern::SharedPool m_pool;
    Link m_links[max_links];
    Transport m_transports[max_transports];
    Ping m_ping;
    tern::Alarm m_alarm;
    uint32_t m_reported[ip::max_interfaces] = {}; // the DHCP address last announced
};

} // namespace

int main(int argc, char** argv)
{
    static Server server; // big (reassembly buffers): not on the stack
    server.run(argc, argv);
    return 0;
}
