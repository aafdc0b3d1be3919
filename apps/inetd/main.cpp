// inetd: echo (RFC 862, port 7), discard (RFC 863, port 9) and chargen
// (RFC 864, port 19), over TCP and UDP, in one event-driven process on
// lib/socket (the logic: inetd.cpp). Options on its command line
// (boot/modules.txt or `run inetd`):
//   echo=PORT discard=PORT chargen=PORT   ports (0: do not serve that one)
//   max=N          connections at once (default 256)
//   buffer=BYTES   echo's buffer per connection (default 65536)
#include "inetd.hpp"
#include "base/parse.hpp"
#include "runtime/assert.hpp"
#include "runtime/cmdline_args.hpp"
#include "runtime/print.hpp"
#include "runtime/sys.hpp"

namespace {

constexpr uint64_t retry_ms = 200;
constexpr uint64_t max_wait_ms = 30000;

} // namespace

int main(int argc, char** argv)
{
    inetd::Config config;
    for (size_t k = 0; k < inetd::service_count; ++k) {
        const char* name = inetd::service_name(static_cast<inetd::Service>(k));
        if (const char* text = tern::find_option(argc, argv, name)) {
            uint64_t port;
            if (!tern::parse_decimal(text, 65535, port))
                tern::exit_with_message(2, "inetd: ", "bad port %s=%s", name, text);
            config.tcp_port[k] = config.udp_port[k] = static_cast<uint16_t>(port);
        }
    }
    uint64_t value;
    if (const char* text = tern::find_option(argc, argv, "max")) {
        if (!tern::parse_decimal(text, 4096, value) || value == 0)
            tern::exit_with_message(2, "inetd: ", "bad max=%s (1..4096)", text);
        config.max_connections = value;
    }
    if (const char* text = tern::find_option(argc, argv, "buffer")) {
        if (!tern::parse_decimal(text, 16 << 20, value) || value < 512)
            tern::exit_with_message(2, "inetd: ", "bad buffer=%s (512..16777216)", text);
        config.echo_buffer = value;
    }

    // At boot the tcp and udp servers may not be up yet (ENETDOWN): wait
    // for them a while rather than fail and be restarted.
    inetd::Inetd* server = nullptr;
    for (uint64_t waited_ms = 0;; waited_ms += retry_ms) {
        server = new inetd::Inetd(config);
        const char* what = nullptr;
        const int result = server->start(&what);
        if (result == 0)
            break;
        delete server;
        if (result != -netio::network_down || waited_ms >= max_wait_ms)
            tern::exit_with_message(1, "inetd: ", "cannot open %s: %s", what, netio::error_name(result));
        if (waited_ms == 0)
            tern::print("inetd: waiting for the tcp and udp servers (%s)\n", netio::error_name(result));
        (void)tern::sys::sleep(retry_ms);
    }
    tern::print("inetd: echo tcp/udp %u, discard tcp/udp %u, chargen tcp/udp %u; up to %zu connections\n",
                config.tcp_port[0], config.tcp_port[1], config.tcp_port[2], config.max_connections);
    for (;;) {
        if (const int result = server->step(-1); result < 0)
            tern::exit_with_message(1, "inetd: ", "poll: %s", netio::error_name(result));
    }
}
