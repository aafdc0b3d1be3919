// bench-ipc: microbenchmarks of the kernel's control path, in TSC cycles
// (rdtsc in user mode), median and 99th percentile over many samples:
//   - a null system call (self);
//   - an IPC call/reply round trip to a peer on the same core (benchpeer0);
//   - the same to a peer on the other core (benchpeer1);
//   - notify -> wake-up across cores: the peer waits in receive; we stamp
//     the TSC, notify it, and it stamps the TSC as soon as it runs, into
//     shared memory (one way); and the time until its notification back
//     wakes us (round trip).
// Runs on core 0 and starts its peers through rs (needs priv=crash); asks
// them to exit at the end. Results: docs/PERFORMANCE.md.

#include "../benchpeer/bench_protocol.hpp"
#include "base/select.hpp"
#include "runtime/assert.hpp"
#include "runtime/print.hpp"
#include "runtime/rs_client.hpp"
#include "runtime/start.hpp"
#include "runtime/sys.hpp"

namespace sys = tern::sys;
using benchpeer::rdtsc;
using tern::print;
using tern::rs::Op;

namespace {

template <typename... Args>
[[noreturn]] void fail(const char* fmt, Args... args)
{
    tern::exit_with_message(1, "bench-ipc: FAILED: ", fmt, args...);
}

constexpr int64_t samples = 10'000;
constexpr int64_t warm_up = 1'000;

uint32_t g_samples[samples];

void record(int64_t i, uint64_t cycles)
{
    if (i >= 0)
        g_samples[i] = cycles > 0xFFFFFFFF ? 0xFFFFFFFF : static_cast<uint32_t>(cycles);
}

void report(const char* what)
{
    const uint32_t median = tern::kth_smallest(g_samples, samples, samples / 2);
    const uint32_t p99 = tern::kth_smallest(g_samples, samples, samples * 99 / 100);
    print("bench-ipc: %-44s %9u %9u\n", what, median, p99);
}

// Starts (or finds) a peer through rs and returns its endpoint.
sys::Endpoint start_peer(const char* name, uint64_t core)
{
    sys::Message reply;
    const int64_t started = tern::rs_call(Op::start, name, core, reply);
    if (started == 0)
        return reply.words[1];
    if (started != sys::error_code(sys::Error::busy))
        fail("cannot start %s: %s", name, sys::error_name(started));
    const int64_t endpoint = tern::rs_lookup(name);
    if (endpoint < 0)
        fail("%s: %s", name, sys::error_name(endpoint));
    return static_cast<sys::Endpoint>(endpoint);
}

sys::ProcessState state_of(sys::Endpoint endpoint)
{
    sys::ProcessInfo info{};
    if (sys::proc_info(sys::endpoint::slot(endpoint), info) < 0 || info.endpoint != endpoint)
        return sys::ProcessState::free;
    return info.state;
}

void measure_null_call()
{
    for (int64_t i = -warm_up; i < samples; ++i) {
        const uint64_t before = rdtsc();
        (void)sys::self();
        record(i, rdtsc() - before);
    }
    report("null system call (self)");
}

void measure_call(sys::Endpoint peer, const char* what)
{
    for (int64_t i = -warm_up; i < samples; ++i) {
        sys::Message m{};
        m.type = benchpeer::echo;
        m.words[0] = static_cast<uint64_t>(i);
        const uint64_t before = rdtsc();
        const int64_t result = sys::call(peer, m);
        const uint64_t after = rdtsc();
        if (result < 0 || m.words[0] != static_cast<uint64_t>(i))
            fail("%s: call %ld: %s", what, i, sys::error_name(result));
        record(i, after - before);
    }
    report(what);
}

void measure_notify(sys::Endpoint peer)
{
    // Shared memory for the peer's wake-up stamp.
    const int64_t handle = sys::shm_create(4096);
    if (handle < 0)
        fail("shm_create: %s", sys::error_name(handle));
    const int64_t granted =
        sys::shm_grant(static_cast<uint64_t>(handle), peer, sys::map_flags::read | sys::map_flags::write);
    const int64_t mine = sys::shm_map(static_cast<sys::Endpoint>(sys::self()), static_cast<uint64_t>(handle),
                                      sys::map_flags::read | sys::map_flags::write);
    if (granted < 0 || mine < 0)
        fail("shared memory: %s", sys::error_name(granted < 0 ? granted : mine));
    sys::Message m{};
    m.type = benchpeer::map_stamp;
    m.words[0] = static_cast<uint64_t>(handle);
    if (sys::call(peer, m) < 0 || static_cast<int64_t>(m.words[0]) < 0)
        fail("peer cannot map the stamp page: %s", sys::error_name(static_cast<int64_t>(m.words[0])));
    auto* stamp = reinterpret_cast<volatile uint64_t*>(mine);

    static uint32_t round_trip[samples];
    int64_t backwards = 0;
    for (int64_t i = -warm_up; i < samples; ++i) {
        // Measure a real wake-up: the peer must be asleep in receive.
        while (state_of(peer) != sys::ProcessState::blocked)
            (void)sys::yield();
        *stamp = 0;
        const uint64_t before = rdtsc();
        if (sys::notify(peer) < 0)
            fail("notify");
        sys::Message back{};
        if (sys::receive(peer, back) < 0 || back.type != sys::message_type::notify)
            fail("no notification back");
        const uint64_t after = rdtsc();
        const uint64_t woke = *stamp;
        if (woke < before)
            ++backwards; // TSCs of the two cores disagree
        record(i, woke > before ? woke - before : 0);
        if (i >= 0)
            round_trip[i] = static_cast<uint32_t>(after - before > 0xFFFFFFFF ? 0xFFFFFFFF : after - before);
    }
    report("notify -> peer running, across cores (1 way)");
    for (int64_t i = 0; i < samples; ++i)
        g_samples[i] = round_trip[i];
    report("notify -> notify back, across cores (round)");
    if (backwards != 0)
        print("bench-ipc: warning: %ld one-way samples had the peer's TSC behind ours (counted as 0)\n", backwards);
}

} // namespace

int main(int, char**)
{
    const auto self = static_cast<sys::Endpoint>(sys::self());
    sys::ProcessInfo info{};
    (void)sys::proc_info(sys::endpoint::slot(self), info);
    const sys::Endpoint near = start_peer("benchpeer0", info.core);
    const sys::Endpoint far = start_peer("benchpeer1", info.core == 0 ? 1 : 0);

    // The TSC rate, against the kernel's clock.
    const uint64_t ns0 = static_cast<uint64_t>(sys::uptime()), tsc0 = rdtsc();
    (void)sys::sleep(100);
    const uint64_t ns1 = static_cast<uint64_t>(sys::uptime()), tsc1 = rdtsc();
    const uint64_t mhz = (tsc1 - tsc0) * 1000 / (ns1 - ns0);

    print("bench-ipc: core %u, TSC %lu MHz; cycles over %ld samples (after %ld warm-up)\n", info.core, mhz, samples,
          warm_up);
    print("bench-ipc: %-44s %9s %9s\n", "", "median", "p99");
    measure_null_call();
    measure_call(near, "IPC call/reply, same core");
    measure_call(far, "IPC call/reply, across cores");
    measure_notify(far);

    const sys::Endpoint peers[] = {near, far};
    for (sys::Endpoint peer : peers) {
        sys::Message m{};
        m.type = benchpeer::quit;
        (void)sys::call(peer, m);
    }
    print("bench-ipc: done\n");
    return 0;
}
