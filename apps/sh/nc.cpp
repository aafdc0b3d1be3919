// The shell's nc: a TCP/UDP client for trying and measuring the network.
//   nc [-u] [-w SEC] HOST PORT [TEXT...]   send TEXT and a newline (without
//       TEXT: tcp just connects, udp sends an empty line), print what comes
//       back until the peer closes or SEC seconds (default 2) pass without a byte
//   nc -n BYTES [-s SEED] HOST PORT         send BYTES of the xorshift64*
//       stream of SEED (default 1; base/xorshift.hpp), end the sending side,
//       wait for the peer to close, print the rate and the SHA-256 of what
//       was sent:
//       nc: sent 33554432 bytes in 1234 ms (217.5 Mb/s) sha256 <64 hex digits>
//   nc -l PORT                              accept one TCP connection, read it
//       to its end, print the byte count, rate and SHA-256 of what came
// Errors name the errno: "nc: connect 10.0.2.2:5001: ECONNREFUSED".
// Everything goes through System::sockets(), so the host tests run it on
// Linux's sockets or a fake.
#include <cstdarg>
#include <new>

#include "base/sha256.hpp"
#include "base/xorshift.hpp"
#include "net/address.hpp"
#include "shell.hpp"
#include "words.hpp"

namespace sh {
namespace {

namespace err = netio::err;

constexpr int connect_timeout_ms = 10000;
constexpr uint64_t stall_timeout_ms = 30000; // -n, -l: no progress at all for this long
constexpr int accept_timeout_ms = 60000;
constexpr uint64_t max_shown = 64 * 1024;     // received bytes printed; the rest are counted
constexpr size_t chunk_size = 64 * 1024;
constexpr const char* usage =
    "usage: nc [-u] [-w SEC] HOST PORT [TEXT...] | nc -n BYTES [-s SEED] HOST PORT | nc -l PORT\n";

struct EndpointText {
    char text[24];
    explicit EndpointText(netio::Endpoint endpoint)
    {
        tern::format_to(text, sizeof(text), "%s:%u", tern::net::to_text(tern::net::Ipv4Address{endpoint.address}).text,
                        endpoint.port);
    }
};

// "217.5" Mb/s for `bytes` in `ms` milliseconds (at least 1 ms).
struct Rate {
    char text[32];
    Rate(uint64_t bytes, uint64_t ms)
    {
        const uint64_t tenths = static_cast<uint64_t>(static_cast<unsigned __int128>(bytes) * 80 / (ms != 0 ? ms : 1) / 1000);
        tern::format_to(text, sizeof(text), "%lu.%lu", tenths / 10, tenths % 10);
    }
};

class Session {
public:
    Session(System& system, tern::FormatSink& out) : m_system(system), m_sockets(system.sockets()), m_out(out) {}
    ~Session()
    {
        if (m_fd >= 0)
            (void)m_sockets.close(m_fd);
        if (m_listener >= 0)
            (void)m_sockets.close(m_listener);
        delete[] m_chunk;
    }

    void say(const char* fmt, ...) __attribute__((format(printf, 2, 3)))
    {
        va_list args;
        va_start(args, fmt);
        tern::vformat(m_out, fmt, args);
        va_end(args);
    }

    uint64_t now_ms() { return m_system.uptime_ns() / 1000000; }

    // Opens the socket and connects it to `to` (tcp: waits for the
    // handshake). False after saying why.
    bool connect(netio::Kind kind, netio::Endpoint to)
    {
        m_remote = to;
        m_fd = m_sockets.open(kind);
        if (m_fd == -netio::network_down) {
            say("nc: socket: %s (is the %s server running?)\n", netio::error_name(m_fd),
                kind == netio::Kind::tcp ? "tcp" : "udp");
            return false;
        }
        if (m_fd < 0)
            return fail("socket", m_fd);
        int result = m_sockets.connect(m_fd, to);
        if (result == -err::in_progress) {
            netio::PollEntry entry{m_fd, netio::poll_out, 0};
            const int ready = m_sockets.poll(&entry, 1, connect_timeout_ms);
            if (ready < 0)
                return fail("poll", ready);
            result = ready == 0 ? -err::timed_out : m_sockets.pending_error(m_fd);
        }
        if (result < 0) {
            say("nc: connect %s: %s\n", EndpointText(to).text, netio::error_name(result));
            return false;
        }
        return true;
    }

    // nc HOST PORT TEXT: the text, then what comes back.
    void converse(bool udp, const char* text, size_t length, uint64_t silence_ms)
    {
        if (length != 0 && !send_all(text, length))
            return;
        uint64_t received = 0, datagrams = 0;
        uint8_t buffer[2048];
        bool line_open = false;
        for (;;) {
            netio::PollEntry entry{m_fd, netio::poll_in, 0};
            const int ready = m_sockets.poll(&entry, 1, static_cast<int>(silence_ms));
            if (ready < 0) {
                (void)fail("poll", ready);
                return;
            }
            if (ready == 0) {
                finish_line(line_open);
                say("nc: %lu bytes%s received, %lu ms of silence\n", received, udp ? datagram_count(datagrams) : "",
                    silence_ms);
                return;
            }
            const int64_t n = m_sockets.recv(m_fd, buffer, sizeof(buffer));
            if (n == -err::again)
                continue;
            if (n < 0) {
                finish_line(line_open);
                say("nc: recv from %s after %lu bytes: %s\n", EndpointText(m_remote).text, received,
                    netio::error_name(n));
                return;
            }
            if (n == 0 && !udp) {
                finish_line(line_open);
                say("nc: %lu bytes received, connection closed by %s\n", received, EndpointText(m_remote).text);
                return;
            }
            ++datagrams;
            received += static_cast<uint64_t>(n);
            show(buffer, static_cast<size_t>(n), line_open);
            if (udp)
                finish_line(line_open); // one datagram, one line
        }
    }

    // nc -n: BYTES of the stream, then wait for the peer's close.
    void blast(uint64_t bytes, uint64_t seed)
    {
        if (!allocate_chunk())
            return;
        tern::XorshiftStream stream(seed);
        tern::Sha256 hash;
        const uint64_t start = now_ms();
        uint64_t sent = 0, generated = 0, received = 0, last_progress = start;
        size_t chunk_length = 0, chunk_sent = 0;
        bool peer_finished = false;
        while (sent < bytes) {
            if (chunk_sent == chunk_length) {
                chunk_length = bytes - generated < chunk_size ? static_cast<size_t>(bytes - generated) : chunk_size;
                stream.fill(m_chunk, chunk_length);
                hash.update(m_chunk, chunk_length);
                generated += chunk_length;
                chunk_sent = 0;
            }
            const int64_t n = m_sockets.send(m_fd, m_chunk + chunk_sent, chunk_length - chunk_sent);
            if (n > 0) {
                chunk_sent += static_cast<size_t>(n);
                sent += static_cast<uint64_t>(n);
                last_progress = now_ms();
                continue;
            }
            if (n != -err::again) {
                say("nc: send to %s after %lu bytes: %s\n", EndpointText(m_remote).text, sent,
                    n == 0 ? "no progress" : netio::error_name(n));
                return;
            }
            // No room: wait for it, reading whatever the peer sends meanwhile.
            const uint64_t now = now_ms();
            if (now - last_progress >= stall_timeout_ms) {
                say("nc: stalled: no progress for %lu s after %lu bytes\n", stall_timeout_ms / 1000, sent);
                return;
            }
            netio::PollEntry entry{m_fd, static_cast<short>(netio::poll_out | (peer_finished ? 0 : netio::poll_in)), 0};
            const int ready = m_sockets.poll(&entry, 1, static_cast<int>(stall_timeout_ms - (now - last_progress)));
            if (ready < 0) {
                (void)fail("poll", ready);
                return;
            }
            if (!peer_finished && (entry.revents & netio::poll_in) != 0 && !drain(received, peer_finished))
                return;
        }
        if (const int result = m_sockets.shutdown(m_fd, netio::shut_write); result < 0) {
            (void)fail("shutdown", result);
            return;
        }
        // The peer has everything once it closes its side.
        last_progress = now_ms();
        while (!peer_finished) {
            const uint64_t now = now_ms();
            if (now - last_progress >= stall_timeout_ms) {
                say("nc: sent %lu bytes, but %s did not close within %lu s\n", sent, EndpointText(m_remote).text,
                    stall_timeout_ms / 1000);
                return;
            }
            netio::PollEntry entry{m_fd, netio::poll_in, 0};
            const int ready = m_sockets.poll(&entry, 1, static_cast<int>(stall_timeout_ms - (now - last_progress)));
            if (ready < 0) {
                (void)fail("poll", ready);
                return;
            }
            const uint64_t before = received;
            if (ready > 0 && !drain(received, peer_finished))
                return;
            if (received != before)
                last_progress = now_ms();
        }
        const uint64_t elapsed = now_ms() - start;
        say("nc: sent %lu bytes in %lu ms (%s Mb/s) sha256 %s\n", sent, elapsed, Rate(sent, elapsed).text,
            tern::Sha256::hex(hash.finish()).text);
        if (received != 0)
            say("nc: received %lu bytes from %s\n", received, EndpointText(m_remote).text);
    }

    // nc -l PORT: one connection, read to its end.
    void sink(uint16_t port)
    {
        if (!allocate_chunk())
            return;
        m_listener = m_sockets.open(netio::Kind::tcp);
        if (m_listener < 0) {
            (void)fail("socket", m_listener);
            return;
        }
        (void)m_sockets.set_reuse_address(m_listener);
        if (const int result = m_sockets.bind(m_listener, {0, port}); result < 0) {
            say("nc: bind port %u: %s\n", port, netio::error_name(result));
            return;
        }
        if (const int result = m_sockets.listen(m_listener, 1); result < 0) {
            (void)fail("listen", result);
            return;
        }
        say("nc: listening on port %u\n", port);
        netio::PollEntry entry{m_listener, netio::poll_in, 0};
        const int ready = m_sockets.poll(&entry, 1, accept_timeout_ms);
        if (ready <= 0) {
            if (ready == 0)
                say("nc: no connection within %d s\n", accept_timeout_ms / 1000);
            else
                (void)fail("poll", ready);
            return;
        }
        m_fd = m_sockets.accept(m_listener, &m_remote);
        if (m_fd < 0) {
            (void)fail("accept", m_fd);
            return;
        }
        const uint64_t start = now_ms();
        tern::Sha256 hash;
        uint64_t last_progress = start;
        for (;;) {
            const int64_t n = m_sockets.recv(m_fd, m_chunk, chunk_size);
            if (n > 0) {
                hash.update(m_chunk, static_cast<size_t>(n));
                last_progress = now_ms();
                continue;
            }
            if (n == 0)
                break;
            if (n != -err::again) {
                say("nc: recv from %s after %lu bytes: %s\n", EndpointText(m_remote).text, hash.length(),
                    netio::error_name(n));
                return;
            }
            const uint64_t now = now_ms();
            if (now - last_progress >= stall_timeout_ms) {
                say("nc: stalled: nothing from %s for %lu s after %lu bytes\n", EndpointText(m_remote).text,
                    stall_timeout_ms / 1000, hash.length());
                return;
            }
            netio::PollEntry wait{m_fd, netio::poll_in, 0};
            if (const int r = m_sockets.poll(&wait, 1, static_cast<int>(stall_timeout_ms - (now - last_progress)));
                r < 0) {
                (void)fail("poll", r);
                return;
            }
        }
        const uint64_t elapsed = now_ms() - start;
        const uint64_t bytes = hash.length();
        say("nc: received %lu bytes from %s in %lu ms (%s Mb/s) sha256 %s\n", bytes, EndpointText(m_remote).text,
            elapsed, Rate(bytes, elapsed).text, tern::Sha256::hex(hash.finish()).text);
    }

private:
    bool fail(const char* call, int64_t result)
    {
        say("nc: %s: %s\n", call, netio::error_name(result));
        return false;
    }

    bool allocate_chunk()
    {
        m_chunk = new (std::nothrow) uint8_t[chunk_size];
        if (m_chunk == nullptr)
            say("nc: out of memory\n");
        return m_chunk != nullptr;
    }

    static const char* datagram_count(uint64_t datagrams)
    {
        static char text[32];
        tern::format_to(text, sizeof(text), " (%lu datagrams)", datagrams);
        return text;
    }

    bool send_all(const char* data, size_t length)
    {
        size_t sent = 0;
        while (sent < length) {
            const int64_t n = m_sockets.send(m_fd, data + sent, length - sent);
            if (n > 0) {
                sent += static_cast<size_t>(n);
                continue;
            }
            if (n != -err::again) {
                say("nc: send to %s: %s\n", EndpointText(m_remote).text, n == 0 ? "no progress" : netio::error_name(n));
                return false;
            }
            netio::PollEntry entry{m_fd, netio::poll_out, 0};
            const int ready = m_sockets.poll(&entry, 1, connect_timeout_ms);
            if (ready <= 0)
                return fail("send", ready == 0 ? -err::timed_out : ready);
        }
        return true;
    }

    // Reads what is there (and drops it); false after an error.
    bool drain(uint64_t& received, bool& finished)
    {
        for (;;) {
            const int64_t n = m_sockets.recv(m_fd, m_chunk, chunk_size);
            if (n == -err::again)
                return true;
            if (n == 0) {
                finished = true;
                return true;
            }
            if (n < 0) {
                say("nc: recv from %s: %s\n", EndpointText(m_remote).text, netio::error_name(n));
                return false;
            }
            received += static_cast<uint64_t>(n);
        }
    }

    // Received bytes as text: printable ASCII, newlines and tabs as they are,
    // carriage returns dropped, anything else as '.'.
    void show(const uint8_t* data, size_t length, bool& line_open)
    {
        char text[2048];
        size_t n = 0;
        for (size_t i = 0; i < length && n < sizeof(text); ++i) {
            if (m_shown == max_shown) {
                m_hidden = true;
                break;
            }
            ++m_shown;
            const uint8_t c = data[i];
            if (c == '\r')
                continue;
            text[n++] = (c >= ' ' && c < 0x7F) || c == '\n' || c == '\t' ? static_cast<char>(c) : '.';
        }
        if (n != 0) {
            m_out.write(text, n);
            line_open = text[n - 1] != '\n';
        }
        if (m_hidden && !m_said_hidden) {
            finish_line(line_open);
            say("nc: (only the first %lu bytes are shown)\n", max_shown);
            m_said_hidden = true;
        }
    }

    void finish_line(bool& line_open)
    {
        if (line_open)
            m_out.write("\n", 1);
        line_open = false;
    }

    System& m_system;
    netio::Sockets& m_sockets;
    tern::FormatSink& m_out;
    int m_fd = -1;
    int m_listener = -1;
    netio::Endpoint m_remote;
    uint8_t* m_chunk = nullptr;
    uint64_t m_shown = 0;
    bool m_hidden = false; // more came than max_shown
    bool m_said_hidden = false;
};

bool parse_port(const char* text, uint16_t& port)
{
    uint64_t value;
    if (!parse_number(text, value) || value == 0 || value > 65535)
        return false;
    port = static_cast<uint16_t>(value);
    return true;
}

} // namespace

void Shell::nc(const Args& args)
{
    bool udp = false, listen = false, blast = false;
    uint64_t bytes = 0, seed = 1, silence_s = 2;
    size_t i = 1;
    for (; i < args.count && args.word[i][0] == '-' && args.word[i][1] != '\0'; ++i) {
        const char* option = args.word[i];
        uint64_t* value = equal(option, "-n") ? &bytes : equal(option, "-s") ? &seed : equal(option, "-w") ? &silence_s
                                                                                                     : nullptr;
        if (equal(option, "-u")) {
            udp = true;
        } else if (equal(option, "-l")) {
            listen = true;
        } else if (value != nullptr) {
            if (i + 1 == args.count || !parse_number(args.word[i + 1], *value)) {
                say("nc: %s needs a number\n%s", option, usage);
                return;
            }
            blast = blast || value == &bytes;
            ++i;
        } else {
            say("nc: unknown option '%s'\n%s", option, usage);
            return;
        }
    }
    const size_t positional = args.count - i;
    if (silence_s == 0 || silence_s > 3600) {
        say("nc: -w takes 1..3600 seconds\n");
        return;
    }
    if (listen) {
        uint16_t port;
        if (udp || blast || positional != 1 || !parse_port(args.word[i], port)) {
            say("%s", usage);
            return;
        }
        Session(m_system, m_out).sink(port);
        return;
    }
    if (positional < 2 || (blast && (udp || positional != 2))) {
        say("%s", usage);
        return;
    }
    const auto host = tern::net::parse_ipv4(args.word[i]);
    uint16_t port;
    if (!host.ok()) {
        say("nc: '%s' is not an IPv4 address (there are no host names yet)\n", args.word[i]);
        return;
    }
    if (!parse_port(args.word[i + 1], port)) {
        say("nc: '%s' is not a port (1..65535)\n", args.word[i + 1]);
        return;
    }
    Session session(m_system, m_out);
    if (!session.connect(udp ? netio::Kind::udp : netio::Kind::tcp, {host.value().value, port}))
        return;
    if (blast) {
        session.blast(bytes, seed);
        return;
    }
    // The rest of the words, joined by single spaces, and a newline; without
    // words, tcp sends nothing and udp an empty line (a datagram is needed
    // to get an answer).
    char text[256];
    size_t length = 0;
    if (udp && i + 2 == args.count)
        text[length++] = '\n';
    for (size_t w = i + 2; w < args.count; ++w) {
        for (const char* p = args.word[w]; *p != '\0' && length + 2 < sizeof(text); ++p)
            text[length++] = *p;
        text[length++] = w + 1 == args.count ? '\n' : ' ';
    }
    session.converse(udp, text, length, silence_s * 1000);
}

} // namespace sh
