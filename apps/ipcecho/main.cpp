// ipcecho: the far end of ipctest. Answers every call with the same message
// type and each payload word plus one (echo_protocol.hpp); answers rs's
// heartbeats, should it be given any.
#include "echo_protocol.hpp"
#include "runtime/print.hpp"
#include "runtime/start.hpp"
#include "runtime/sys.hpp"

namespace sys = tern::sys;

int main(int, char**)
{
    tern::print("ipcecho: serving as endpoint 0x%lx\n", static_cast<uint64_t>(sys::self()));
    for (;;) {
        sys::Message m{};
        if (sys::receive(sys::endpoint::any, m) < 0)
            continue;
        if (m.type == sys::message_type::notify) {
            if (m.source == tern::rs_endpoint())
                (void)sys::notify(m.source);
            continue;
        }
        (void)sys::reply(m.source, ipcecho::answer(m));
    }
}
