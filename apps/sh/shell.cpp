#include "shell.hpp"

#include <cstdarg>

#include "net/address.hpp"
#include "proto/ip.hpp"
#include "proto/nic.hpp"
#include "proto/pci.hpp"
#include "proto/socket.hpp"
#include "words.hpp"

namespace sh {
namespace {

using tern::rs::Op;

size_t length(const char* s)
{
    size_t n = 0;
    while (s[n] != '\0')
        ++n;
    return n;
}

bool starts_with(const char* s, const char* prefix)
{
    for (; *prefix != '\0'; ++s, ++prefix)
        if (*s != *prefix)
            return false;
    return true;
}

const char* state_name(sys::ProcessState state)
{
    switch (state) {
    case sys::ProcessState::free: return "free";
    case sys::ProcessState::running: return "running";
    case sys::ProcessState::ready: return "ready";
    case sys::ProcessState::blocked: return "blocked";
    case sys::ProcessState::stopped: return "stopped";
    }
    return "?";
}

// The process name from ProcessInfo, terminated even if the kernel filled
// all 32 bytes.
struct Name {
    char text[sizeof(sys::ProcessInfo::name) + 1];
    explicit Name(const sys::ProcessInfo& info)
    {
        for (size_t i = 0; i < sizeof(info.name); ++i)
            text[i] = info.name[i];
        text[sizeof(info.name)] = '\0';
    }
};

// "12.3" (milliseconds with one decimal) from nanoseconds.
struct Milliseconds {
    char text[32];
    explicit Milliseconds(uint64_t ns)
    {
        tern::format_to(text, sizeof(text), "%lu.%lu", ns / 1000000, ns / 100000 % 10);
    }
};

// "0.412" (milliseconds with three decimals) from nanoseconds.
struct Milliseconds3 {
    char text[32];
    explicit Milliseconds3(uint64_t ns)
    {
        tern::format_to(text, sizeof(text), "%lu.%03lu", ns / 1000000, ns / 1000 % 1000);
    }
};

// "42.5%" for part/whole (0% when whole is 0; at most 100%).
struct Percent {
    char text[16];
    Percent(uint64_t part, uint64_t whole)
    {
        uint64_t permille =
            whole == 0 ? 0 : static_cast<uint64_t>(static_cast<unsigned __int128>(part) * 1000 / whole);
        if (permille > 1000)
            permille = 1000;
        tern::format_to(text, sizeof(text), "%lu.%lu%%", permille / 10, permille % 10);
    }
};

// "10.0.2.15:7" from an endpoint word (proto/socket.hpp).
struct EndpointText {
    char text[24];
    explicit EndpointText(uint64_t word)
    {
        tern::format_to(text, sizeof(text), "%s:%u",
                        tern::net::to_text(tern::net::Ipv4Address{tern::socket_proto::endpoint_address(word)}).text,
                        tern::socket_proto::endpoint_port(word));
    }
};

} // namespace

// The command table; a function so it can name the private handlers and
// still be a constant.
const Shell::Command* Shell::commands(size_t& count)
{
    static constexpr Command table[] = {
        {"help", "help", "this list", 1, 1, &Shell::help},
        {"ps", "ps", "processes: slot, endpoint, name, core, state, restarts, CPU time, system calls", 1, 1,
         &Shell::ps},
        {"kill", "kill NAME", "stop a service (rs restarts it when its policy says so)", 2, 2, &Shell::kill},
        {"crash", "crash NAME [segv|hang]", "make a service fault (segv, the default) or hang, to test recovery", 2,
         3, &Shell::crash},
        {"run", "run NAME [core=N]", "start a service that is not running (e.g. one with start=manual)", 2, 3,
         &Shell::run},
        {"uptime", "uptime", "time since boot", 1, 1, &Shell::uptime},
        {"cores", "cores", "per core: online, busy % since boot and over the last 100 ms", 1, 1, &Shell::cores},
        {"lspci", "lspci", "PCI functions: address, vendor:device, class, IRQ line", 1, 1, &Shell::lspci},
        {"ifconfig", "ifconfig", "network interfaces: MAC, address, link, DHCP, packets", 1, 1, &Shell::ifconfig},
        {"ping", "ping [-c N] [-i MS] [-s BYTES] [-W MS] ADDRESS", "ICMP echo (-W: reply timeout): replies, loss, round trips", 2, 10,
         &Shell::ping},
        {"netstat", "netstat [-i|-s]", "tcp and udp sockets; -i: per interface packets, bytes, drops by reason; -s: the tcp and udp servers' counters", 1, 2, &Shell::netstat},
        {"nc", "nc [-u] [-w SEC] HOST PORT [TEXT]", "send TEXT, print the answer; nc -n BYTES [-s SEED] HOST PORT: send test data, print rate and sha256; nc -l PORT: receive one connection", 3, max_words, &Shell::nc},
        {"arp", "arp", "the ARP cache: address, MAC, interface, age", 1, 1, &Shell::arp},
        {"route", "route", "the routing table", 1, 1, &Shell::route},
        {"stat", "stat NAME|ENDPOINT", "one process: endpoint, system calls, CPU time", 2, 2, &Shell::stat},
        {"poweroff", "poweroff", "switch the machine off", 1, 1, &Shell::poweroff},
    };
    count = sizeof(table) / sizeof(table[0]);
    return table;
}

void Shell::say(const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    tern::vformat(m_out, fmt, args);
    va_end(args);
}

void Shell::execute(const char* line)
{
    // Split into words, in a copy we can terminate.
    char copy[256];
    size_t n = 0;
    for (; line[n] != '\0' && n + 1 < sizeof(copy); ++n)
        copy[n] = line[n] == '\t' ? ' ' : line[n];
    copy[n] = '\0';
    Args args{};
    for (char* p = copy; *p != '\0';) {
        while (*p == ' ')
            ++p;
        if (*p == '\0')
            break;
        if (args.count == max_words) {
            say("sh: too many words (at most %zu)\n", max_words);
            return;
        }
        args.word[args.count++] = p;
        while (*p != '\0' && *p != ' ')
            ++p;
        if (*p == ' ')
            *p++ = '\0';
    }
    if (args.count == 0)
        return;
    size_t count;
    const Command* table = commands(count);
    for (const Command* command = table; command != table + count; ++command) {
        if (!equal(command->name, args.word[0]))
            continue;
        if (args.count < command->min_words || args.count > command->max_words) {
            say("usage: %s\n", command->synopsis);
            return;
        }
        (this->*command->run)(args);
        return;
    }
    say("sh: unknown command '%s' (try help)\n", args.word[0]);
}

void Shell::help(const Args&)
{
    say("commands:\n");
    size_t count;
    const Command* table = commands(count);
    for (const Command* command = table; command != table + count; ++command)
        say("  %-24s %s\n", command->synopsis, command->help);
}

void Shell::ps(const Args&)
{
    say("%4s  %-10s %-16s %4s  %-8s %8s %10s %10s\n", "SLOT", "ENDPOINT", "NAME", "CORE", "STATE", "RESTARTS",
        "CPU(ms)", "SYSCALLS");
    for (uint64_t slot = 0; slot < process_slots; ++slot) {
        sys::ProcessInfo info{};
        if (m_system.proc_info(slot, info) < 0)
            continue;
        char endpoint[24];
        tern::format_to(endpoint, sizeof(endpoint), "0x%lx", info.endpoint);
        say("%4lu  %-10s %-16s %4u  %-8s %8u %10s %10lu\n", slot, endpoint, Name(info).text, info.core,
            state_name(info.state), info.restarts, Milliseconds(info.cpu_time_ns).text, info.syscalls);
    }
}

bool Shell::check_service_name(const char* command, const char* name)
{
    if (length(name) <= tern::rs::key_size)
        return true;
    say("%s: service name '%s' is too long (at most %zu characters)\n", command, name, tern::rs::key_size);
    return false;
}

void Shell::report_rs_error(const char* command, const char* name, int64_t result)
{
    switch (static_cast<sys::Error>(-result)) {
    case sys::Error::not_found:
        say("%s: no service '%s'%s\n", command, name, equal(command, "run") ? "" : " running");
        return;
    case sys::Error::permission: say("%s: permission denied\n", command); return;
    case sys::Error::busy: say("%s: '%s' is already running\n", command, name); return;
    case sys::Error::dead_endpoint:
        say("%s: rs is not answering (%s)\n", command, sys::error_name(result));
        return;
    default: say("%s: '%s': %s\n", command, name, sys::error_name(result)); return;
    }
}

void Shell::kill(const Args& args)
{
    const char* name = args.word[1];
    if (!check_service_name("kill", name))
        return;
    sys::Message reply{};
    const int64_t result = m_system.rs_call(Op::kill, name, 0, reply);
    if (result < 0)
        report_rs_error("kill", name, result);
    else
        say("kill: killed '%s'\n", name);
}

void Shell::crash(const Args& args)
{
    const char* name = args.word[1];
    sys::CrashKind kind = sys::CrashKind::segfault;
    if (args.count == 3) {
        if (equal(args.word[2], "hang"))
            kind = sys::CrashKind::hang;
        else if (!equal(args.word[2], "segv")) {
            say("crash: unknown kind '%s' (segv or hang)\n", args.word[2]);
            return;
        }
    }
    if (!check_service_name("crash", name))
        return;
    sys::Message reply{};
    const int64_t result = m_system.rs_call(Op::crash, name, static_cast<uint64_t>(kind), reply);
    if (result < 0)
        report_rs_error("crash", name, result);
    else if (kind == sys::CrashKind::hang)
        say("crash: made '%s' hang\n", name);
    else
        say("crash: made '%s' touch an unmapped address\n", name);
}

void Shell::run(const Args& args)
{
    const char* name = args.word[1];
    uint64_t core = ~0ull;
    if (args.count == 3) {
        if (!starts_with(args.word[2], "core=") || !parse_number(args.word[2] + 5, core) || core >= max_cores) {
            say("run: bad option '%s' (want core=N)\n", args.word[2]);
            return;
        }
    }
    if (!check_service_name("run", name))
        return;
    sys::Message reply{};
    const int64_t result = m_system.rs_call(Op::start, name, core, reply);
    if (result < 0) {
        report_rs_error("run", name, result);
        return;
    }
    say("run: started '%s' as endpoint 0x%lx\n", name, reply.words[1]);
}

void Shell::uptime(const Args&)
{
    const uint64_t ns = m_system.uptime_ns();
    say("up %lu.%03lu s\n", ns / 1000000000, ns / 1000000 % 1000);
}

void Shell::lspci(const Args&)
{
    uint64_t index = 0;
    for (sys::PciInfo info{}; m_system.pci_info(index, info) == 0; ++index) {
        say("%02x:%02x.%x  %04x:%04x  %-22s irq %u\n", info.address >> 8, (info.address >> 3) & 0x1F,
            info.address & 7, info.vendor_id, info.device_id, tern::pci::class_name(info.class_code, info.subclass),
            info.irq_line);
    }
    if (index == 0)
        say("lspci: no PCI functions\n");
}

void Shell::ifconfig(const Args&)
{
    static constexpr const char* dhcp_states[] = {"off", "selecting", "requesting", "bound", "renewing", "rebinding"};
    unsigned index = 0;
    for (;; ++index) {
        sys::Message m;
        const int64_t result = ip_query(tern::ip_proto::interface_info, index, m);
        if (result == sys::error_code(sys::Error::not_found))
            break;
        if (result < 0) {
            say("ifconfig: %s\n", sys::error_name(result));
            return;
        }
        const tern::net::Ipv4Address address{static_cast<uint32_t>(m.words[2])};
        const unsigned prefix = (m.words[2] >> 32) & 0xFF;
        const bool up = ((m.words[2] >> 40) & 1) != 0;
        const unsigned dhcp = (m.words[2] >> 48) & 0xFF;
        say("eth%u: MAC %s, %s/%u, link %s, DHCP %s\n", index, tern::net::to_text(tern::nic::mac_address(m.words[1])).text,
            tern::net::to_text(address).text, prefix, up ? "up" : "down",
            dhcp < sizeof(dhcp_states) / sizeof(dhcp_states[0]) ? dhcp_states[dhcp] : "?");
        say("      %lu packets received, %lu sent, %lu dropped\n", m.words[3], m.words[4], m.words[5]);
    }
    if (index == 0)
        say("ifconfig: no network interfaces\n");
}

void Shell::ping(const Args& args)
{
    uint64_t count = 4, interval_ms = 1000, size = 56, timeout_ms = 1000;
    const char* target = nullptr;
    for (size_t i = 1; i < args.count; ++i) {
        uint64_t* option = equal(args.word[i], "-c") ? &count : equal(args.word[i], "-i") ? &interval_ms
                         : equal(args.word[i], "-s") ? &size : equal(args.word[i], "-W") ? &timeout_ms : nullptr;
        if (option != nullptr) {
            if (i + 1 == args.count || !parse_number(args.word[++i], *option)) {
                say("usage: ping [-c N] [-i MS] [-s BYTES] [-W MS] ADDRESS (%s needs a number)\n", args.word[i - 1]);
                return;
            }
        } else if (target == nullptr) {
            target = args.word[i];
        } else {
            say("usage: ping [-c N] [-i MS] [-s BYTES] [-W MS] ADDRESS\n");
            return;
        }
    }
    const auto destination = target != nullptr ? tern::net::parse_ipv4(target)
                                               : tern::Result<tern::net::Ipv4Address>(tern::Error::invalid_argument);
    if (!destination.ok() || count == 0 || count > 100000 || size > 65507 || interval_ms > 60000 ||
        timeout_ms == 0 || timeout_ms > 60000) {
        say("usage: ping [-c N] [-i MS] [-s BYTES] [-W MS] ADDRESS (N 1..100000, MS 1..60000, BYTES up to 65507)\n");
        return;
    }
    const tern::net::Ipv4Text address = tern::net::to_text(destination.value());
    const char* text = address.text;
    say("PING %s: %lu data bytes\n", text, size);
    uint64_t received = 0, min_ns = ~0ull, max_ns = 0, sum_ns = 0;
    for (uint64_t seq = 1; seq <= count; ++seq) {
        sys::Message m{};
        m.type = tern::ip_proto::ping;
        m.words[0] = destination.value().value;
        m.words[1] = seq;
        m.words[2] = size;
        m.words[3] = timeout_ms;
        const int64_t result = m_system.ip_call(m);
        if (result == sys::error_code(sys::Error::would_block)) {
            say("seq=%lu: no reply within %lu ms\n", seq, timeout_ms);
        } else if (result < 0) {
            say("ping: %s\n", sys::error_name(result));
            return;
        } else {
            ++received;
            const uint64_t rtt = m.words[1];
            min_ns = rtt < min_ns ? rtt : min_ns;
            max_ns = rtt > max_ns ? rtt : max_ns;
            sum_ns += rtt;
            say("%lu bytes from %s: seq=%lu ttl=%lu time=%s ms\n", m.words[3], text, seq, m.words[2],
                Milliseconds3(rtt).text);
        }
        if (seq != count && interval_ms != 0)
            m_system.sleep_ms(interval_ms);
    }
    say("--- %s: %lu sent, %lu received, %s loss\n", text, count, received, Percent(count - received, count).text);
    if (received != 0)
        say("rtt min/avg/max = %s/%s/%s ms\n", Milliseconds3(min_ns).text, Milliseconds3(sum_ns / received).text,
            Milliseconds3(max_ns).text);
}

int64_t Shell::ip_query(uint32_t op, uint64_t index, sys::Message& m, uint64_t word1)
{
    m = sys::Message{};
    m.type = op;
    m.words[0] = index;
    m.words[1] = word1;
    return m_system.ip_call(m);
}

void Shell::netstat(const Args& args)
{
    if (args.count == 1)
        netstat_sockets();
    else if (equal(args.word[1], "-i"))
        netstat_interfaces();
    else if (equal(args.word[1], "-s"))
        netstat_counters();
    else
        say("usage: netstat [-i|-s]\n");
}

int64_t Shell::transport_server(const char* name)
{
    sys::Message reply{};
    const int64_t result = m_system.rs_call(Op::lookup, name, 0, reply);
    if (result == sys::error_code(sys::Error::not_found))
        say("netstat: the %s server is not running\n", name);
    else if (result < 0)
        say("netstat: %s: %s\n", name, sys::error_name(result));
    return result < 0 ? result : static_cast<int64_t>(reply.words[1]);
}

void Shell::netstat_sockets()
{
    namespace control = tern::transport_control;
    say("%-5s %-21s %-21s %-12s %7s %7s %-12s %8s %8s\n", "PROTO", "LOCAL", "REMOTE", "STATE", "RECV-Q", "SEND-Q",
        "OWNER", "IN", "OUT");
    for (const char* name : {"tcp", "udp"}) {
        const int64_t server = transport_server(name);
        if (server < 0)
            continue;
        for (uint64_t entry = 0; entry < max_socket_entries; ++entry) {
            sys::Message m{};
            m.type = control::socket_entry;
            m.words[0] = entry;
            const int64_t result = m_system.call(static_cast<sys::Endpoint>(server), m);
            if (result == sys::error_code(sys::Error::not_found))
                break;
            if (result < 0) {
                say("netstat: %s: %s\n", name, sys::error_name(result));
                break;
            }
            const uint64_t state = m.words[3] & 0xFFFFFFFF;
            const char* state_text = name[0] == 't' ? control::tcp_state_name(state)
                                     : state == 0   ? "BOUND"
                                     : state == 1   ? "CONNECTED"
                                                    : "?";
            say("%-5s %-21s %-21s %-12s %7lu %7lu %-12s %8lu %8lu\n", name, EndpointText(m.words[1]).text,
                EndpointText(m.words[2]).text, state_text, m.words[4] & 0xFFFFFFFF, m.words[4] >> 32,
                owner_name(m.words[3] >> 32).text, m.words[5] & 0xFFFFFFFF, m.words[5] >> 32);
        }
    }
}

void Shell::netstat_counters()
{
    for (const char* name : {"tcp", "udp"}) {
        const int64_t server = transport_server(name);
        if (server < 0)
            continue;
        say("%s:\n", name);
        for (uint64_t number = 0; number < max_socket_entries; ++number) {
            sys::Message m{};
            m.type = tern::transport_control::counter;
            m.words[0] = number;
            const int64_t result = m_system.call(static_cast<sys::Endpoint>(server), m);
            if (result == sys::error_code(sys::Error::not_found))
                break;
            if (result < 0) {
                say("netstat: %s: %s\n", name, sys::error_name(result));
                break;
            }
            say("  %-24s %12lu%s\n", tern::ip_proto::drop_name(m.words).text, m.words[1],
                m.words[5] != 0 ? "  (error)" : "");
        }
    }
}

Shell::OwnerName Shell::owner_name(uint64_t endpoint)
{
    OwnerName name{};
    sys::ProcessInfo info{};
    if (endpoint != 0 && sys::endpoint::slot(endpoint) < process_slots &&
        m_system.proc_info(sys::endpoint::slot(endpoint), info) == 0 && info.endpoint == endpoint) {
        for (size_t i = 0; i < sizeof(info.name) && info.name[i] != '\0'; ++i)
            name.text[i] = info.name[i];
        if (name.text[0] != '\0')
            return name;
    }
    tern::format_to(name.text, sizeof(name.text), endpoint == 0 ? "-" : "0x%lx", endpoint);
    return name;
}

void Shell::netstat_interfaces()
{
    unsigned index = 0;
    for (;; ++index) {
        sys::Message m;
        const int64_t result = ip_query(tern::ip_proto::interface_traffic, index, m);
        if (result == sys::error_code(sys::Error::not_found))
            break;
        if (result < 0) {
            say("netstat: %s\n", sys::error_name(result));
            return;
        }
        say("eth%u: received %lu packets (%lu bytes), sent %lu packets (%lu bytes), %lu errors\n", index, m.words[1],
            m.words[2], m.words[3], m.words[4], m.words[5]);
        for (uint64_t reason = 0;; ++reason) {
            sys::Message d;
            if (ip_query(tern::ip_proto::interface_drop, index, d, reason) < 0)
                break;
            if (d.words[1] != 0)
                say("      dropped %lu: %s%s\n", d.words[1], tern::ip_proto::drop_name(d.words).text,
                    d.words[5] != 0 ? " (error)" : "");
        }
    }
    if (index == 0)
        say("netstat: no network interfaces\n");
}

void Shell::arp(const Args&)
{
    size_t shown = 0;
    for (uint64_t entry = 0;; ++entry) {
        sys::Message m{};
        if (ip_query(tern::ip_proto::arp_entry, entry, m) < 0)
            break;
        if (m.words[3] == 0xFFFF)
            continue;
        const tern::net::MacAddress mac = tern::nic::mac_address(m.words[2]);
        const bool resolved = ((m.words[3] >> 8) & 1) != 0;
        say("%-15s  %s  eth%lu  %s, %lu ms\n", tern::net::to_text(tern::net::Ipv4Address{static_cast<uint32_t>(m.words[1])}).text,
            resolved ? tern::net::to_text(mac).text : "(incomplete)     ", m.words[3] & 0xFF,
            resolved ? "confirmed" : "asking", m.words[4]);
        ++shown;
    }
    if (shown == 0)
        say("arp: the cache is empty\n");
}

void Shell::route(const Args&)
{
    size_t shown = 0;
    for (uint64_t entry = 0;; ++entry) {
        sys::Message m{};
        if (ip_query(tern::ip_proto::route_entry, entry, m) < 0)
            break;
        const tern::net::Ipv4Address destination{static_cast<uint32_t>(m.words[1])};
        const tern::net::Ipv4Address gateway{static_cast<uint32_t>(m.words[2])};
        say("%s/%lu  %s%s  eth%lu  metric %lu\n", tern::net::to_text(destination).text, (m.words[1] >> 32) & 0xFF,
            gateway.is_any() ? "directly" : "via ", gateway.is_any() ? "" : tern::net::to_text(gateway).text,
            m.words[3], m.words[4]);
        ++shown;
    }
    if (shown == 0)
        say("route: no routes\n");
}

void Shell::cores(const Args&)
{
    sys::CpuInfo before[max_cores];
    bool present[max_cores] = {};
    uint64_t count = 0;
    for (; count < max_cores; ++count) {
        if (m_system.cpu_info(count, before[count]) < 0)
            break;
        present[count] = true;
    }
    if (count == 0) {
        say("cores: cannot read core information\n");
        return;
    }
    m_system.sleep_ms(cores_window_ms);
    for (uint64_t core = 0; core < count; ++core) {
        sys::CpuInfo after{};
        if (!present[core] || m_system.cpu_info(core, after) < 0) {
            say("core %lu: no information\n", core);
            continue;
        }
        if (!after.online) {
            say("core %lu: offline\n", core);
            continue;
        }
        const uint64_t busy = after.busy_ns >= before[core].busy_ns ? after.busy_ns - before[core].busy_ns : 0;
        const uint64_t total = after.total_ns >= before[core].total_ns ? after.total_ns - before[core].total_ns : 0;
        say("core %lu: online (apic %u), busy %s since boot, %s over the last %lu ms\n", core, after.apic_id,
            Percent(after.busy_ns, after.total_ns).text, Percent(busy, total).text, total / 1000000);
    }
}

void Shell::stat(const Args& args)
{
    const char* target = args.word[1];
    sys::ProcessInfo info{};
    bool found = false;
    uint64_t number;
    if (parse_number(target, number)) {
        const sys::Endpoint endpoint = number;
        found = sys::endpoint::slot(endpoint) < process_slots &&
                m_system.proc_info(sys::endpoint::slot(endpoint), info) == 0 && info.endpoint == endpoint;
        if (!found) {
            say("stat: no process with endpoint 0x%lx\n", endpoint);
            return;
        }
    } else {
        for (uint64_t slot = 0; slot < process_slots && !found; ++slot)
            found = m_system.proc_info(slot, info) == 0 && equal(Name(info).text, target);
        if (!found) {
            say("stat: no process '%s'\n", target);
            return;
        }
    }
    const int64_t syscalls = m_system.syscall_count(info.endpoint);
    say("%s: endpoint 0x%lx (slot %lu, generation %lu), core %u, %s, restarts %u\n", Name(info).text, info.endpoint,
        sys::endpoint::slot(info.endpoint), sys::endpoint::generation(info.endpoint), info.core,
        state_name(info.state), info.restarts);
    if (syscalls < 0)
        say("  system calls: %s\n", sys::error_name(syscalls));
    else
        say("  system calls: %ld\n", syscalls);
    say("  CPU time: %s ms\n", Milliseconds(info.cpu_time_ns).text);
}

void Shell::poweroff(const Args&)
{
    say("poweroff: switching off\n");
    const int64_t result = m_system.poweroff();
    say("poweroff: %s\n", sys::error_name(result));
}

} // namespace sh
