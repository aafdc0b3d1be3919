// crashloop: 100 crash/restart cycles of crashtest (needs priv=crash). Each
// cycle asks rs to crash crashtest, waits for rs to bring it back under a new
// endpoint, and checks that crashtest's state in the data store advanced by
// exactly one generation and is intact. Prints
//   crashloop: 100 crash/restart cycles ok, state intact
// or "crashloop: FAILED ..." and exits (0 on success).

#include "../crashtest/state.hpp"
#include "base/format.hpp"
#include "runtime/assert.hpp"
#include "runtime/print.hpp"
#include "runtime/rs_client.hpp"
#include "runtime/start.hpp"
#include "runtime/sys.hpp"

namespace sys = tern::sys;
using tern::print;
using tern::rs::Op;

namespace {

constexpr int cycles = 100;
constexpr uint64_t cycle_timeout_ns = 5'000'000'000;
constexpr char service[] = "crashtest";

uint64_t now() { return static_cast<uint64_t>(sys::uptime()); }

// The stored state once its generation differs from `old` (any when
// `old` is ~0), or false on timeout.
bool wait_for_state(uint64_t old, crashtest::State& state, int64_t& error)
{
    const uint64_t deadline = now() + cycle_timeout_ns;
    for (;;) {
        error = tern::ds_get(crashtest::data_store_key, &state, sizeof(state));
        if (error == 0 && state.generation != old)
            return true;
        if (error < 0 && error != sys::error_code(sys::Error::not_found))
            return false;
        if (now() > deadline) {
            error = sys::error_code(sys::Error::would_block);
            return false;
        }
        (void)sys::sleep(1);
    }
}

// rs's own measurement of crashtest's last recovery (µs from its end to its
// restart), or 0 when rs has none. rs's status request names a slot of its
// service table, so we look for the one that holds `endpoint`.
uint64_t last_recovery_us(sys::Endpoint endpoint)
{
    for (uint64_t slot = 0; slot < 64; ++slot) {
        sys::Message m{};
        m.type = static_cast<uint32_t>(Op::status);
        m.words[0] = slot;
        if (sys::call(tern::rs_endpoint(), m) < 0 || static_cast<int64_t>(m.words[0]) < 0)
            continue;
        if (m.words[1] == endpoint)
            return m.words[3];
    }
    return 0;
}

void sort(uint64_t* values, int count)
{
    for (int i = 1; i < count; ++i)
        for (int j = i; j > 0 && values[j - 1] > values[j]; --j) {
            const uint64_t t = values[j];
            values[j] = values[j - 1];
            values[j - 1] = t;
        }
}

template <typename... Args>
[[noreturn]] void fail(int cycle, const char* fmt, Args... args)
{
    char prefix[48];
    tern::format_to(prefix, sizeof(prefix), "crashloop: FAILED in cycle %d: ", cycle);
    tern::exit_with_message(1, prefix, fmt, args...);
}

} // namespace

int main(int, char**)
{
    int64_t endpoint = tern::rs_ensure_running(service, cycle_timeout_ns);
    if (endpoint < 0)
        fail(0, "crashtest is not running: %s", sys::error_name(endpoint));
    crashtest::State state;
    int64_t error;
    if (!wait_for_state(~0ull, state, error))
        fail(0, "crashtest stored no state: %s", sys::error_name(error));
    if (!state.valid())
        fail(0, "stored state corrupt (generation 0x%lx)", state.generation);
    const uint64_t first = state.generation;
    print("crashloop: crashtest is 0x%lx at generation %lu; %d crash/restart cycles\n",
          static_cast<uint64_t>(endpoint), first - 1, cycles);

    uint64_t recovery_us[cycles] = {};
    uint64_t cycle_ns[cycles] = {};
    for (int cycle = 1; cycle <= cycles; ++cycle) {
        const auto old = static_cast<sys::Endpoint>(endpoint);
        const uint64_t before = state.generation;
        const uint64_t start = now();
        sys::Message reply;
        const int64_t crashed = tern::rs_call(Op::crash, service, static_cast<uint64_t>(sys::CrashKind::segfault), reply);
        if (crashed < 0)
            fail(cycle, "rs refused to crash crashtest: %s", sys::error_name(crashed));
        endpoint = tern::rs_wait_for_endpoint(service, old, cycle_timeout_ns);
        if (endpoint < 0)
            fail(cycle, "crashtest did not come back (old endpoint 0x%lx)", old);
        if (!wait_for_state(before, state, error))
            fail(cycle, "crashtest did not store its next generation (still %lu)", before);
        if (!state.valid())
            fail(cycle, "stored state corrupt (generation 0x%lx)", state.generation);
        if (state.generation != before + 1)
            fail(cycle, "generation went from %lu to %lu, not up by one", before, state.generation);
        cycle_ns[cycle - 1] = now() - start;
        recovery_us[cycle - 1] = last_recovery_us(static_cast<sys::Endpoint>(endpoint));
    }
    sort(recovery_us, cycles);
    sort(cycle_ns, cycles);
    print("crashloop: rs recovery time (end to restarted) median %lu us, max %lu us; "
          "crash request to new state median %lu us\n",
          recovery_us[cycles / 2], recovery_us[cycles - 1], cycle_ns[cycles / 2] / 1000);
    print("crashloop: %d crash/restart cycles ok, state intact (generation %lu)\n", cycles, state.generation - 1);
    return 0;
}
