// rs, the reincarnation server: the first process. It starts every boot
// module as a service, learns from the kernel of every exit and fault,
// restarts services by their policy, pings those that asked for heartbeats
// and restarts the ones that stop answering, and keeps the data store.
#include "data_store.hpp"
#include "runtime/print.hpp"
#include "proto/rs.hpp"
#include "service_table.hpp"
#include "runtime/sys.hpp"

namespace {

namespace sys = tern::sys;
using tern::print;

rs::ServiceTable g_services;
rs::DataStore g_store;
sys::Endpoint g_self = 0;
uint64_t g_next_heartbeat_ns = 0;

uint64_t now_ns() { return static_cast<uint64_t>(sys::uptime()); }

int64_t start(rs::Service& s)
{
    sys::SpawnRequest request{};
    request.module = s.module;
    request.core = s.config.core;
    request.privileges = s.config.privileges;
    request.pci_device = s.config.pci_device;
    request.restarts = s.restarts;
    for (size_t i = 0; i < sizeof(request.name) - 1 && s.config.name[i] != '\0'; ++i)
        request.name[i] = s.config.name[i];
    int64_t endpoint = sys::proc_spawn(request);
    if (endpoint == sys::error_code(sys::Error::invalid_argument) && request.core >= 0) {
        // A machine with fewer cores than the module line assumes: run it anyway.
        print("rs: core %d does not exist; '%s' runs where the kernel places it\n", request.core, s.config.name);
        request.core = -1;
        endpoint = sys::proc_spawn(request);
    }
    if (endpoint < 0) {
        print("rs: cannot start '%s': %s\n", s.config.name, sys::error_name(endpoint));
        s.endpoint = 0;
        return endpoint;
    }
    s.endpoint = static_cast<sys::Endpoint>(endpoint);
    s.ping_outstanding = false;
    s.missed_pings = 0;
    s.started_ns = now_ns();
    s.restart_at_ns = 0;
    return endpoint;
}

// The PCI functions the kernel found, for services started per device.
size_t read_pci(sys::PciInfo (&functions)[64])
{
    size_t count = 0;
    while (count < 64 && sys::pci_info(count, functions[count]) == 0)
        ++count;
    return count;
}

// A service with a pci=VVVV:DDDD list runs once per matching function (a
// driver per NIC: e1000, e1000-1, …); none matching, it does not run.
void add_per_device(const rs::ServiceConfig& config, uint32_t module, const sys::PciInfo* functions, size_t count)
{
    uint32_t found[8];
    const size_t matched = rs::match_pci(config, functions, count, found, 8);
    if (matched == 0)
        print("rs: '%s': no matching PCI device, not started\n", config.name);
    for (size_t k = 0; k < matched && k < 8; ++k) {
        if (g_services.add(rs::pci_instance(config, found[k], k), module) == nullptr)
            print("rs: too many services; '%s' ignored\n", config.name);
    }
}

void load_services()
{
    sys::PciInfo functions[64];
    const size_t function_count = read_pci(functions);
    for (uint32_t i = 0;; ++i) {
        sys::ModuleInfo info{};
        if (sys::module_info(i, info) < 0)
            break;
        rs::ServiceConfig config;
        const char* error;
        if (!rs::parse_module_cmdline(info.cmdline, config, error)) {
            print("rs: boot module %u '%s' ignored: %s\n", i, info.cmdline, error);
            continue;
        }
        if (__builtin_strcmp(config.name, "rs") == 0)
            continue;
        if (config.pci_id_count != 0) {
            add_per_device(config, i, functions, function_count);
            continue;
        }
        if (g_services.add(config, i) == nullptr)
            print("rs: too many services; '%s' ignored\n", config.name);
    }
    for (size_t i = 0; i < rs::ServiceTable::capacity; ++i) {
        rs::Service* s = g_services.at(i);
        if (s != nullptr && !s->config.manual_start)
            (void)start(*s);
    }
}

// One alarm serves both the heartbeat and delayed restarts: the earliest wins.
void rearm_alarm()
{
    const uint64_t now = now_ns();
    uint64_t next = 0;
    if (g_services.heartbeat_period_ms() != 0) {
        if (g_next_heartbeat_ns == 0)
            g_next_heartbeat_ns = now + uint64_t{g_services.heartbeat_period_ms()} * 1000000;
        next = g_next_heartbeat_ns;
    }
    for (size_t i = 0; i < rs::ServiceTable::capacity; ++i) {
        const rs::Service* s = g_services.at(i);
        if (s != nullptr && s->restart_at_ns != 0 && (next == 0 || s->restart_at_ns < next))
            next = s->restart_at_ns;
    }
    if (next == 0) {
        (void)sys::alarm(0);
        return;
    }
    const uint64_t ms = next > now ? (next - now + 999999) / 1000000 : 1;
    (void)sys::alarm(ms);
}

void restart(rs::Service& s, uint64_t ended_ns)
{
    ++s.restarts;
    if (start(s) >= 0) {
        s.last_recovery_us = (now_ns() - ended_ns) / 1000;
        print("rs: restarted '%s' (restart %u) %lu us after it ended\n", s.config.name, s.restarts,
              s.last_recovery_us);
    }
}

void handle_kernel_events()
{
    sys::KernelEvent event;
    while (sys::kernel_event(event) == 0) {
        rs::Service* s = g_services.by_endpoint(event.endpoint);
        if (s == nullptr)
            continue; // not ours (or already replaced)
        s->endpoint = 0;
        switch (event.kind) {
        case sys::EventKind::exited:
            print("rs: '%s' exited with status %lu\n", s->config.name, event.status);
            break;
        case sys::EventKind::killed: print("rs: '%s' was killed\n", s->config.name); break;
        case sys::EventKind::aborted: print("rs: '%s' aborted\n", s->config.name); break;
        case sys::EventKind::faulted:
            print("rs: '%s' crashed (vector %u, address 0x%lx, rip 0x%lx)\n", s->config.name, event.vector,
                  event.address, event.rip);
            break;
        }
        const bool clean_exit = event.kind == sys::EventKind::exited && event.status == 0;
        if (s->config.restart != rs::RestartPolicy::always || clean_exit)
            continue;
        const uint64_t delay = rs::restart_delay_ns(*s, event.time_ns);
        if (delay == 0) {
            restart(*s, event.time_ns);
        } else {
            s->restart_at_ns = now_ns() + delay;
            print("rs: '%s' keeps failing right after its start; next restart in %lu ms\n", s->config.name,
                  delay / 1000000);
        }
    }
    rearm_alarm();
}

void heartbeat_round();

void on_alarm()
{
    const uint64_t now = now_ns();
    for (size_t i = 0; i < rs::ServiceTable::capacity; ++i) {
        rs::Service* s = g_services.at(i);
        if (s != nullptr && s->restart_at_ns != 0 && s->restart_at_ns <= now)
            restart(*s, s->restart_at_ns);
    }
    if (g_next_heartbeat_ns != 0 && g_next_heartbeat_ns <= now) {
        g_next_heartbeat_ns = 0;
        heartbeat_round();
    }
    rearm_alarm();
}

void heartbeat_round()
{
    rs::Service* ping[rs::ServiceTable::capacity];
    rs::Service* hung[rs::ServiceTable::capacity];
    size_t ping_count, hung_count;
    g_services.heartbeat_round(ping, ping_count, hung, hung_count);
    for (size_t i = 0; i < hung_count; ++i) {
        print("rs: '%s' missed 2 heartbeats: hung; restarting it\n", hung[i]->config.name);
        hung[i]->ended_on_request = true;
        (void)sys::proc_kill(hung[i]->endpoint); // its end comes back as a kernel event
    }
    for (size_t i = 0; i < ping_count; ++i)
        (void)sys::notify(ping[i]->endpoint);
}

// A request from a client, answered in place (words[0] = result).
void serve(sys::Message& m)
{
    using tern::rs::Op;
    char name[tern::rs::key_size + 1];
    rs::Service* requester = g_services.by_endpoint(m.source);
    const bool may_control =
        requester != nullptr && (requester->config.privileges & sys::privilege::crash) != 0;
    int64_t result = 0;
    switch (static_cast<Op>(m.type)) {
    case Op::ds_put: {
        const auto* key = reinterpret_cast<const uint8_t(*)[tern::rs::key_size]>(&m.words[0]);
        const auto* value = reinterpret_cast<const uint8_t(*)[tern::rs::value_size]>(&m.words[2]);
        result = g_store.put(*key, *value) ? 0 : sys::error_code(sys::Error::no_memory);
        break;
    }
    case Op::ds_get: {
        const auto* key = reinterpret_cast<const uint8_t(*)[tern::rs::key_size]>(&m.words[0]);
        auto* value = reinterpret_cast<uint8_t(*)[tern::rs::value_size]>(&m.words[2]);
        uint8_t found[tern::rs::value_size];
        if (g_store.get(*key, found))
            __builtin_memcpy(*value, found, sizeof(found));
        else
            result = sys::error_code(sys::Error::not_found);
        break;
    }
    case Op::lookup: {
        tern::rs::get_name(m, name);
        rs::Service* s = g_services.by_name(name);
        if (s == nullptr || s->endpoint == 0)
            result = sys::error_code(sys::Error::not_found);
        else
            m.words[1] = s->endpoint;
        break;
    }
    case Op::start: {
        tern::rs::get_name(m, name);
        rs::Service* s = g_services.by_name(name);
        if (!may_control)
            result = sys::error_code(sys::Error::permission);
        else if (s == nullptr)
            result = sys::error_code(sys::Error::not_found);
        else if (s->endpoint != 0)
            result = sys::error_code(sys::Error::busy);
        else {
            if (m.words[2] != ~0ull)
                s->config.core = static_cast<int32_t>(m.words[2]);
            result = start(*s);
            if (result >= 0) {
                m.words[1] = static_cast<uint64_t>(result);
                result = 0;
                rearm_alarm(); // it may want heartbeats
            }
        }
        break;
    }
    case Op::crash:
    case Op::kill: {
        tern::rs::get_name(m, name);
        rs::Service* s = g_services.by_name(name);
        if (!may_control)
            result = sys::error_code(sys::Error::permission);
        else if (s == nullptr || s->endpoint == 0)
            result = sys::error_code(sys::Error::not_found);
        else {
            s->ended_on_request = true;
            if (static_cast<Op>(m.type) == Op::kill)
                result = sys::proc_kill(s->endpoint);
            else
                result = sys::proc_crash(s->endpoint, static_cast<sys::CrashKind>(m.words[2]));
            if (result < 0)
                s->ended_on_request = false;
        }
        break;
    }
    case Op::status: {
        rs::Service* s = g_services.at(m.words[0]);
        if (s == nullptr) {
            result = sys::error_code(sys::Error::not_found);
            break;
        }
        m.words[1] = s->endpoint;
        m.words[2] = s->restarts;
        m.words[3] = s->last_recovery_us;
        break;
    }
    default: result = sys::error_code(sys::Error::invalid_call); break;
    }
    m.words[0] = static_cast<uint64_t>(result);
}

} // namespace

int main(int, char**)
{
    g_self = static_cast<sys::Endpoint>(sys::self());
    print("rs: supervisor running as endpoint 0x%lx\n", g_self);
    load_services();
    rearm_alarm();
    for (;;) {
        sys::Message m{};
        if (sys::receive(sys::endpoint::any, m) < 0)
            continue;
        if (m.type == sys::message_type::notify) {
            if (m.source == sys::endpoint::kernel)
                handle_kernel_events();
            else if (m.source == sys::endpoint::clock)
                on_alarm();
            else if (rs::Service* s = g_services.by_endpoint(m.source))
                g_services.pong(*s);
            continue;
        }
        const sys::Endpoint client = m.source;
        serve(m);
        (void)sys::reply(client, m); // a client that stopped waiting is its own problem
    }
}
