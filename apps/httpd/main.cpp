// httpd: a small HTTP/1.0-1.1 server with Tern's status page (port 80).
//   GET /            the status page in HTML
//   GET /status.txt  the same facts as plain text, one per line (status_page.hpp)
// Options on its command line: port=N (default 80), max=N connections at
// once (default 32). The logic: server.cpp (event loop), http.cpp (requests
// and responses), status_page.cpp (the page); this file binds them to the
// system: the socket library, and IPC to rs, ip, tcp and udp.
#include "base/parse.hpp"
#include "runtime/assert.hpp"
#include "runtime/cmdline_args.hpp"
#include "runtime/print.hpp"
#include "runtime/rs_client.hpp"
#include "runtime/start.hpp"
#include "runtime/sys.hpp"
#include "server.hpp"

namespace {

namespace sys = tern::sys;

constexpr uint64_t retry_ms = 200;
constexpr uint64_t max_wait_ms = 30000;

class SystemStatus final : public httpd::StatusSource {
public:
    uint64_t uptime_ns() override { return static_cast<uint64_t>(sys::uptime()); }
    int64_t lookup(const char* name) override { return tern::rs_lookup(name); }
    int64_t call(sys::Endpoint endpoint, sys::Message& m) override
    {
        const int64_t called = sys::call(endpoint, m);
        return called < 0 ? called : static_cast<int64_t>(m.words[0]);
    }
    int64_t rs_status(uint64_t slot, sys::Message& m) override
    {
        m = sys::Message{};
        m.type = static_cast<uint32_t>(tern::rs::Op::status);
        m.words[0] = slot;
        return call(tern::rs_endpoint(), m);
    }
    int64_t proc_info(uint64_t slot, sys::ProcessInfo& info) override { return sys::proc_info(slot, info); }
};

} // namespace

int main(int argc, char** argv)
{
    httpd::Config config;
    uint64_t value;
    if (const char* text = tern::find_option(argc, argv, "port")) {
        if (!tern::parse_decimal(text, 65535, value) || value == 0)
            tern::exit_with_message(2, "httpd: ", "bad port=%s", text);
        config.port = static_cast<uint16_t>(value);
    }
    if (const char* text = tern::find_option(argc, argv, "max")) {
        if (!tern::parse_decimal(text, 1024, value) || value == 0)
            tern::exit_with_message(2, "httpd: ", "bad max=%s (1..1024)", text);
        config.max_connections = value;
    }
    static SystemStatus status;
    // At boot the tcp server may not be up yet (ENETDOWN): wait for it a
    // while rather than fail and be restarted.
    httpd::Server* server = nullptr;
    for (uint64_t waited_ms = 0;; waited_ms += retry_ms) {
        server = new httpd::Server(config, status);
        const int result = server->start();
        if (result == 0)
            break;
        delete server;
        if (result != -netio::network_down || waited_ms >= max_wait_ms)
            tern::exit_with_message(1, "httpd: ", "cannot listen on port %u: %s", config.port,
                                    netio::error_name(result));
        if (waited_ms == 0)
            tern::print("httpd: waiting for the tcp server (%s)\n", netio::error_name(result));
        (void)sys::sleep(retry_ms);
    }
    tern::print("httpd: serving the status page on port %u\n", config.port);
    for (;;) {
        if (const int result = server->step(-1); result < 0)
            tern::exit_with_message(1, "httpd: ", "poll: %s", netio::error_name(result));
    }
}
