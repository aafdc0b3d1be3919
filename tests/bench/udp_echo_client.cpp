// udp_echo_client: measures a UDP echo server (RFC 862) from the host.
//
//   udp_echo_client ADDRESS [--port N] [--size BYTES] [--window W]
//                   [--duration SECONDS] [--timeout MS]
//
// It keeps W requests outstanding for SECONDS: each datagram of BYTES carries
// a sequence number, a per-run session number and a byte pattern derived from
// both, and every echo must come back byte for byte as it was sent. A request
// without an answer after MS milliseconds counts as lost and a new one takes
// its place (no retransmission). With --window 1 the figures are round-trip
// times of one request at a time.
//
// `./tern bench net` (tools/bench.py) runs it inside the benchmark's network
// namespace against Tern and against a Linux guest, and parses the one line
// it prints at the end:
//
//   udp_echo: sent N received M lost L bad B late X dup D refused R window W
//     size S seconds T pps P rtt_us min/avg/p50/p99/max A/B/C/D/E
//
// (one line; wrapped here). received counts good echoes of outstanding
// requests; bad: echoes that differ from what was sent (or are not ours);
// late: good echoes that came after their request had been counted lost;
// dup: a second good echo of the same request; refused: ICMP port
// unreachable reports (nothing listens). pps: good echoes received within
// the SECONDS, per second. The round-trip times are in microseconds, over
// every good echo.
//
// Exit status: 0 when at least one good echo came back and none was bad,
// 1 otherwise (the line is printed either way), 2 on a usage error.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr std::size_t header_bytes = 12;  // sequence number (8) + session (4)
constexpr std::size_t max_payload = 65507;

struct Options {
    std::string address;
    int port = 7;
    std::size_t size = 64;
    std::size_t window = 32;
    double duration = 5.0;
    double timeout_ms = 500.0;
};

[[noreturn]] void usage(const char* problem) {
    if (problem != nullptr) {
        std::fprintf(stderr, "udp_echo_client: %s\n", problem);
    }
    std::fprintf(stderr,
                 "usage: udp_echo_client ADDRESS [--port N] [--size BYTES] [--window W]\n"
                 "                       [--duration SECONDS] [--timeout MS]\n"
                 "  Sends UDP datagrams of BYTES (default 64, %zu..%zu) to ADDRESS:N (default 7),\n"
                 "  keeping W (default 32) outstanding for SECONDS (default 5); an echo not back\n"
                 "  after MS (default 500) milliseconds counts as lost. Checks every echo and\n"
                 "  prints one line: udp_echo: sent N received M ... pps P rtt_us min/avg/p50/p99/max ...\n",
                 header_bytes, max_payload);
    std::exit(2);
}

double parse_number(const char* option, const char* text, double low, double high) {
    char* end = nullptr;
    errno = 0;
    double value = std::strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !(value >= low && value <= high)) {
        char message[160];
        std::snprintf(message, sizeof message, "%s: %s is not a number from %g to %g", option, text, low, high);
        usage(message);
    }
    return value;
}

Options parse_options(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "-h" || arg == "--help") {
            usage(nullptr);
        }
        if (arg.rfind("--", 0) == 0) {
            if (i + 1 >= argc) {
                usage((arg + " needs a value").c_str());
            }
            const char* value = argv[++i];
            if (arg == "--port") {
                options.port = static_cast<int>(parse_number("--port", value, 1, 65535));
            } else if (arg == "--size") {
                options.size = static_cast<std::size_t>(parse_number("--size", value, header_bytes, max_payload));
            } else if (arg == "--window") {
                options.window = static_cast<std::size_t>(parse_number("--window", value, 1, 4096));
            } else if (arg == "--duration") {
                options.duration = parse_number("--duration", value, 0.01, 3600);
            } else if (arg == "--timeout") {
                options.timeout_ms = parse_number("--timeout", value, 1, 60000);
            } else {
                usage(("unknown option " + arg).c_str());
            }
        } else if (options.address.empty()) {
            options.address = arg;
        } else {
            usage(("unexpected argument " + arg).c_str());
        }
    }
    if (options.address.empty()) {
        usage("ADDRESS is missing");
    }
    return options;
}

std::int64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// The payload of request `seq`: its number, the session, then a pattern of both.
void fill_payload(std::uint8_t* out, std::size_t size, std::uint64_t seq, std::uint32_t session) {
    std::memcpy(out, &seq, 8);
    std::memcpy(out + 8, &session, 4);
    std::uint32_t state = static_cast<std::uint32_t>(seq * 2654435761u) ^ session;
    for (std::size_t i = header_bytes; i < size; ++i) {
        state = state * 1103515245u + 12345u;
        out[i] = static_cast<std::uint8_t>(state >> 16);
    }
}

enum class State : std::uint8_t { outstanding, answered, lost };

struct Run {
    Options options;
    int fd = -1;
    std::uint32_t session = 0;
    std::vector<State> state;          // per sequence number
    std::vector<std::int64_t> sent_at;  // per sequence number, ns
    std::deque<std::uint64_t> in_flight;  // in send order; answered ones are skipped lazily
    std::vector<double> rtt_us;
    std::size_t outstanding = 0;
    std::uint64_t received = 0, received_in_time = 0, lost = 0, bad = 0, late = 0, duplicate = 0, refused = 0;
    std::vector<std::uint8_t> send_buffer, receive_buffer, expected;

    bool send_one(std::int64_t now) {
        std::uint64_t seq = state.size();
        fill_payload(send_buffer.data(), options.size, seq, session);
        for (;;) {
            ssize_t n = ::send(fd, send_buffer.data(), options.size, 0);
            if (n == static_cast<ssize_t>(options.size)) {
                break;
            }
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0 && errno == ECONNREFUSED) {  // an earlier datagram drew a port unreachable
                ++refused;
                continue;
            }
            std::perror("udp_echo_client: send");
            return false;
        }
        state.push_back(State::outstanding);
        sent_at.push_back(now);
        in_flight.push_back(seq);
        ++outstanding;
        return true;
    }

    void expire(std::int64_t now) {
        auto timeout_ns = static_cast<std::int64_t>(options.timeout_ms * 1e6);
        while (!in_flight.empty()) {
            std::uint64_t seq = in_flight.front();
            if (state[seq] != State::outstanding) {
                in_flight.pop_front();
            } else if (now - sent_at[seq] >= timeout_ns) {
                state[seq] = State::lost;
                ++lost;
                --outstanding;
                in_flight.pop_front();
            } else {
                break;
            }
        }
    }

    // Takes every datagram already queued; returns false on a fatal error.
    bool receive_all(std::int64_t deadline) {
        for (;;) {
            ssize_t n = ::recv(fd, receive_buffer.data(), receive_buffer.size(), MSG_DONTWAIT);
            std::int64_t now = now_ns();
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    return true;
                }
                if (errno == EINTR) {
                    continue;
                }
                if (errno == ECONNREFUSED) {
                    ++refused;
                    continue;
                }
                std::perror("udp_echo_client: recv");
                return false;
            }
            check(receive_buffer.data(), static_cast<std::size_t>(n), now, deadline);
        }
    }

    void check(const std::uint8_t* data, std::size_t length, std::int64_t now, std::int64_t deadline) {
        if (length != options.size) {
            ++bad;
            return;
        }
        std::uint64_t seq;
        std::uint32_t their_session;
        std::memcpy(&seq, data, 8);
        std::memcpy(&their_session, data + 8, 4);
        if (their_session != session || seq >= state.size()) {
            ++bad;
            return;
        }
        fill_payload(expected.data(), options.size, seq, session);
        if (std::memcmp(data, expected.data(), options.size) != 0) {
            ++bad;
            return;
        }
        switch (state[seq]) {
        case State::outstanding:
            state[seq] = State::answered;
            --outstanding;
            ++received;
            if (now <= deadline) {
                ++received_in_time;
            }
            rtt_us.push_back(static_cast<double>(now - sent_at[seq]) / 1e3);
            break;
        case State::answered:
            ++duplicate;
            break;
        case State::lost:
            ++late;
            break;
        }
    }

    // Waits for a datagram until `until` (ns), at most.
    void wait(std::int64_t until) {
        std::int64_t left = until - now_ns();
        if (left <= 0) {
            return;
        }
        pollfd p{fd, POLLIN, 0};
        timespec ts{static_cast<time_t>(left / 1000000000), static_cast<long>(left % 1000000000)};
        ppoll(&p, 1, &ts, nullptr);
    }

    std::int64_t next_expiry() const {
        auto timeout_ns = static_cast<std::int64_t>(options.timeout_ms * 1e6);
        for (std::uint64_t seq : in_flight) {
            if (state[seq] == State::outstanding) {
                return sent_at[seq] + timeout_ns;
            }
        }
        return INT64_MAX;
    }
};

double percentile(const std::vector<double>& sorted, double p) {
    if (sorted.empty()) {
        return 0;
    }
    auto rank = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[std::min(rank, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
    Run run;
    run.options = parse_options(argc, argv);
    const Options& o = run.options;

    sockaddr_in peer{};
    peer.sin_family = AF_INET;
    peer.sin_port = htons(static_cast<std::uint16_t>(o.port));
    if (inet_pton(AF_INET, o.address.c_str(), &peer.sin_addr) != 1) {
        usage(("not an IPv4 address: " + o.address).c_str());
    }
    run.fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (run.fd < 0) {
        std::perror("udp_echo_client: socket");
        return 1;
    }
    int bytes = 1 << 20;
    setsockopt(run.fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
    setsockopt(run.fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
    // connect(): only the server's datagrams arrive, and ICMP errors are reported.
    if (connect(run.fd, reinterpret_cast<sockaddr*>(&peer), sizeof peer) < 0) {
        std::perror("udp_echo_client: connect");
        return 1;
    }
    run.session = std::random_device{}();
    run.send_buffer.resize(o.size);
    run.expected.resize(o.size);
    run.receive_buffer.resize(max_payload + 1);

    const std::int64_t start = now_ns();
    const std::int64_t deadline = start + static_cast<std::int64_t>(o.duration * 1e9);
    bool ok = true;
    // Measurement: keep the window full until the deadline.
    while (ok) {
        std::int64_t now = now_ns();
        if (now >= deadline) {
            break;
        }
        run.expire(now);
        while (ok && run.outstanding < o.window) {
            ok = run.send_one(now);
        }
        if (!ok) {
            break;
        }
        run.wait(std::min(deadline, run.next_expiry()));
        ok = run.receive_all(deadline);
    }
    // Then wait for what is still outstanding, up to the timeout.
    while (ok) {
        std::int64_t now = now_ns();
        run.expire(now);
        if (run.outstanding == 0) {
            break;
        }
        run.wait(run.next_expiry());
        ok = run.receive_all(deadline);
    }

    std::vector<double> sorted = run.rtt_us;
    std::sort(sorted.begin(), sorted.end());
    double sum = 0;
    for (double v : sorted) {
        sum += v;
    }
    double average = sorted.empty() ? 0 : sum / static_cast<double>(sorted.size());
    double pps = static_cast<double>(run.received_in_time) / o.duration;
    std::printf("udp_echo: sent %zu received %llu lost %llu bad %llu late %llu dup %llu refused %llu "
                "window %zu size %zu seconds %.3f pps %.1f rtt_us min/avg/p50/p99/max "
                "%.1f/%.1f/%.1f/%.1f/%.1f\n",
                run.state.size(), static_cast<unsigned long long>(run.received),
                static_cast<unsigned long long>(run.lost), static_cast<unsigned long long>(run.bad),
                static_cast<unsigned long long>(run.late), static_cast<unsigned long long>(run.duplicate),
                static_cast<unsigned long long>(run.refused), o.window, o.size, o.duration, pps,
                sorted.empty() ? 0.0 : sorted.front(), average, percentile(sorted, 0.50),
                percentile(sorted, 0.99), sorted.empty() ? 0.0 : sorted.back());
    std::fflush(stdout);
    close(run.fd);
    if (!ok) {
        return 1;
    }
    return run.received > 0 && run.bad == 0 ? 0 : 1;
}
