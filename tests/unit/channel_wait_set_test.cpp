// lib/channel/wait_set.hpp: announcing sleep on many rings at once, and a
// consumer that serves several producers with one doorbell.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "channel/message.hpp"
#include "channel/ring.hpp"
#include "channel/wait_set.hpp"
#include "channel_test_support.hpp"

namespace {

using namespace channel_test;
using tern::channel::Consumer;
using tern::channel::Producer;
using tern::channel::WaitSet;

// Three inbound rings (this side consumes) and one outbound (this side
// produces), with the peers' ends to drive them.
class ChannelWaitSet : public ::testing::Test {
protected:
    static constexpr uint32_t capacity = 4;

    void SetUp() override
    {
        inbound.clear();
        consumers.clear();
        feeders.clear();
        tern::channel::ring_init(outbound.get());
        for (int i = 0; i < 3; ++i) {
            inbound.push_back(std::make_unique<RingMemory>(capacity, 0xFFFFFFFEu));
            consumers.push_back(attach_end<Consumer<Message>>(*inbound.back()));
            feeders.push_back(attach_end<Producer<Message>>(*inbound.back()));
        }
        producer = attach_end<Producer<Message>>(outbound);
        drainer = attach_end<Consumer<Message>>(outbound);
    }

    uint32_t consumer_flag(int i) const { return inbound[i]->control().consumer_sleeping.load(); }
    uint32_t producer_flag() const { return outbound.control().producer_sleeping.load(); }
    bool any_flag() const { return consumer_flag(0) || consumer_flag(1) || consumer_flag(2) || producer_flag(); }

    void feed(int i, uint64_t seq)
    {
        feeders[i].slot(0) = make_message(seq);
        woken_by_feed = feeders[i].publish(1);
    }
    void fill_outbound()
    {
        while (producer.space(1) != 0) {
            producer.slot(0) = make_message(0);
            EXPECT_FALSE(producer.publish(1));
        }
    }
    Message take(int i)
    {
        Message m{};
        bool wake = false;
        EXPECT_EQ(consumers[i].pop(&m, 1, &wake), 1u);
        return m;
    }

    std::vector<std::unique_ptr<RingMemory>> inbound;
    std::vector<Consumer<Message>> consumers;
    std::vector<Producer<Message>> feeders;
    RingMemory outbound{capacity};
    Producer<Message> producer;
    Consumer<Message> drainer;
    bool woken_by_feed = false;
};

TEST_F(ChannelWaitSet, AllIdleAnnouncesEverywhere)
{
    WaitSet set;
    for (auto& c : consumers)
        ASSERT_TRUE(set.add(c));
    fill_outbound();
    ASSERT_TRUE(set.add(producer));
    EXPECT_EQ(set.size(), 4u);

    EXPECT_TRUE(set.prepare_sleep());
    EXPECT_EQ(consumer_flag(0), 1u);
    EXPECT_EQ(consumer_flag(1), 1u);
    EXPECT_EQ(consumer_flag(2), 1u);
    EXPECT_EQ(producer_flag(), 1u);

    // A message on ring 1 asks for the wake-up and clears only that flag.
    feed(1, 0);
    EXPECT_TRUE(woken_by_feed);
    EXPECT_EQ(consumer_flag(1), 0u);
    EXPECT_EQ(consumer_flag(0), 1u);
    // Room on the outbound ring likewise.
    Message m{};
    bool wake = false;
    EXPECT_EQ(drainer.pop(&m, 1, &wake), 1u);
    EXPECT_TRUE(wake);
    EXPECT_EQ(producer_flag(), 0u);

    // Awake: every announcement left is withdrawn, so the other peers do
    // not ask for wake-ups nobody waits for.
    set.end_sleep();
    EXPECT_FALSE(any_flag());
    feed(0, 0);
    EXPECT_FALSE(woken_by_feed);
    feed(2, 0);
    EXPECT_FALSE(woken_by_feed);
}

// Work on any one ring, first, middle or last: no sleep, and no announcement
// left on any ring (before or after the busy one).
TEST_F(ChannelWaitSet, WorkAnywhereWithdrawsEveryAnnouncement)
{
    for (int busy = 0; busy < 4; ++busy) {
        SCOPED_TRACE(busy == 3 ? std::string("outbound ring has room") : "inbound ring " + std::to_string(busy));
        SetUp(); // fresh rings
        WaitSet set;
        for (auto& c : consumers)
            ASSERT_TRUE(set.add(c));
        if (busy != 3)
            fill_outbound();
        ASSERT_TRUE(set.add(producer));
        if (busy != 3)
            feed(busy, 7);
        EXPECT_FALSE(set.prepare_sleep());
        EXPECT_FALSE(any_flag());
        // The peers see nobody asleep.
        for (int i = 0; i < 3; ++i) {
            feed(i, 8);
            EXPECT_FALSE(woken_by_feed) << "ring " << i;
        }
        if (busy != 3) {
            EXPECT_EQ(check_message(take(busy), 7), "");
        }
    }
}

TEST_F(ChannelWaitSet, SleepAgainAfterTheWorkIsDone)
{
    WaitSet set;
    for (auto& c : consumers)
        ASSERT_TRUE(set.add(c));
    feed(2, 0);
    EXPECT_FALSE(set.prepare_sleep());
    EXPECT_EQ(check_message(take(2), 0), "");
    EXPECT_TRUE(set.prepare_sleep());
    feed(0, 1);
    EXPECT_TRUE(woken_by_feed);
    set.end_sleep();
    EXPECT_FALSE(any_flag());
    EXPECT_FALSE(set.prepare_sleep()) << "ring 0 has a message";
    EXPECT_EQ(check_message(take(0), 1), "");
    EXPECT_TRUE(set.prepare_sleep());
    set.end_sleep();
}

TEST(ChannelWaitSetSize, HoldsSixtyFourRings)
{
    std::vector<std::unique_ptr<RingMemory>> memory;
    std::vector<Consumer<Message>> ends(WaitSet::max_rings + 1);
    for (auto& end : ends) {
        memory.push_back(std::make_unique<RingMemory>(2));
        end = attach_end<Consumer<Message>>(*memory.back());
    }
    WaitSet set;
    EXPECT_EQ(set.size(), 0u);
    EXPECT_TRUE(set.prepare_sleep()) << "nothing to wait for is idle";
    for (size_t i = 0; i < WaitSet::max_rings; ++i)
        EXPECT_TRUE(set.add(ends[i]));
    EXPECT_FALSE(set.add(ends.back()));
    EXPECT_EQ(set.size(), WaitSet::max_rings);
    EXPECT_TRUE(set.prepare_sleep());
    for (size_t i = 0; i < WaitSet::max_rings; ++i)
        EXPECT_EQ(memory[i]->control().consumer_sleeping.load(), 1u) << i;
    EXPECT_EQ(memory.back()->control().consumer_sleeping.load(), 0u);
    set.end_sleep();
    for (size_t i = 0; i < WaitSet::max_rings; ++i)
        EXPECT_EQ(memory[i]->control().consumer_sleeping.load(), 0u) << i;
    set.clear();
    EXPECT_EQ(set.size(), 0u);
    EXPECT_TRUE(set.add(ends.back()));
}

// One consumer thread, three producer threads, one doorbell: the consumer
// sleeps through a WaitSet whenever all rings are empty. Each producer
// rings the doorbell when publish() says so; every message arrives once, in
// order per ring; a lost wake-up fails on the watchdog.
TEST(ChannelWaitSetThreads, OneConsumerThreeProducersOneDoorbell)
{
    constexpr int producers = 3;
    constexpr uint64_t per_producer = 200000;
    std::vector<std::unique_ptr<RingMemory>> rings;
    for (int i = 0; i < producers; ++i)
        rings.push_back(std::make_unique<RingMemory>(16, 0xFFFFFFFFu - 1000 * i));
    Failure failure;
    Doorbell bell;
    uint64_t sleeps = 0, blocked = 0;

    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p)
        threads.emplace_back([&, p] {
            auto producer = attach_end<Producer<Message>>(*rings[p]);
            Rng rng(p + 1);
            Idle idle(failure, "producer: ring stayed full");
            uint64_t seq = 0;
            while (!failure.failed()) {
                const bool finished = seq == per_producer;
                uint32_t want = finished ? 1 : rng.between_1_and(4);
                if (!finished && per_producer - seq < want)
                    want = static_cast<uint32_t>(per_producer - seq);
                const uint32_t room = producer.space(want);
                if (room == 0) {
                    idle.wait();
                    continue;
                }
                idle.progress();
                const uint32_t n = want < room ? want : room;
                for (uint32_t i = 0; i < n; ++i)
                    producer.slot(i) = finished ? make_message(seq, stop_message) : make_message(seq + i);
                if (producer.publish(n))
                    bell.ring();
                if (finished)
                    return;
                seq += n;
                // Pause after half of the batches: until the consumer took
                // everything from this ring (so a lost wake-up cannot be
                // covered by this producer's next batch), then until it
                // announced sleep or for a random spin.
                if (rng.below(2) == 0)
                    continue;
                RingControl& control = rings[p]->control();
                Idle waiting(failure, "producer: the consumer did not drain its ring");
                while (control.tail.load() != control.head.load())
                    if (!waiting.wait())
                        return;
                if (rng.below(2) == 0) {
                    while (!producer.consumer_asleep())
                        if (!waiting.wait())
                            return;
                } else {
                    for (uint32_t i = rng.below(3000); i != 0; --i)
                        cpu_relax();
                }
            }
        });

    threads.emplace_back([&] {
        std::vector<Consumer<Message>> consumers;
        for (auto& ring : rings)
            consumers.push_back(attach_end<Consumer<Message>>(*ring));
        WaitSet set;
        for (auto& c : consumers)
            set.add(c);
        std::vector<uint64_t> expected(producers, 0);
        int stopped = 0;
        Message batch[8];
        while (!failure.failed() && stopped < producers) {
            bool any = false;
            for (int p = 0; p < producers; ++p) {
                bool wake = false;
                const uint32_t n = consumers[p].pop(batch, 8, &wake);
                if (wake)
                    return failure.fail("release() asked to wake a producer that never sleeps");
                any |= n != 0;
                for (uint32_t i = 0; i < n; ++i) {
                    const bool stop = batch[i].type == stop_message;
                    const std::string bad =
                        check_message(batch[i], expected[p], stop ? stop_message : data_message);
                    if (!bad.empty())
                        return failure.fail("ring " + std::to_string(p) + ": " + bad);
                    if (stop) {
                        if (expected[p] != per_producer)
                            return failure.fail("ring " + std::to_string(p) + " stopped early");
                        ++stopped;
                    } else {
                        ++expected[p];
                    }
                }
            }
            if (any || stopped == producers)
                continue;
            if (!set.prepare_sleep())
                continue;
            ++sleeps;
            const Doorbell::Woken woken = bell.wait();
            set.end_sleep();
            if (woken == Doorbell::Woken::timed_out) {
                uint32_t waiting = 0;
                for (auto& c : consumers)
                    waiting += c.available();
                return failure.fail("lost wake-up: the consumer slept 10 s with " + std::to_string(waiting) +
                                    " messages waiting");
            }
            if (woken == Doorbell::Woken::blocked)
                ++blocked;
        }
    });
    for (auto& t : threads)
        t.join();
    EXPECT_FALSE(failure.failed()) << failure.message();
    for (auto& ring : rings)
        EXPECT_EQ(ring->control().head.load(), ring->control().tail.load());
    std::printf("  consumer slept %llu times, %llu of them blocked\n", static_cast<unsigned long long>(sleeps),
                static_cast<unsigned long long>(blocked));
    EXPECT_GT(blocked, 0u) << "the consumer never really slept: the test no longer tests waking";
}

} // namespace
