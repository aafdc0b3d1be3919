// channel_bench: Tern's shared-memory ring (lib/channel/ring.hpp) against
// boost::lockfree::spsc_queue and a pipe, on the host, with Google Benchmark.
//
// Every contender moves the same message, tern::channel::Message (one 64-byte
// cache line), between two threads pinned to two different cores (the
// benchmark's own thread on the first core, a helper on the second), with the
// same capacity (1024 messages; for the pipe 64 KiB = 1024 messages).
//
//   throughput/<contender>/unbatched  one message per push and per pop
//   throughput/<contender>/batched    up to 32 messages per push and per pop
//   roundtrip/<contender>             ping-pong of one message over two queues
//
// Throughput: one benchmark iteration sends `kChunk` messages and waits until
// the consumer has taken the last one. Round trip: one iteration is one round
// trip. The time is wall-clock time (UseRealTime); both threads busy-poll
// (except the pipe, whose reads and writes block in the kernel). The
// consumer checks every message's sequence number.
//
// Each result carries the counters `msgs_per_iter` (messages, or round trips,
// per iteration) and `line_rt_ns_before` / `_after`: one cache line's round
// trip between the two cores, probed just before and after the benchmark.
// Every figure here scales with that latency, and under a hypervisor it can
// change by 3x from one second to the next, when the host moves the virtual
// CPUs. tools/bench.py reads the JSON output (--benchmark_out), prints the
// ratio table and warns when the probe moved. Run it via `./tern bench channels`.
//
// Extra option (besides Google Benchmark's): --cpus=A,B picks the two cores
// (default: the first two this process may run on, normally 0 and 1).

#include <benchmark/benchmark.h>

#include <boost/lockfree/spsc_queue.hpp>

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "channel/message.hpp"
#include "channel/ring.hpp"

namespace {

using Msg = tern::channel::Message;
static_assert(sizeof(Msg) == 64 && alignof(Msg) == 64);

constexpr uint32_t kCapacity = 1024;   // slots of every ring / queue, messages of every pipe
constexpr uint32_t kBatch = 32;        // messages per batched push / pop
constexpr uint32_t kChunk = 1u << 16;  // messages per throughput iteration
constexpr uint32_t kData = 1, kStop = 2;
constexpr uint32_t kLastOfChunk = 1;   // Msg::flags

int g_cpu[2] = {-1, -1};

bool pin_to(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

Msg make(uint32_t type, uint64_t seq, uint64_t chunk = 0, uint32_t flags = 0)
{
    Msg m{};
    m.type = type;
    m.flags = flags;
    m.words[0] = seq;
    m.words[1] = chunk;
    return m;
}

// Builds the next batch (up to kBatch) of a chunk of `count` data messages,
// of which `sent` are gone, in `batch`; returns how many.
uint32_t build_batch(Msg* batch, uint64_t first, uint32_t sent, uint32_t count, uint64_t chunk)
{
    const uint32_t n = std::min(kBatch, count - sent);
    for (uint32_t i = 0; i < n; ++i) {
        const uint32_t k = sent + i;
        batch[i] = make(kData, first + k, chunk, k + 1 == count ? kLastOfChunk : 0);
    }
    return n;
}

// --- contenders: one direction each, one producer thread, one consumer thread ---

class TernRing {
public:
    bool open(std::string& why)
    {
        const size_t bytes = (tern::channel::ring_bytes(kCapacity) + 4095) & ~size_t{4095};
        m_memory = std::aligned_alloc(4096, bytes);
        if (m_memory == nullptr) {
            why = "out of memory";
            return false;
        }
        tern::channel::ring_init(m_memory);
        if (!m_producer.attach(m_memory, bytes, kCapacity).ok() || !m_consumer.attach(m_memory, bytes, kCapacity).ok()) {
            why = "ring attach failed";
            return false;
        }
        return true;
    }
    ~TernRing() { std::free(m_memory); }

    void send(const Msg& m)
    {
        while (m_producer.space(1) == 0) {
        }
        m_producer.slot(0) = m;
        m_producer_wakes += m_producer.publish(1);
    }

    Msg receive()
    {
        while (m_consumer.available() == 0) {
        }
        const Msg m = m_consumer.read(0);
        m_consumer_wakes += m_consumer.release(1);
        return m;
    }

    // Sends messages first .. first+count-1 of `chunk`, up to kBatch per
    // publish, filled in place in the ring's slots (the ring's zero-copy path;
    // the other contenders build a batch in a local array and copy it in).
    void send_batched(uint64_t first, uint32_t count, uint64_t chunk)
    {
        uint32_t sent = 0;
        while (sent < count) {
            const uint32_t want = std::min(kBatch, count - sent);
            uint32_t n;
            while ((n = m_producer.space(want)) == 0) {
            }
            n = std::min(n, want);
            for (uint32_t i = 0; i < n; ++i) {
                const uint32_t k = sent + i;
                Msg& m = m_producer.slot(i); // field by field, as a server fills a slot
                m.type = kData;
                m.flags = k + 1 == count ? kLastOfChunk : 0;
                m.buffer = {};
                m.words[0] = first + k;
                m.words[1] = chunk;
                m.words[2] = m.words[3] = m.words[4] = 0;
            }
            m_producer_wakes += m_producer.publish(n);
            sent += n;
        }
    }

    // Hands up to kBatch waiting messages to `f` and frees them with one
    // release; returns how many (0: none waiting).
    template <typename F>
    uint32_t receive_batched(F&& f)
    {
        const uint32_t n = std::min(m_consumer.available(), kBatch);
        for (uint32_t i = 0; i < n; ++i)
            f(m_consumer.read(i));
        if (n != 0)
            m_consumer_wakes += m_consumer.release(n);
        return n;
    }

    uint64_t wakes() const { return m_producer_wakes + m_consumer_wakes; }

private:
    void* m_memory = nullptr;
    // Each side's private state on its own cache lines: no false sharing.
    alignas(64) tern::channel::Producer<Msg> m_producer;
    uint64_t m_producer_wakes = 0;
    alignas(64) tern::channel::Consumer<Msg> m_consumer;
    uint64_t m_consumer_wakes = 0;
};

class BoostQueue {
public:
    bool open(std::string&) { return true; }

    void send(const Msg& m)
    {
        while (!m_queue.push(m)) {
        }
    }

    Msg receive()
    {
        Msg m;
        while (!m_queue.pop(m)) {
        }
        return m;
    }

    // push(array, n): messages are built in a local array, then copied in.
    void send_batched(uint64_t first, uint32_t count, uint64_t chunk)
    {
        Msg batch[kBatch];
        uint32_t sent = 0;
        while (sent < count) {
            const uint32_t n = build_batch(batch, first, sent, count, chunk);
            uint32_t pushed = 0;
            while (pushed < n)
                pushed += static_cast<uint32_t>(m_queue.push(batch + pushed, n - pushed));
            sent += n;
        }
    }

    template <typename F>
    uint32_t receive_batched(F&& f)
    {
        Msg batch[kBatch];
        const auto n = static_cast<uint32_t>(m_queue.pop(batch, kBatch));
        for (uint32_t i = 0; i < n; ++i)
            f(batch[i]);
        return n;
    }

    uint64_t wakes() const { return 0; }

private:
    // capacity<N>: N messages fit (boost keeps one more slot internally).
    boost::lockfree::spsc_queue<Msg, boost::lockfree::capacity<kCapacity>> m_queue;
};

class Pipe {
public:
    bool open(std::string& why)
    {
        if (pipe2(m_fd, O_CLOEXEC) != 0) {
            why = std::string("pipe2: ") + std::strerror(errno);
            return false;
        }
        // 64 KiB = kCapacity messages, the Linux default; set it explicitly.
        if (fcntl(m_fd[1], F_SETPIPE_SZ, int(kCapacity * sizeof(Msg))) < 0) {
            why = std::string("F_SETPIPE_SZ: ") + std::strerror(errno);
            return false;
        }
        return true;
    }
    ~Pipe()
    {
        for (int fd : m_fd)
            if (fd >= 0)
                close(fd);
    }

    void send(const Msg& m) { write_all(&m, sizeof m); }

    Msg receive()
    {
        Msg m;
        read_all(&m, sizeof m);
        return m;
    }

    // One write of up to kBatch messages (2 KiB <= PIPE_BUF: atomic).
    void send_batched(uint64_t first, uint32_t count, uint64_t chunk)
    {
        Msg batch[kBatch];
        uint32_t sent = 0;
        while (sent < count) {
            const uint32_t n = build_batch(batch, first, sent, count, chunk);
            write_all(batch, n * sizeof(Msg));
            sent += n;
        }
    }

    // One read of up to kBatch messages (blocks while the pipe is empty).
    template <typename F>
    uint32_t receive_batched(F&& f)
    {
        const ssize_t got = read(m_fd[0], reinterpret_cast<char*>(m_in) + m_have, sizeof m_in - m_have);
        if (got <= 0) {
            if (got < 0 && errno == EINTR)
                return 0;
            std::fprintf(stderr, "channel_bench: pipe read failed: %s\n", got < 0 ? std::strerror(errno) : "EOF");
            std::abort();
        }
        m_have += size_t(got);
        const auto n = static_cast<uint32_t>(m_have / sizeof(Msg));
        for (uint32_t i = 0; i < n; ++i)
            f(m_in[i]);
        const size_t rest = m_have - n * sizeof(Msg); // a message split between two reads
        std::memmove(m_in, reinterpret_cast<char*>(m_in) + n * sizeof(Msg), rest);
        m_have = rest;
        return n;
    }

    uint64_t wakes() const { return 0; }

private:
    void write_all(const void* data, size_t bytes)
    {
        const char* p = static_cast<const char*>(data);
        while (bytes != 0) {
            const ssize_t n = write(m_fd[1], p, bytes);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                std::fprintf(stderr, "channel_bench: pipe write failed: %s\n", std::strerror(errno));
                std::abort();
            }
            p += n;
            bytes -= size_t(n);
        }
    }
    void read_all(void* data, size_t bytes)
    {
        char* p = static_cast<char*>(data);
        while (bytes != 0) {
            const ssize_t n = read(m_fd[0], p, bytes);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                std::fprintf(stderr, "channel_bench: pipe read failed: %s\n", n < 0 ? std::strerror(errno) : "EOF");
                std::abort();
            }
            p += n;
            bytes -= size_t(n);
        }
    }

    int m_fd[2] = {-1, -1};
    Msg m_in[kBatch];
    size_t m_have = 0;
};

// --- cross-core latency probe -------------------------------------------------------

// Nanoseconds for one round trip of a cache line between the two cores: a
// counter that the two threads increment in turn. Measured before and after
// each benchmark, because under a hypervisor the figure can change from one
// second to the next (the host moves the virtual CPUs between its cores), and
// every result here depends on it.
double line_round_trip_ns()
{
    constexpr uint64_t rounds = 2000;
    struct alignas(64) Line {
        std::atomic<uint64_t> value{0};
    } line;
    std::atomic<bool> pinned{true};
    std::thread peer([&] {
        if (!pin_to(g_cpu[1]))
            pinned = false;
        for (uint64_t i = 1; i < 2 * rounds; i += 2) {
            while (line.value.load(std::memory_order_acquire) != i) {
            }
            line.value.store(i + 1, std::memory_order_release);
        }
    });
    // One warm-up round trip: the peer thread is running and pinned.
    const auto begin_wait = [&](uint64_t i) {
        line.value.store(i, std::memory_order_release);
        while (line.value.load(std::memory_order_acquire) != i + 1) {
        }
    };
    begin_wait(1);
    const auto start = std::chrono::steady_clock::now();
    for (uint64_t i = 3; i < 2 * rounds; i += 2)
        begin_wait(i);
    const auto end = std::chrono::steady_clock::now();
    peer.join();
    if (!pinned)
        return 0;
    return std::chrono::duration<double, std::nano>(end - start).count() / double(rounds - 1);
}

// --- the benchmarks ---------------------------------------------------------------

struct alignas(64) Shared {
    alignas(64) std::atomic<uint64_t> acked{0}; // consumer: last chunk fully received
    alignas(64) std::atomic<uint64_t> errors{0};
    alignas(64) std::atomic<bool> pinned{true};
};

bool start(benchmark::State& state, std::string& why)
{
    if (!pin_to(g_cpu[0])) {
        why = "cannot pin the benchmark thread to core " + std::to_string(g_cpu[0]);
        state.SkipWithError(why.c_str());
        return false;
    }
    return true;
}

// Counters line_rt_ns_before / _after: the probe's figure around the timed loop.
void record_line_round_trip(benchmark::State& state, double before)
{
    state.counters["line_rt_ns_before"] = before;
    state.counters["line_rt_ns_after"] = line_round_trip_ns();
}

template <typename Chan, bool batched>
void BM_Throughput(benchmark::State& state)
{
    std::string why;
    auto chan = std::make_unique<Chan>();
    if (!chan->open(why)) {
        state.SkipWithError(why.c_str());
        return;
    }
    if (!start(state, why))
        return;
    const double line_before = line_round_trip_ns();
    Shared shared;

    std::thread consumer([&] {
        if (!pin_to(g_cpu[1]))
            shared.pinned = false;
        uint64_t expected = 0, errors = 0;
        bool stop = false;
        const auto take = [&](const Msg& m) {
            if (m.type == kStop) {
                stop = true;
                return;
            }
            if (m.type != kData || m.words[0] != expected)
                ++errors;
            expected = m.words[0] + 1;
            if (m.flags & kLastOfChunk)
                shared.acked.store(m.words[1], std::memory_order_release);
        };
        while (!stop) {
            if constexpr (batched)
                chan->receive_batched(take);
            else
                take(chan->receive());
        }
        shared.errors = errors;
    });

    uint64_t seq = 0, chunk = 0;
    for (auto _ : state) {
        ++chunk;
        if constexpr (batched) {
            chan->send_batched(seq, kChunk, chunk);
            seq += kChunk;
        } else {
            for (uint32_t i = 0; i < kChunk; ++i, ++seq)
                chan->send(make(kData, seq, chunk, i + 1 == kChunk ? kLastOfChunk : 0));
        }
        while (shared.acked.load(std::memory_order_acquire) != chunk) {
        }
    }
    chan->send(make(kStop, seq));
    consumer.join();
    record_line_round_trip(state, line_before);

    if (!shared.pinned)
        state.SkipWithError(("cannot pin the consumer thread to core " + std::to_string(g_cpu[1])).c_str());
    else if (shared.errors != 0)
        state.SkipWithError("the consumer saw messages out of order");
    state.SetItemsProcessed(int64_t(state.iterations()) * kChunk);
    state.SetBytesProcessed(int64_t(state.iterations()) * kChunk * int64_t(sizeof(Msg)));
    state.counters["msgs_per_iter"] = kChunk;
    state.counters["wakes"] = double(chan->wakes());
}

template <typename Chan>
void BM_RoundTrip(benchmark::State& state)
{
    std::string why;
    auto ping = std::make_unique<Chan>(); // benchmark thread -> echo thread
    auto pong = std::make_unique<Chan>(); // echo thread -> benchmark thread
    if (!ping->open(why) || !pong->open(why)) {
        state.SkipWithError(why.c_str());
        return;
    }
    if (!start(state, why))
        return;
    const double line_before = line_round_trip_ns();
    Shared shared;

    std::thread echo([&] {
        if (!pin_to(g_cpu[1]))
            shared.pinned = false;
        for (;;) {
            Msg m = ping->receive();
            if (m.type == kStop)
                break;
            m.words[2] = m.words[0] + 1; // the answer
            pong->send(m);
        }
    });

    uint64_t seq = 0, errors = 0;
    for (auto _ : state) {
        ping->send(make(kData, seq));
        const Msg reply = pong->receive();
        if (reply.words[0] != seq || reply.words[2] != seq + 1)
            ++errors;
        ++seq;
    }
    ping->send(make(kStop, seq));
    echo.join();
    record_line_round_trip(state, line_before);

    if (!shared.pinned)
        state.SkipWithError(("cannot pin the echo thread to core " + std::to_string(g_cpu[1])).c_str());
    else if (errors != 0)
        state.SkipWithError("wrong replies");
    state.SetItemsProcessed(int64_t(state.iterations()));
    state.counters["msgs_per_iter"] = 1;
    state.counters["wakes"] = double(ping->wakes() + pong->wakes());
}

constexpr double kMinTime = 0.5; // seconds per benchmark; one run, no repetitions

#define TERN_BENCH(func, name, unit) \
    BENCHMARK(func)->Name(name)->UseRealTime()->MinTime(kMinTime)->Unit(benchmark::unit)

TERN_BENCH((BM_Throughput<TernRing, false>), "throughput/tern_ring/unbatched", kMicrosecond);
TERN_BENCH((BM_Throughput<TernRing, true>), "throughput/tern_ring/batched", kMicrosecond);
TERN_BENCH((BM_Throughput<BoostQueue, false>), "throughput/boost_spsc/unbatched", kMicrosecond);
TERN_BENCH((BM_Throughput<BoostQueue, true>), "throughput/boost_spsc/batched", kMicrosecond);
TERN_BENCH((BM_Throughput<Pipe, false>), "throughput/pipe/unbatched", kMicrosecond);
TERN_BENCH((BM_Throughput<Pipe, true>), "throughput/pipe/batched", kMicrosecond);
TERN_BENCH(BM_RoundTrip<TernRing>, "roundtrip/tern_ring", kNanosecond);
TERN_BENCH(BM_RoundTrip<BoostQueue>, "roundtrip/boost_spsc", kNanosecond);
TERN_BENCH(BM_RoundTrip<Pipe>, "roundtrip/pipe", kNanosecond);

// The first two cores this process may run on (0 and 1 on a plain machine).
bool choose_cpus(int argc, char** argv)
{
    for (int i = 1; i < argc; ++i) {
        if (std::strncmp(argv[i], "--cpus=", 7) == 0) {
            if (std::sscanf(argv[i] + 7, "%d,%d", &g_cpu[0], &g_cpu[1]) != 2 || g_cpu[0] < 0 || g_cpu[1] < 0 ||
                g_cpu[0] == g_cpu[1]) {
                std::fprintf(stderr, "channel_bench: --cpus wants two different core numbers, e.g. --cpus=0,1\n");
                return false;
            }
            return true;
        } else {
            std::fprintf(stderr, "channel_bench: unknown option %s (see --help)\n", argv[i]);
            return false;
        }
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) {
        std::perror("channel_bench: sched_getaffinity");
        return false;
    }
    int found = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && found < 2; ++cpu)
        if (CPU_ISSET(cpu, &set))
            g_cpu[found++] = cpu;
    if (found < 2) {
        std::fprintf(stderr, "channel_bench: needs two cores, but this process may run on only %d\n", found);
        return false;
    }
    return true;
}

} // namespace

int main(int argc, char** argv)
{
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
            std::printf("channel_bench: Tern ring vs boost::lockfree::spsc_queue vs pipe, two pinned threads.\n"
                        "Options: --cpus=A,B (the two cores; default the first two allowed) and Google\n"
                        "Benchmark's own, e.g. --benchmark_filter=REGEX --benchmark_out=FILE\n"
                        "--benchmark_out_format=json --benchmark_min_time=SECONDS. Normally run via\n"
                        "./tern bench channels, which prints the ratio table.\n\n");
            benchmark::Initialize(&argc, argv); // prints Google Benchmark's own help, exits
            return 0;
        }
    }
    benchmark::Initialize(&argc, argv);
    if (!choose_cpus(argc, argv))
        return 2;
    benchmark::AddCustomContext("cores", std::to_string(g_cpu[0]) + "," + std::to_string(g_cpu[1]));
    benchmark::AddCustomContext("capacity", std::to_string(kCapacity));
    benchmark::AddCustomContext("batch", std::to_string(kBatch));
    benchmark::AddCustomContext("chunk", std::to_string(kChunk));
    std::printf("channel_bench: threads pinned to cores %d and %d; capacity %u, batch %u, %u messages per "
                "throughput iteration\n",
                g_cpu[0], g_cpu[1], kCapacity, kBatch, kChunk);
    std::fflush(stdout);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
