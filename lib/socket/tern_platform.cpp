#include "socket/tern_platform.hpp"

#include "runtime/rs_client.hpp"
#include "runtime/start.hpp"
#include "runtime/sys.hpp"

namespace tern::sockets {

Result<void> TernLink::open(const LinkSizes& sizes)
{
    // One pool for the life of the process: after a server ends, its
    // successor gets the same pool (every buffer reclaimed by then).
    if (!m_pool_made) {
        if (const auto made = m_pool.create(sizes.pool_buffers, sizes.buffer_size); !made.ok())
            return made.error();
        m_pool_made = true;
    }
    return m_channel.connect(m_service, sizes.ring_slots, &m_pool);
}

uint64_t TernPlatform::now_ns()
{
    return static_cast<uint64_t>(sys::uptime());
}

uint32_t TernPlatform::wait(const WaitFor& what, uint64_t deadline_ns)
{
    channel::WaitSet set;
    TernLink* links[protocol_count] = { &m_tcp, &m_udp };
    for (uint32_t i = 0; i < protocol_count; ++i) {
        Channel& channel = links[i]->channel();
        if (!channel.is_open())
            continue;
        if (what.rx[i])
            set.add(channel.rx());
        if (what.tx[i])
            set.add(channel.tx());
    }
    bool alarm = false;
    if (deadline_ns != UINT64_MAX) {
        const uint64_t now = now_ns();
        if (now >= deadline_ns)
            return 0;
        constexpr uint64_t longest_ms = 24ull * 3600 * 1000; // the kernel's limit
        const uint64_t ms = (deadline_ns - now) / 1'000'000 + 1;
        alarm = sys::alarm(ms < longest_ms ? ms : longest_ms) == 0;
    }
    sys::Message m {};
    const bool woken = tern::wait(set, m);
    if (alarm)
        (void)sys::alarm(0);
    if (!woken)
        return 0;

    uint32_t ended = 0;
    bool ours = false;
    for (uint32_t i = 0; i < protocol_count; ++i) {
        if (links[i]->channel().peer_ended(m)) {
            ended |= 1u << i;
            ours = true;
        }
    }
    if (m.type == sys::message_type::notify) {
        if (m.source == sys::endpoint::clock)
            return ended;
        if (m.source == rs_endpoint()) {
            (void)sys::notify(m.source); // heartbeat
            return ended;
        }
        for (TernLink* link : links) {
            if (link->channel().is_open() && m.source == link->channel().peer())
                return ended; // a wake-up from a server
        }
        // Ends of processes the program watches arrive in the same notification.
        if (ours && m.source == sys::endpoint::exits) {
            uint64_t others = m.words[0];
            for (TernLink* link : links) {
                const uint64_t slot = sys::endpoint::slot(link->channel().peer());
                if (link->channel().is_open() && slot < 64)
                    others &= ~(uint64_t { 1 } << slot);
            }
            if (others == 0)
                return ended;
        }
    }
    if (m_handler != nullptr)
        m_handler(m, m_context);
    return ended;
}

} // namespace tern::sockets
