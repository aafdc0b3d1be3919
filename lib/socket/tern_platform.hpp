// The socket library's Platform in a Tern process: a Channel and a
// SharedPool per server (services "tcp" and "udp"), tern::wait to sleep, the
// alarm for timeouts, sys::uptime for the clock.
//
// While a socket call blocks, this process receives from anyone: rs's
// heartbeat pings are answered, the library's own wake-ups and alarms are
// consumed, and anything else (IPC requests, other notifications) goes to
// the handler set with set_other_message_handler() (dropped without one).
// A blocking call with a timeout uses the process's alarm, cancelling any
// alarm the program had set.
#pragma once

#include "runtime/channel.hpp"
#include "socket/link.hpp"

namespace tern::sockets {

using OtherMessageHandler = void (*)(const sys::Message& message, void* context);

class TernLink final : public ServerLink {
public:
    explicit TernLink(const char* service)
        : m_service(service)
    {
    }

    Result<void> open(const LinkSizes& sizes) override;
    void close() override { m_channel.close(); }
    channel::Producer<channel::Message>& tx() override { return m_channel.tx(); }
    channel::Consumer<channel::Message>& rx() override { return m_channel.rx(); }
    void publish(uint32_t count) override { m_channel.publish(count); }
    void release(uint32_t count) override { m_channel.release(count); }
    channel::PoolOwner& pool() override { return m_pool.owner(); }
    uint8_t* data(const channel::BufferRef& ref) override { return m_pool.data(ref); }
    const channel::PoolView* peer_pool() override { return m_channel.peer_pool(); }

    Channel& channel() { return m_channel; }

private:
    const char* m_service;
    SharedPool m_pool;
    bool m_pool_made = false;
    Channel m_channel;
};

class TernPlatform final : public Platform {
public:
    ServerLink& link(Protocol protocol) override { return protocol == Protocol::tcp ? m_tcp : m_udp; }
    uint64_t now_ns() override;
    uint32_t wait(const WaitFor& what, uint64_t deadline_ns) override;

    void set_other_message_handler(OtherMessageHandler handler, void* context)
    {
        m_handler = handler;
        m_context = context;
    }

private:
    TernLink m_tcp { "tcp" };
    TernLink m_udp { "udp" };
    OtherMessageHandler m_handler = nullptr;
    void* m_context = nullptr;
};

// The process's library instance and its platform (api.cpp).
class SocketLibrary;
SocketLibrary& process_sockets();
TernPlatform& process_platform();

} // namespace tern::sockets
