// bench-ipc: microbenchmarks of the kernel's control path, in TSC cycles
// (rdtsc in user mode), median and 99th percentile over many samples:
//   - a null system call (self);
//   - an IPC call/reply round trip to a peer on the same core (benchpeer0);
//   - the same to a peer on the other core (benchpeer1);
//   - notify -> wake-up across cores: the peer waits in receive; we stamp
//     the TSC, notify it, and it stamps the TSC as soon as it runs, into
//     shared memory (one way); and the time until its notification back
//     wakes us (round trip);
//   - a round trip through a channel (lib/channel) to the peer on the other
//     core, both sides polling: the fast path that avoids the kernel.
// Runs on core 0 and starts its peers through rs (needs priv=crash); asks
// them to exit at the end. Results: docs/PERFORMANCE.md.
//
// With mode=channels (the module `bench-chan`, for `./tern bench channels`)
// it measures only the two cross-core round trips, IPC call/reply and
// channel, and prints their ratio.

#include "../benchpeer/bench_protocol.hpp"
#include "base/select.hpp"
#include "runtime/channel.hpp"
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

const char* g_failed = "bench-ipc: FAILED: ";

template <typename... Args>
[[noreturn]] void fail(const char* fmt, Args... args)
{
    tern::exit_with_message(1, g_failed, fmt, args...);
}

constexpr int64_t samples = 10'000;
constexpr int64_t warm_up = 1'000;

uint32_t g_samples[samples];

void record(int64_t i, uint64_t cycles)
{
    if (i >= 0)
        g_samples[i] = cycles > 0xFFFFFFFF ? 0xFFFFFFFF : static_cast<uint32_t>(cycles);
}

struct Stats {
    uint32_t median;
    uint32_t p99;
};

Stats stats()
{
    return {tern::kth_smallest(g_samples, samples, samples / 2),
            tern::kth_smallest(g_samples, samples, samples * 99 / 100)};
}

void report(const char* what)
{
    const Stats s = stats();
    print("bench-ipc: %-44s %9u %9u\n", what, s.median, s.p99);
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
}

// Round trips through a channel to `peer`, which echoes while polling.
void measure_channel(sys::Endpoint peer)
{
    tern::Channel channel;
    if (const auto connected = channel.connect(peer, 64, nullptr); !connected.ok())
        fail("cannot open a channel to the peer: %s", tern::error_name(connected.error()));
    auto& tx = channel.tx();
    auto& rx = channel.rx();
    for (int64_t i = -warm_up; i < samples; ++i) {
        tern::channel::Message m{};
        m.type = benchpeer::echo;
        m.words[0] = static_cast<uint64_t>(i);
        const uint64_t before = rdtsc();
        tx.slot(0) = m;
        channel.publish(1);
        while (rx.available() == 0) {
            if (rx.broken())
                fail("the channel broke");
        }
        const tern::channel::Message back = rx.read(0);
        channel.release(1);
        const uint64_t after = rdtsc();
        if (back.words[0] != static_cast<uint64_t>(i))
            fail("channel round trip %ld came back as %lu", i, back.words[0]);
        record(i, after - before);
    }
    tern::channel::Message quit{};
    quit.type = benchpeer::quit;
    (void)channel.send(quit);
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

void quit(sys::Endpoint peer)
{
    sys::Message m{};
    m.type = benchpeer::quit;
    (void)sys::call(peer, m);
}

// mode=channels: IPC call/reply against a channel round trip, across cores.
int compare_channels(sys::Endpoint far)
{
    measure_call(far, "IPC call/reply, across cores");
    const Stats ipc = stats();
    measure_channel(far);
    const Stats channel = stats();
    quit(far);
    print("bench-chan: ipc call/reply across cores: median %u p99 %u cycles (%ld round trips)\n", ipc.median, ipc.p99,
          samples);
    print("bench-chan: channel round trip across cores: median %u p99 %u cycles (%ld round trips)\n",
          channel.median, channel.p99, samples);
    const uint64_t ratio100 = channel.median == 0 ? 0 : uint64_t{ipc.median} * 100 / channel.median;
    print("bench-chan: the channel is %lu.%02lux faster than IPC (medians)\n", ratio100 / 100, ratio100 % 100);
    print("bench-chan: done\n");
    return 0;
}

int main(int argc, char** argv)
{
    const auto self = static_cast<sys::Endpoint>(sys::self());
    sys::ProcessInfo info{};
    (void)sys::proc_info(sys::endpoint::slot(self), info);
    const sys::Endpoint far = start_peer("benchpeer1", info.core == 0 ? 1 : 0);
    for (int i = 1; i < argc; ++i) {
        if (__builtin_strcmp(argv[i], "mode=channels") == 0) {
            g_failed = "bench-chan: FAILED: ";
            return compare_channels(far);
        }
    }
    const sys::Endpoint near = start_peer("benchpeer0", info.core);

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
    report("IPC call/reply, same core");
    measure_call(far, "IPC call/reply, across cores");
    report("IPC call/reply, across cores");
    measure_notify(far);
    measure_channel(far);
    report("channel round trip, across cores (polling)");

    quit(near);
    quit(far);
    print("bench-ipc: done\n");
    return 0;
}
