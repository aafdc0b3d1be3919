// The status page httpd serves: what Tern's network stack and supervisor say
// about themselves, asked fresh for every request. Uptime; per interface
// ip's traffic and drops (proto/ip.hpp); the tcp and udp servers' counters
// and sockets (proto/socket.hpp transport_control); restarts per service
// (rs status, proto/rs.hpp). Two forms of the same facts: HTML for people,
// plain text for scripts (one fact per line, below).
//
// Everything it asks goes through StatusSource, so the host tests render it
// from a fake system.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/format.hpp"
#include "proto/syscall.hpp"

namespace httpd {

namespace sys = tern::sys;

class StatusSource {
public:
    virtual uint64_t uptime_ns() = 0;
    // The endpoint of the running service `name` ("ip", "tcp", "udp"), or
    // -Error (not_found: not running).
    virtual int64_t lookup(const char* name) = 0;
    // An ipc_call: the reply's result (words[0]), or the IPC error.
    virtual int64_t call(sys::Endpoint endpoint, sys::Message& m) = 0;
    // rs status for service slot `slot` (proto/rs.hpp): result, reply in `m`.
    virtual int64_t rs_status(uint64_t slot, sys::Message& m) = 0;
    virtual int64_t proc_info(uint64_t slot, sys::ProcessInfo& info) = 0;

protected:
    ~StatusSource() = default;
};

// A growing text buffer (a FormatSink), for responses of any size.
class Output final : public tern::FormatSink {
public:
    Output() = default;
    ~Output();
    Output(const Output&) = delete;
    Output& operator=(const Output&) = delete;

    void write(const char* text, size_t length) override;
    void append(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
    // `text` with & < > " ' as HTML entities.
    void append_html(const char* text);
    void clear() { m_size = 0; }

    const char* data() const { return m_data; }
    size_t size() const { return m_size; }
    // False once an allocation failed (the output is then cut short).
    bool ok() const { return !m_failed; }

private:
    char* m_data = nullptr;
    size_t m_size = 0;
    size_t m_capacity = 0;
    bool m_failed = false;
};

// Servers and sockets listed at most (each server has up to 1024 sockets).
constexpr uint64_t max_listed_sockets = 256;
constexpr uint64_t max_counters = 256;
constexpr uint64_t max_interfaces = 16;
constexpr uint64_t max_services = 128;

// The plain-text form, one fact per line, "KEY VALUE" with VALUE a decimal
// number unless said otherwise:
//   uptime_ms N
//   ip.running 0|1
//   ip.ethI.{rx_packets,rx_bytes,tx_packets,tx_bytes,errors} N
//   ip.ethI.drop.REASON N
//   SERVER.running 0|1                 SERVER: tcp, udp
//   SERVER.COUNTER N                   transport_control::counter names
//   SERVER.sockets N                   how many socket entries it has
//   service.NAME.restarts N            per running service (rs status)
//   service.NAME.endpoint 0xHEX
//   socket PROTO LOCAL REMOTE STATE RECV_Q SEND_Q OWNER SEGMENTS_IN SEGMENTS_OUT
//                                      (addresses a.b.c.d:port, OWNER a process id)
void render_text(StatusSource& source, Output& out);
void render_html(StatusSource& source, Output& out);

} // namespace httpd
