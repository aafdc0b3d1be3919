// The shell's commands (apps/sh/shell.cpp) against a fake system.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "base/sha256.hpp"
#include "base/xorshift.hpp"
#include "proto/socket.hpp"
#include "shell.hpp"

namespace {

namespace sys = tern::sys;
using tern::rs::Op;

class StringSink final : public tern::FormatSink {
public:
    void write(const char* text, size_t length) override { data.append(text, length); }
    std::string data;
};

struct RsRequest {
    Op op;
    std::string name;
    uint64_t arg;
};

class FakeSystem final : public sh::System {
public:
    std::map<uint64_t, sys::ProcessInfo> processes; // by slot
    std::vector<sys::CpuInfo> cores_before, cores_after;
    std::vector<sys::PciInfo> pci;
    bool slept = false;
    uint64_t slept_ms = 0;
    uint64_t now_ns = 0;
    std::map<sys::Endpoint, int64_t> syscalls;
    std::vector<RsRequest> requests;
    int64_t rs_result = 0;
    std::map<std::string, sys::Endpoint> services; // rs lookup: running services
    uint64_t rs_reply_word1 = 0;
    int poweroffs = 0;

    void add_process(uint64_t slot, uint64_t generation, const char* name, uint32_t core, sys::ProcessState state,
                     uint32_t restarts, uint64_t cpu_ns, uint64_t calls)
    {
        sys::ProcessInfo info{};
        info.endpoint = sys::endpoint::make(slot, generation);
        for (size_t i = 0; name[i] != '\0' && i + 1 < sizeof(info.name); ++i)
            info.name[i] = name[i];
        info.core = core;
        info.state = state;
        info.restarts = restarts;
        info.cpu_time_ns = cpu_ns;
        info.syscalls = calls;
        processes[slot] = info;
        syscalls[info.endpoint] = static_cast<int64_t>(calls) + 1; // live count: one more
    }

    int64_t proc_info(uint64_t slot, sys::ProcessInfo& info) override
    {
        auto it = processes.find(slot);
        if (it == processes.end())
            return sys::error_code(sys::Error::not_found);
        info = it->second;
        return 0;
    }
    int64_t cpu_info(uint64_t core, sys::CpuInfo& info) override
    {
        const auto& table = slept ? cores_after : cores_before;
        if (core >= table.size())
            return sys::error_code(sys::Error::not_found);
        info = table[core];
        return 0;
    }
    int64_t syscall_count(sys::Endpoint endpoint) override
    {
        auto it = syscalls.find(endpoint);
        return it == syscalls.end() ? sys::error_code(sys::Error::dead_endpoint) : it->second;
    }
    int64_t ip_call(sys::Message& m) override
    {
        ip_requests.push_back(m);
        if (ip_replies.empty())
            return sys::error_code(sys::Error::not_found);
        m = ip_replies.front();
        ip_replies.erase(ip_replies.begin());
        return static_cast<int64_t>(m.words[0]);
    }
    std::vector<sys::Message> ip_requests, ip_replies;
    // Other services by endpoint: the replies to their requests, in order.
    std::map<sys::Endpoint, std::vector<sys::Message>> service_replies;
    std::vector<std::pair<sys::Endpoint, sys::Message>> service_requests;
    int64_t call(sys::Endpoint endpoint, sys::Message& m) override
    {
        service_requests.push_back({endpoint, m});
        auto& replies = service_replies[endpoint];
        if (replies.empty())
            return sys::error_code(sys::Error::not_found);
        m = replies.front();
        replies.erase(replies.begin());
        return static_cast<int64_t>(m.words[0]);
    }
    // Linux's sockets, unless a test puts a fake in.
    netio::Sockets host_sockets;
    netio::Sockets* socket_api = &host_sockets;
    netio::Sockets& sockets() override { return *socket_api; }
    bool real_clock = false;
    int64_t pci_info(uint64_t index, sys::PciInfo& info) override
    {
        if (index >= pci.size())
            return sys::error_code(sys::Error::not_found);
        info = pci[index];
        return 0;
    }
    uint64_t uptime_ns() override
    {
        if (real_clock)
            return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                             std::chrono::steady_clock::now().time_since_epoch())
                                             .count());
        return now_ns;
    }
    void sleep_ms(uint64_t ms) override
    {
        slept = true;
        slept_ms += ms;
    }
    int64_t rs_call(Op op, const char* name, uint64_t arg, sys::Message& reply) override
    {
        requests.push_back({op, name, arg});
        reply = sys::Message{};
        if (op == Op::lookup) {
            // Running services: `services`; anything else is not running.
            auto it = services.find(name);
            if (it == services.end())
                return sys::error_code(sys::Error::not_found);
            reply.words[1] = it->second;
            return 0;
        }
        reply.words[0] = static_cast<uint64_t>(rs_result);
        reply.words[1] = rs_reply_word1;
        return rs_result;
    }
    int64_t poweroff() override
    {
        ++poweroffs;
        return sys::error_code(sys::Error::permission);
    }
};

struct ShellTest : ::testing::Test {
    FakeSystem system;
    StringSink out;
    sh::Shell shell{system, out};

    std::string run(const char* line)
    {
        out.data.clear();
        shell.execute(line);
        return out.data;
    }
};

TEST_F(ShellTest, EmptyLinesDoNothing)
{
    EXPECT_EQ(run(""), "");
    EXPECT_EQ(run("   \t "), "");
}

TEST_F(ShellTest, UnknownCommand)
{
    EXPECT_EQ(run("frobnicate now"), "sh: unknown command 'frobnicate' (try help)\n");
    EXPECT_EQ(run("PS"), "sh: unknown command 'PS' (try help)\n");
}

TEST_F(ShellTest, HelpListsEveryCommandOnItsOwnLine)
{
    const std::string text = run("help");
    for (const char* name : {"help", "ps", "kill NAME", "crash NAME [segv|hang]", "run NAME [core=N]", "uptime",
                             "cores", "lspci", "ifconfig", "ping [-c N] [-i MS] [-s BYTES] [-W MS] ADDRESS",
                             "netstat [-i|-s]", "nc [-u] [-w SEC] HOST PORT [TEXT]", "arp", "route",
                             "stat NAME|ENDPOINT", "poweroff"})
        EXPECT_NE(text.find(std::string("\n  ") + name + " "), std::string::npos) << name;
    EXPECT_NE(text.find("nc -n BYTES [-s SEED] HOST PORT"), std::string::npos);
    EXPECT_NE(text.find("nc -l PORT"), std::string::npos);
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 17);
}

TEST_F(ShellTest, WrongNumberOfWordsShowsUsage)
{
    EXPECT_EQ(run("kill"), "usage: kill NAME\n");
    EXPECT_EQ(run("kill a b"), "usage: kill NAME\n");
    EXPECT_EQ(run("ps -a"), "usage: ps\n");
    EXPECT_EQ(run("crash a segv extra"), "usage: crash NAME [segv|hang]\n");
    EXPECT_EQ(run("a b c d e f g h i j k l m"), "sh: too many words (at most 12)\n");
    EXPECT_TRUE(system.requests.empty());
}

TEST_F(ShellTest, PsListsLiveProcesses)
{
    system.add_process(0, 1, "rs", 0, sys::ProcessState::blocked, 0, 1234567, 42);
    system.add_process(1, 1, "sh", 0, sys::ProcessState::running, 0, 25000000, 1000);
    system.add_process(5, 3, "hello", 1, sys::ProcessState::ready, 2, 0, 7);
    const std::string text = run("ps");
    EXPECT_EQ(text,
              "SLOT  ENDPOINT   NAME             CORE  STATE    RESTARTS    CPU(ms)   SYSCALLS\n"
              "   0  0x10000    rs                  0  blocked         0        1.2         42\n"
              "   1  0x10001    sh                  0  running         0       25.0       1000\n"
              "   5  0x30005    hello               1  ready           2        0.0          7\n");
}

TEST_F(ShellTest, PsCopesWithAFullLengthName)
{
    sys::ProcessInfo info{};
    std::memset(info.name, 'n', sizeof(info.name)); // no terminator at all
    system.processes[2] = info;
    const std::string text = run("ps");
    EXPECT_NE(text.find(std::string(32, 'n') + " "), std::string::npos);
    EXPECT_EQ(text.find(std::string(33, 'n')), std::string::npos);
}

TEST_F(ShellTest, KillAsksRs)
{
    EXPECT_EQ(run("kill hello"), "kill: killed 'hello'\n");
    ASSERT_EQ(system.requests.size(), 1u);
    EXPECT_EQ(system.requests[0].op, Op::kill);
    EXPECT_EQ(system.requests[0].name, "hello");
}

TEST_F(ShellTest, RsErrorsAreSpelledOut)
{
    system.rs_result = sys::error_code(sys::Error::not_found);
    EXPECT_EQ(run("kill foo"), "kill: no service 'foo' running\n");
    EXPECT_EQ(run("crash foo"), "crash: no service 'foo' running\n");
    EXPECT_EQ(run("run foo"), "run: no service 'foo'\n");
    system.rs_result = sys::error_code(sys::Error::permission);
    EXPECT_EQ(run("kill hello"), "kill: permission denied\n");
    system.rs_result = sys::error_code(sys::Error::busy);
    EXPECT_EQ(run("run hello"), "run: 'hello' is already running\n");
    system.rs_result = sys::error_code(sys::Error::dead_endpoint);
    EXPECT_EQ(run("kill hello"), "kill: rs is not answering (dead endpoint)\n");
    system.rs_result = sys::error_code(sys::Error::no_memory);
    EXPECT_EQ(run("run hello"), "run: 'hello': no memory\n");
}

TEST_F(ShellTest, LongServiceNamesAreRefusedBeforeAskingRs)
{
    EXPECT_EQ(run("kill abcdefghijklmnopq"),
              "kill: service name 'abcdefghijklmnopq' is too long (at most 16 characters)\n");
    EXPECT_TRUE(system.requests.empty());
    EXPECT_EQ(run("kill abcdefghijklmnop"), "kill: killed 'abcdefghijklmnop'\n");
}

TEST_F(ShellTest, CrashKinds)
{
    EXPECT_EQ(run("crash hello"), "crash: made 'hello' touch an unmapped address\n");
    EXPECT_EQ(run("crash hello segv"), "crash: made 'hello' touch an unmapped address\n");
    EXPECT_EQ(run("crash hello hang"), "crash: made 'hello' hang\n");
    EXPECT_EQ(run("crash hello boom"), "crash: unknown kind 'boom' (segv or hang)\n");
    ASSERT_EQ(system.requests.size(), 3u);
    EXPECT_EQ(system.requests[0].op, Op::crash);
    EXPECT_EQ(system.requests[0].arg, static_cast<uint64_t>(sys::CrashKind::segfault));
    EXPECT_EQ(system.requests[1].arg, static_cast<uint64_t>(sys::CrashKind::segfault));
    EXPECT_EQ(system.requests[2].arg, static_cast<uint64_t>(sys::CrashKind::hang));
}

TEST_F(ShellTest, RunWithAndWithoutCore)
{
    system.rs_reply_word1 = 0x20004;
    EXPECT_EQ(run("run hello"), "run: started 'hello' as endpoint 0x20004\n");
    EXPECT_EQ(run("run hello core=1"), "run: started 'hello' as endpoint 0x20004\n");
    ASSERT_EQ(system.requests.size(), 2u);
    EXPECT_EQ(system.requests[0].op, Op::start);
    EXPECT_EQ(system.requests[0].arg, ~0ull);
    EXPECT_EQ(system.requests[1].arg, 1u);
    for (const char* bad : {"run hello core=", "run hello core=x", "run hello cpu=1", "run hello core=64"})
        EXPECT_EQ(run(bad).rfind("run: bad option '", 0), 0u) << bad;
    EXPECT_EQ(system.requests.size(), 2u);
}

TEST_F(ShellTest, Uptime)
{
    system.now_ns = 12345678901;
    EXPECT_EQ(run("uptime"), "up 12.345 s\n");
    system.now_ns = 7000000;
    EXPECT_EQ(run("uptime"), "up 0.007 s\n");
}

TEST_F(ShellTest, CoresSamplesTwice)
{
    // core 0: 1 s of 4 s busy since boot; 50 ms of the last 100 ms.
    system.cores_before = {{0, 1, 950000000, 3900000000}, {1, 1, 0, 3800000000}, {2, 0, 0, 0}};
    system.cores_after = {{0, 1, 1000000000, 4000000000}, {1, 1, 0, 3900000000}, {2, 0, 0, 0}};
    EXPECT_EQ(run("cores"),
              "core 0: online (apic 0), busy 25.0% since boot, 50.0% over the last 100 ms\n"
              "core 1: online (apic 1), busy 0.0% since boot, 0.0% over the last 100 ms\n"
              "core 2: offline\n");
    EXPECT_EQ(system.slept_ms, sh::Shell::cores_window_ms);
}

TEST_F(ShellTest, CoresNeverDividesByZeroOrGoesAbove100)
{
    system.cores_before = {{0, 1, 0, 0}};
    system.cores_after = {{0, 1, 500, 400}};
    EXPECT_EQ(run("cores"), "core 0: online (apic 0), busy 100.0% since boot, 100.0% over the last 0 ms\n");
    system.slept = false;
    system.cores_after = {{0, 1, 0, 0}};
    EXPECT_EQ(run("cores"), "core 0: online (apic 0), busy 0.0% since boot, 0.0% over the last 0 ms\n");
}

TEST_F(ShellTest, StatByNameAndEndpoint)
{
    system.add_process(0, 1, "rs", 0, sys::ProcessState::blocked, 0, 1234567, 42);
    system.add_process(3, 2, "hello", 1, sys::ProcessState::ready, 1, 2500000, 9);
    const std::string expected = "hello: endpoint 0x20003 (slot 3, generation 2), core 1, ready, restarts 1\n"
                                 "  system calls: 10\n"
                                 "  CPU time: 2.5 ms\n";
    EXPECT_EQ(run("stat hello"), expected);
    EXPECT_EQ(run("stat 0x20003"), expected);
    EXPECT_EQ(run("stat 131075"), expected);
    EXPECT_EQ(run("stat 0x10003"), "stat: no process with endpoint 0x10003\n") << "an old generation";
    EXPECT_EQ(run("stat 0xffffffffffff"), "stat: no process with endpoint 0xffffffffffff\n");
    EXPECT_EQ(run("stat nobody"), "stat: no process 'nobody'\n");
    system.syscalls.clear();
    EXPECT_NE(run("stat rs").find("  system calls: dead endpoint\n"), std::string::npos);
}

TEST_F(ShellTest, LspciListsEveryFunction)
{
    system.pci = {{0x0000, 0x8086, 0x1237, 0x06, 0x00, 0x00, 0xFF, 0}, {0x0018, 0x8086, 0x100E, 0x02, 0x00, 0x00, 11, 0}};
    const std::string output = run("lspci");
    EXPECT_NE(output.find("00:00.0  8086:1237  host bridge"), std::string::npos) << output;
    EXPECT_NE(output.find("00:03.0  8086:100e  Ethernet controller"), std::string::npos) << output;
    EXPECT_NE(output.find("irq 11"), std::string::npos) << output;
    system.pci.clear();
    EXPECT_EQ(run("lspci"), "lspci: no PCI functions\n");
}

TEST_F(ShellTest, PingCountsRepliesAndLoss)
{
    auto reply = [](int64_t result, uint64_t rtt_ns) {
        sys::Message m{};
        m.words[0] = static_cast<uint64_t>(result);
        m.words[1] = rtt_ns;
        m.words[2] = 255;
        m.words[3] = 56;
        return m;
    };
    system.ip_replies = {reply(0, 412000), reply(sys::error_code(sys::Error::would_block), 0), reply(0, 1588000)};
    const std::string output = run("ping -c 3 -i 10 10.0.2.2");
    ASSERT_EQ(system.ip_requests.size(), 3u);
    EXPECT_EQ(system.ip_requests[0].words[0], 0x0A000202u);
    EXPECT_EQ(system.ip_requests[2].words[1], 3u) << "sequence numbers";
    EXPECT_NE(output.find("56 bytes from 10.0.2.2: seq=1 ttl=255 time=0.412 ms"), std::string::npos) << output;
    EXPECT_NE(output.find("seq=2: no reply within 1000 ms"), std::string::npos) << output;
    EXPECT_EQ(system.ip_requests[0].words[3], 1000u) << "the default reply timeout";
    EXPECT_NE(output.find("--- 10.0.2.2: 3 sent, 2 received, 33.3% loss"), std::string::npos) << output;
    EXPECT_NE(output.find("rtt min/avg/max = 0.412/1.000/1.588 ms"), std::string::npos) << output;
    EXPECT_EQ(system.slept_ms, 20u) << "the interval between requests, not after the last";
}

TEST_F(ShellTest, PingRefusesBadArguments)
{
    for (const char* bad : {"ping", "ping 10.0.2", "ping -c x 10.0.2.2", "ping -c 0 10.0.2.2", "ping -c",
                            "ping 10.0.2.2 10.0.2.3", "ping -W 0 10.0.2.2"})
        EXPECT_NE(run(bad).find("usage"), std::string::npos) << bad;
    EXPECT_TRUE(system.ip_requests.empty());
}

TEST_F(ShellTest, IfconfigShowsEveryInterface)
{
    sys::Message eth0{};
    eth0.words[1] = 0x563412005452ull; // 52:54:00:12:34:56
    eth0.words[2] = 0x0A00020Full | 24ull << 32 | 1ull << 40 | 3ull << 48;
    eth0.words[3] = 7;
    eth0.words[4] = 5;
    sys::Message end{};
    end.words[0] = static_cast<uint64_t>(sys::error_code(sys::Error::not_found));
    system.ip_replies = {eth0, end};
    const std::string output = run("ifconfig");
    EXPECT_NE(output.find("eth0: MAC 52:54:00:12:34:56, 10.0.2.15/24, link up, DHCP bound"), std::string::npos)
        << output;
    EXPECT_NE(output.find("7 packets received, 5 sent, 0 dropped"), std::string::npos) << output;
}

TEST_F(ShellTest, NetstatShowsDropsByReason)
{
    sys::Message traffic{};
    traffic.words[1] = 10;
    traffic.words[2] = 1000;
    traffic.words[3] = 4;
    traffic.words[4] = 400;
    traffic.words[5] = 3;
    auto drop = [](uint64_t count, const char* name, bool error) {
        sys::Message m{};
        m.words[1] = count;
        std::memcpy(&m.words[2], name, std::strlen(name));
        m.words[5] = error ? 1 : 0;
        return m;
    };
    sys::Message end{};
    end.words[0] = static_cast<uint64_t>(sys::error_code(sys::Error::not_found));
    system.ip_replies = {traffic, drop(0, "runt", true), drop(3, "ip_bad_checksum", true), end, end};
    const std::string output = run("netstat -i");
    EXPECT_NE(output.find("eth0: received 10 packets (1000 bytes), sent 4 packets (400 bytes), 3 errors"),
              std::string::npos)
        << output;
    EXPECT_NE(output.find("dropped 3: ip_bad_checksum (error)"), std::string::npos) << output;
    EXPECT_EQ(output.find("runt"), std::string::npos) << "reasons that never happened are not listed";
    EXPECT_NE(run("netstat -x").find("usage: netstat [-i|-s]"), std::string::npos);
}

TEST_F(ShellTest, PoweroffReportsFailure)
{
    EXPECT_EQ(run("poweroff"), "poweroff: switching off\npoweroff: permission denied\n");
    EXPECT_EQ(system.poweroffs, 1);
}

// --- netstat: sockets and counters of the transport servers ---------------------------

// The first line of `text` whose words (joined by single spaces) start with
// `prefix`: its words joined by single spaces.
std::string words_of_line(const std::string& text, const std::string& prefix)
{
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos)
            end = text.size();
        std::string words;
        for (size_t i = start; i < end; ++i)
            if (text[i] != ' ' || (!words.empty() && words.back() != ' '))
                words += text[i];
        while (!words.empty() && words.back() == ' ')
            words.pop_back();
        if (words.rfind(prefix, 0) == 0)
            return words;
        start = end + 1;
    }
    return "(no line starts with '" + prefix + "')";
}

sys::Message socket_entry(uint32_t local, uint16_t local_port, uint32_t remote, uint16_t remote_port, uint64_t state,
                          uint64_t owner, uint64_t recv_q, uint64_t send_q, uint64_t in, uint64_t out)
{
    sys::Message m{};
    m.words[1] = tern::socket_proto::endpoint_word(local, local_port);
    m.words[2] = tern::socket_proto::endpoint_word(remote, remote_port);
    m.words[3] = state | owner << 32;
    m.words[4] = recv_q | send_q << 32;
    m.words[5] = in | out << 32;
    return m;
}

sys::Message counter(const char* name, uint64_t value, bool error)
{
    sys::Message m{};
    m.words[1] = value;
    std::memcpy(&m.words[2], name, std::strlen(name));
    m.words[5] = error ? 1 : 0;
    return m;
}

sys::Message not_found()
{
    sys::Message m{};
    m.words[0] = static_cast<uint64_t>(sys::error_code(sys::Error::not_found));
    return m;
}

TEST_F(ShellTest, NetstatListsTheSocketsOfEachServer)
{
    constexpr sys::Endpoint tcp = 0x10007;
    system.services["tcp"] = tcp;
    system.add_process(9, 2, "inetd", 1, sys::ProcessState::blocked, 0, 0, 0);
    const uint64_t inetd = sys::endpoint::make(9, 2);
    system.service_replies[tcp] = {
        socket_entry(0, 7, 0, 0, 1, inetd, 0, 0, 0, 0),
        socket_entry(0x0A00020F, 7, 0x0A000202, 40000, 4, inetd, 1460, 2920, 812, 790),
        socket_entry(0x0A00020F, 7, 0x0A000202, 40001, 10, 0, 0, 0, 5, 6), not_found()};
    const std::string output = run("netstat");
    EXPECT_NE(output.find("PROTO LOCAL                 REMOTE                STATE         RECV-Q  SEND-Q OWNER"),
              std::string::npos)
        << output;
    EXPECT_NE(output.find("tcp   0.0.0.0:7             0.0.0.0:0             LISTEN             0       0 inetd"),
              std::string::npos)
        << output;
    EXPECT_EQ(words_of_line(output, "tcp 10.0.2.15:7 10.0.2.2:40000"),
              "tcp 10.0.2.15:7 10.0.2.2:40000 ESTABLISHED 1460 2920 inetd 812 790")
        << output;
    EXPECT_EQ(words_of_line(output, "tcp 10.0.2.15:7 10.0.2.2:40001"),
              "tcp 10.0.2.15:7 10.0.2.2:40001 TIME_WAIT 0 0 - 5 6")
        << output;
    EXPECT_NE(output.find("netstat: the udp server is not running\n"), std::string::npos) << output;
    ASSERT_EQ(system.service_requests.size(), 4u);
    EXPECT_EQ(system.service_requests[1].second.type, tern::transport_control::socket_entry);
    EXPECT_EQ(system.service_requests[1].second.words[0], 1u);
}

TEST_F(ShellTest, NetstatCountersOfEachServer)
{
    system.services["tcp"] = 0x10007;
    system.services["udp"] = 0x10008;
    system.service_replies[0x10007] = {counter("segments_in", 1234, false), counter("bad_checksum", 3, true),
                                       not_found()};
    system.service_replies[0x10008] = {counter("datagrams_in", 7, false), not_found()};
    const std::string output = run("netstat -s");
    EXPECT_NE(output.find("tcp:\n  segments_in                      1234\n  bad_checksum                        3  (error)\n"
                          "udp:\n  datagrams_in                        7\n"),
              std::string::npos)
        << output;
    EXPECT_EQ(system.service_requests[0].second.type, tern::transport_control::counter);
    system.services.clear();
    EXPECT_EQ(run("netstat -s"), "netstat: the tcp server is not running\nnetstat: the udp server is not running\n");
}

// --- nc: on Linux's sockets, against small servers on 127.0.0.1 ------------------------

uint16_t free_port(int type)
{
    const int fd = ::socket(AF_INET, type, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    socklen_t size = sizeof(address);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
    ::close(fd);
    return ntohs(address.sin_port);
}

// A one-connection TCP server in a thread: `serve` gets the accepted socket.
class OneShotServer {
public:
    template <typename Serve>
    explicit OneShotServer(Serve serve)
    {
        m_listener = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::bind(m_listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
        socklen_t size = sizeof(address);
        ::getsockname(m_listener, reinterpret_cast<sockaddr*>(&address), &size);
        port = ntohs(address.sin_port);
        EXPECT_EQ(::listen(m_listener, 1), 0);
        m_thread = std::thread([this, serve] {
            const int fd = ::accept(m_listener, nullptr, nullptr);
            if (fd >= 0) {
                serve(fd);
                ::close(fd);
            }
        });
    }
    ~OneShotServer()
    {
        m_thread.join();
        ::close(m_listener);
    }
    uint16_t port = 0;

private:
    int m_listener;
    std::thread m_thread;
};

std::string hex_sha256_of_stream(uint64_t seed, size_t length)
{
    std::vector<uint8_t> bytes(length);
    tern::XorshiftStream(seed).fill(bytes.data(), length);
    return tern::Sha256::hex(tern::sha256(bytes.data(), length)).text;
}

TEST_F(ShellTest, NcSendsTextAndPrintsTheAnswerUntilThePeerCloses)
{
    std::string got;
    OneShotServer server([&](int fd) {
        char c;
        while (::recv(fd, &c, 1, 0) == 1) {
            got += c;
            if (c == '\n')
                break;
        }
        const std::string answer = "you said: " + got + "\x01\r\n";
        ::send(fd, answer.data(), answer.size(), 0);
    });
    const std::string command = "nc 127.0.0.1 " + std::to_string(server.port) + " hello   world";
    const std::string output = run(command.c_str());
    EXPECT_EQ(got, "hello world\n");
    EXPECT_EQ(output, "you said: hello world\n.\nnc: 25 bytes received, connection closed by 127.0.0.1:" +
                          std::to_string(server.port) + "\n");
}

TEST_F(ShellTest, NcStopsAfterSilence)
{
    OneShotServer server([](int fd) {
        ::send(fd, "hi", 2, 0);
        char c;
        ::recv(fd, &c, 1, 0); // until nc closes
    });
    const std::string output = run(("nc -w 1 127.0.0.1 " + std::to_string(server.port)).c_str());
    EXPECT_EQ(output, "hi\nnc: 2 bytes received, 1000 ms of silence\n");
}

TEST_F(ShellTest, NcBlastSendsTheStreamAndPrintsItsHash)
{
    system.real_clock = true;
    constexpr size_t bytes = 3 * 1024 * 1024 + 5;
    tern::Sha256 received;
    OneShotServer server([&](int fd) {
        char buffer[65536];
        ssize_t n;
        while ((n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0)
            received.update(buffer, static_cast<size_t>(n));
        ::send(fd, "thanks", 6, 0);
    });
    const std::string output = run(("nc -n " + std::to_string(bytes) + " -s 7 127.0.0.1 " +
                                    std::to_string(server.port)).c_str());
    size_t sent = 0;
    unsigned long ms = 0, whole = 0, tenth = 0;
    char hex[65] = {};
    ASSERT_EQ(std::sscanf(output.c_str(), "nc: sent %zu bytes in %lu ms (%lu.%1lu Mb/s) sha256 %64[0-9a-f]\n", &sent,
                          &ms, &whole, &tenth, hex),
              5)
        << output;
    EXPECT_EQ(sent, bytes);
    EXPECT_EQ(std::string(hex), hex_sha256_of_stream(7, bytes));
    EXPECT_EQ(std::string(hex), tern::Sha256::hex(received.finish()).text) << "what the server got";
    EXPECT_NE(output.find("nc: received 6 bytes from 127.0.0.1:"), std::string::npos) << output;
}

TEST_F(ShellTest, NcListensForOneConnection)
{
    system.real_clock = true;
    const uint16_t port = free_port(SOCK_STREAM);
    std::vector<uint8_t> data(1 << 20);
    tern::XorshiftStream(3).fill(data.data(), data.size());
    std::thread client([&] {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = htons(port);
        for (int attempt = 0; attempt < 500; ++attempt) {
            const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
            if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) {
                ::send(fd, data.data(), data.size(), 0);
                ::close(fd);
                return;
            }
            ::close(fd);
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    });
    const std::string output = run(("nc -l " + std::to_string(port)).c_str());
    client.join();
    EXPECT_NE(output.find("nc: listening on port " + std::to_string(port) + "\n"), std::string::npos) << output;
    EXPECT_NE(output.find("nc: received 1048576 bytes from 127.0.0.1:"), std::string::npos) << output;
    EXPECT_NE(output.find(" Mb/s) sha256 " + hex_sha256_of_stream(3, 1 << 20) + "\n"), std::string::npos) << output;
}

TEST_F(ShellTest, NcSpeaksUdp)
{
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    socklen_t size = sizeof(address);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
    std::thread echo([fd] {
        char buffer[2048];
        sockaddr_in from{};
        socklen_t from_size = sizeof(from);
        const ssize_t n = ::recvfrom(fd, buffer, sizeof(buffer), 0, reinterpret_cast<sockaddr*>(&from), &from_size);
        for (int i = 0; i < 2 && n > 0; ++i) // two answers to one datagram
            ::sendto(fd, buffer, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), from_size);
    });
    const std::string output = run(("nc -u -w 1 127.0.0.1 " + std::to_string(ntohs(address.sin_port)) + " ping").c_str());
    echo.join();
    ::close(fd);
    EXPECT_EQ(output, "ping\nping\nnc: 10 bytes (2 datagrams) received, 1000 ms of silence\n");
}

TEST_F(ShellTest, NcNamesTheErrno)
{
    const uint16_t port = free_port(SOCK_STREAM);
    EXPECT_EQ(run(("nc 127.0.0.1 " + std::to_string(port) + " hi").c_str()),
              "nc: connect 127.0.0.1:" + std::to_string(port) + ": ECONNREFUSED\n");

    // A handshake that never completes, through a fake.
    struct Silent : netio::Sockets {
        int open(netio::Kind) override { return 42; }
        int connect(int, netio::Endpoint) override { return -netio::err::in_progress; }
        int poll(netio::PollEntry*, size_t, int) override { return 0; }
        int close(int) override { return 0; }
    } silent;
    system.socket_api = &silent;
    EXPECT_EQ(run("nc 10.0.2.2 5001"), "nc: connect 10.0.2.2:5001: ETIMEDOUT\n");
    struct NoServer : netio::Sockets {
        int open(netio::Kind) override { return -netio::network_down; }
    } no_server;
    system.socket_api = &no_server;
    EXPECT_EQ(run("nc -u 10.0.2.2 7 hi"), "nc: socket: ENETDOWN (is the udp server running?)\n");
    struct Reset : Silent {
        int poll(netio::PollEntry* e, size_t, int) override
        {
            e->revents = e->events;
            return 1;
        }
        int pending_error(int) override { return 0; }
        int64_t send(int, const void*, size_t) override { return -netio::err::connection_reset; }
    } reset;
    system.socket_api = &reset;
    EXPECT_EQ(run("nc -n 100 10.0.2.2 5001"), "nc: send to 10.0.2.2:5001 after 0 bytes: ECONNRESET\n");
}

TEST_F(ShellTest, NcRefusesBadArguments)
{
    const char* usage =
        "usage: nc [-u] [-w SEC] HOST PORT [TEXT...] | nc -n BYTES [-s SEED] HOST PORT | nc -l PORT\n";
    EXPECT_EQ(run("nc"), "usage: nc [-u] [-w SEC] HOST PORT [TEXT]\n");
    EXPECT_EQ(run("nc 10.0.2.2"), "usage: nc [-u] [-w SEC] HOST PORT [TEXT]\n");
    EXPECT_EQ(run("nc -u -n 5 10.0.2.2 7"), usage);
    EXPECT_EQ(run("nc -n 5 10.0.2.2 7 extra"), usage);
    EXPECT_EQ(run("nc -l 0 x"), usage);
    EXPECT_EQ(run("nc -n x 10.0.2.2 7"), std::string("nc: -n needs a number\n") + usage);
    EXPECT_EQ(run("nc -q 10.0.2.2 7"), std::string("nc: unknown option '-q'\n") + usage);
    EXPECT_EQ(run("nc -w 0 10.0.2.2 7"), "nc: -w takes 1..3600 seconds\n");
    EXPECT_EQ(run("nc tern.local 7"), "nc: 'tern.local' is not an IPv4 address (there are no host names yet)\n");
    EXPECT_EQ(run("nc 10.0.2.2 70000"), "nc: '70000' is not a port (1..65535)\n");
}

} // namespace
