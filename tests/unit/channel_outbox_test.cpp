// lib/channel/outbox.hpp: messages wait in order while the ring is full, and
// a batch in which every message may wait is published lazily.
#include <gtest/gtest.h>

#include <vector>

#include "channel/link.hpp"
#include "channel/outbox.hpp"
#include "channel_test_support.hpp"

namespace {

using namespace tern::channel;
using namespace channel_test;

// A link that records how each batch was published.
class RecordingLink final : public Link {
public:
    explicit RecordingLink(RingMemory& memory) : m_tx(attach_end<Producer<Message>>(memory)) {}
    Producer<Message>& tx() override { return m_tx; }
    Consumer<Message>& rx() override { return m_rx; }
    const PoolView* peer_pool() const override { return nullptr; }
    void publish(uint32_t count) override
    {
        (void)m_tx.publish(count);
        batches.push_back({count, false});
    }
    void release(uint32_t) override {}
    void publish_lazily(uint32_t count) override
    {
        m_tx.publish_quietly(count);
        batches.push_back({count, true});
    }

    struct Batch {
        uint32_t count;
        bool lazily;
    };
    std::vector<Batch> batches;

private:
    Producer<Message> m_tx;
    Consumer<Message> m_rx;
};

// An outbox of 4 queued messages on a ring of `slots`, and the ring's reader.
struct OutboxOnRing {
    explicit OutboxOnRing(uint32_t slots) : memory(slots), link(memory), consumer(attach_end<Consumer<Message>>(memory))
    {
        box.attach(&link);
    }
    RingMemory memory;
    RecordingLink link;
    Consumer<Message> consumer;
    Outbox<4> box;
};

TEST(ChannelOutbox, ABatchOfMessagesThatMayWaitIsPublishedLazily)
{
    OutboxOnRing ring(8);
    auto& [memory, link, consumer, box] = ring;
    (void)memory;

    ASSERT_TRUE(box.send(make_message(0), true));
    ASSERT_TRUE(box.send(make_message(1), true));
    box.flush();
    ASSERT_EQ(link.batches.size(), 1u);
    EXPECT_EQ(link.batches[0].count, 2u);
    EXPECT_TRUE(link.batches[0].lazily);

    // One urgent message makes the whole batch urgent.
    ASSERT_TRUE(box.send(make_message(2), true));
    ASSERT_TRUE(box.send(make_message(3)));
    ASSERT_TRUE(box.send(make_message(4), true));
    box.flush();
    ASSERT_EQ(link.batches.size(), 2u);
    EXPECT_EQ(link.batches[1].count, 3u);
    EXPECT_FALSE(link.batches[1].lazily);

    // claim() fills a slot directly: urgent.
    ASSERT_TRUE(box.has_room());
    box.claim() = make_message(5);
    box.flush();
    ASSERT_EQ(link.batches.size(), 3u);
    EXPECT_FALSE(link.batches[2].lazily);

    bool wake = false;
    Message out[8];
    ASSERT_EQ(consumer.pop(out, 8, &wake), 6u);
    for (uint64_t i = 0; i < 6; ++i)
        EXPECT_EQ(check_message(out[i], i), "");
}

// Messages that waited in the queue (the ring was full) go out urgently:
// whether they may wait is not kept for them.
TEST(ChannelOutbox, QueuedMessagesGoOutInOrderAndUrgently)
{
    OutboxOnRing ring(2);
    auto& [memory, link, consumer, box] = ring;
    (void)memory;
    for (uint64_t i = 0; i < 4; ++i)
        ASSERT_TRUE(box.send(make_message(i), true));
    box.flush(); // two fit, two wait
    ASSERT_EQ(link.batches.size(), 1u);
    EXPECT_EQ(link.batches[0].count, 2u);
    EXPECT_TRUE(link.batches[0].lazily);
    bool wake = false;
    Message out[4];
    ASSERT_EQ(consumer.pop(out, 4, &wake), 2u);
    box.flush();
    ASSERT_EQ(link.batches.size(), 2u);
    EXPECT_EQ(link.batches[1].count, 2u);
    EXPECT_FALSE(link.batches[1].lazily);
    ASSERT_EQ(consumer.pop(out + 2, 4, &wake), 2u);
    for (uint64_t i = 0; i < 4; ++i)
        EXPECT_EQ(check_message(out[i], i), "");
}

} // namespace
