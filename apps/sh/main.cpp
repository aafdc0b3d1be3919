// sh, the Tern shell on the serial console. This file binds the shell's pure
// parts to the system: input from console_read (needs the console_read
// privilege), output through one PrintBuffer flushed after every burst of
// input, system calls and rs requests behind sh::System. The line editing is
// in line_editor.cpp, the commands in shell.cpp.
#include "line_editor.hpp"
#include "runtime/print.hpp"
#include "runtime/rs_client.hpp"
#include "runtime/sys.hpp"
#include "shell.hpp"

namespace {

namespace sys = tern::sys;

constexpr char prompt[] = "tern> ";

// The socket library, with the console flushed before every wait, so that
// what nc received shows while it waits for more.
class ConsoleSockets final : public netio::Sockets {
public:
    explicit ConsoleSockets(tern::PrintBuffer& out) : m_out(out) {}
    int poll(netio::PollEntry* entries, size_t count, int timeout_ms) override
    {
        m_out.flush();
        return netio::poll(entries, count, timeout_ms);
    }

private:
    tern::PrintBuffer& m_out;
};

class RealSystem final : public sh::System {
public:
    explicit RealSystem(tern::PrintBuffer& out) : m_out(out), m_sockets(out) {}

    int64_t proc_info(uint64_t slot, sys::ProcessInfo& info) override { return sys::proc_info(slot, info); }
    int64_t cpu_info(uint64_t core, sys::CpuInfo& info) override { return sys::cpu_info(core, info); }
    int64_t syscall_count(sys::Endpoint endpoint) override { return sys::syscall_count(endpoint); }
    int64_t pci_info(uint64_t index, sys::PciInfo& info) override { return sys::pci_info(index, info); }
    uint64_t uptime_ns() override { return static_cast<uint64_t>(sys::uptime()); }
    void sleep_ms(uint64_t milliseconds) override
    {
        m_out.flush(); // show what is there before waiting
        (void)sys::sleep(milliseconds);
    }
    int64_t rs_call(tern::rs::Op op, const char* name, uint64_t arg, sys::Message& reply) override
    {
        return tern::rs_call(op, name, arg, reply);
    }
    int64_t ip_call(sys::Message& m) override
    {
        m_out.flush(); // a ping can take a while
        const int64_t ip = tern::rs_lookup("ip");
        if (ip < 0)
            return ip;
        return call(static_cast<sys::Endpoint>(ip), m);
    }
    int64_t call(sys::Endpoint endpoint, sys::Message& m) override
    {
        const int64_t called = sys::call(endpoint, m);
        return called < 0 ? called : static_cast<int64_t>(m.words[0]);
    }
    netio::Sockets& sockets() override { return m_sockets; }
    int64_t poweroff() override
    {
        m_out.flush(); // the last words must reach the console first
        return sys::poweroff();
    }

private:
    tern::PrintBuffer& m_out;
    ConsoleSockets m_sockets;
};

} // namespace

int main(int, char**)
{
    tern::PrintBuffer out;
    RealSystem system(out);
    sh::Shell shell(system, out);
    sh::LineEditor editor(out);

    out.append("sh: Tern shell; type help for the commands\n%s", prompt);
    out.flush();
    char input[256];
    for (;;) {
        const int64_t n = sys::console_read(input, sizeof(input));
        if (n < 0) {
            // Only one process may read the console; wait for the other to go.
            tern::print("sh: cannot read the console: %s\n", sys::error_name(n));
            (void)sys::sleep(1000);
            continue;
        }
        for (int64_t i = 0; i < n; ++i) {
            switch (editor.feed(input[i])) {
            case sh::LineEditor::Event::none: break;
            case sh::LineEditor::Event::line:
                out.flush(); // the echoed line shows before anything the command causes
                shell.execute(editor.line());
                out.append("%s", prompt);
                break;
            case sh::LineEditor::Event::cancelled: out.append("%s", prompt); break;
            }
        }
        out.flush();
    }
}
