// shmtest: shared memory between two processes, and what happens when the
// owner dies. Two module lines run this program:
//   shmowner (mode=owner): creates an object, fills it with a pattern, grants
//     it read-write to shmuser, publishes (its endpoint, the handle) in rs's
//     data store, then answers one request: "check the user's write".
//   shmuser (mode=user, priv=crash): maps the object, checks the pattern,
//     writes a reply into it, has the owner confirm it saw the write, asks rs
//     to kill the owner, and then checks the kernel's promise to survivors:
//     the mapping stays readable and writable (a peer polling a channel must
//     not fault because the other end crashed), the grant is gone (mapping it
//     anew fails), and after mem_unmap the address faults (the scenario
//     expects that fault).
#include "runtime/assert.hpp"
#include "runtime/print.hpp"
#include "runtime/rs_client.hpp"
#include "runtime/sys.hpp"

namespace {

namespace sys = tern::sys;
using tern::print;

constexpr char key[] = "shmtest";
constexpr uint64_t size = 8192;
constexpr uint64_t timeout_ns = 5'000'000'000;

struct Published {
    sys::Endpoint owner;
    uint64_t handle;
};

uint64_t pattern(uint64_t i) { return 0x5348'4D00'0000'0000ull ^ (i * 0x9E3779B97F4A7C15ull); }

template <typename... Args>
[[noreturn]] void fail(const char* fmt, Args... args)
{
    tern::exit_with_message(1, "shmtest: FAILED: ", fmt, args...);
}

int owner()
{
    const int64_t handle = sys::shm_create(size);
    if (handle < 0)
        fail("shm_create: %s", sys::error_name(handle));
    const int64_t address = sys::shm_map(static_cast<sys::Endpoint>(sys::self()), handle,
                                         sys::map_flags::read | sys::map_flags::write);
    if (address < 0)
        fail("owner cannot map its object: %s", sys::error_name(address));
    auto* words = reinterpret_cast<volatile uint64_t*>(address);
    for (uint64_t i = 0; i < size / 8; ++i)
        words[i] = pattern(i);
    const int64_t user = tern::rs_wait_for_endpoint("shmuser", 0, timeout_ns);
    if (user < 0)
        fail("shmuser is not running: %s", sys::error_name(user));
    const int64_t granted = sys::shm_grant(handle, user, sys::map_flags::read | sys::map_flags::write);
    if (granted < 0)
        fail("shm_grant: %s", sys::error_name(granted));
    const Published published{static_cast<sys::Endpoint>(sys::self()), static_cast<uint64_t>(handle)};
    if (const int64_t put = tern::ds_put(key, &published, sizeof(published)); put < 0)
        fail("ds_put: %s", sys::error_name(put));
    print("shmowner: object granted to shmuser\n");
    for (;;) {
        sys::Message m{};
        if (sys::receive(user, m) < 0)
            continue;
        m.words[0] = words[0] == ~pattern(0) ? 1 : 0;
        print("shmowner: %s\n", m.words[0] == 1 ? "saw the user's write" : "did NOT see the user's write");
        (void)sys::reply(user, m);
    }
}

int user()
{
    // The owner starts once we run (it needs our endpoint for the grant).
    sys::Message reply;
    (void)tern::rs_call(tern::rs::Op::start, "shmowner", ~0ull, reply);
    Published published{};
    const uint64_t deadline = static_cast<uint64_t>(sys::uptime()) + timeout_ns;
    while (tern::ds_get(key, &published, sizeof(published)) < 0) {
        if (static_cast<uint64_t>(sys::uptime()) > deadline)
            fail("the owner published nothing");
        (void)sys::sleep(1);
    }
    const int64_t address =
        sys::shm_map(published.owner, published.handle, sys::map_flags::read | sys::map_flags::write);
    if (address < 0)
        fail("shm_map: %s", sys::error_name(address));
    auto* words = reinterpret_cast<volatile uint64_t*>(address);
    for (uint64_t i = 0; i < size / 8; ++i) {
        if (words[i] != pattern(i))
            fail("word %lu differs", i);
    }
    print("shmuser: mapped the owner's memory at 0x%lx, pattern ok\n", address);
    words[0] = ~pattern(0);
    sys::Message m{};
    if (const int64_t called = sys::call(published.owner, m); called < 0 || m.words[0] != 1)
        fail("the owner did not see our write (%s)", sys::error_name(called));
    if (const int64_t killed = tern::rs_call(tern::rs::Op::kill, "shmowner", 0, reply); killed < 0)
        fail("cannot have the owner killed: %s", sys::error_name(killed));
    while (tern::rs_lookup("shmowner") > 0)
        (void)sys::sleep(1);
    for (uint64_t i = 1; i < size / 8; ++i) {
        if (words[i] != pattern(i))
            fail("after the owner died, word %lu differs", i);
    }
    words[0] = pattern(0);
    if (words[0] != pattern(0))
        fail("after the owner died, the mapping is not writable");
    print("shmuser: owner gone, the mapping stays usable\n");
    const int64_t again =
        sys::shm_map(published.owner, published.handle, sys::map_flags::read | sys::map_flags::write);
    if (again != sys::error_code(sys::Error::not_found))
        fail("mapping a dead owner's object again gave %s, not not_found", sys::error_name(again));
    if (const int64_t unmapped = sys::mem_unmap(reinterpret_cast<void*>(address), size); unmapped < 0)
        fail("mem_unmap: %s", sys::error_name(unmapped));
    print("shmuser: unmapped, touching 0x%lx again (must fault)\n", address);
    const uint64_t value = words[0];
    fail("the mapping survived mem_unmap (read 0x%lx)", value);
}

} // namespace

int main(int argc, char** argv)
{
    for (int i = 1; i < argc; ++i) {
        if (__builtin_strcmp(argv[i], "mode=owner") == 0)
            return owner();
        if (__builtin_strcmp(argv[i], "mode=user") == 0)
            return user();
    }
    fail("no mode= (owner or user)");
}
