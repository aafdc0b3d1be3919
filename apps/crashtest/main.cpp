// crashtest: the test service that crashloop crashes again and again. On each
// start it reads its generation from rs's data store (checking the value is
// intact), announces it, stores the next one, and then waits; rs restarts it
// whenever it dies (restart=always).
#include "runtime/print.hpp"
#include "runtime/rs_client.hpp"
#include "runtime/sys.hpp"
#include "state.hpp"

namespace sys = tern::sys;
using tern::print;

int main(int, char**)
{
    crashtest::State state{};
    uint64_t generation = 0;
    const int64_t got = tern::ds_get(crashtest::data_store_key, &state, sizeof(state));
    if (got == 0) {
        if (!state.valid())
            print("crashtest: STATE CORRUPT: %lx %lx %lx %lx\n", state.generation, state.inverted, state.scrambled,
                  state.tag);
        generation = state.generation;
    } else if (got != sys::error_code(sys::Error::not_found)) {
        print("crashtest: FAILED: ds_get: %s\n", sys::error_name(got));
    }
    print("crashtest: generation %lu\n", generation);
    const crashtest::State next = crashtest::State::of(generation + 1);
    const int64_t put = tern::ds_put(crashtest::data_store_key, &next, sizeof(next));
    if (put < 0)
        print("crashtest: FAILED: ds_put: %s\n", sys::error_name(put));

    for (;;) {
        sys::Message m;
        tern::receive_request(m);
        const sys::Endpoint client = m.source;
        m = sys::Message{};
        m.words[0] = generation;
        (void)sys::reply(client, m);
    }
}
