// lib/channel/ring.hpp: the SPSC shared-memory ring. Single-threaded tests of
// the geometry, the index wrap past 2^32, the sleep handshake's flags and a
// hostile peer; then two threads pushing many messages through, with and
// without sleeping on a host doorbell (the stand-in for the kernel's
// notification). Built twice: with ASan/UBSan and with TSan.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "channel/message.hpp"
#include "channel/ring.hpp"
#include "channel_test_support.hpp"

namespace {

using namespace channel_test;
using tern::Error;
using tern::channel::Consumer;
using tern::channel::max_capacity;
using tern::channel::Producer;
using tern::channel::valid_capacity;

constexpr uint64_t million = 1000000;

// ---------------------------------------------------------------------------
// Geometry and attach

TEST(ChannelRing, LayoutMatchesTheDocumentedOffsets)
{
    EXPECT_EQ(ring_bytes(2), 256u + 2 * 64);
    EXPECT_EQ(ring_bytes(1024), 256u + 1024 * 64);
    EXPECT_EQ(ring_bytes(max_capacity), 256u + size_t{max_capacity} * 64);
    EXPECT_EQ(sizeof(Message), 64u);
    EXPECT_EQ(alignof(Message), 64u);

    RingMemory memory(8, 1234);
    const RingControl& control = memory.control();
    EXPECT_EQ(offsetof(RingControl, closed), 4u);
    EXPECT_EQ(control.head.load(), 1234u);
    EXPECT_EQ(control.tail.load(), 1234u);
    EXPECT_EQ(control.closed.load(), 0u);
    EXPECT_EQ(control.consumer_sleeping.load(), 0u);
    EXPECT_EQ(control.producer_sleeping.load(), 0u);

    // The i-th slot lives at offset 256 + 64 * ((first + i) & mask).
    auto producer = attach_end<Producer<Message>>(memory);
    for (uint32_t i = 0; i < 8; ++i) {
        const auto offset = reinterpret_cast<char*>(&producer.slot(i)) - static_cast<char*>(memory.get());
        EXPECT_EQ(offset, static_cast<long>(256 + 64 * ((1234 + i) & 7)));
    }
}

TEST(ChannelRing, ValidCapacityIsAPowerOfTwoInRange)
{
    for (uint32_t bad : {0u, 1u, 3u, 5u, 6u, 7u, 12u, 1000u, 1025u, max_capacity + 1, max_capacity * 2,
                         0x80000000u, 0xFFFFFFFFu})
        EXPECT_FALSE(valid_capacity(bad)) << bad;
    for (uint32_t shift = 1; (1u << shift) <= max_capacity; ++shift)
        EXPECT_TRUE(valid_capacity(1u << shift)) << (1u << shift);
}

TEST(ChannelRing, AttachRejectsBadCapacitySizeAndAlignment)
{
    RingMemory memory(64);
    for (uint32_t bad : {0u, 1u, 3u, 48u, 63u, 65u, 96u, 0xFFFFFFFFu}) {
        Consumer<Message> consumer;
        const auto attached = consumer.attach(memory.get(), memory.bytes(), bad);
        EXPECT_FALSE(attached.ok()) << "capacity " << bad;
        EXPECT_EQ(attached.error(), Error::invalid_argument) << "capacity " << bad;
        EXPECT_FALSE(consumer.attached()) << "capacity " << bad;
        Producer<Message> producer;
        EXPECT_EQ(producer.attach(memory.get(), memory.bytes(), bad).error(), Error::invalid_argument);
        EXPECT_FALSE(producer.attached());
    }

    // Too few bytes for the capacity asked for: one byte short, and the bytes
    // of a smaller ring.
    Consumer<Message> consumer;
    EXPECT_EQ(consumer.attach(memory.get(), memory.bytes() - 1, 64).error(), Error::invalid_argument);
    EXPECT_EQ(consumer.attach(memory.get(), ring_bytes(32), 64).error(), Error::invalid_argument);
    EXPECT_EQ(consumer.attach(memory.get(), memory.bytes(), 128).error(), Error::invalid_argument);
    EXPECT_EQ(consumer.attach(memory.get(), 0, 64).error(), Error::invalid_argument);
    EXPECT_EQ(consumer.attach(memory.get(), sizeof(RingControl), 64).error(), Error::invalid_argument);
    EXPECT_FALSE(consumer.attached());

    // Memory not 64-byte aligned, or none at all.
    std::vector<char*> misaligned;
    for (size_t shift : {1, 4, 8, 16, 32, 63})
        misaligned.push_back(static_cast<char*>(memory.get()) + shift);
    for (char* bad : misaligned) {
        Producer<Message> producer;
        EXPECT_EQ(producer.attach(bad, memory.bytes() - 64, 32).error(), Error::invalid_argument)
            << "misaligned by " << (bad - static_cast<char*>(memory.get()));
        EXPECT_FALSE(producer.attached());
    }
    EXPECT_EQ(consumer.attach(nullptr, memory.bytes(), 64).error(), Error::invalid_argument);
    EXPECT_FALSE(consumer.attached());

    // Exactly enough is fine, for either end, and for a smaller ring than the
    // memory holds.
    EXPECT_TRUE(consumer.attach(memory.get(), memory.bytes(), 64).ok());
    EXPECT_TRUE(consumer.attached());
    EXPECT_EQ(consumer.capacity(), 64u);
    Producer<Message> small;
    EXPECT_TRUE(small.attach(memory.get(), memory.bytes(), 2).ok());
    EXPECT_EQ(small.capacity(), 2u);
}

TEST(ChannelRing, DetachedEndsMoveNothing)
{
    Producer<Message> producer;
    Consumer<Message> consumer;
    RingMemory memory(8);
    // Never attached, or after a failed attach.
    for (int round = 0; round < 2; ++round) {
        SCOPED_TRACE(round == 0 ? "never attached" : "attach failed");
        EXPECT_FALSE(producer.attached());
        EXPECT_TRUE(producer.broken());
        EXPECT_EQ(producer.space(), 0u);
        EXPECT_EQ(producer.space(0), 0u);
        Message m = make_message(0);
        bool wake = true;
        EXPECT_EQ(producer.push(&m, 1, &wake), 0u);
        EXPECT_FALSE(wake);
        EXPECT_FALSE(producer.prepare_sleep());
        producer.end_sleep();
        EXPECT_FALSE(producer.consumer_asleep());
        EXPECT_FALSE(producer.close());

        EXPECT_FALSE(consumer.attached());
        EXPECT_TRUE(consumer.broken());
        EXPECT_EQ(consumer.available(), 0u);
        wake = true;
        EXPECT_EQ(consumer.pop(&m, 1, &wake), 0u);
        EXPECT_FALSE(wake);
        EXPECT_FALSE(consumer.prepare_sleep());
        consumer.end_sleep();
        EXPECT_FALSE(consumer.closed());

        EXPECT_FALSE(producer.attach(memory.get(), memory.bytes(), 3).ok());
        EXPECT_FALSE(consumer.attach(memory.get(), memory.bytes() - 1, 8).ok());
    }
    EXPECT_EQ(memory.control().head.load(), 0u);
    EXPECT_EQ(memory.control().closed.load(), 0u);
}

TEST(ChannelRing, AttachToAMaximumRing)
{
    RingMemory memory(max_capacity);
    auto producer = attach_end<Producer<Message>>(memory);
    auto consumer = attach_end<Consumer<Message>>(memory);
    EXPECT_EQ(producer.space(), max_capacity);
    // Fill and drain the whole thing once; the last slot is the last 64 bytes
    // of the allocation (ASan checks it).
    for (uint32_t i = 0; i < max_capacity; ++i)
        producer.slot(i) = make_message(i);
    EXPECT_FALSE(producer.publish(max_capacity));
    EXPECT_EQ(producer.space(1), 0u);
    ASSERT_EQ(consumer.available(), max_capacity);
    for (uint32_t i = 0; i < max_capacity; ++i) {
        const std::string bad = check_message(consumer.read(i), i);
        ASSERT_TRUE(bad.empty()) << bad;
    }
    EXPECT_FALSE(consumer.release(max_capacity));
    EXPECT_EQ(producer.space(max_capacity), max_capacity);
}

// ---------------------------------------------------------------------------
// One thread, both ends

TEST(ChannelRing, PushAndPopInOrderWithBatches)
{
    RingMemory memory(16);
    auto producer = attach_end<Producer<Message>>(memory);
    auto consumer = attach_end<Consumer<Message>>(memory);
    EXPECT_EQ(producer.space(), 16u);
    EXPECT_EQ(consumer.available(), 0u);

    Message in[20];
    for (uint32_t i = 0; i < 20; ++i)
        in[i] = make_message(i);
    bool wake = true;
    // 20 offered, 16 fit; nobody sleeps, so nobody needs waking.
    EXPECT_EQ(producer.push(in, 20, &wake), 16u);
    EXPECT_FALSE(wake);
    EXPECT_EQ(producer.space(), 0u);
    EXPECT_EQ(producer.push(in + 16, 4, &wake), 0u);
    EXPECT_FALSE(wake);
    EXPECT_EQ(memory.control().head.load(), 16u);

    Message out[20];
    EXPECT_EQ(consumer.available(), 16u);
    EXPECT_EQ(consumer.pop(out, 5, &wake), 5u);
    EXPECT_FALSE(wake);
    EXPECT_EQ(memory.control().tail.load(), 5u);
    EXPECT_EQ(producer.space(), 5u) << "space() with no cached room must re-read the tail";
    EXPECT_EQ(producer.push(in + 16, 4, &wake), 4u);
    EXPECT_EQ(consumer.pop(out + 5, 20, &wake), 11u) << "the cached head (16) until the ring looks empty";
    EXPECT_EQ(consumer.pop(out + 16, 20, &wake), 4u);
    EXPECT_EQ(consumer.pop(out + 20 - 1, 1, &wake), 0u);
    EXPECT_FALSE(wake);
    for (uint32_t i = 0; i < 20; ++i)
        EXPECT_EQ(check_message(out[i], i), "");
    EXPECT_EQ(producer.space(16), 16u);

    // A zero-sized push or pop is a no-op and wakes nobody.
    EXPECT_EQ(producer.push(in, 0, &wake), 0u);
    EXPECT_FALSE(wake);
    EXPECT_EQ(consumer.pop(out, 0, &wake), 0u);
    EXPECT_FALSE(wake);
    EXPECT_EQ(memory.control().head.load(), 20u);
    EXPECT_EQ(memory.control().tail.load(), 20u);
}

TEST(ChannelRing, FillInPlaceAndPublishOnce)
{
    RingMemory memory(8);
    auto producer = attach_end<Producer<Message>>(memory);
    auto consumer = attach_end<Consumer<Message>>(memory);
    for (uint32_t i = 0; i < 6; ++i)
        producer.slot(i) = make_message(i);
    // Nothing visible before publish().
    EXPECT_EQ(consumer.available(), 0u);
    EXPECT_FALSE(producer.publish(6));
    EXPECT_EQ(consumer.available(), 6u);
    for (uint32_t i = 0; i < 6; ++i)
        EXPECT_EQ(check_message(consumer.read(i), i), "");
    EXPECT_FALSE(consumer.release(6));
    EXPECT_EQ(consumer.available(), 0u);
}

// The handshake's flags, one step at a time.
TEST(ChannelRing, ConsumerSleepHandshake)
{
    RingMemory memory(4);
    auto producer = attach_end<Producer<Message>>(memory);
    auto consumer = attach_end<Consumer<Message>>(memory);
    RingControl& control = memory.control();

    // Empty: the consumer may sleep, and says so.
    EXPECT_TRUE(consumer.prepare_sleep());
    EXPECT_EQ(control.consumer_sleeping.load(), 1u);
    EXPECT_TRUE(producer.consumer_asleep());
    // The next publish must wake it, and clears the flag, so exactly one
    // publish asks for the wake-up.
    producer.slot(0) = make_message(0);
    EXPECT_TRUE(producer.publish(1));
    EXPECT_EQ(control.consumer_sleeping.load(), 0u);
    EXPECT_FALSE(producer.consumer_asleep());
    producer.slot(0) = make_message(1);
    EXPECT_FALSE(producer.publish(1));
    consumer.end_sleep();

    // Not empty: prepare_sleep refuses and withdraws its announcement.
    EXPECT_FALSE(consumer.prepare_sleep());
    EXPECT_EQ(control.consumer_sleeping.load(), 0u);
    Message out[4];
    bool wake = true;
    EXPECT_EQ(consumer.pop(out, 1, &wake), 1u);
    EXPECT_FALSE(wake);
    // Still a cached message: no sleep either.
    EXPECT_FALSE(consumer.prepare_sleep());
    EXPECT_EQ(consumer.pop(out + 1, 4, &wake), 1u);
    EXPECT_EQ(check_message(out[0], 0), "");
    EXPECT_EQ(check_message(out[1], 1), "");

    // A publish between the announcement and the re-read (simulated: the
    // shared head moves before prepare_sleep reads it) is seen.
    producer.slot(0) = make_message(2);
    EXPECT_FALSE(producer.publish(1)) << "nobody announced sleep yet";
    EXPECT_FALSE(consumer.prepare_sleep());
    EXPECT_EQ(control.consumer_sleeping.load(), 0u);
    EXPECT_EQ(consumer.pop(out, 4, &wake), 1u);

    // Woken by somebody else (spurious): end_sleep clears the flag, so a
    // later publish does not ask for a wake-up nobody waits for.
    EXPECT_TRUE(consumer.prepare_sleep());
    consumer.end_sleep();
    EXPECT_EQ(control.consumer_sleeping.load(), 0u);
    producer.slot(0) = make_message(3);
    EXPECT_FALSE(producer.publish(1));
}

// close(): the consumer reads everything published before it, then sees the
// end; a closed ring never lets its consumer sleep.
TEST(ChannelRing, CloseEndsTheStreamAfterWhatWasPublished)
{
    RingMemory memory(4);
    auto producer = attach_end<Producer<Message>>(memory);
    auto consumer = attach_end<Consumer<Message>>(memory);
    Message in[3] = {make_message(0), make_message(1), make_message(2)};
    bool wake = true;
    ASSERT_EQ(producer.push(in, 3, &wake), 3u);
    EXPECT_FALSE(consumer.closed());
    EXPECT_FALSE(producer.close()) << "nobody asleep, nobody to wake";
    EXPECT_EQ(memory.control().closed.load(), 1u);
    EXPECT_TRUE(consumer.closed());
    EXPECT_EQ(consumer.available(), 3u) << "closing loses nothing published before";
    EXPECT_FALSE(consumer.prepare_sleep());
    Message out[4];
    ASSERT_EQ(consumer.pop(out, 4, &wake), 3u);
    for (uint32_t i = 0; i < 3; ++i)
        EXPECT_EQ(check_message(out[i], i), "");
    EXPECT_EQ(consumer.available(), 0u);
    EXPECT_FALSE(consumer.prepare_sleep()) << "closed and empty: handle the end instead of sleeping";
    EXPECT_EQ(memory.control().consumer_sleeping.load(), 0u);
    EXPECT_FALSE(consumer.broken());
}

TEST(ChannelRing, CloseWakesASleepingConsumerOnce)
{
    RingMemory memory(4);
    auto producer = attach_end<Producer<Message>>(memory);
    auto consumer = attach_end<Consumer<Message>>(memory);
    ASSERT_TRUE(consumer.prepare_sleep());
    EXPECT_TRUE(producer.close());
    EXPECT_EQ(memory.control().consumer_sleeping.load(), 0u);
    EXPECT_FALSE(producer.close());
    consumer.end_sleep();
    EXPECT_TRUE(consumer.closed());
    EXPECT_EQ(consumer.available(), 0u);
    EXPECT_FALSE(consumer.prepare_sleep());
}

TEST(ChannelRing, ProducerSleepHandshake)
{
    RingMemory memory(4);
    auto producer = attach_end<Producer<Message>>(memory);
    auto consumer = attach_end<Consumer<Message>>(memory);
    RingControl& control = memory.control();

    // Not full: no sleep, and no announcement left behind.
    EXPECT_FALSE(producer.prepare_sleep());
    EXPECT_EQ(control.producer_sleeping.load(), 0u);
    for (uint32_t i = 0; i < 3; ++i)
        producer.slot(i) = make_message(i);
    EXPECT_FALSE(producer.publish(3));
    EXPECT_FALSE(producer.prepare_sleep());
    producer.slot(0) = make_message(3);
    EXPECT_FALSE(producer.publish(1));

    // Full: sleep; the consumer's next release must wake it, once.
    EXPECT_TRUE(producer.prepare_sleep());
    EXPECT_EQ(control.producer_sleeping.load(), 1u);
    Message out[4];
    bool wake = false;
    EXPECT_EQ(consumer.pop(out, 1, &wake), 1u);
    EXPECT_TRUE(wake);
    EXPECT_EQ(control.producer_sleeping.load(), 0u);
    EXPECT_EQ(consumer.pop(out + 1, 1, &wake), 1u);
    EXPECT_FALSE(wake);
    producer.end_sleep();
    EXPECT_EQ(producer.space(1), 2u);

    // Full again, but the consumer frees a slot before the producer re-reads
    // the tail: prepare_sleep sees it and refuses.
    producer.slot(0) = make_message(4);
    producer.slot(1) = make_message(5);
    EXPECT_FALSE(producer.publish(2));
    EXPECT_EQ(producer.space(1), 0u);
    EXPECT_EQ(consumer.pop(out + 2, 1, &wake), 1u);
    EXPECT_FALSE(wake);
    EXPECT_FALSE(producer.prepare_sleep());
    EXPECT_EQ(control.producer_sleeping.load(), 0u);
    EXPECT_EQ(producer.space(1), 1u);
    EXPECT_EQ(consumer.pop(out + 3, 4, &wake), 1u) << "the consumer's cached head is 4, not 6";
    for (uint32_t i = 0; i < 4; ++i)
        EXPECT_EQ(check_message(out[i], i), "");
}

// ---------------------------------------------------------------------------
// The wrap past 2^32

// Fill and drain a ring one message at a time with the wrap at every
// position of the window, checking space() and available() after each step.
TEST(ChannelRingWrap, SpaceAndAvailableAtEveryPositionOfTheWrap)
{
    constexpr uint32_t capacity = 16;
    for (uint32_t before = 0; before <= 2 * capacity + 1; ++before) {
        SCOPED_TRACE("first index = 2^32 - " + std::to_string(before));
        const uint32_t first = static_cast<uint32_t>(0x100000000ull - before);
        RingMemory memory(capacity, first);
        auto producer = attach_end<Producer<Message>>(memory);
        auto consumer = attach_end<Consumer<Message>>(memory);
        uint64_t seq = 0;
        for (int round = 0; round < 3; ++round) {
            for (uint32_t filled = 0; filled < capacity; ++filled) {
                ASSERT_EQ(producer.space(capacity), capacity - filled);
                producer.slot(0) = make_message(seq + filled);
                ASSERT_FALSE(producer.publish(1));
                ASSERT_EQ(memory.control().head.load(), static_cast<uint32_t>(first + seq + filled + 1));
            }
            ASSERT_EQ(producer.space(1), 0u);
            ASSERT_EQ(producer.space(capacity), 0u);
            ASSERT_TRUE(producer.prepare_sleep()) << "a full ring across the wrap must look full";
            producer.end_sleep();
            for (uint32_t drained = 0; drained < capacity; ++drained) {
                ASSERT_EQ(consumer.available(), capacity - drained);
                ASSERT_EQ(check_message(consumer.read(0), seq), "");
                ASSERT_FALSE(consumer.release(1));
                ++seq;
                ASSERT_EQ(memory.control().tail.load(), static_cast<uint32_t>(first + seq));
            }
            ASSERT_EQ(consumer.available(), 0u);
            ASSERT_EQ(producer.space(capacity), capacity);
            ASSERT_TRUE(consumer.prepare_sleep()) << "empty across the wrap must look empty";
            consumer.end_sleep();
        }
    }
}

TEST(ChannelRingWrap, ExactlyAtTheWrap)
{
    constexpr uint32_t capacity = 128;
    const uint32_t first = 0xFFFFFFFFu - 99; // 2^32 - 100
    RingMemory memory(capacity, first);
    auto producer = attach_end<Producer<Message>>(memory);
    auto consumer = attach_end<Consumer<Message>>(memory);
    Message batch[capacity];
    for (uint32_t i = 0; i < capacity; ++i)
        batch[i] = make_message(i);
    bool wake = false;

    // 100 messages: head lands exactly on 2^32 == 0.
    ASSERT_EQ(producer.push(batch, 100, &wake), 100u);
    EXPECT_EQ(memory.control().head.load(), 0u);
    EXPECT_EQ(consumer.available(), 100u);
    EXPECT_EQ(producer.space(capacity), capacity - 100);
    // Fill it: head = 28, tail still 2^32 - 100.
    ASSERT_EQ(producer.push(batch + 100, 28, &wake), 28u);
    EXPECT_EQ(memory.control().head.load(), 28u);
    EXPECT_EQ(producer.space(1), 0u);
    EXPECT_EQ(consumer.available(), 100u) << "cached";
    Message out[capacity];
    // Take 99: tail = 2^32 - 1.
    ASSERT_EQ(consumer.pop(out, 99, &wake), 99u);
    EXPECT_EQ(memory.control().tail.load(), 0xFFFFFFFFu);
    EXPECT_EQ(consumer.available(), 1u);
    EXPECT_EQ(producer.space(1), 99u);
    // One more: tail = 0 = 2^32.
    ASSERT_EQ(consumer.pop(out + 99, 1, &wake), 1u);
    EXPECT_EQ(memory.control().tail.load(), 0u);
    EXPECT_EQ(consumer.available(), 28u);
    EXPECT_EQ(producer.space(capacity), 100u);
    ASSERT_EQ(consumer.pop(out + 100, capacity, &wake), 28u);
    for (uint32_t i = 0; i < capacity; ++i)
        ASSERT_EQ(check_message(out[i], i), "");
    EXPECT_EQ(consumer.available(), 0u);
    EXPECT_EQ(producer.space(capacity), capacity);

    // Attaching to a ring that is already full across the wrap.
    RingMemory full(capacity, 0);
    full.control().tail.store(static_cast<uint32_t>(0x100000000ull - 60));
    full.control().head.store(capacity - 60);
    auto late_producer = attach_end<Producer<Message>>(full);
    auto late_consumer = attach_end<Consumer<Message>>(full);
    EXPECT_FALSE(late_producer.broken());
    EXPECT_EQ(late_producer.space(capacity), 0u);
    EXPECT_EQ(late_consumer.available(), capacity);
    EXPECT_FALSE(late_consumer.broken());
}

// Random batch sizes through the wrap against a model of the fill level.
TEST(ChannelRingWrap, RandomBatchesAcrossTheWrap)
{
    constexpr uint32_t capacity = 32;
    for (uint32_t before : {1u, 100u, 1000u}) {
        SCOPED_TRACE("first index = 2^32 - " + std::to_string(before));
        const uint32_t first = static_cast<uint32_t>(0x100000000ull - before);
        RingMemory memory(capacity, first);
        auto producer = attach_end<Producer<Message>>(memory);
        auto consumer = attach_end<Consumer<Message>>(memory);
        Rng rng(before);
        uint64_t sent = 0, received = 0;
        Message batch[capacity + 8];
        bool wake = false;
        while (received < before + 10 * capacity) {
            const uint32_t want = rng.between_1_and(capacity + 8);
            for (uint32_t i = 0; i < want; ++i)
                batch[i] = make_message(sent + i);
            const uint32_t pushed = producer.push(batch, want, &wake);
            ASSERT_FALSE(wake);
            ASSERT_EQ(pushed, std::min<uint64_t>(want, capacity - (sent - received)));
            sent += pushed;
            ASSERT_EQ(producer.space(capacity), capacity - (sent - received));
            const uint32_t level = static_cast<uint32_t>(sent - received);
            const uint32_t seen = consumer.available();
            ASSERT_LE(seen, level);
            ASSERT_EQ(seen == 0, level == 0);
            const uint32_t popped = consumer.pop(batch, rng.between_1_and(capacity + 8), &wake);
            ASSERT_FALSE(wake);
            for (uint32_t i = 0; i < popped; ++i)
                ASSERT_EQ(check_message(batch[i], received + i), "");
            received += popped;
            ASSERT_EQ(memory.control().head.load(), static_cast<uint32_t>(first + sent));
            ASSERT_EQ(memory.control().tail.load(), static_cast<uint32_t>(first + received));
        }
        ASSERT_GT(received, before) << "the test did not reach the wrap";
    }
}

// ---------------------------------------------------------------------------
// A broken or hostile peer

// A consumer whose producer writes a head that cannot be: the ring turns
// broken and moves nothing more.
TEST(ChannelRingHostilePeer, ImpossibleHeadBreaksTheConsumer)
{
    constexpr uint32_t capacity = 8;
    struct Case {
        const char* what;
        uint32_t first;
        int64_t head_minus_tail; // what the hostile producer stores, relative to tail
    };
    const Case cases[] = {
        {"one more than capacity", 0, capacity + 1},
        {"far ahead", 0, 0x7FFFFFFF},
        {"behind the tail", 0, -1},
        {"far behind the tail", 100, -100},
        {"capacity + 1 across the wrap", 0xFFFFFFFCu, capacity + 1},
        {"behind the tail across the wrap", 2, -5},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.what);
        RingMemory memory(capacity, c.first);
        auto consumer = attach_end<Consumer<Message>>(memory);
        ASSERT_FALSE(consumer.broken());
        memory.control().head.store(static_cast<uint32_t>(c.first + c.head_minus_tail));
        EXPECT_EQ(consumer.available(), 0u);
        EXPECT_TRUE(consumer.broken());
        // Broken for good, even if the head looks sane again.
        memory.control().head.store(c.first + 1);
        EXPECT_EQ(consumer.available(), 0u);
        Message out[capacity * 2];
        std::memset(static_cast<void*>(out), 0x5A, sizeof out);
        bool wake = true;
        EXPECT_EQ(consumer.pop(out, capacity * 2, &wake), 0u);
        EXPECT_FALSE(wake);
        EXPECT_EQ(out[0].type, 0x5A5A5A5Au) << "pop wrote a message out of a broken ring";
        EXPECT_FALSE(consumer.prepare_sleep()) << "a broken ring must not look like an idle one";
        EXPECT_EQ(memory.control().consumer_sleeping.load(), 0u);
        EXPECT_EQ(memory.control().tail.load(), c.first) << "a broken consumer moved the tail";
    }
}

TEST(ChannelRingHostilePeer, ImpossibleHeadSeenWhilePreparingToSleep)
{
    RingMemory memory(8, 50);
    auto consumer = attach_end<Consumer<Message>>(memory);
    memory.control().head.store(50 + 9);
    EXPECT_FALSE(consumer.prepare_sleep());
    EXPECT_TRUE(consumer.broken());
    EXPECT_EQ(memory.control().consumer_sleeping.load(), 0u);
    EXPECT_EQ(consumer.available(), 0u);
}

// Exactly `capacity` ahead is a full ring, not a broken one: the consumer
// reads capacity slots of whatever is there, all inside the ring.
TEST(ChannelRingHostilePeer, HeadExactlyCapacityAheadIsFull)
{
    constexpr uint32_t capacity = 8;
    RingMemory memory(capacity, 0xFFFFFFFEu);
    auto consumer = attach_end<Consumer<Message>>(memory);
    memory.control().head.store(0xFFFFFFFEu + capacity);
    EXPECT_EQ(consumer.available(), capacity);
    EXPECT_FALSE(consumer.broken());
    Message out[capacity + 4];
    bool wake = false;
    EXPECT_EQ(consumer.pop(out, capacity + 4, &wake), capacity);
    EXPECT_EQ(memory.control().tail.load(), 0xFFFFFFFEu + capacity);
}

TEST(ChannelRingHostilePeer, ImpossibleTailBreaksTheProducer)
{
    constexpr uint32_t capacity = 8;
    struct Case {
        const char* what;
        uint32_t first;
        int64_t tail_minus_head; // what the hostile consumer stores, relative to a full ring's head
    };
    const Case cases[] = {
        {"ahead of the head", 0, 1},
        {"far ahead of the head", 0, 0x40000000},
        {"capacity + 1 behind the head", 0, -int64_t{capacity} - 1},
        {"ahead of the head across the wrap", 0xFFFFFFF9u, 3},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.what);
        RingMemory memory(capacity, c.first);
        auto producer = attach_end<Producer<Message>>(memory);
        Message in[capacity];
        for (uint32_t i = 0; i < capacity; ++i)
            in[i] = make_message(i);
        bool wake = true;
        ASSERT_EQ(producer.push(in, capacity, &wake), capacity);
        ASSERT_FALSE(producer.broken());
        const uint32_t head = c.first + capacity;
        memory.control().tail.store(static_cast<uint32_t>(head + c.tail_minus_head));
        EXPECT_EQ(producer.space(1), 0u);
        EXPECT_TRUE(producer.broken());
        memory.control().tail.store(head); // looks empty now; too late
        EXPECT_EQ(producer.space(capacity), 0u);
        EXPECT_EQ(producer.push(in, 1, &wake), 0u);
        EXPECT_FALSE(wake);
        EXPECT_FALSE(producer.prepare_sleep());
        EXPECT_EQ(memory.control().producer_sleeping.load(), 0u);
        EXPECT_EQ(memory.control().head.load(), head) << "a broken producer moved the head";
    }
}

TEST(ChannelRingHostilePeer, AttachToImpossibleIndicesFails)
{
    constexpr uint32_t capacity = 16;
    for (int64_t fill : {int64_t{capacity} + 1, int64_t{-1}, int64_t{1} << 31}) {
        SCOPED_TRACE(fill);
        RingMemory memory(capacity, 0xFFFFFFF0u);
        memory.control().head.store(static_cast<uint32_t>(0xFFFFFFF0u + fill));
        Consumer<Message> consumer;
        EXPECT_EQ(consumer.attach(memory.get(), memory.bytes(), capacity).error(), Error::malformed);
        EXPECT_TRUE(consumer.broken());
        EXPECT_EQ(consumer.available(), 0u);
        Producer<Message> producer;
        EXPECT_EQ(producer.attach(memory.get(), memory.bytes(), capacity).error(), Error::malformed);
        EXPECT_TRUE(producer.broken());
        EXPECT_EQ(producer.space(), 0u);
        // Repaired (say the peer restarted and re-initialised): attach again.
        tern::channel::ring_init(memory.get(), 7);
        EXPECT_TRUE(consumer.attach(memory.get(), memory.bytes(), capacity).ok());
        EXPECT_FALSE(consumer.broken());
        EXPECT_TRUE(producer.attach(memory.get(), memory.bytes(), capacity).ok());
        EXPECT_EQ(producer.space(), capacity);
    }
}

// A peer that scribbles on the shared head while the consumer works: the
// consumer reads slots wherever a believable head says (ASan checks every
// read stays in the ring), and the final impossible head must break it.
TEST(ChannelRingHostilePeer, ScribblingProducerNeverLeadsOutOfTheRing)
{
    constexpr uint32_t capacity = 16;
    RingMemory memory(capacity, 0xFFFFFF00u);
    {
        auto filler = attach_end<Producer<Message>>(memory);
        for (uint32_t i = 0; i < capacity; ++i)
            filler.slot(i) = make_message(i);
        // Nothing published: the slots just hold something readable.
    }
    auto consumer = attach_end<Consumer<Message>>(memory);
    Failure failure;
    constexpr uint64_t target = 100000; // slots the consumer reads before the end
    std::atomic<uint64_t> total{0};
    std::thread hostile([&] {
        Rng rng(99);
        RingControl& control = memory.control();
        // Heads that move on by random amounts, never more than capacity
        // ahead of the consumer's tail: garbage, but believable garbage.
        Idle idle(failure, "scribbler: the consumer stopped reading");
        uint32_t head = control.head.load();
        for (uint64_t seen = 0; total.load(std::memory_order_relaxed) < target;) {
            const uint32_t tail = control.tail.load(std::memory_order_relaxed);
            head += rng.below(capacity - (head - tail) + 1);
            control.head.store(head, std::memory_order_release);
            if (const uint64_t now = total.load(std::memory_order_relaxed); now != seen) {
                seen = now;
                idle.progress();
            } else if (!idle.wait()) {
                break;
            }
        }
        // Then behind the consumer's tail, which cannot be.
        control.head.store(control.tail.load() - 1);
    });
    std::thread victim([&] {
        Idle idle(failure, "consumer under a scribbling producer");
        Message out[capacity];
        bool wake = false;
        while (!consumer.broken()) {
            const uint32_t n = consumer.pop(out, capacity, &wake);
            total.fetch_add(n, std::memory_order_relaxed);
            if (wake)
                return failure.fail("release() asked to wake a producer that never announced sleep");
            if (n != 0) {
                idle.progress();
                continue;
            }
            if (consumer.prepare_sleep())
                consumer.end_sleep();
            if (!idle.wait())
                return;
        }
    });
    victim.join();
    hostile.join();
    EXPECT_FALSE(failure.failed()) << failure.message();
    EXPECT_TRUE(consumer.broken());
    EXPECT_EQ(consumer.available(), 0u);
    EXPECT_GE(total.load(), target);
    std::printf("  the consumer read %llu slots before the impossible head\n",
                static_cast<unsigned long long>(total.load()));
}

// ---------------------------------------------------------------------------
// Two threads

struct PipelineOptions {
    uint32_t capacity = 1024;
    uint32_t first_index = 0;
    uint64_t messages = 0;      // data messages; 0: until the sleep targets are met
    uint32_t max_push = 64;     // largest batch
    uint32_t max_pop = 64;
    bool random_batches = false; // batch sizes uniform in [1, max] instead of max
    bool consumer_sleeps = false; // on an empty ring: prepare_sleep() and the doorbell
    bool producer_sleeps = false; // on a full ring
    uint64_t consumer_sleep_target = 0; // sleeps that really blocked
    uint64_t producer_sleep_target = 0;
    uint32_t producer_pause_percent = 0; // chance of a pause after a batch
    uint32_t consumer_pause_percent = 0;
    // A pausing producer first waits until the consumer has taken every
    // message (a pausing consumer: until the producer has filled the ring).
    // Without that, the next batch would wake a sleeper whose wake-up for the
    // previous one was lost, and the loss would go unnoticed; with it, a lost
    // wake-up leaves the sleeper asleep for good and the doorbell watchdog
    // fails the test. Then, half of the time, it waits until the other side
    // has announced sleep (so it really sleeps), otherwise it spins for a
    // random while (so the next batch lands anywhere around prepare_sleep()).
    bool producer_waits_for_consumer = false;
    bool consumer_waits_for_producer = false;
    uint32_t max_spin = 2000;
};

struct PipelineStats {
    uint64_t sent = 0;
    uint64_t received = 0;
    uint64_t consumer_sleeps = 0; // prepare_sleep() said yes
    uint64_t consumer_blocked = 0; // ...and the thread really waited
    uint64_t producer_sleeps = 0;
    uint64_t producer_blocked = 0;
    uint64_t consumer_wakes = 0; // publish() asked to wake the consumer
    uint64_t producer_wakes = 0;
    double seconds = 0;
    std::string failure;
};

// The producer sends `messages` data messages (or, with sleep targets, until
// they are met) and then a stop message; the consumer checks every one.
PipelineStats run_pipeline(const PipelineOptions& o)
{
    RingMemory memory(o.capacity, o.first_index);
    Failure failure;
    Doorbell consumer_bell, producer_bell;
    std::atomic<uint64_t> consumer_blocked{0};
    std::atomic<bool> producer_done{false};
    PipelineStats stats;

    RingControl& control = memory.control();
    auto spin = [&](Rng& rng) {
        for (uint32_t i = rng.below(o.max_spin); i != 0; --i)
            cpu_relax();
    };
    // Spins until `done()` (or the test fails); false if it gave up.
    auto spin_until = [&](const char* what, auto done) {
        Idle idle(failure, what);
        while (!done())
            if (!idle.wait())
                return false;
        return true;
    };
    auto producer_pause = [&](Rng& rng) {
        if (!o.producer_waits_for_consumer)
            return spin(rng);
        if (!spin_until("producer: waiting for the consumer to take every message",
                        [&] { return control.tail.load() == control.head.load(); }))
            return;
        if (rng.below(2) == 0)
            spin_until("producer: waiting for the consumer to announce sleep",
                       [&] { return control.consumer_sleeping.load() != 0; });
        else
            spin(rng);
    };
    auto consumer_pause = [&](Rng& rng) {
        if (!o.consumer_waits_for_producer)
            return spin(rng);
        if (!spin_until("consumer: waiting for the producer to fill the ring", [&] {
                return control.head.load() - control.tail.load() == o.capacity || producer_done.load();
            }))
            return;
        if (rng.below(2) == 0)
            spin_until("consumer: waiting for the producer to announce sleep",
                       [&] { return control.producer_sleeping.load() != 0 || producer_done.load(); });
        else
            spin(rng);
    };

    const auto start = std::chrono::steady_clock::now();
    auto produce = [&] {
        Producer<Message> producer;
        if (!producer.attach(memory.get(), memory.bytes(), o.capacity).ok())
            return failure.fail("producer: attach failed");
        Rng rng(o.first_index ^ 0x1234);
        Idle idle(failure, "producer: ring stayed full");
        std::vector<Message> batch(o.max_push);
        uint64_t seq = 0;
        while (!failure.failed()) {
            const bool finished =
                o.messages != 0 ? seq == o.messages
                                : consumer_blocked.load(std::memory_order_relaxed) >= o.consumer_sleep_target &&
                                      stats.producer_blocked >= o.producer_sleep_target;
            uint32_t want = o.random_batches ? rng.between_1_and(o.max_push) : o.max_push;
            if (finished)
                want = 1;
            else if (o.messages != 0 && o.messages - seq < want)
                want = static_cast<uint32_t>(o.messages - seq);
            const uint32_t room = producer.space(want);
            if (room == 0) {
                if (producer.broken())
                    return failure.fail("producer: ring broken");
                if (!o.producer_sleeps) {
                    idle.wait();
                    continue;
                }
                if (!producer.prepare_sleep())
                    continue;
                ++stats.producer_sleeps;
                const Doorbell::Woken woken = producer_bell.wait();
                producer.end_sleep();
                if (failure.failed())
                    return;
                if (woken == Doorbell::Woken::timed_out)
                    return failure.fail("lost wake-up: the producer slept 10 s on a full ring; the consumer has "
                                        "freed " +
                                        std::to_string(producer.space(o.capacity)) + " slots since");
                if (woken == Doorbell::Woken::blocked)
                    ++stats.producer_blocked;
                continue;
            }
            const uint32_t n = want < room ? want : room;
            for (uint32_t i = 0; i < n; ++i)
                batch[i] = finished ? make_message(seq, stop_message) : make_message(seq + i);
            bool wake = false;
            if (producer.push(batch.data(), n, &wake) != n)
                return failure.fail("producer: push took fewer messages than space() promised");
            if (wake) {
                if (!o.consumer_sleeps)
                    return failure.fail("publish() asked to wake a consumer that never sleeps");
                ++stats.consumer_wakes;
                consumer_bell.ring();
            }
            idle.progress();
            if (finished)
                break;
            seq += n;
            if (o.producer_pause_percent != 0 && rng.below(100) < o.producer_pause_percent)
                producer_pause(rng);
        }
        stats.sent = seq;
        producer_done.store(true);
    };

    auto consume = [&] {
        Consumer<Message> consumer;
        if (!consumer.attach(memory.get(), memory.bytes(), o.capacity).ok())
            return failure.fail("consumer: attach failed");
        Rng rng(o.first_index ^ 0x5678);
        Idle idle(failure, "consumer: ring stayed empty");
        std::vector<Message> batch(o.max_pop);
        uint64_t expected = 0;
        while (!failure.failed()) {
            const uint32_t want = o.random_batches ? rng.between_1_and(o.max_pop) : o.max_pop;
            bool wake = false;
            const uint32_t n = consumer.pop(batch.data(), want, &wake);
            if (wake) {
                if (!o.producer_sleeps)
                    return failure.fail("release() asked to wake a producer that never sleeps");
                ++stats.producer_wakes;
                producer_bell.ring();
            }
            if (n == 0) {
                if (consumer.broken())
                    return failure.fail("consumer: ring broken");
                if (!o.consumer_sleeps) {
                    idle.wait();
                    continue;
                }
                if (!consumer.prepare_sleep())
                    continue;
                ++stats.consumer_sleeps;
                const Doorbell::Woken woken = consumer_bell.wait();
                consumer.end_sleep();
                if (failure.failed())
                    return;
                if (woken == Doorbell::Woken::timed_out)
                    return failure.fail("lost wake-up: the consumer slept 10 s with " +
                                        std::to_string(consumer.available()) + " messages waiting (after message " +
                                        std::to_string(expected) + ")");
                if (woken == Doorbell::Woken::blocked)
                    consumer_blocked.fetch_add(1, std::memory_order_relaxed);
                continue;
            }
            idle.progress();
            for (uint32_t i = 0; i < n; ++i) {
                if (batch[i].type == stop_message) {
                    if (std::string bad = check_message(batch[i], expected, stop_message); !bad.empty())
                        return failure.fail("stop message: " + bad);
                    if (i + 1 != n || consumer.available() != 0)
                        return failure.fail("messages after the stop message");
                    stats.received = expected;
                    return;
                }
                if (std::string bad = check_message(batch[i], expected); !bad.empty())
                    return failure.fail(bad);
                ++expected;
            }
            if (o.consumer_pause_percent != 0 && rng.below(100) < o.consumer_pause_percent)
                consumer_pause(rng);
        }
        stats.received = expected;
    };

    // A side that gives up releases the other from its doorbell.
    std::thread producer_thread([&] {
        produce();
        if (failure.failed())
            consumer_bell.ring();
    });
    std::thread consumer_thread([&] {
        consume();
        if (failure.failed())
            producer_bell.ring();
    });
    producer_thread.join();
    consumer_thread.join();
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    stats.consumer_blocked = consumer_blocked.load();
    stats.failure = failure.message();
    if (stats.failure.empty()) {
        // Everything sent arrived and nothing is left over.
        const uint32_t end = static_cast<uint32_t>(o.first_index + stats.sent + 1);
        if (memory.control().head.load() != end || memory.control().tail.load() != end)
            stats.failure = "shared indices do not match the messages that went through";
    }
    std::printf("  %llu messages in %.2f s (%.1f M/s); consumer slept %llu times (%llu blocked), producer %llu "
                "(%llu blocked); wake-ups asked: consumer %llu, producer %llu\n",
                static_cast<unsigned long long>(stats.received), stats.seconds,
                stats.received / stats.seconds / 1e6, static_cast<unsigned long long>(stats.consumer_sleeps),
                static_cast<unsigned long long>(stats.consumer_blocked),
                static_cast<unsigned long long>(stats.producer_sleeps),
                static_cast<unsigned long long>(stats.producer_blocked),
                static_cast<unsigned long long>(stats.consumer_wakes),
                static_cast<unsigned long long>(stats.producer_wakes));
    return stats;
}

void expect_delivered(const PipelineStats& stats, uint64_t messages)
{
    EXPECT_EQ(stats.failure, "");
    EXPECT_EQ(stats.sent, stats.received);
    if (messages != 0) {
        EXPECT_EQ(stats.received, messages);
    }
}

// The same counts in both builds (CMake sets none of these variables); the
// environment can only change them for a run by hand, e.g. a longer soak.
uint64_t batched_messages() { return count_from_env("TERN_CHANNEL_TEST_MESSAGES", 100 * million); }
uint64_t unbatched_messages() { return count_from_env("TERN_CHANNEL_TEST_UNBATCHED_MESSAGES", 10 * million); }
uint64_t consumer_sleeps() { return count_from_env("TERN_CHANNEL_TEST_CONSUMER_SLEEPS", million); }
uint64_t producer_sleeps() { return count_from_env("TERN_CHANNEL_TEST_PRODUCER_SLEEPS", 100000); }

TEST(ChannelRingThreads, HundredMillionMessagesInBatches)
{
    PipelineOptions o;
    o.capacity = 1024;
    o.messages = batched_messages();
    o.max_push = 64;
    o.max_pop = 64;
    expect_delivered(run_pipeline(o), o.messages);
}

TEST(ChannelRingThreads, TenMillionMessagesOneByOne)
{
    PipelineOptions o;
    o.capacity = 1024;
    o.messages = unbatched_messages();
    o.max_push = 1;
    o.max_pop = 1;
    expect_delivered(run_pipeline(o), o.messages);
}

TEST(ChannelRingThreads, RandomBatchesThroughATinyRing)
{
    PipelineOptions o;
    o.capacity = 2;
    o.messages = million;
    o.max_push = 3;
    o.max_pop = 3;
    o.random_batches = true;
    expect_delivered(run_pipeline(o), o.messages);
}

// The consumer takes up to 3 messages at a time and sleeps whenever the ring
// is empty; the producer pauses after half of its batches until the consumer
// has taken everything, then until it announced sleep or for a random spin
// (see PipelineOptions). A lost wake-up fails on the 10 s doorbell watchdog.
TEST(ChannelRingThreads, ConsumerSleepsAMillionTimesWithoutLosingAWakeUp)
{
    PipelineOptions o;
    o.capacity = 1024;
    o.max_push = 8;
    o.max_pop = 3;
    o.random_batches = true;
    o.consumer_sleeps = true;
    o.consumer_sleep_target = consumer_sleeps();
    o.producer_pause_percent = 50;
    o.producer_waits_for_consumer = true;
    const PipelineStats stats = run_pipeline(o);
    expect_delivered(stats, 0);
    EXPECT_GE(stats.consumer_blocked, o.consumer_sleep_target);
    EXPECT_EQ(stats.producer_sleeps, 0u);
}

// The other way round: a small ring the producer keeps filling; it sleeps
// when full and the consumer's release() must wake it. The consumer pauses
// until the producer has filled the ring again.
TEST(ChannelRingThreads, ProducerSleepsOnAFullRingWithoutLosingAWakeUp)
{
    PipelineOptions o;
    o.capacity = 8;
    o.max_push = 8;
    o.max_pop = 3;
    o.random_batches = true;
    o.producer_sleeps = true;
    o.producer_sleep_target = producer_sleeps();
    o.consumer_pause_percent = 50;
    o.consumer_waits_for_producer = true;
    const PipelineStats stats = run_pipeline(o);
    expect_delivered(stats, 0);
    EXPECT_GE(stats.producer_blocked, o.producer_sleep_target);
    EXPECT_EQ(stats.consumer_sleeps, 0u);
}

// Both sides sleep on a two-slot ring and pause at random.
TEST(ChannelRingThreads, BothSidesSleep)
{
    PipelineOptions o;
    o.capacity = 2;
    o.messages = 300000;
    o.max_push = 3;
    o.max_pop = 3;
    o.random_batches = true;
    o.consumer_sleeps = true;
    o.producer_sleeps = true;
    o.producer_pause_percent = 20;
    o.consumer_pause_percent = 20;
    const PipelineStats stats = run_pipeline(o);
    expect_delivered(stats, o.messages);
    // Not a timing assertion: with two slots and pauses on both sides each
    // side finds the ring idle thousands of times; zero would mean the test
    // no longer tests sleeping.
    EXPECT_GT(stats.consumer_sleeps, 0u);
    EXPECT_GT(stats.producer_sleeps, 0u);
}

// Many short streams, one after the other, each ended by close() instead of
// a stop message: the consumer sleeps until it has read every message and
// seen the end. close() must wake it (the next stream's publishes cannot: a
// different ring whose consumer is not asleep); a lost wake-up fails on the
// doorbell watchdog.
TEST(ChannelRingThreads, ManyStreamsEndWithClose)
{
    const int streams = 20000;
    std::vector<std::unique_ptr<RingMemory>> rings;
    for (int i = 0; i < streams; ++i)
        rings.push_back(std::make_unique<RingMemory>(4, static_cast<uint32_t>(0xFFFFFFFEu + i)));
    Failure failure;
    Doorbell bell;
    uint64_t sent = 0, received = 0, sleeps = 0, woken_by_close = 0;

    std::thread producer_thread([&] {
        Rng rng(17);
        for (int s = 0; s < streams && !failure.failed(); ++s) {
            auto producer = attach_end<Producer<Message>>(*rings[s]);
            Idle idle(failure, "producer: ring stayed full");
            for (uint32_t left = rng.below(7); left != 0 && !failure.failed();) {
                Message m = make_message(sent);
                bool wake = false;
                if (producer.push(&m, 1, &wake) == 0) {
                    idle.wait();
                    continue;
                }
                idle.progress();
                if (wake)
                    bell.ring();
                ++sent;
                --left;
            }
            // Close at a random moment: a third of the time once the consumer
            // has announced sleep, so close() itself must wake it.
            const uint32_t r = rng.below(3);
            if (r == 0) {
                while (!producer.consumer_asleep())
                    if (!idle.wait())
                        return;
            } else if (r == 1) {
                for (uint32_t i = rng.below(2000); i != 0; --i)
                    cpu_relax();
            }
            if (producer.close()) {
                ++woken_by_close;
                bell.ring();
            }
        }
    });
    std::thread consumer_thread([&] {
        for (int s = 0; s < streams && !failure.failed(); ++s) {
            auto consumer = attach_end<Consumer<Message>>(*rings[s]);
            Message batch[4];
            while (!failure.failed()) {
                bool wake = false;
                const uint32_t n = consumer.pop(batch, 4, &wake);
                if (wake)
                    return failure.fail("release() asked to wake a producer that never sleeps");
                for (uint32_t i = 0; i < n; ++i) {
                    if (std::string bad = check_message(batch[i], received); !bad.empty())
                        return failure.fail("stream " + std::to_string(s) + ": " + bad);
                    ++received;
                }
                if (n != 0)
                    continue;
                // closed() first, then available(): the head read after
                // seeing the flag includes everything published before it.
                if (consumer.closed()) {
                    if (consumer.available() == 0)
                        break;
                    continue;
                }
                if (!consumer.prepare_sleep())
                    continue;
                ++sleeps;
                const Doorbell::Woken woken = bell.wait();
                consumer.end_sleep();
                if (woken == Doorbell::Woken::timed_out)
                    return failure.fail("lost wake-up: the consumer of stream " + std::to_string(s) +
                                        " slept 10 s; closed: " + std::to_string(consumer.closed()) +
                                        ", messages waiting: " + std::to_string(consumer.available()));
            }
        }
    });
    producer_thread.join();
    consumer_thread.join();
    EXPECT_FALSE(failure.failed()) << failure.message();
    EXPECT_EQ(received, sent);
    std::printf("  %d streams, %llu messages; the consumer slept %llu times, close() woke it %llu times\n", streams,
                static_cast<unsigned long long>(sent), static_cast<unsigned long long>(sleeps),
                static_cast<unsigned long long>(woken_by_close));
    EXPECT_GT(woken_by_close, 0u) << "close() never had to wake the consumer: the test no longer tests that";
}

// Two threads across the wrap, with the consumer sleeping.
TEST(ChannelRingThreads, AcrossTheWrap)
{
    for (uint32_t before : {1u, 100u, 777u}) {
        SCOPED_TRACE("first index = 2^32 - " + std::to_string(before));
        PipelineOptions o;
        o.capacity = 64;
        o.first_index = static_cast<uint32_t>(0x100000000ull - before);
        o.messages = 200000;
        o.max_push = 80;
        o.max_pop = 80;
        o.random_batches = true;
        o.consumer_sleeps = true;
        o.producer_sleeps = true;
        o.producer_pause_percent = 5;
        o.consumer_pause_percent = 5;
        expect_delivered(run_pipeline(o), o.messages);
    }
}

} // namespace
