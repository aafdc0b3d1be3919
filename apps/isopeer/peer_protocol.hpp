// What isopeer publishes in rs's data store (key "isopeer.addr") and the one
// request it answers. Shared by isopeer and the tests that try to reach into
// it (isotest, privtest).
#pragma once

#include <cstdint>

#include "runtime/rs_client.hpp"
#include "runtime/sys.hpp"

namespace isopeer {

constexpr char data_store_key[] = "isopeer.addr";
constexpr uint64_t secret_pattern = 0x5EC2E75EC2E75EC2;

// The 32-byte data-store value.
struct Published {
    uint64_t secret_address; // a page of isopeer's own memory, filled with secret_pattern
    uint64_t shm_handle;     // a shared-memory object isopeer granted (read-only) to rs only
    uint64_t endpoint;       // isopeer's endpoint
    uint64_t check;          // secret_address ^ shm_handle ^ endpoint ^ secret_pattern
};
static_assert(sizeof(Published) == 32);

// ipc_call with this type: isopeer checks its secret page and answers
// words[0] = 1 when every word still holds the pattern, words[1] = its endpoint.
constexpr uint32_t check_request = 0x150C;

// isopeer's published record, waiting up to 5 s for isopeer to publish it.
inline bool find_published(Published& out)
{
    for (int tries = 0; tries < 500; ++tries) {
        if (tern::ds_get(data_store_key, &out, sizeof(out)) == 0 &&
            out.check == (out.secret_address ^ out.shm_handle ^ out.endpoint ^ secret_pattern))
            return true;
        (void)tern::sys::sleep(10);
    }
    return false;
}

} // namespace isopeer
