// benchpeer: the other end of bench-ipc's measurements (bench_protocol.hpp):
// answers calls at once, and answers a notification with a TSC stamp in
// shared memory and a notification back.
#include "bench_protocol.hpp"
#include "runtime/print.hpp"
#include "runtime/start.hpp"
#include "runtime/sys.hpp"

namespace sys = tern::sys;

int main(int, char**)
{
    volatile uint64_t* stamp = nullptr;
    for (;;) {
        sys::Message m{};
        if (sys::receive(sys::endpoint::any, m) < 0)
            continue;
        if (m.type == sys::message_type::notify) {
            const uint64_t now = benchpeer::rdtsc();
            if (m.source == tern::rs_endpoint() || m.source == sys::endpoint::kernel ||
                m.source == sys::endpoint::hardware || m.source == sys::endpoint::clock)
                continue; // only the bench's notifications are answered
            if (stamp != nullptr)
                *stamp = now;
            (void)sys::notify(m.source);
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
