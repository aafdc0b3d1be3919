// The adapter from an engine to transport_test::TransportEngine, and the
// factory each isolated instance exports. Included by tcp_instance.cpp and
// udp_instance.cpp, which pick the engine.
#pragma once

#include "lwip/memp.h"
#include "lwip/stats.h"
#include "transport_instance.hpp"

namespace transport_test {

template <typename Engine>
class EngineAdapter final : public TransportEngine {
public:
    EngineAdapter(tern::channel::PoolOwner& pool, uint32_t seed) : m_engine(pool, seed) {}
    void ip_connected(tern::channel::Link* link) override { m_engine.ip_connected(link); }
    bool ip_lost() override { return m_engine.ip_lost(); }
    int add_client(tern::channel::Link* link, uint32_t process) override { return m_engine.add_client(link, process); }
    bool client_lost(int client) override { return m_engine.client_lost(client); }
    bool step(uint64_t now_ns) override { return m_engine.step(now_ns); }
    uint64_t next_deadline_ns() const override { return m_engine.next_deadline_ns(); }
    unsigned counter_count() const override { return Engine::counter_count(); }
    uint64_t counter_at(unsigned n) const override { return m_engine.counter_at(n); }
    const char* counter_label(unsigned n) const override { return Engine::counter_label(n); }
    bool socket_entry(unsigned n, Entry& out) const override
    {
        const auto e = m_engine.socket_entry(n);
        if (!e.ok())
            return false;
        out = Entry{e.value().local_address, e.value().remote_address, e.value().local_port,
                    e.value().remote_port,   e.value().state,          e.value().receive_queue,
                    e.value().send_queue};
        return true;
    }
    unsigned ip_buffers_held() const override { return m_engine.ip_buffers_held(); }
    unsigned lwip_pbufs_in_use() const override
    {
        unsigned used = 0;
#if MEMP_STATS
        used += lwip_stats.memp[MEMP_PBUF]->used;
        used += lwip_stats.memp[MEMP_PBUF_POOL]->used;
#endif
        return used;
    }
    unsigned lwip_heap_used() const override
    {
#if MEM_STATS
        return static_cast<unsigned>(lwip_stats.mem.used);
#else
        return 0;
#endif
    }

private:
    Engine m_engine;
};

} // namespace transport_test

#define TERN_TRANSPORT_INSTANCE(Engine)                                                                              \
    extern "C" transport_test::TransportEngine* tern_transport_instance(tern::channel::PoolOwner* pool, uint32_t seed) \
    {                                                                                                                \
        static transport_test::EngineAdapter<Engine>* instance = nullptr;                                            \
        delete instance;                                                                                             \
        instance = new transport_test::EngineAdapter<Engine>(*pool, seed);                                           \
        return instance;                                                                                             \
    }
