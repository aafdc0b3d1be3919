#include "dhcp_client.hpp"

#include "net/byte_order.hpp"

namespace ip {

namespace dhcp = tern::net::dhcp;
using tern::net::load_be16;
using tern::net::load_be32;
using tern::net::store_be16;
using tern::net::store_be32;

namespace {

constexpr uint64_t ns_per_second = 1'000'000'000;
constexpr uint32_t infinite_lease = 0xFFFFFFFF;

uint64_t add_saturating(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

// The mask a classful network would have, for a server that sends none.
uint8_t classful_prefix(Ipv4Address address)
{
    if (address.octet(0) < 128)
        return 8;
    if (address.octet(0) < 192)
        return 16;
    return 24;
}

} // namespace

uint32_t DhcpClient::next_xid()
{
    // xorshift32: transaction ids only have to differ between attempts and boots.
    uint32_t x = m_random != 0 ? m_random : 0x9E3779B9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    m_random = x;
    return x;
}

void DhcpClient::start(DhcpHost& host, unsigned interface, const MacAddress& mac, uint32_t seed, uint64_t now_ns)
{
    m_host = &host;
    m_interface = interface;
    m_mac = mac;
    m_random = seed ^ (uint32_t{mac.bytes[2]} << 24 | uint32_t{mac.bytes[3]} << 16 | uint32_t{mac.bytes[4]} << 8 |
                       mac.bytes[5]);
    m_lease = DhcpLease{};
    begin_selecting(now_ns);
}

void DhcpClient::begin_selecting(uint64_t now_ns)
{
    m_state = State::selecting;
    m_xid = next_xid();
    m_started_ns = now_ns;
    m_retry_ns = first_retry_ns;
    m_tries = 1;
    send(dhcp::MessageType::discover, Ipv4Address::broadcast(), now_ns);
    retry_later(now_ns);
}

void DhcpClient::retry_later(uint64_t now_ns)
{
    m_deadline_ns = now_ns + m_retry_ns;
    m_retry_ns = m_retry_ns * 2 > max_retry_ns ? max_retry_ns : m_retry_ns * 2;
}

// RFC 2131 4.4.5: wait half the time left until `limit_ns`, at least 60 s.
void DhcpClient::renew_later(uint64_t now_ns, uint64_t limit_ns)
{
    uint64_t wait = (limit_ns - now_ns) / 2;
    if (wait < min_renew_retry_ns)
        wait = min_renew_retry_ns;
    m_deadline_ns = add_saturating(now_ns, wait);
    if (m_deadline_ns > limit_ns)
        m_deadline_ns = limit_ns;
}

void DhcpClient::send(dhcp::MessageType type, Ipv4Address destination, uint64_t now_ns)
{
    uint8_t message[message_size] = {};
    const bool renewing = m_state == State::renewing || m_state == State::rebinding;
    message[dhcp::op] = dhcp::op_request;
    message[dhcp::htype] = 1;
    message[dhcp::hlen] = 6;
    store_be32(message + dhcp::xid, m_xid);
    const uint64_t seconds = (now_ns - m_started_ns) / ns_per_second;
    store_be16(message + dhcp::secs, static_cast<uint16_t>(seconds > 0xFFFF ? 0xFFFF : seconds));
    // Until it has an address, ask for broadcast replies: nothing can reach us by unicast yet.
    store_be16(message + dhcp::flags, renewing ? 0 : dhcp::flag_broadcast);
    if (renewing)
        m_lease.address.store(message + dhcp::ciaddr);
    m_mac.store(message + dhcp::chaddr);
    store_be32(message + dhcp::magic, dhcp::magic_cookie);

    dhcp::OptionWriter options(message + dhcp::options, message_size - dhcp::options);
    options.add_u8(dhcp::option::message_type, static_cast<uint8_t>(type));
    uint8_t client_id[7] = {1};
    m_mac.store(client_id + 1);
    options.add(dhcp::option::client_id, client_id, sizeof(client_id));
    if (type == dhcp::MessageType::request && !renewing) {
        options.add_address(dhcp::option::requested_address, m_offered);
        options.add_address(dhcp::option::server_id, m_server);
    }
    static constexpr uint8_t wanted[] = {dhcp::option::subnet_mask, dhcp::option::router, dhcp::option::dns,
                                         dhcp::option::lease_time, dhcp::option::renewal_time,
                                         dhcp::option::rebinding_time};
    options.add(dhcp::option::parameter_list, wanted, sizeof(wanted));
    options.add(dhcp::option::host_name, reinterpret_cast<const uint8_t*>("tern"), 4);
    options.end();
    // The options above always fit in a 300-byte message.
    m_host->dhcp_send(m_interface, destination, message, message_size);
}

bool DhcpClient::on_message(const uint8_t* message, size_t length, uint64_t now_ns)
{
    if (m_state == State::stopped || m_state == State::bound || length < dhcp::options)
        return false;
    if (message[dhcp::op] != dhcp::op_reply || message[dhcp::htype] != 1 || message[dhcp::hlen] != 6 ||
        load_be32(message + dhcp::xid) != m_xid || !(MacAddress::load(message + dhcp::chaddr) == m_mac) ||
        load_be32(message + dhcp::magic) != dhcp::magic_cookie)
        return false;
    dhcp::Options options;
    if (!dhcp::parse_options(message + dhcp::options, length - dhcp::options, options) || !options.has_message_type)
        return false;
    const Ipv4Address yiaddr = Ipv4Address::load(message + dhcp::yiaddr);

    switch (m_state) {
    case State::selecting:
        if (options.message_type != dhcp::MessageType::offer || !yiaddr.is_unicast() || !options.has_server_id ||
            !options.server_id.is_unicast())
            return false;
        m_offered = yiaddr;
        m_server = options.server_id;
        m_state = State::requesting;
        m_retry_ns = first_retry_ns;
        m_tries = 1;
        send(dhcp::MessageType::request, Ipv4Address::broadcast(), now_ns);
        retry_later(now_ns);
        return true;

    case State::requesting:
        // Only the server we chose speaks for this transaction.
        if (!options.has_server_id || !(options.server_id == m_server))
            return false;
        if (options.message_type == dhcp::MessageType::nak) {
            begin_selecting(now_ns);
            return true;
        }
        if (options.message_type != dhcp::MessageType::ack || !(yiaddr == m_offered))
            return false;
        return bind(options, yiaddr, now_ns);

    case State::renewing:
    case State::rebinding:
        if (options.message_type == dhcp::MessageType::nak) {
            m_host->dhcp_lost(m_interface);
            begin_selecting(now_ns);
            return true;
        }
        if (options.message_type != dhcp::MessageType::ack || !(yiaddr == m_lease.address))
            return false;
        return bind(options, yiaddr, now_ns);

    case State::stopped:
    case State::bound: break;
    }
    return false;
}

bool DhcpClient::bind(const dhcp::Options& options, Ipv4Address address, uint64_t now_ns)
{
    if (!options.has_lease_time || options.lease_time == 0)
        return false;
    DhcpLease lease;
    lease.address = address;
    if (options.has_subnet_mask) {
        const int prefix = tern::net::mask_prefix_length(options.subnet_mask);
        if (prefix < 1)
            return false;
        lease.prefix_length = static_cast<uint8_t>(prefix);
    } else {
        lease.prefix_length = classful_prefix(address);
    }
    if (options.has_router && options.router.is_unicast())
        lease.router = options.router;
    for (size_t i = 0; i < options.dns_count; ++i) {
        if (options.dns[i].is_unicast())
            lease.dns[lease.dns_count++] = options.dns[i];
    }
    lease.server = options.has_server_id ? options.server_id : m_server;
    lease.lease_seconds = options.lease_time;
    // T1 and T2 from the server if they make sense, else 50% and 87.5%.
    const uint32_t t = options.lease_time;
    uint32_t t1 = t / 2, t2 = static_cast<uint32_t>(uint64_t{t} * 7 / 8);
    if (options.has_renewal_time && options.has_rebinding_time && options.renewal_time < options.rebinding_time &&
        options.rebinding_time < t) {
        t1 = options.renewal_time;
        t2 = options.rebinding_time;
    }
    lease.renewal_seconds = t1;
    lease.rebinding_seconds = t2;

    m_lease = lease;
    m_state = State::bound;
    if (t == infinite_lease) {
        m_t1_ns = m_t2_ns = m_expiry_ns = m_deadline_ns = UINT64_MAX;
    } else {
        m_t1_ns = add_saturating(now_ns, uint64_t{t1} * ns_per_second);
        m_t2_ns = add_saturating(now_ns, uint64_t{t2} * ns_per_second);
        m_expiry_ns = add_saturating(now_ns, uint64_t{t} * ns_per_second);
        m_deadline_ns = m_t1_ns;
    }
    m_host->dhcp_bound(m_interface, m_lease);
    return true;
}

void DhcpClient::tick(uint64_t now_ns)
{
    if (m_state == State::stopped || now_ns < m_deadline_ns)
        return;
    switch (m_state) {
    case State::selecting:
        ++m_tries;
        send(dhcp::MessageType::discover, Ipv4Address::broadcast(), now_ns);
        retry_later(now_ns);
        break;
    case State::requesting:
        if (m_tries >= max_request_tries) {
            begin_selecting(now_ns);
            break;
        }
        ++m_tries;
        send(dhcp::MessageType::request, Ipv4Address::broadcast(), now_ns);
        retry_later(now_ns);
        break;
    case State::bound:
    case State::renewing:
    case State::rebinding:
        if (now_ns >= m_expiry_ns) {
            m_host->dhcp_lost(m_interface);
            begin_selecting(now_ns);
        } else if (now_ns >= m_t2_ns) {
            if (m_state != State::rebinding) {
                m_state = State::rebinding;
                m_xid = next_xid();
            }
            send(dhcp::MessageType::request, Ipv4Address::broadcast(), now_ns);
            renew_later(now_ns, m_expiry_ns);
        } else {
            if (m_state != State::renewing) {
                m_state = State::renewing;
                m_xid = next_xid();
                m_started_ns = now_ns;
            }
            send(dhcp::MessageType::request, m_lease.server, now_ns);
            renew_later(now_ns, m_t2_ns);
        }
        break;
    case State::stopped: break;
    }
}

} // namespace ip
