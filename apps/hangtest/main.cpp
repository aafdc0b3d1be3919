// hangtest: a service that answers rs's heartbeats (boot module option
// heartbeat=MS). `crash hangtest hang` in the shell makes it spin in user
// mode; rs must notice the missed heartbeats, kill it and start it again.
// Each start counts itself in rs's data store, so the banner of the second
// start says "start 2".
#include "runtime/print.hpp"
#include "runtime/rs_client.hpp"
#include "runtime/start.hpp"
#include "runtime/sys.hpp"

namespace sys = tern::sys;
using tern::print;

int main(int, char**)
{
    constexpr char key[] = "hangtest";
    uint64_t starts = 0;
    (void)tern::ds_get(key, &starts, sizeof(starts)); // not found on the first start: 0
    ++starts;
    (void)tern::ds_put(key, &starts, sizeof(starts));
    const sys::Endpoint rs = tern::rs_endpoint();
    print("hangtest: start %lu as endpoint 0x%lx; answering heartbeats\n", starts, static_cast<uint64_t>(sys::self()));

    uint64_t pings = 0;
    for (;;) {
        sys::Message m{};
        if (sys::receive(sys::endpoint::any, m) < 0)
            continue;
        if (m.type == sys::message_type::notify) {
            if (m.source == rs) {
                (void)sys::notify(rs);
                if (++pings == 1)
                    print("hangtest: first heartbeat answered\n");
            }
            continue;
        }
        const sys::Endpoint client = m.source;
        m = sys::Message{};
        m.words[0] = pings;
        (void)sys::reply(client, m);
    }
}
