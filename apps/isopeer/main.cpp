// isopeer: the process the isolation and privilege tests try to reach into.
// It keeps a page of secret data in its own memory and a shared-memory object
// granted to rs only, publishes where both are in rs's data store, then waits
// and answers "is your secret intact?" requests (apps/isopeer/peer_protocol.hpp).
#include "peer_protocol.hpp"
#include "runtime/print.hpp"
#include "runtime/rs_client.hpp"
#include "runtime/start.hpp"
#include "runtime/sys.hpp"

namespace sys = tern::sys;
using tern::print;

namespace {

constexpr size_t page = 4096;

bool secret_intact(const volatile uint64_t* secret)
{
    for (size_t i = 0; i < page / sizeof(uint64_t); ++i)
        if (secret[i] != isopeer::secret_pattern)
            return false;
    return true;
}

} // namespace

int main(int, char**)
{
    // Every process's first mem_map gets the same address (the areas are
    // handed out from the same base in each address space); move the secret
    // past that so that a reader's own first mapping cannot hide a failure.
    const int64_t decoy = sys::mem_map(16 * page);
    if (decoy > 0)
        (void)sys::mem_unmap(reinterpret_cast<void*>(decoy), 16 * page);
    const int64_t secret_address = sys::mem_map(page);
    if (secret_address < 0) {
        print("isopeer: FAILED: mem_map: %s\n", sys::error_name(secret_address));
        return 1;
    }
    auto* secret = reinterpret_cast<volatile uint64_t*>(secret_address);
    for (size_t i = 0; i < page / sizeof(uint64_t); ++i)
        secret[i] = isopeer::secret_pattern;

    const int64_t shm = sys::shm_create(page);
    const int64_t granted = shm < 0 ? shm : sys::shm_grant(static_cast<uint64_t>(shm), tern::rs_endpoint(),
                                                            sys::map_flags::read);
    if (granted < 0) {
        print("isopeer: FAILED: shared memory: %s\n", sys::error_name(granted));
        return 1;
    }

    const auto self = static_cast<sys::Endpoint>(sys::self());
    isopeer::Published published{static_cast<uint64_t>(secret_address), static_cast<uint64_t>(shm), self, 0};
    published.check = published.secret_address ^ published.shm_handle ^ published.endpoint ^ isopeer::secret_pattern;
    const int64_t put = tern::ds_put(isopeer::data_store_key, &published, sizeof(published));
    if (put < 0) {
        print("isopeer: FAILED: ds_put: %s\n", sys::error_name(put));
        return 1;
    }
    print("isopeer: secret at 0x%lx, shm object 0x%lx granted to rs only; waiting\n", published.secret_address,
          published.shm_handle);

    for (;;) {
        sys::Message m{};
        if (sys::receive(sys::endpoint::any, m) < 0 || m.type == sys::message_type::notify)
            continue;
        const sys::Endpoint client = m.source;
        const bool is_check = m.type == isopeer::check_request;
        m = sys::Message{};
        m.type = is_check ? isopeer::check_request : 0;
        m.words[0] = is_check && secret_intact(secret) ? 1 : 0;
        m.words[1] = self;
        (void)sys::reply(client, m);
    }
}
