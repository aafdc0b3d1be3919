// fuzzer: random system calls with random arguments for a while (default
// 10 s), to show that nothing a process passes can bring the kernel down.
// Call numbers: mostly calls that exist, some random ones in 0..63 and a few
// huge ones. Arguments mix small integers, random 64-bit values, pointers
// into the fuzzer's own scratch memory (also ones that run off its end),
// read-only code and data, kernel addresses, unmapped and non-canonical
// addresses, live and stale endpoints, sizes around the kernel's limits.
//
// Left out, so that the run ends and reports: exit, abort, poweroff and the
// console calls. Calls that could block stay short: sleep gets 0 or 1 ms (or
// an invalid value), and send/receive/call only ever get message pointers the
// kernel must refuse before it blocks. Valid sizes for mem_map and shm_create
// stay under 1 MiB, and what mem_map gave is unmapped again later. The
// fuzzer touches its scratch memory only through the kernel, so calls that
// write there cannot hurt it.
//
// Options (module command line): seconds=N, seed=N (default: from the name,
// so each fuzzer has its own sequence), trace=1 (print every call before
// making it, to find the one that hurts). Prints
//   fuzzer0: N calls in 10 s, kernel still up
// and exits 0.
#include "runtime/print.hpp"
#include "runtime/start.hpp"
#include "runtime/sys.hpp"

namespace sys = tern::sys;
using tern::print;

namespace {

constexpr size_t page = 4096;
constexpr size_t scratch_size = 4 * page;

uint64_t g_rng;
uint64_t random()
{
    // xorshift64*
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return g_rng * 0x2545F4914F6CDD1Dull;
}
uint64_t below(uint64_t n) { return random() % n; }

uint64_t g_scratch = 0;
sys::Endpoint g_self = 0;
const char g_rodata[64] = "read-only data the kernel must not write to";

void code_marker() {}

// Addresses the kernel must refuse for any access.
uint64_t bad_address()
{
    const uint64_t choices[] = {
        0,
        0xdead0000,
        0x1000,
        0xFFFFFFFF80200000 + below(0x10000),    // the kernel image
        0xFFFF800000000000 + below(1ull << 30), // the direct map
        0x0000800000000000,                     // first non-canonical address
        0x00007FFFFFFFFFF8,                     // runs past the end of user space
        0x8000000000000000 | random(),
    };
    return choices[below(sizeof(choices) / sizeof(choices[0]))];
}

// Addresses the kernel may read but must not write.
uint64_t read_only_address()
{
    return below(2) == 0 ? reinterpret_cast<uint64_t>(&code_marker) : reinterpret_cast<uint64_t>(g_rodata);
}

uint64_t scratch_address()
{
    switch (below(3)) {
    case 0: return g_scratch + below(scratch_size) ; // anywhere, possibly running off the end
    case 1: return g_scratch + page * below(scratch_size / page); // page aligned
    default: return g_scratch + scratch_size - 8 * below(9);      // close to the end
    }
}

sys::Endpoint endpoint()
{
    switch (below(6)) {
    case 0: return tern::rs_endpoint();
    case 1: return g_self;
    case 2: return sys::endpoint::make(below(64), below(8)); // live or stale, mostly nobody
    case 3: return sys::endpoint::make(below(1 << 16), random() >> 16);
    case 4: {
        const sys::Endpoint special[] = {sys::endpoint::any, sys::endpoint::kernel, sys::endpoint::hardware,
                                         sys::endpoint::clock, sys::endpoint::exits, 0};
        return special[below(6)];
    }
    default: return random();
    }
}

uint64_t argument()
{
    switch (below(8)) {
    case 0: return below(17);
    case 1: return random();
    case 2: return scratch_address();
    case 3: return bad_address();
    case 4: return read_only_address();
    case 5: return endpoint();
    case 6: return page * below(9);
    default: {
        const uint64_t edges[] = {~0ull, ~0ull >> 1, 1ull << 63, 1ull << 32, 1ull << 30, (1ull << 30) + 1,
                                  64ull << 20, (64ull << 20) + 1, 0xFFFF, 0x10000};
        return edges[below(sizeof(edges) / sizeof(edges[0]))];
    }
    }
}

bool excluded(uint64_t number)
{
    switch (static_cast<sys::Call>(number)) {
    case sys::Call::exit:
    case sys::Call::abort:
    case sys::Call::poweroff:
    case sys::Call::console_write:
    case sys::Call::console_read: return true;
    default: return false;
    }
}

// Mostly calls that exist (so arguments get checked, not just the number),
// some random numbers in 0..63 and a few huge ones.
uint64_t call_number()
{
    using C = sys::Call;
    constexpr C defined[] = {C::yield, C::self, C::sleep, C::uptime, C::ipc_send, C::ipc_receive, C::ipc_call,
                             C::ipc_reply, C::ipc_notify, C::ipc_send_nb, C::alarm, C::mem_map, C::mem_unmap,
                             C::shm_create, C::shm_grant, C::shm_map, C::shm_release, C::dma_alloc, C::mmio_map, C::irq_attach,
                             C::proc_spawn, C::proc_kill, C::proc_crash, C::proc_info, C::module_info, C::cpu_info,
                             C::kernel_event, C::syscall_count, C::proc_watch, C::pci_info, C::shm_physical};
    const uint64_t kind = below(16);
    if (kind == 0) {
        const uint64_t huge[] = {64, 99, 255, 256, 1000, 0xFFFF, 1ull << 31, 1ull << 32, 1ull << 63, ~0ull,
                                 ~0ull - 47, random()};
        return huge[below(sizeof(huge) / sizeof(huge[0]))];
    }
    if (kind < 5) {
        for (;;) {
            const uint64_t n = below(64);
            if (!excluded(n))
                return n;
        }
    }
    return static_cast<uint64_t>(defined[below(sizeof(defined) / sizeof(defined[0]))]);
}

// Keeps arguments from making a call block (or hog memory) for long.
void tame(uint64_t number, uint64_t (&a)[6])
{
    switch (static_cast<sys::Call>(number)) {
    case sys::Call::mem_map:
    case sys::Call::shm_create:
        // Tern has no per-process memory quota: valid sizes above 1 MiB would
        // only make the fuzzers use up all memory. Invalid sizes stay.
        if (a[0] > (1ull << 20) && a[0] <= (1ull << 30))
            a[0] = below(1ull << 20);
        break;
    case sys::Call::sleep:
        if (a[0] > 1 && a[0] <= 24ull * 3600 * 1000)
            a[0] = below(2);
        break;
    case sys::Call::ipc_send:
    case sys::Call::ipc_receive:
    case sys::Call::ipc_call:
        // The message pointer must be refused before anything waits. A send
        // only reads its message, so read-only memory would do for it.
        a[1] = static_cast<sys::Call>(number) != sys::Call::ipc_send && below(4) == 0 ? read_only_address()
                                                                                     : bad_address();
        break;
    default: break;
    }
}

// Memory the fuzzed calls mapped: unmapped again (oldest first) so that the
// fuzzer does not end up holding all memory.
struct Mapping {
    uint64_t address, size;
};
Mapping g_mappings[32];
size_t g_mapping_next = 0;
void remember_mapping(uint64_t address, uint64_t size)
{
    Mapping& slot = g_mappings[g_mapping_next];
    g_mapping_next = (g_mapping_next + 1) % (sizeof(g_mappings) / sizeof(g_mappings[0]));
    if (slot.size != 0)
        (void)sys::mem_unmap(reinterpret_cast<void*>(slot.address), slot.size);
    slot = Mapping{address, size};
}

bool starts_with(const char* text, const char* prefix)
{
    for (; *prefix != '\0'; ++text, ++prefix)
        if (*text != *prefix)
            return false;
    return true;
}

uint64_t number_after(const char* text)
{
    uint64_t value = 0;
    for (; *text >= '0' && *text <= '9'; ++text)
        value = value * 10 + static_cast<uint64_t>(*text - '0');
    return value;
}

} // namespace

int main(int argc, char** argv)
{
    const char* name = argv[0];
    uint64_t seconds = 10;
    uint64_t seed = 0x9E3779B97F4A7C15;
    for (const char* c = name; *c != '\0'; ++c)
        seed = (seed ^ static_cast<uint8_t>(*c)) * 0x100000001B3ull; // each fuzzer its own sequence
    bool trace = false;
    for (int i = 1; i < argc; ++i) {
        if (starts_with(argv[i], "seconds="))
            seconds = number_after(argv[i] + 8);
        else if (starts_with(argv[i], "seed="))
            seed = number_after(argv[i] + 5);
        else if (starts_with(argv[i], "trace=1"))
            trace = true;
    }
    g_rng = seed != 0 ? seed : 1;
    g_self = static_cast<sys::Endpoint>(sys::self());
    const int64_t scratch = sys::mem_map(scratch_size);
    if (scratch < 0) {
        print("%s: FAILED: no scratch memory: %s\n", name, sys::error_name(scratch));
        return 1;
    }
    g_scratch = static_cast<uint64_t>(scratch);
    print("%s: fuzzing system calls for %lu s (seed %lu, endpoint 0x%lx)\n", name, seconds, seed, g_self);

    constexpr int error_kinds = 11;
    uint64_t errors[error_kinds] = {};
    uint64_t calls = 0, successes = 0, strange = 0;
    const uint64_t start = static_cast<uint64_t>(sys::uptime());
    const uint64_t end = start + seconds * 1'000'000'000;
    for (;;) {
        if ((calls & 255) == 0 && static_cast<uint64_t>(sys::uptime()) >= end)
            break;
        const uint64_t number = call_number();
        uint64_t a[6];
        for (uint64_t& x : a)
            x = argument();
        tame(number, a);
        if (trace)
            print("%s: call %lu (%lx %lx %lx %lx %lx %lx)\n", name, number, a[0], a[1], a[2], a[3], a[4], a[5]);
        const int64_t result =
            sys::syscall(static_cast<sys::Call>(number), a[0], a[1], a[2], a[3], a[4], a[5]);
        ++calls;
        if (result >= 0) {
            ++successes;
            if (number == static_cast<uint64_t>(sys::Call::mem_map))
                remember_mapping(static_cast<uint64_t>(result), a[0]);
        } else if (-result < error_kinds) {
            ++errors[-result];
        } else {
            if (++strange <= 5)
                print("%s: strange result %ld from call %lu (%lx %lx %lx)\n", name, result, number, a[0], a[1], a[2]);
        }
    }
    const uint64_t elapsed_ms = (static_cast<uint64_t>(sys::uptime()) - start) / 1'000'000;

    // Still ourselves, and the kernel still answers.
    const bool sane = sys::self() == static_cast<int64_t>(g_self) && sys::uptime() > 0;
    tern::PrintBuffer out;
    out.append("%s: results: %lu ok", name, successes);
    for (int e = 1; e < error_kinds; ++e)
        if (errors[e] != 0)
            out.append(", %lu %s", errors[e], sys::error_name(-e));
    if (strange != 0)
        out.append(", %lu STRANGE", strange);
    out.append("\n");
    out.flush();
    if (!sane) {
        print("%s: FAILED: own endpoint changed\n", name);
        return 1;
    }
    print("%s: %lu calls in %lu s, kernel still up\n", name, calls, (elapsed_ms + 500) / 1000);
    return 0;
}
