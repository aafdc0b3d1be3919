// privtest: a process without privileges asks for everything that needs one
// (device access, another process's shared memory, crash injection, process
// control, the kernel's event queue, console input, power-off), directly and
// through rs. Each request must fail with the documented error and change
// nothing; afterwards rs and isopeer (the victim) must be unchanged.
// Prints one line per check and "privtest: all N denied" (exit 0) or
// "privtest: FAILED ..." (exit 1). Needs isopeer running (`run isopeer`).
#include "../isopeer/peer_protocol.hpp"
#include "runtime/print.hpp"
#include "runtime/rs_client.hpp"
#include "runtime/start.hpp"
#include "runtime/sys.hpp"

namespace sys = tern::sys;
using tern::print;

namespace {

constexpr uint32_t e1000_pci_address = 0x18; // 00:03.0, the NIC QEMU gives us

int g_checks = 0;
int g_failures = 0;

void expect(const char* what, int64_t result, sys::Error wanted, bool unchanged = true)
{
    ++g_checks;
    const bool ok = result == sys::error_code(wanted) && unchanged;
    if (!ok)
        ++g_failures;
    print("privtest: %-40s -> %s%s\n", what, sys::error_name(result),
          ok ? "" : (unchanged ? "  <-- FAILED (wrong result)" : "  <-- FAILED (something changed)"));
}

template <typename T>
bool all_bytes(const T& object, uint8_t value)
{
    const auto* bytes = reinterpret_cast<const uint8_t*>(&object);
    for (size_t i = 0; i < sizeof(T); ++i)
        if (bytes[i] != value)
            return false;
    return true;
}

template <typename T>
void fill(T& object, uint8_t value)
{
    auto* bytes = reinterpret_cast<uint8_t*>(&object);
    for (size_t i = 0; i < sizeof(T); ++i)
        bytes[i] = value;
}


// Asks isopeer whether its secret page is intact; true when it answers yes
// from the same endpoint as before.
bool peer_intact(const isopeer::Published& peer)
{
    sys::Message m{};
    m.type = isopeer::check_request;
    return sys::call(peer.endpoint, m) == 0 && m.type == isopeer::check_request && m.words[0] == 1 &&
           m.words[1] == peer.endpoint;
}

} // namespace

int main(int, char**)
{
    isopeer::Published peer;
    if (!isopeer::find_published(peer)) {
        print("privtest: FAILED: isopeer did not publish its address (run isopeer first)\n");
        return 1;
    }
    const int64_t rs_before = tern::rs_lookup("isopeer");
    if (rs_before != static_cast<int64_t>(peer.endpoint) || !peer_intact(peer)) {
        print("privtest: FAILED: isopeer is not answering before the checks\n");
        return 1;
    }
    const sys::Endpoint rs = tern::rs_endpoint();
    print("privtest: no privileges; rs is 0x%lx, victim isopeer is 0x%lx\n", rs, peer.endpoint);

    // Devices.
    expect("mmio_map(00:03.0, BAR 0)", sys::mmio_map(e1000_pci_address, 0), sys::Error::permission);
    sys::DmaRegion region;
    fill(region, 0xA5);
    expect("dma_alloc(4096)", sys::dma_alloc(4096, region), sys::Error::permission, all_bytes(region, 0xA5));
    expect("irq_attach(00:03.0)", sys::irq_attach(e1000_pci_address), sys::Error::permission);

    // Another process's shared memory (granted to rs only).
    expect("shm_map(isopeer's object, read)", sys::shm_map(peer.endpoint, peer.shm_handle, sys::map_flags::read),
           sys::Error::permission);
    expect("shm_map(isopeer's object, read+write)",
           sys::shm_map(peer.endpoint, peer.shm_handle, sys::map_flags::read | sys::map_flags::write),
           sys::Error::permission);
    // Handles name objects of their owner only: granting someone else's
    // object to ourselves finds nothing.
    expect("shm_grant(isopeer's object to me)",
           sys::shm_grant(peer.shm_handle, static_cast<sys::Endpoint>(sys::self()), sys::map_flags::read),
           sys::Error::not_found);

    // Crash injection and process control, directly.
    expect("proc_crash(rs, segfault)", sys::proc_crash(rs, sys::CrashKind::segfault), sys::Error::permission);
    expect("proc_crash(isopeer, hang)", sys::proc_crash(peer.endpoint, sys::CrashKind::hang),
           sys::Error::permission);
    expect("proc_kill(isopeer)", sys::proc_kill(peer.endpoint), sys::Error::permission);
    sys::SpawnRequest request{};
    request.module = 0;
    request.core = -1;
    request.privileges = ~0ull;
    request.pci_device = ~0u;
    request.name[0] = 'x';
    expect("proc_spawn(module 0, every privilege)", sys::proc_spawn(request), sys::Error::permission);
    sys::ModuleInfo module;
    fill(module, 0xA5);
    expect("module_info(0)", sys::module_info(0, module), sys::Error::permission, all_bytes(module, 0xA5));
    sys::KernelEvent event;
    fill(event, 0xA5);
    expect("kernel_event", sys::kernel_event(event), sys::Error::permission, all_bytes(event, 0xA5));

    // ... and through rs.
    sys::Message reply;
    expect("rs crash isopeer", tern::rs_call(tern::rs::Op::crash, "isopeer", 0, reply), sys::Error::permission);
    expect("rs kill isopeer", tern::rs_call(tern::rs::Op::kill, "isopeer", 0, reply), sys::Error::permission);
    expect("rs start isopeer", tern::rs_call(tern::rs::Op::start, "isopeer", ~0ull, reply), sys::Error::permission);

    // The machine and the console.
    expect("poweroff", sys::poweroff(), sys::Error::permission);
    char buffer[8];
    fill(buffer, 0xA5);
    expect("console_read", sys::console_read(buffer, sizeof(buffer)), sys::Error::permission,
           all_bytes(buffer, 0xA5));

    // Nothing happened: isopeer runs as the same endpoint with its secret
    // intact, and rs still knows it.
    ++g_checks;
    const bool unchanged = tern::rs_lookup("isopeer") == static_cast<int64_t>(peer.endpoint) && peer_intact(peer);
    if (!unchanged)
        ++g_failures;
    print("privtest: %-40s -> %s\n", "isopeer unchanged, rs answering", unchanged ? "yes" : "no  <-- FAILED");

    if (g_failures != 0) {
        print("privtest: FAILED: %d of %d checks\n", g_failures, g_checks);
        return 1;
    }
    print("privtest: all %d denied\n", g_checks - 1);
    return 0;
}
