// A tern::Channel seen as a channel::Link, for server logic that also runs
// in host tests (lib/channel/link.hpp).
#pragma once

#include "channel/link.hpp"
#include "runtime/channel.hpp"

namespace tern {

class ChannelLink final : public channel::Link {
public:
    explicit ChannelLink(Channel& channel) : m_channel(channel) {}

    channel::Producer<channel::Message>& tx() override { return m_channel.tx(); }
    channel::Consumer<channel::Message>& rx() override { return m_channel.rx(); }
    const channel::PoolView* peer_pool() const override { return m_channel.peer_pool(); }
    void publish(uint32_t count) override { m_channel.publish(count); }
    void release(uint32_t count) override { m_channel.release(count); }

private:
    Channel& m_channel;
};

} // namespace tern
