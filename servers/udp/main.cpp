// The udp server: lwIP's UDP (engine.hpp) for every application's sockets,
// over ip's transport channel for protocol 17.
#include "engine.hpp"
#include "net/ipv4.hpp"
#include "runtime/transport_server.hpp"

int main(int, char**)
{
    static tern::TransportServer<udp::Engine, udp::Engine::max_clients> server({
        .name = "udp",
        .protocol = tern::net::ip_protocol::udp,
        .pool_buffers = 2048, // 4 MiB: datagrams to ip and to applications
        .ip_slots = 4096,     // more than both pools' buffers: the ring to ip never fills
    });
    server.run();
}
