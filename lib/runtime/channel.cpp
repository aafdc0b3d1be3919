#include "runtime/channel.hpp"

#include "base/bytes.hpp"
#include "proto/channel.hpp"
#include "runtime/rs_client.hpp"
#include "runtime/sys.hpp"

namespace tern {
namespace {

using channel::ring_bytes;
constexpr uint64_t read_write = sys::map_flags::read | sys::map_flags::write;
constexpr uint64_t page = 4096;

Error from_sys(int64_t result)
{
    switch (static_cast<sys::Error>(-result)) {
    case sys::Error::no_memory: return Error::out_of_memory;
    case sys::Error::not_found:
    case sys::Error::dead_endpoint: return Error::not_found;
    case sys::Error::busy: return Error::busy;
    default: return Error::invalid_argument;
    }
}

uint64_t rings_size(uint32_t slots) { return align_up(2 * ring_bytes(slots), page); }

sys::Endpoint self() { return static_cast<sys::Endpoint>(sys::self()); }

} // namespace

SharedPool::~SharedPool()
{
    if (m_handle != 0) {
        (void)sys::mem_unmap(reinterpret_cast<void*>(m_address), channel::pool_bytes(geometry()));
        (void)sys::shm_release(m_handle);
    }
}

Result<void> SharedPool::create(uint32_t count, uint32_t buffer_size)
{
    static uint32_t pools_made = 0;
    if (m_handle != 0)
        return Error::busy;
    const channel::PoolGeometry geometry{static_cast<uint32_t>(sys::endpoint::slot(self()) << 16 | ++pools_made),
                                         count, buffer_size, 0};
    if (!channel::valid_geometry(geometry))
        return Error::invalid_argument;
    const int64_t handle = sys::shm_create(channel::pool_bytes(geometry));
    if (handle < 0)
        return from_sys(handle);
    const int64_t address = sys::shm_map(self(), static_cast<uint64_t>(handle), read_write);
    if (address < 0) {
        (void)sys::shm_release(static_cast<uint64_t>(handle));
        return from_sys(address);
    }
    if (const auto made = m_owner.init(reinterpret_cast<void*>(address), channel::pool_bytes(geometry), geometry);
        !made.ok()) {
        (void)sys::mem_unmap(reinterpret_cast<void*>(address), channel::pool_bytes(geometry));
        (void)sys::shm_release(static_cast<uint64_t>(handle));
        return made.error();
    }
    m_handle = static_cast<uint64_t>(handle);
    m_address = static_cast<uint64_t>(address);
    return {};
}

Result<void> Channel::attach_rings(uint64_t address, uint32_t slots, bool client)
{
    void* first = reinterpret_cast<void*>(address);
    void* second = reinterpret_cast<void*>(address + ring_bytes(slots));
    const auto tx = m_tx.attach(client ? first : second, ring_bytes(slots), slots);
    const auto rx = m_rx.attach(client ? second : first, ring_bytes(slots), slots);
    return !tx.ok() ? tx : rx;
}

Result<void> Channel::connect(sys::Endpoint service, uint32_t slots, SharedPool* pool, uint64_t argument)
{
    if (is_open())
        return Error::busy;
    if (!channel::valid_capacity(slots))
        return Error::invalid_argument;
    const uint64_t size = rings_size(slots);
    const int64_t handle = sys::shm_create(size);
    if (handle < 0)
        return from_sys(handle);
    m_rings_handle = static_cast<uint64_t>(handle);
    const int64_t address = sys::shm_map(self(), m_rings_handle, read_write);
    if (address < 0) {
        close();
        return from_sys(address);
    }
    m_rings_address = static_cast<uint64_t>(address);
    m_rings_size = size;
    channel::ring_init(reinterpret_cast<void*>(address));
    channel::ring_init(reinterpret_cast<void*>(address + ring_bytes(slots)));
    if (const auto attached = attach_rings(m_rings_address, slots, true); !attached.ok()) {
        close();
        return attached.error();
    }

    sys::Message m{};
    m.type = channel_proto::open;
    m.words[0] = m_rings_handle;
    m.words[1] = slots;
    m.words[5] = argument;
    int64_t result = sys::shm_grant(m_rings_handle, service, read_write);
    if (result == 0 && pool != nullptr) {
        channel_proto::put_pool(m, pool->handle(), pool->geometry());
        result = sys::shm_grant(pool->handle(), service, read_write);
    }
    // Watch before asking, so an end of the service at any later point is seen.
    if (result == 0)
        result = sys::proc_watch(service);
    if (result == 0)
        result = sys::call(service, m);
    if (result == 0 && static_cast<int64_t>(m.words[0]) < 0)
        result = static_cast<int64_t>(m.words[0]);
    if (result < 0) {
        close();
        return from_sys(result);
    }
    if (m.words[2] != 0) {
        const channel::PoolGeometry geometry = channel_proto::get_pool(m);
        const int64_t pool_address =
            channel::valid_geometry(geometry)
                ? sys::shm_map(service, m.words[2], read_write, channel::pool_bytes(geometry))
                : sys::error_code(sys::Error::invalid_argument);
        if (pool_address < 0 ||
            !m_peer_pool.attach(reinterpret_cast<void*>(pool_address), channel::pool_bytes(geometry), geometry)
                 .ok()) {
            close();
            return Error::malformed;
        }
        m_peer_pool_address = static_cast<uint64_t>(pool_address);
        m_peer_pool_handle = m.words[2];
    }
    m_peer = service;
    m_argument = argument;
    return {};
}

Result<void> Channel::connect(const char* name, uint32_t slots, SharedPool* pool, uint64_t argument)
{
    const int64_t service = rs_lookup(name);
    if (service < 0)
        return Error::not_found;
    return connect(static_cast<sys::Endpoint>(service), slots, pool, argument);
}

Result<void> Channel::accept(const sys::Message& request, SharedPool* pool)
{
    sys::Message reply{};
    reply.type = channel_proto::open;
    if (is_open()) {
        reply.words[0] = static_cast<uint64_t>(sys::error_code(sys::Error::busy));
        (void)sys::reply(request.source, reply);
        return Error::busy;
    }
    // Refuses the request: undoes what was set up so far.
    auto answer = [&](Error error, sys::Error code) -> Result<void> {
        reply.words[0] = static_cast<uint64_t>(sys::error_code(code));
        (void)sys::reply(request.source, reply);
        close();
        return error;
    };
    const uint64_t slots64 = request.words[1];
    if (slots64 > channel::max_capacity || !channel::valid_capacity(static_cast<uint32_t>(slots64)))
        return answer(Error::invalid_argument, sys::Error::invalid_argument);
    const auto slots = static_cast<uint32_t>(slots64);
    const int64_t address = sys::shm_map(request.source, request.words[0], read_write, rings_size(slots));
    if (address < 0)
        return answer(from_sys(address), static_cast<sys::Error>(-address));
    m_rings_address = static_cast<uint64_t>(address);
    m_rings_size = rings_size(slots);
    if (!attach_rings(m_rings_address, slots, false).ok())
        return answer(Error::malformed, sys::Error::invalid_argument);
    if (request.words[2] != 0) {
        const channel::PoolGeometry geometry = channel_proto::get_pool(request);
        const int64_t pool_address =
            channel::valid_geometry(geometry)
                ? sys::shm_map(request.source, request.words[2], read_write, channel::pool_bytes(geometry))
                : sys::error_code(sys::Error::invalid_argument);
        if (pool_address < 0)
            return answer(Error::malformed, sys::Error::invalid_argument);
        m_peer_pool_address = static_cast<uint64_t>(pool_address);
        m_peer_pool_handle = request.words[2];
        if (!m_peer_pool.attach(reinterpret_cast<void*>(pool_address), channel::pool_bytes(geometry), geometry).ok())
            return answer(Error::malformed, sys::Error::invalid_argument);
    }
    if (pool != nullptr) {
        if (const int64_t granted = sys::shm_grant(pool->handle(), request.source, read_write); granted < 0)
            return answer(from_sys(granted), static_cast<sys::Error>(-granted));
        channel_proto::put_pool(reply, pool->handle(), pool->geometry());
    }
    if (const int64_t watched = sys::proc_watch(request.source); watched < 0)
        return answer(Error::not_found, sys::Error::dead_endpoint);
    reply.words[0] = 0;
    if (const int64_t replied = sys::reply(request.source, reply); replied < 0) {
        close();
        return Error::not_found;
    }
    m_peer = request.source;
    m_argument = request.words[5];
    return {};
}

void Channel::close()
{
    // Tell a live peer, which may be polling or asleep, that we are gone.
    if (is_open() && m_tx.close())
        wake_peer();
    if (m_rings_address != 0)
        (void)sys::mem_unmap(reinterpret_cast<void*>(m_rings_address), m_rings_size);
    if (m_rings_handle != 0)
        (void)sys::shm_release(m_rings_handle);
    if (m_peer_pool_address != 0)
        (void)sys::mem_unmap(reinterpret_cast<void*>(m_peer_pool_address),
                             channel::pool_bytes(m_peer_pool.geometry()));
    m_peer = 0;
    m_argument = 0;
    m_tx = {};
    m_rx = {};
    m_rings_address = m_rings_size = m_rings_handle = 0;
    m_peer_pool = {};
    m_peer_pool_address = 0;
    m_peer_pool_handle = 0;
}

bool Channel::peer_ended(const sys::Message& message) const
{
    return is_open() && message.source == sys::endpoint::exits && message.type == sys::message_type::notify &&
           (message.words[0] >> sys::endpoint::slot(m_peer) & 1) != 0;
}

bool Channel::send(const Message& message)
{
    if (m_tx.space() == 0)
        return false;
    m_tx.slot(0) = message;
    publish(1);
    return true;
}

void Channel::wake_peer()
{
    ++m_wakeups;
    (void)sys::notify(m_peer);
}

bool wait(channel::WaitSet& set, sys::Message& out)
{
    if (!set.prepare_sleep())
        return false;
    const int64_t received = sys::receive(sys::endpoint::any, out);
    set.end_sleep();
    return received == 0;
}

} // namespace tern
