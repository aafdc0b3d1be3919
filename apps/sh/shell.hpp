// The shell's commands: parse a line, run the command, print the answer.
// Pure logic: everything it asks of the system goes through the System
// interface, and everything it prints goes to a FormatSink, so the host tests
// run it against a fake system. main.cpp binds both to the real thing.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/format.hpp"
#include "netio.hpp"
#include "proto/rs.hpp"
#include "proto/syscall.hpp"

namespace sh {

namespace sys = tern::sys;

// What the shell needs from Tern: the system calls it makes, and requests to
// rs. Results follow the system-call convention (>= 0, or -Error).
class System {
public:
    virtual int64_t proc_info(uint64_t slot, sys::ProcessInfo& info) = 0;
    virtual int64_t cpu_info(uint64_t core, sys::CpuInfo& info) = 0;
    virtual int64_t syscall_count(sys::Endpoint endpoint) = 0;
    virtual int64_t pci_info(uint64_t index, sys::PciInfo& info) = 0;
    virtual uint64_t uptime_ns() = 0;
    virtual void sleep_ms(uint64_t milliseconds) = 0;
    // A request to rs (see runtime/rs_client.hpp): the result and the reply.
    virtual int64_t rs_call(tern::rs::Op op, const char* name, uint64_t arg, sys::Message& reply) = 0;
    // Returns only if the machine did not go off (-permission ...).
    virtual int64_t poweroff() = 0;
    // A request to the ip server (proto/ip.hpp): the result; the reply in `m`.
    virtual int64_t ip_call(sys::Message& m) = 0;
    // A request to any service (found with rs_call(lookup)): the reply's
    // result (words[0]) or the IPC error; the reply in `m`.
    virtual int64_t call(sys::Endpoint endpoint, sys::Message& m) = 0;
    // Sockets, for nc (apps/netio: results >= 0 or -errno).
    virtual netio::Sockets& sockets() = 0;

protected:
    ~System() = default;
};

class Shell {
public:
    static constexpr size_t max_words = 12;
    static constexpr uint64_t process_slots = 64; // proc_info slots ps and stat look at
    static constexpr uint64_t max_cores = 64;
    static constexpr uint64_t cores_window_ms = 100; // `cores`: the recent-load window
    static constexpr uint64_t max_socket_entries = 4096; // netstat asks a server about at most this many

    Shell(System& system, tern::FormatSink& out) : m_system(system), m_out(out) {}

    // Runs one command line (surrounding and repeated blanks do not matter;
    // an empty line does nothing).
    void execute(const char* line);

private:
    struct Args {
        size_t count;
        const char* word[max_words];
    };
    struct Command {
        const char* name;
        const char* synopsis;
        const char* help;
        size_t min_words; // including the command's own name
        size_t max_words;
        void (Shell::*run)(const Args&);
    };
    static const Command* commands(size_t& count);

    void help(const Args&);
    void ps(const Args&);
    void kill(const Args&);
    void crash(const Args&);
    void run(const Args&);
    void uptime(const Args&);
    void cores(const Args&);
    void lspci(const Args&);
    void ifconfig(const Args&);
    void ping(const Args&);
    void netstat(const Args&);
    void netstat_interfaces();
    void netstat_sockets();
    void netstat_counters();
    // The endpoint of the transport server `name` ("tcp", "udp"), or -Error.
    int64_t transport_server(const char* name);
    // The name of the process with `endpoint` ("-" for 0, the number if it is gone).
    struct OwnerName {
        char text[33];
    };
    OwnerName owner_name(uint64_t endpoint);
    void nc(const Args&);
    void arp(const Args&);
    void route(const Args&);
    // A request to ip about entry `index` (proto/ip.hpp; words[1] = word1):
    // the result, the reply in `m`.
    int64_t ip_query(uint32_t op, uint64_t index, sys::Message& m, uint64_t word1 = 0);
    void stat(const Args&);
    void poweroff(const Args&);

    bool check_service_name(const char* command, const char* name);
    void report_rs_error(const char* command, const char* name, int64_t result);
    void say(const char* fmt, ...) __attribute__((format(printf, 2, 3)));

    System& m_system;
    tern::FormatSink& m_out;
};

} // namespace sh
