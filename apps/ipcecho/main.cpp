// ipcecho: the far end of ipctest. Answers every call with the same message
// type and each payload word plus one (echo_protocol.hpp); answers rs's
// heartbeats, should it be given any.
#include "echo_protocol.hpp"
#include "runtime/print.hpp"
#include "runtime/rs_client.hpp"
#include "runtime/sys.hpp"

namespace sys = tern::sys;

int main(int, char**)
{
    tern::print("ipcecho: serving as endpoint 0x%lx\n", static_cast<uint64_t>(sys::self()));
    for (;;) {
        sys::Message m;
        tern::receive_request(m);
        (void)sys::reply(m.source, ipcecho::answer(m));
    }
}
