// fputest: checks that each process keeps its own SSE registers, which the
// kernel saves and restores on every switch (kernel/proc/scheduler.cpp). Two
// instances on one core, `fputest-a peer=fputest-b` and the other way round,
// each fill all sixteen XMM registers with a pattern of their own, yield to
// each other for `ms=` milliseconds (default 1500) and check after every
// yield that the registers still hold it (the scenario gives fputest-b
// longer, so that its line comes last). Tern's programs are built without
// SSE, so only inline assembly touches these registers here. Prints, e.g.
//   fputest-a: xmm0-15 kept across 8123 yields, while fputest-b ran 412 ms
// or a line with FAILED.
#include <cstdint>

#include "base/parse.hpp"
#include "runtime/cmdline_args.hpp"
#include "runtime/print.hpp"
#include "runtime/rs_client.hpp"
#include "runtime/sys.hpp"

namespace sys = tern::sys;
using tern::print;

namespace {

constexpr unsigned registers = 16;
constexpr uint64_t default_run_ms = 1500;
constexpr uint64_t peer_wait_ns = 10'000'000'000;

struct alignas(16) XmmImage {
    uint64_t words[registers * 2];
};

// The compiler uses no XMM register (-mgeneral-regs-only), so nothing it
// keeps there can be overwritten, and none of ours can be spilled by it.
void load_xmm(const XmmImage& image)
{
    asm volatile("movdqu 0(%0), %%xmm0\n\tmovdqu 16(%0), %%xmm1\n\tmovdqu 32(%0), %%xmm2\n\t"
                 "movdqu 48(%0), %%xmm3\n\tmovdqu 64(%0), %%xmm4\n\tmovdqu 80(%0), %%xmm5\n\t"
                 "movdqu 96(%0), %%xmm6\n\tmovdqu 112(%0), %%xmm7\n\tmovdqu 128(%0), %%xmm8\n\t"
                 "movdqu 144(%0), %%xmm9\n\tmovdqu 160(%0), %%xmm10\n\tmovdqu 176(%0), %%xmm11\n\t"
                 "movdqu 192(%0), %%xmm12\n\tmovdqu 208(%0), %%xmm13\n\tmovdqu 224(%0), %%xmm14\n\t"
                 "movdqu 240(%0), %%xmm15"
                 :
                 : "r"(image.words)
                 : "memory");
}

void store_xmm(XmmImage& image)
{
    asm volatile("movdqu %%xmm0, 0(%0)\n\tmovdqu %%xmm1, 16(%0)\n\tmovdqu %%xmm2, 32(%0)\n\t"
                 "movdqu %%xmm3, 48(%0)\n\tmovdqu %%xmm4, 64(%0)\n\tmovdqu %%xmm5, 80(%0)\n\t"
                 "movdqu %%xmm6, 96(%0)\n\tmovdqu %%xmm7, 112(%0)\n\tmovdqu %%xmm8, 128(%0)\n\t"
                 "movdqu %%xmm9, 144(%0)\n\tmovdqu %%xmm10, 160(%0)\n\tmovdqu %%xmm11, 176(%0)\n\t"
                 "movdqu %%xmm12, 192(%0)\n\tmovdqu %%xmm13, 208(%0)\n\tmovdqu %%xmm14, 224(%0)\n\t"
                 "movdqu %%xmm15, 240(%0)"
                 :
                 : "r"(image.words)
                 : "memory");
}

// A pattern per process and round: no two processes or rounds share one.
void fill(XmmImage& image, uint64_t seed, uint64_t round)
{
    for (unsigned i = 0; i < registers * 2; ++i)
        image.words[i] = seed * 0x9E37'79B9'7F4A'7C15ull ^ round << 8 ^ i;
}

uint64_t cpu_time_ns(sys::Endpoint endpoint)
{
    sys::ProcessInfo info{};
    return sys::proc_info(sys::endpoint::slot(endpoint), info) == 0 && info.endpoint == endpoint ? info.cpu_time_ns
                                                                                                  : 0;
}

} // namespace

int main(int argc, char** argv)
{
    const char* name = argc > 0 ? argv[0] : "fputest";
    const char* peer_name = tern::find_option(argc, argv, "peer");
    if (peer_name == nullptr) {
        print("%s: FAILED: usage: fputest peer=NAME\n", name);
        return 2;
    }
    uint64_t run_ms = default_run_ms;
    const char* ms = tern::find_option(argc, argv, "ms");
    if (ms != nullptr && !tern::parse_decimal(ms, 60'000, run_ms)) {
        print("%s: FAILED: bad ms=%s (0..60000)\n", name, ms);
        return 2;
    }
    const uint64_t run_ns = run_ms * 1'000'000;
    const int64_t peer = tern::rs_wait_for_endpoint(peer_name, 0, peer_wait_ns);
    if (peer < 0) {
        print("%s: FAILED: %s never started: %s\n", name, peer_name, sys::error_name(peer));
        return 1;
    }
    const auto self = static_cast<uint64_t>(sys::self());
    const uint64_t peer_before = cpu_time_ns(static_cast<sys::Endpoint>(peer));
    uint64_t peer_ran = 0; // sampled while both run: the peer may end first
    const auto start = static_cast<uint64_t>(sys::uptime());
    uint64_t round = 0;
    XmmImage want{}, got{};
    while (static_cast<uint64_t>(sys::uptime()) - start < run_ns) {
        ++round;
        fill(want, self, round);
        load_xmm(want);
        (void)sys::yield();
        store_xmm(got);
        if (round % 256 == 0) {
            if (const uint64_t now = cpu_time_ns(static_cast<sys::Endpoint>(peer)); now > peer_before)
                peer_ran = now - peer_before;
        }
        for (unsigned i = 0; i < registers * 2; ++i) {
            if (got.words[i] != want.words[i]) {
                print("%s: FAILED: xmm%u changed across yield %lu: 0x%lx, want 0x%lx\n", name, i / 2, round,
                      got.words[i], want.words[i]);
                return 1;
            }
        }
    }
    print("%s: xmm0-15 kept across %lu yields, while %s ran %lu ms\n", name, round, peer_name,
          peer_ran / 1'000'000);
    return 0;
}
