// rs's knowledge of the services it supervises: what each boot module asks
// for (parsed from its command line), whether it runs, its restarts and its
// heartbeat state. Pure logic, also built for host tests.
#pragma once

#include <cstddef>
#include <cstdint>

#include "proto/syscall.hpp"

namespace rs {

namespace sys = tern::sys;

enum class RestartPolicy { always, never };

struct PciId {
    uint16_t vendor;
    uint16_t device;
    bool any_device; // VVVV:*
};

struct ServiceConfig {
    static constexpr size_t max_pci_ids = 16;

    char name[17] = {};
    int32_t core = -1;
    uint64_t privileges = 0;
    uint32_t pci_device = ~0u;  // pci=BB:DD.F, or the function a pci=VVVV:DDDD list matched
    PciId pci_ids[max_pci_ids] = {}; // pci=VVVV:DDDD,...: one instance per matching function
    size_t pci_id_count = 0;
    int32_t pci_class = -1;          // pciclass=CCSS: only functions of that class and subclass
    RestartPolicy restart = RestartPolicy::always;
    uint32_t heartbeat_ms = 0; // 0: not pinged
    bool manual_start = false;
};

// Parses "name key=value ..." (a boot module's command line). Unknown keys
// are kept for the program itself; values rs does not understand make the
// parse fail with a message in `error`.
bool parse_module_cmdline(const char* cmdline, ServiceConfig& out, const char*& error);

// The PCI functions (among `functions`, in their order) that a service's
// pci=VVVV:DDDD list matches; up to `max` of their addresses go to `out`.
// Returns how many matched.
size_t match_pci(const ServiceConfig& config, const sys::PciInfo* functions, size_t count, uint32_t* out,
                 size_t max);

// The configuration of instance `index` (0, 1, …) of a service whose pci=
// list matched several functions: the function's address, and for index > 0
// the name with "-<index>" appended (cut to fit).
ServiceConfig pci_instance(const ServiceConfig& config, uint32_t pci_address, size_t index);

struct Service {
    ServiceConfig config;
    uint32_t module = 0;
    sys::Endpoint endpoint = 0; // 0: not running
    uint32_t restarts = 0;
    bool ping_outstanding = false;
    uint32_t missed_pings = 0;
    uint64_t last_recovery_us = 0;
    bool in_use = false;

    // Restart pacing: a service that keeps dying right after its start is
    // restarted with a growing delay, unless rs itself made it end.
    uint64_t started_ns = 0;
    uint32_t quick_failures = 0;
    uint64_t restart_at_ns = 0; // 0: no delayed restart pending
    bool ended_on_request = false;
};

// The delay before restarting a service that ended at `now_ns`; updates its
// count of quick failures. 0 means at once.
uint64_t restart_delay_ns(Service& service, uint64_t now_ns);

class ServiceTable {
public:
    static constexpr size_t capacity = 48;

    Service* add(const ServiceConfig& config, uint32_t module);
    Service* by_name(const char* name);
    Service* by_endpoint(sys::Endpoint endpoint);
    Service* at(size_t index) { return index < capacity && m_services[index].in_use ? &m_services[index] : nullptr; }
    // The shortest heartbeat period among running services (0: none).
    uint32_t heartbeat_period_ms() const;

    // One heartbeat round: services whose last ping went unanswered count a
    // miss; returns in `hung` (up to `max_hung`) those with two misses in a
    // row, and marks every other pinged service as having a ping outstanding.
    // `ping` lists the services to ping now.
    void heartbeat_round(Service** ping, size_t& ping_count, Service** hung, size_t& hung_count);
    void pong(Service& service)
    {
        service.ping_outstanding = false;
        service.missed_pings = 0;
    }

private:
    Service m_services[capacity];
};

} // namespace rs
