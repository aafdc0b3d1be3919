// netcrash: the network keeps working across a crash of the NIC driver.
// Pings the gateway through the ip server every 10 ms (proto/ip.hpp), has rs
// crash the e1000 driver after 50 replies, and keeps pinging: rs restarts the
// driver, ip gives it its interface back, and replies must resume within 1 s
// of the crash. Prints the gap and how many pings went unanswered.
#include "proto/ip.hpp"
#include "runtime/assert.hpp"
#include "runtime/print.hpp"
#include "runtime/rs_client.hpp"
#include "runtime/sys.hpp"

namespace {

namespace sys = tern::sys;
using tern::print;

constexpr uint64_t gateway = 0x0A000202; // 10.0.2.2, QEMU's user-mode gateway
constexpr uint64_t before_crash = 50;
constexpr uint64_t give_up_ns = 10'000'000'000;
constexpr uint64_t allowed_gap_ns = 1'000'000'000;

template <typename... Args>
[[noreturn]] void fail(const char* fmt, Args... args)
{
    tern::exit_with_message(1, "netcrash: FAILED: ", fmt, args...);
}

uint64_t now_ns() { return static_cast<uint64_t>(sys::uptime()); }

// One echo through ip, waiting up to 100 ms: true if answered.
bool ping(sys::Endpoint ip, uint64_t sequence)
{
    sys::Message m{};
    m.type = tern::ip_proto::ping;
    m.words[0] = gateway;
    m.words[1] = sequence;
    m.words[2] = 56;
    m.words[3] = 100;
    const int64_t called = sys::call(ip, m);
    if (called < 0)
        fail("ip does not answer: %s", sys::error_name(called));
    const auto result = static_cast<int64_t>(m.words[0]);
    if (result < 0 && result != sys::error_code(sys::Error::would_block) &&
        result != sys::error_code(sys::Error::not_found))
        fail("ping: %s", sys::error_name(result));
    return result >= 0;
}

} // namespace

int main(int, char**)
{
    const int64_t ip = tern::rs_wait_for_endpoint("ip", 0, give_up_ns);
    if (ip < 0)
        fail("no ip server: %s", sys::error_name(ip));
    uint64_t sequence = 0, answered = 0;
    const uint64_t start = now_ns();
    while (answered < before_crash) {
        if (now_ns() - start > give_up_ns)
            fail("only %lu of the first pings were answered (no network?)", answered);
        answered += ping(static_cast<sys::Endpoint>(ip), ++sequence) ? 1 : 0;
        (void)sys::sleep(10);
    }
    print("netcrash: %lu replies from 10.0.2.2, crashing the e1000 driver\n", answered);
    sys::Message reply;
    if (const int64_t crashed =
            tern::rs_call(tern::rs::Op::crash, "e1000", static_cast<uint64_t>(sys::CrashKind::segfault), reply);
        crashed < 0)
        fail("cannot crash e1000: %s", sys::error_name(crashed));
    const uint64_t crash_ns = now_ns();
    uint64_t lost = 0;
    for (;;) {
        if (ping(static_cast<sys::Endpoint>(ip), ++sequence))
            break;
        ++lost;
        if (now_ns() - crash_ns > give_up_ns)
            fail("no reply for %lu ms after the crash", (now_ns() - crash_ns) / 1'000'000);
        (void)sys::sleep(10);
    }
    const uint64_t gap_ns = now_ns() - crash_ns;
    print("netcrash: replies resumed %lu ms after the crash (%lu pings unanswered)\n", gap_ns / 1'000'000, lost);
    if (gap_ns > allowed_gap_ns)
        fail("that is more than 1 s");
    uint64_t after = 0;
    for (int i = 0; i < 20; ++i) {
        after += ping(static_cast<sys::Endpoint>(ip), ++sequence) ? 1 : 0;
        (void)sys::sleep(10);
    }
    print("netcrash: %lu of 20 pings answered after the recovery\n", after);
    if (after != 20)
        fail("the network is not steady after the driver's restart");
    print("netcrash: done\n");
    return 0;
}
