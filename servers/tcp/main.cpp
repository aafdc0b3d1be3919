// The tcp server: lwIP's TCP (engine.hpp) for every application's sockets,
// over ip's transport channel for protocol 6.
#include "engine.hpp"
#include "net/ipv4.hpp"
#include "runtime/transport_server.hpp"

int main(int, char**)
{
    static tern::TransportServer<tcp::Engine, tcp::Engine::max_clients> server({
        .name = "tcp",
        .protocol = tern::net::ip_protocol::tcp,
        .pool_buffers = 4096, // 8 MiB: segments to ip and received bytes to applications
        .ip_slots = 8192,     // more than both pools' buffers: the ring to ip never fills
    });
    server.run();
}
