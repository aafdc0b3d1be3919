#include "status_page.hpp"

#include <cstdarg>
#include <new>

#include "net/address.hpp"
#include "proto/ip.hpp"
#include "proto/rs.hpp"
#include "proto/socket.hpp"

namespace httpd {
namespace {

namespace control = tern::transport_control;
namespace socket_proto = tern::socket_proto;

constexpr size_t max_drops = 64;
constexpr uint64_t max_socket_queries = 4096; // a bound even if a server never says not_found
constexpr uint64_t rs_slots = 64;              // rs status slots asked about (rs has 48)
constexpr size_t server_count = 2;
const char* const server_names[server_count] = {"tcp", "udp"};

struct Name {
    char text[33];
};

// Everything one page shows, asked in one go, then rendered.
struct Snapshot {
    uint64_t uptime_ns;
    struct Drop {
        Name name;
        uint64_t count;
        bool error;
    };
    struct Interface {
        uint64_t traffic[6];
        Drop drops[max_drops];
        size_t drop_count;
    };
    int64_t ip_error; // 0, or why ip could not be asked
    Interface interfaces[max_interfaces];
    size_t interface_count;

    struct Counter {
        Name name;
        uint64_t value;
        bool error;
    };
    struct Socket {
        uint64_t words[6];
        Name owner;
    };
    struct Server {
        int64_t error; // 0: running and answering
        Counter counters[max_counters];
        size_t counter_count;
        Socket sockets[max_listed_sockets];
        size_t socket_count;  // listed
        uint64_t socket_total; // it has
    };
    Server servers[server_count];

    struct Service {
        Name name;
        uint64_t endpoint;
        uint64_t restarts;
        uint64_t last_recovery_us;
    };
    Service services[max_services];
    size_t service_count;
};

bool is_not_found(int64_t result) { return result == sys::error_code(sys::Error::not_found); }

// A name from words[2..4] (24 characters, NUL-padded); characters other than
// letters, digits, '_', '-' and '.' become '_', so text lines stay "KEY VALUE".
Name word_name(const uint64_t (&words)[6])
{
    const tern::ip_proto::DropName raw = tern::ip_proto::drop_name(words);
    Name name{};
    size_t i = 0;
    for (; raw.text[i] != '\0'; ++i) {
        const char c = raw.text[i];
        const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                           c == '-' || c == '.';
        name.text[i] = plain ? c : '_';
    }
    if (i == 0)
        name.text[i++] = '?';
    name.text[i] = '\0';
    return name;
}

// The name of the process with `endpoint`, or its number.
Name process_name(StatusSource& source, uint64_t endpoint)
{
    Name name{};
    sys::ProcessInfo info{};
    if (endpoint != 0 && source.proc_info(sys::endpoint::slot(endpoint), info) == 0 && info.endpoint == endpoint) {
        for (size_t i = 0; i < sizeof(info.name) && info.name[i] != '\0'; ++i)
            name.text[i] = info.name[i];
        if (name.text[0] != '\0')
            return name;
    }
    tern::format_to(name.text, sizeof(name.text), endpoint == 0 ? "-" : "0x%lx", endpoint);
    return name;
}

void take_snapshot(StatusSource& source, Snapshot& s)
{
    s.uptime_ns = source.uptime_ns();

    s.interface_count = 0;
    const int64_t ip = source.lookup("ip");
    s.ip_error = ip < 0 ? ip : 0;
    for (uint64_t index = 0; ip >= 0 && index < max_interfaces; ++index) {
        sys::Message m{};
        m.type = tern::ip_proto::interface_traffic;
        m.words[0] = index;
        const int64_t result = source.call(static_cast<sys::Endpoint>(ip), m);
        if (result < 0) {
            if (!is_not_found(result))
                s.ip_error = result;
            break;
        }
        Snapshot::Interface& interface = s.interfaces[s.interface_count++];
        for (int i = 0; i < 6; ++i)
            interface.traffic[i] = m.words[i];
        interface.drop_count = 0;
        for (uint64_t reason = 0; reason < max_drops; ++reason) {
            sys::Message d{};
            d.type = tern::ip_proto::interface_drop;
            d.words[0] = index;
            d.words[1] = reason;
            if (source.call(static_cast<sys::Endpoint>(ip), d) < 0)
                break;
            interface.drops[interface.drop_count++] = {word_name(d.words), d.words[1], d.words[5] != 0};
        }
    }

    for (size_t k = 0; k < server_count; ++k) {
        Snapshot::Server& server = s.servers[k];
        server.counter_count = server.socket_count = 0;
        server.socket_total = 0;
        const int64_t endpoint = source.lookup(server_names[k]);
        server.error = endpoint < 0 ? endpoint : 0;
        for (uint64_t number = 0; endpoint >= 0 && number < max_counters; ++number) {
            sys::Message m{};
            m.type = control::counter;
            m.words[0] = number;
            const int64_t result = source.call(static_cast<sys::Endpoint>(endpoint), m);
            if (result < 0) {
                if (!is_not_found(result))
                    server.error = result; // it stopped answering
                break;
            }
            server.counters[server.counter_count++] = {word_name(m.words), m.words[1], m.words[5] != 0};
        }
        if (server.error != 0)
            continue;
        for (uint64_t entry = 0; entry < max_socket_queries; ++entry) {
            sys::Message m{};
            m.type = control::socket_entry;
            m.words[0] = entry;
            if (source.call(static_cast<sys::Endpoint>(endpoint), m) < 0)
                break;
            ++server.socket_total;
            if (server.socket_count < max_listed_sockets) {
                Snapshot::Socket& socket = server.sockets[server.socket_count++];
                for (int i = 0; i < 6; ++i)
                    socket.words[i] = m.words[i];
                socket.owner = process_name(source, m.words[3] >> 32);
            }
        }
    }

    s.service_count = 0;
    // rs's table may have unused slots between used ones: ask about each.
    for (uint64_t slot = 0; slot < rs_slots && s.service_count < max_services; ++slot) {
        sys::Message m{};
        const int64_t result = source.rs_status(slot, m);
        if (is_not_found(result))
            continue;
        if (result < 0)
            break; // rs is not answering
        if (m.words[1] == 0 && m.words[2] == 0)
            continue; // not running and never restarted: nothing to say
        Snapshot::Service& service = s.services[s.service_count++];
        if (m.words[1] != 0)
            service.name = process_name(source, m.words[1]);
        else
            tern::format_to(service.name.text, sizeof(service.name.text), "slot%lu", slot);
        service.endpoint = m.words[1];
        service.restarts = m.words[2];
        service.last_recovery_us = m.words[3];
    }
}

struct EndpointText {
    char text[24];
    explicit EndpointText(uint64_t word)
    {
        tern::format_to(text, sizeof(text), "%s:%u",
                        tern::net::to_text(tern::net::Ipv4Address{socket_proto::endpoint_address(word)}).text,
                        socket_proto::endpoint_port(word));
    }
};

const char* socket_state(size_t server, uint64_t word3)
{
    const uint64_t state = word3 & 0xFFFFFFFF;
    if (server == 0)
        return control::tcp_state_name(state);
    return state == 0 ? "BOUND" : state == 1 ? "CONNECTED" : "?";
}

// The snapshot lives in static memory: httpd renders one page at a time,
// and a page's facts are too many for the stack.
Snapshot& snapshot_of(StatusSource& source)
{
    static Snapshot* snapshot = new Snapshot;
    take_snapshot(source, *snapshot);
    return *snapshot;
}

} // namespace

Output::~Output() { delete[] m_data; }

void Output::write(const char* text, size_t length)
{
    if (m_failed)
        return;
    if (m_size + length > m_capacity) {
        size_t capacity = m_capacity == 0 ? 4096 : m_capacity;
        while (capacity < m_size + length)
            capacity *= 2;
        char* grown = new (std::nothrow) char[capacity];
        if (grown == nullptr) {
            m_failed = true;
            return;
        }
        for (size_t i = 0; i < m_size; ++i)
            grown[i] = m_data[i];
        delete[] m_data;
        m_data = grown;
        m_capacity = capacity;
    }
    for (size_t i = 0; i < length; ++i)
        m_data[m_size + i] = text[i];
    m_size += length;
}

void Output::append(const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    tern::vformat(*this, fmt, args);
    va_end(args);
}

void Output::append_html(const char* text)
{
    for (; *text != '\0'; ++text) {
        switch (*text) {
        case '&': write("&amp;", 5); break;
        case '<': write("&lt;", 4); break;
        case '>': write("&gt;", 4); break;
        case '"': write("&quot;", 6); break;
        case '\'': write("&#39;", 5); break;
        default: write(text, 1); break;
        }
    }
}

void render_text(StatusSource& source, Output& out)
{
    const Snapshot& s = snapshot_of(source);
    out.append("uptime_ms %lu\n", s.uptime_ns / 1000000);
    out.append("ip.running %d\n", s.ip_error < 0 ? 0 : 1);
    for (size_t i = 0; i < s.interface_count; ++i) {
        const Snapshot::Interface& interface = s.interfaces[i];
        out.append("ip.eth%zu.rx_packets %lu\nip.eth%zu.rx_bytes %lu\nip.eth%zu.tx_packets %lu\n"
                   "ip.eth%zu.tx_bytes %lu\nip.eth%zu.errors %lu\n",
                   i, interface.traffic[1], i, interface.traffic[2], i, interface.traffic[3], i, interface.traffic[4],
                   i, interface.traffic[5]);
        for (size_t d = 0; d < interface.drop_count; ++d)
            out.append("ip.eth%zu.drop.%s %lu\n", i, interface.drops[d].name.text, interface.drops[d].count);
    }
    for (size_t k = 0; k < server_count; ++k) {
        const Snapshot::Server& server = s.servers[k];
        out.append("%s.running %d\n", server_names[k], server.error == 0 ? 1 : 0);
        if (server.error != 0)
            continue;
        for (size_t c = 0; c < server.counter_count; ++c)
            out.append("%s.%s %lu\n", server_names[k], server.counters[c].name.text, server.counters[c].value);
        out.append("%s.sockets %lu\n", server_names[k], server.socket_total);
    }
    for (size_t i = 0; i < s.service_count; ++i) {
        const Snapshot::Service& service = s.services[i];
        out.append("service.%s.restarts %lu\n", service.name.text, service.restarts);
        if (service.endpoint != 0)
            out.append("service.%s.endpoint 0x%lx\n", service.name.text, service.endpoint);
    }
    for (size_t k = 0; k < server_count; ++k) {
        const Snapshot::Server& server = s.servers[k];
        for (size_t i = 0; i < server.socket_count; ++i) {
            const uint64_t* w = server.sockets[i].words;
            out.append("socket %s %s %s %s %lu %lu %s %lu %lu\n", server_names[k], EndpointText(w[1]).text,
                       EndpointText(w[2]).text, socket_state(k, w[3]), w[4] & 0xFFFFFFFF, w[4] >> 32,
                       server.sockets[i].owner.text, w[5] & 0xFFFFFFFF, w[5] >> 32);
        }
    }
}

void render_html(StatusSource& source, Output& out)
{
    const Snapshot& s = snapshot_of(source);
    const uint64_t seconds = s.uptime_ns / 1000000000;
    out.append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Tern status</title>\n"
               "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}"
               "td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}td.n{text-align:right}"
               ".err{color:#b00}</style></head>\n<body>\n<h1>Tern</h1>\n");
    out.append("<p>Up %lu d %02lu:%02lu:%02lu (%lu.%03lu s). <a href=\"/status.txt\">Plain text</a>.</p>\n",
               seconds / 86400, seconds / 3600 % 24, seconds / 60 % 60, seconds % 60, seconds,
               s.uptime_ns / 1000000 % 1000);

    out.append("<h2>Interfaces (ip)</h2>\n");
    if (s.ip_error < 0)
        out.append("<p class=\"err\">ip is %s (%s).</p>\n", is_not_found(s.ip_error) ? "not running" : "not answering",
                   sys::error_name(s.ip_error));
    else {
        out.append("<table><tr><th>interface</th><th>received packets</th><th>bytes</th><th>sent packets</th>"
                   "<th>bytes</th><th>errors</th><th>drops by reason</th></tr>\n");
        for (size_t i = 0; i < s.interface_count; ++i) {
            const Snapshot::Interface& f = s.interfaces[i];
            out.append("<tr><td>eth%zu</td><td class=\"n\">%lu</td><td class=\"n\">%lu</td><td class=\"n\">%lu</td>"
                       "<td class=\"n\">%lu</td><td class=\"n\">%lu</td><td>",
                       i, f.traffic[1], f.traffic[2], f.traffic[3], f.traffic[4], f.traffic[5]);
            for (size_t d = 0; d < f.drop_count; ++d) {
                if (f.drops[d].count == 0)
                    continue;
                out.append("%s", f.drops[d].error ? "<span class=\"err\">" : "<span>");
                out.append_html(f.drops[d].name.text);
                out.append(" %lu</span> ", f.drops[d].count);
            }
            out.append("</td></tr>\n");
        }
        out.append("</table>\n");
    }

    for (size_t k = 0; k < server_count; ++k) {
        const Snapshot::Server& server = s.servers[k];
        out.append("<h2>%s server</h2>\n", server_names[k]);
        if (server.error != 0) {
            out.append("<p class=\"err\">%s is %s (%s).</p>\n", server_names[k],
                       is_not_found(server.error) ? "not running" : "not answering", sys::error_name(server.error));
            continue;
        }
        out.append("<table><tr><th>counter</th><th>value</th></tr>\n");
        for (size_t c = 0; c < server.counter_count; ++c) {
            out.append("<tr%s><td>", server.counters[c].error && server.counters[c].value != 0 ? " class=\"err\"" : "");
            out.append_html(server.counters[c].name.text);
            out.append("</td><td class=\"n\">%lu</td></tr>\n", server.counters[c].value);
        }
        out.append("</table>\n<table><tr><th>local</th><th>remote</th><th>state</th><th>recv-q</th><th>send-q</th>"
                   "<th>owner</th><th>in</th><th>out</th></tr>\n");
        for (size_t i = 0; i < server.socket_count; ++i) {
            const uint64_t* w = server.sockets[i].words;
            out.append("<tr><td>%s</td><td>%s</td><td>%s</td><td class=\"n\">%lu</td><td class=\"n\">%lu</td><td>",
                       EndpointText(w[1]).text, EndpointText(w[2]).text, socket_state(k, w[3]), w[4] & 0xFFFFFFFF,
                       w[4] >> 32);
            out.append_html(server.sockets[i].owner.text);
            out.append("</td><td class=\"n\">%lu</td><td class=\"n\">%lu</td></tr>\n", w[5] & 0xFFFFFFFF, w[5] >> 32);
        }
        out.append("</table>\n");
        if (server.socket_total > server.socket_count)
            out.append("<p>... and %lu more sockets.</p>\n", server.socket_total - server.socket_count);
    }

    out.append("<h2>Services (rs)</h2>\n<table><tr><th>service</th><th>endpoint</th><th>restarts</th>"
               "<th>last recovery</th></tr>\n");
    for (size_t i = 0; i < s.service_count; ++i) {
        const Snapshot::Service& service = s.services[i];
        out.append("<tr><td>");
        out.append_html(service.name.text);
        out.append("</td><td>0x%lx</td><td class=\"n\">%lu</td><td class=\"n\">", service.endpoint, service.restarts);
        if (service.last_recovery_us != 0)
            out.append("%lu.%03lu ms", service.last_recovery_us / 1000, service.last_recovery_us % 1000);
        out.append("</td></tr>\n");
    }
    out.append("</table>\n</body></html>\n");
}

} // namespace httpd
