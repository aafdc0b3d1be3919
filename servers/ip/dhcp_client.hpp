// The DHCP client of one interface (RFC 2131): DISCOVER → OFFER → REQUEST →
// ACK, then renewal at T1 (unicast to the server), rebinding at T2
// (broadcast) and loss of the address when the lease ends. Retransmissions
// back off 4, 8, 16, 32, 64 s; a REQUEST that gets no answer after four
// tries, or a NAK, starts over with a new DISCOVER.
//
// It only builds and checks DHCP messages; the stack (DhcpHost) wraps them
// in UDP/IP/Ethernet, hands over what arrives on port 68 of the interface,
// and applies the lease. Every field and option of a reply is checked; a
// reply that fails is ignored (on_message returns false) and the client
// carries on as if it had not come.
#pragma once

#include <cstddef>
#include <cstdint>

#include "net/address.hpp"
#include "net/dhcp.hpp"

namespace ip {

using tern::net::Ipv4Address;
using tern::net::MacAddress;

struct DhcpLease {
    Ipv4Address address;
    uint8_t prefix_length = 0;
    Ipv4Address router; // any(): none offered
    Ipv4Address dns[tern::net::dhcp::max_dns_servers];
    size_t dns_count = 0;
    Ipv4Address server;
    uint32_t lease_seconds = 0; // 0xFFFFFFFF: infinite
    uint32_t renewal_seconds = 0;
    uint32_t rebinding_seconds = 0;
};

class DhcpHost {
public:
    // Sends `message` (a UDP payload) from port 68 to port 67 of
    // `destination` on `interface`: a broadcast from 0.0.0.0 when
    // `destination` is 255.255.255.255, else a unicast from the leased address.
    virtual void dhcp_send(unsigned interface, Ipv4Address destination, const uint8_t* message, size_t length) = 0;
    // A lease was granted or renewed.
    virtual void dhcp_bound(unsigned interface, const DhcpLease& lease) = 0;
    // The lease ended or the server refused it: the address must go.
    virtual void dhcp_lost(unsigned interface) = 0;

protected:
    ~DhcpHost() = default;
};

class DhcpClient {
public:
    enum class State : uint8_t { stopped, selecting, requesting, bound, renewing, rebinding };

    static constexpr uint64_t first_retry_ns = 4'000'000'000;
    static constexpr uint64_t max_retry_ns = 64'000'000'000;
    static constexpr uint64_t min_renew_retry_ns = 60'000'000'000;
    static constexpr unsigned max_request_tries = 4;
    static constexpr size_t message_size = tern::net::dhcp::min_message;

    // Starts acquiring an address: sends the first DISCOVER now. `seed`
    // should differ between boots (transaction ids come from it).
    void start(DhcpHost& host, unsigned interface, const MacAddress& mac, uint32_t seed, uint64_t now_ns);
    // Stops without telling anyone (the stack deconfigures by itself).
    void stop() { m_state = State::stopped; }

    // A UDP payload that arrived for port 68. False if it was ignored.
    bool on_message(const uint8_t* message, size_t length, uint64_t now_ns);
    void tick(uint64_t now_ns);

    State state() const { return m_state; }
    bool active() const { return m_state != State::stopped; }
    bool bound() const { return m_state == State::bound || m_state == State::renewing || m_state == State::rebinding; }
    const DhcpLease& lease() const { return m_lease; }
    uint32_t transaction_id() const { return m_xid; }
    uint64_t next_event_ns() const { return m_deadline_ns; }

private:
    void begin_selecting(uint64_t now_ns);
    void send(tern::net::dhcp::MessageType type, Ipv4Address destination, uint64_t now_ns);
    void retry_later(uint64_t now_ns);
    void renew_later(uint64_t now_ns, uint64_t limit_ns);
    bool bind(const tern::net::dhcp::Options& options, Ipv4Address address, uint64_t now_ns);
    uint32_t next_xid();

    DhcpHost* m_host = nullptr;
    unsigned m_interface = 0;
    MacAddress m_mac;
    State m_state = State::stopped;
    uint32_t m_random = 0;
    uint32_t m_xid = 0;
    uint64_t m_started_ns = 0; // of this transaction, for the secs field
    uint64_t m_deadline_ns = UINT64_MAX;
    uint64_t m_retry_ns = first_retry_ns;
    unsigned m_tries = 0;
    Ipv4Address m_offered;
    Ipv4Address m_server;
    DhcpLease m_lease;
    uint64_t m_t1_ns = 0, m_t2_ns = 0, m_expiry_ns = 0;
};

} // namespace ip
