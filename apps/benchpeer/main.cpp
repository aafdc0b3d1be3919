// benchpeer: the other end of bench-ipc's measurements (bench_protocol.hpp):
// answers calls at once, answers a notification with a TSC stamp in shared
// memory and a notification back, and accepts one channel, on which it
// echoes every message at once (polling, so the sender measures the channel
// rather than a wake-up) until the message `quit` arrives on it.
#include "bench_protocol.hpp"
#include "proto/channel.hpp"
#include "runtime/channel.hpp"
#include "runtime/cpu.hpp"
#include "runtime/print.hpp"
#include "runtime/start.hpp"
#include "runtime/sys.hpp"

namespace sys = tern::sys;

namespace {

constexpr uint64_t spin_cycles = 1'000'000'000; // polling before sleeping, while a channel is open

// Echoes what waits on the channel; returns how many messages there were.
uint32_t echo(tern::Channel& channel)
{
    auto& rx = channel.rx();
    auto& tx = channel.tx();
    const uint32_t waiting = rx.available();
    const uint32_t room = tx.space(waiting);
    const uint32_t n = waiting < room ? waiting : room;
    bool quit = false;
    for (uint32_t i = 0; i < n; ++i) {
        tx.slot(i) = rx.read(i);
        quit = quit || tx.slot(i).type == benchpeer::quit;
    }
    if (n != 0) {
        channel.release(n);
        channel.publish(n);
    }
    if (quit || rx.broken() || tx.broken() || (n == 0 && channel.peer_closed()))
        channel.close();
    return n;
}

// The next control message, polling the channel (if one is open) meanwhile.
void next_message(tern::Channel& channel, sys::Message& m)
{
    uint64_t last_work = tern::rdtsc();
    while (channel.is_open()) {
        if (echo(channel) != 0) {
            last_work = tern::rdtsc();
            continue;
        }
        if (tern::rdtsc() - last_work < spin_cycles) {
            tern::cpu_relax();
            continue;
        }
        tern::channel::WaitSet set;
        set.add(channel.rx());
        if (tern::wait(set, m))
            return;
    }
    while (sys::receive(sys::endpoint::any, m) < 0) {
    }
}

} // namespace

int main(int, char**)
{
    volatile uint64_t* stamp = nullptr;
    tern::Channel channel;
    for (;;) {
        sys::Message m{};
        next_message(channel, m);
        if (m.type == sys::message_type::notify) {
            const uint64_t now = benchpeer::rdtsc();
            if (channel.peer_ended(m))
                channel.close();
            if (m.source == tern::rs_endpoint() || m.source == sys::endpoint::kernel ||
                m.source == sys::endpoint::hardware || m.source == sys::endpoint::clock ||
                m.source == sys::endpoint::exits)
                continue; // only the bench's notifications are answered
            if (stamp != nullptr)
                *stamp = now;
            (void)sys::notify(m.source);
            continue;
        }
        if (m.type == tern::channel_proto::open) {
            (void)channel.accept(m, nullptr);
            continue;
        }
        const sys::Endpoint client = m.source;
        switch (m.type) {
        case benchpeer::echo: break;
        case benchpeer::map_stamp: {
            const int64_t address = sys::shm_map(client, m.words[0], sys::map_flags::read | sys::map_flags::write);
            if (address > 0)
                stamp = reinterpret_cast<volatile uint64_t*>(address);
            m.words[0] = static_cast<uint64_t>(address < 0 ? address : 0);
            break;
        }
        case benchpeer::quit:
            (void)sys::reply(client, m);
            return 0;
        default: m.words[0] = static_cast<uint64_t>(sys::error_code(sys::Error::invalid_call)); break;
        }
        (void)sys::reply(client, m);
    }
}
