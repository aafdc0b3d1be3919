// A small client for rs, the supervisor (its protocol: proto/rs.hpp). Each
// function is one ipc_call to rs (the endpoint the kernel handed over at
// start, tern::rs_endpoint()) and waits for the answer.
//
// Results follow the system-call convention: >= 0 is success, < 0 is -Error
// (sys::error_name() spells it out). Besides the errors rs answers with, a
// call can fail with -dead_endpoint (rs is gone) and -invalid_argument (a
// name or key longer than rs::key_size = 16 characters, or a value longer
// than rs::value_size = 32 bytes).
#pragma once

#include <cstddef>
#include <cstdint>

#include "proto/rs.hpp"
#include "proto/syscall.hpp"

namespace tern {

// The general request: `op` about `name` (service name or data-store key),
// with words[2] = arg (start: core or ~0; crash: sys::CrashKind; otherwise
// ignored). The whole answer lands in `reply`; returns its result
// (reply.words[0]) or the IPC error. E.g.
//   sys::Message reply;
//   int64_t r = rs_call(rs::Op::start, "hello", 1, reply); // reply.words[1]: endpoint
// start, crash and kill need the crash privilege (-permission without it).
int64_t rs_call(rs::Op op, const char* name, uint64_t arg, sys::Message& reply);

// The endpoint of the running service `name`, or -not_found.
int64_t rs_lookup(const char* name);

// Waits (polling, up to `timeout_ns`) until service `name` runs with an
// endpoint other than `old` (0: any) and returns it, or -Error.
int64_t rs_wait_for_endpoint(const char* name, sys::Endpoint old, uint64_t timeout_ns);

// The endpoint of service `name`, asking rs to start it first if it is not
// running (needs the crash privilege for that), or -Error.
int64_t rs_ensure_running(const char* name, uint64_t timeout_ns);

// The next request message for a service: receives from anyone, answers
// rs's heartbeat pings on the way, and drops other notifications.
void receive_request(sys::Message& message);

// rs's data store: `size` bytes (up to rs::value_size; the rest of the
// 32-byte value is zeroed) under `key`. Returns 0 or -Error.
int64_t ds_put(const char* key, const void* value, size_t size);

// Copies the first `size` bytes (up to rs::value_size) of the value stored
// under `key` into `value`. Returns 0, or -not_found when nothing is stored.
int64_t ds_get(const char* key, void* value, size_t size);

} // namespace tern
