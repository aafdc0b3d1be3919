// Setting up a channel (lib/channel) between two processes over the control
// path. The client creates the shared memory for both rings, and usually a
// packet-buffer pool, grants them read-write to the service and sends it an
// `open` request with ipc_call; the service maps them, may offer a pool of
// its own in the reply, and from then on both sides talk through the rings.
// Each side then watches the other (proc_watch), so a crash of either end
// reaches the survivor as a notification from endpoint::exits.
#pragma once

#include <cstdint>

#include "channel/pool.hpp"
#include "proto/syscall.hpp"

namespace tern::channel_proto {

// ipc_call to the service:
//   words[0] = handle of the rings' shared memory (client's, granted read-write)
//   words[1] = slots per ring (a power of two); ring 0 (client -> service)
//              starts at offset 0, ring 1 (service -> client) at
//              channel::ring_bytes(slots)
//   words[2] = handle of the client's pool (0: none), granted read-write
//   words[3] = that pool's id | buffer count << 32
//   words[4] = that pool's buffer size
//   words[5] = an argument for the service's own protocol
// Reply, same type: words[0] = 0 or -sys::Error (busy: no more channels;
// invalid_argument: bad sizes); words[2..4] = the service's pool as above.
constexpr uint32_t open = 0x4348'4E01; // "CHN" 1

inline void put_pool(sys::Message& m, uint64_t handle, const channel::PoolGeometry& g)
{
    m.words[2] = handle;
    m.words[3] = g.id | uint64_t{g.count} << 32;
    m.words[4] = g.buffer_size;
}

inline channel::PoolGeometry get_pool(const sys::Message& m)
{
    return channel::PoolGeometry{static_cast<uint32_t>(m.words[3]), static_cast<uint32_t>(m.words[3] >> 32),
                                 static_cast<uint32_t>(m.words[4]), 0};
}

} // namespace tern::channel_proto
