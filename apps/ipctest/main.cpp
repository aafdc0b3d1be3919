// ipctest: 100,000 call/reply round trips to ipcecho on the other core, each
// with a sequence number, random payload and a checksum, every reply checked
// (none lost, none changed, none out of order). Then it has rs crash ipcecho
// (needs priv=crash), and checks that the old endpoint is refused with
// dead_endpoint while the restarted ipcecho answers on its new one.

#include "../ipcecho/echo_protocol.hpp"
#include "base/select.hpp"
#include "runtime/assert.hpp"
#include "runtime/print.hpp"
#include "runtime/rs_client.hpp"
#include "runtime/start.hpp"
#include "runtime/sys.hpp"

namespace sys = tern::sys;
using tern::print;
using tern::rs::Op;

namespace {

constexpr uint32_t round_trips = 100'000;
constexpr uint32_t message_type = 0x1C7E57;
constexpr char service[] = "ipcecho";

uint32_t g_cycles[round_trips]; // per round trip, for the median

inline uint64_t rdtsc()
{
    uint32_t low, high;
    asm volatile("rdtsc" : "=a"(low), "=d"(high));
    return (uint64_t{high} << 32) | low;
}

uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDull;
    x ^= x >> 33;
    return x;
}

uint64_t checksum(const sys::Message& m)
{
    uint64_t sum = 0x1234;
    for (int i = 0; i < 5; ++i)
        sum = mix(sum ^ m.words[i]);
    return sum;
}

sys::Message request(uint64_t sequence)
{
    sys::Message m{};
    m.type = message_type;
    m.words[0] = sequence;
    for (int i = 1; i < 5; ++i)
        m.words[i] = mix(sequence * 8 + static_cast<uint64_t>(i));
    m.words[5] = checksum(m);
    return m;
}

// The reply must be ipcecho's answer to `sent`, from `from`.
bool reply_ok(const sys::Message& sent, const sys::Message& got, sys::Endpoint from)
{
    const sys::Message wanted = ipcecho::answer(sent);
    if (got.source != from || got.type != wanted.type)
        return false;
    for (int i = 0; i < 6; ++i)
        if (got.words[i] != wanted.words[i])
            return false;
    return true;
}

template <typename... Args>
[[noreturn]] void fail(const char* fmt, Args... args)
{
    tern::exit_with_message(1, "ipctest: FAILED: ", fmt, args...);
}

int64_t core_of(sys::Endpoint endpoint)
{
    sys::ProcessInfo info{};
    if (sys::proc_info(sys::endpoint::slot(endpoint), info) < 0 || info.endpoint != endpoint)
        return -1;
    return info.core;
}

} // namespace

int main(int, char**)
{
    const int64_t found = tern::rs_ensure_running(service, 5'000'000'000);
    if (found < 0)
        fail("ipcecho is not running: %s", sys::error_name(found));
    const auto echo = static_cast<sys::Endpoint>(found);
    const auto self = static_cast<sys::Endpoint>(sys::self());
    const int64_t my_core = core_of(self), echo_core = core_of(echo);
    print("ipctest: on core %ld, ipcecho 0x%lx on core %ld; %u round trips\n", my_core, echo, echo_core, round_trips);
    if (my_core == echo_core)
        print("ipctest: warning: both on the same core; pin them apart (core=0 / core=1)\n");

    const uint64_t start_ns = static_cast<uint64_t>(sys::uptime());
    for (uint32_t sequence = 0; sequence < round_trips; ++sequence) {
        const sys::Message sent = request(sequence);
        sys::Message m = sent;
        const uint64_t before = rdtsc();
        const int64_t result = sys::call(echo, m);
        const uint64_t after = rdtsc();
        if (result < 0)
            fail("round trip %u: call: %s", sequence, sys::error_name(result));
        if (!reply_ok(sent, m, echo))
            fail("round trip %u: wrong reply (type 0x%x, words[0] %lu, source 0x%lx)", sequence, m.type, m.words[0],
                 m.source);
        const uint64_t cycles = after - before;
        g_cycles[sequence] = cycles > 0xFFFFFFFF ? 0xFFFFFFFF : static_cast<uint32_t>(cycles);
    }
    const uint64_t elapsed_ns = static_cast<uint64_t>(sys::uptime()) - start_ns;
    const uint32_t median = tern::kth_smallest(g_cycles, round_trips, round_trips / 2);
    print("ipctest: %u round trips across cores ok (%u cycles median, %lu ns average)\n", round_trips, median,
          elapsed_ns / round_trips);

    // A restarted ipcecho has a new endpoint; the old one must be refused.
    sys::Message reply;
    const int64_t crashed = tern::rs_call(Op::crash, service, static_cast<uint64_t>(sys::CrashKind::segfault), reply);
    if (crashed < 0)
        fail("rs refused to crash ipcecho: %s", sys::error_name(crashed));
    const int64_t restarted = tern::rs_wait_for_endpoint(service, echo, 5'000'000'000);
    if (restarted < 0)
        fail("ipcecho did not come back: %s", sys::error_name(restarted));
    const auto fresh = static_cast<sys::Endpoint>(restarted);
    sys::Message m = request(round_trips);
    const int64_t old_result = sys::call(echo, m);
    if (old_result != sys::error_code(sys::Error::dead_endpoint))
        fail("call to the old endpoint 0x%lx gave %s, not dead endpoint", echo, sys::error_name(old_result));
    print("ipctest: old endpoint 0x%lx refused: %s\n", echo, "dead_endpoint");
    const sys::Message sent = request(round_trips + 1);
    m = sent;
    const int64_t new_result = sys::call(fresh, m);
    if (new_result < 0 || !reply_ok(sent, m, fresh))
        fail("call to the new endpoint 0x%lx: %s", fresh, new_result < 0 ? sys::error_name(new_result) : "wrong reply");
    print("ipctest: new endpoint 0x%lx answers; ok\n", fresh);
    return 0;
}
