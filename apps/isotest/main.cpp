// isotest: reads memory it must not be able to read, and should be stopped by
// the kernel for it (a page fault reported by the kernel and by rs) while
// everything else keeps running. One boot module per mode, chosen by the
// `mode=` word of its command line:
//   mode=kernel  the kernel image (0xFFFFFFFF80200000; supervisor-only pages)
//   mode=null    an address nothing maps (0xdead0000)
//   mode=peer    isopeer's secret page, at the address isopeer published in
//                rs's data store; mapped only in isopeer's address space
// If the read ever returns, isotest prints "ISOLATION BROKEN" and exits 1.
#include "../isopeer/peer_protocol.hpp"
#include "runtime/print.hpp"
#include "runtime/rs_client.hpp"
#include "runtime/sys.hpp"

namespace sys = tern::sys;
using tern::print;

namespace {

constexpr uint64_t kernel_address = 0xFFFFFFFF80200000;
constexpr uint64_t unmapped_address = 0xdead0000;

bool equal(const char* a, const char* b)
{
    for (; *a == *b; ++a, ++b)
        if (*a == '\0')
            return true;
    return false;
}

const char* mode_of(int argc, char** argv)
{
    for (int i = 1; i < argc; ++i) {
        const char* w = argv[i];
        if (w[0] == 'm' && w[1] == 'o' && w[2] == 'd' && w[3] == 'e' && w[4] == '=')
            return w + 5;
    }
    return "";
}


[[noreturn]] void read_and_report(const char* name, uint64_t address)
{
    const uint64_t value = *reinterpret_cast<const volatile uint64_t*>(address);
    print("%s: ISOLATION BROKEN: read 0x%lx at 0x%lx\n", name, value, address);
    sys::exit(1);
}

} // namespace

int main(int argc, char** argv)
{
    const char* name = argv[0];
    const char* mode = mode_of(argc, argv);
    if (equal(mode, "kernel")) {
        print("%s: reading kernel memory at 0x%lx; expect a page fault\n", name, kernel_address);
        read_and_report(name, kernel_address);
    }
    if (equal(mode, "null")) {
        print("%s: reading unmapped address 0x%lx; expect a page fault\n", name, unmapped_address);
        read_and_report(name, unmapped_address);
    }
    if (equal(mode, "peer")) {
        isopeer::Published peer;
        if (!isopeer::find_published(peer)) {
            print("%s: FAILED: isopeer did not publish its address (run isopeer first)\n", name);
            return 1;
        }
        print("%s: reading isopeer's secret at 0x%lx (isopeer 0x%lx); expect a page fault\n", name,
              peer.secret_address, peer.endpoint);
        read_and_report(name, peer.secret_address);
    }
    print("%s: FAILED: unknown mode '%s' (want mode=kernel, mode=null or mode=peer)\n", name, mode);
    return 2;
}
