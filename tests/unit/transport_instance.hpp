// A transport server engine (tcp::Engine, udp::Engine) behind an abstract
// interface, so that a host test can hold two of them, each built with its
// own copy of lwIP into an isolated object whose only global symbol is the
// factory below (see tests/unit/CMakeLists.txt).
#pragma once

#include <cstdint>

#include "base/result.hpp"
#include "channel/link.hpp"
#include "channel/pool.hpp"

namespace transport_test {

struct Entry {
    uint32_t local_address, remote_address;
    uint16_t local_port, remote_port;
    uint8_t state;
    uint32_t receive_queue, send_queue;
};

class TransportEngine {
public:
    virtual ~TransportEngine() = default;
    virtual void ip_connected(tern::channel::Link* link) = 0;
    virtual bool ip_lost() = 0;
    virtual int add_client(tern::channel::Link* link, uint32_t process) = 0;
    virtual bool client_lost(int client) = 0;
    virtual bool step(uint64_t now_ns) = 0;
    virtual uint64_t next_deadline_ns() const = 0;
    virtual unsigned counter_count() const = 0;
    virtual uint64_t counter_at(unsigned n) const = 0;
    virtual const char* counter_label(unsigned n) const = 0;
    virtual bool socket_entry(unsigned n, Entry& out) const = 0;
    virtual unsigned ip_buffers_held() const = 0;
    // lwIP's own memory in use: pbufs, segments, pcbs, heap bytes.
    virtual unsigned lwip_pbufs_in_use() const = 0;
    virtual unsigned lwip_heap_used() const = 0;

    // The counter called `name` (~0 if none).
    uint64_t counter(const char* name) const
    {
        for (unsigned i = 0; i < counter_count(); ++i) {
            const char* label = counter_label(i);
            unsigned j = 0;
            while (label[j] != '\0' && label[j] == name[j])
                ++j;
            if (label[j] == '\0' && name[j] == '\0')
                return counter_at(i);
        }
        return ~uint64_t{0};
    }
};

} // namespace transport_test

// Each isolated instance exports one of these (renamed per instance).
extern "C" transport_test::TransportEngine* tern_transport_instance(tern::channel::PoolOwner* pool, uint32_t seed);
