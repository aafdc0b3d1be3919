// lib/channel/pool.hpp: packet-buffer pools. The owner's bookkeeping (lend,
// take_back, reclaim, free) against forged and stale references, the peer's
// range checks (PoolView), and two threads passing buffers over a pair of
// rings (sDDF's active/free queues) until the peer "crashes".
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "channel/message.hpp"
#include "channel/pool.hpp"
#include "channel/ring.hpp"
#include "channel_test_support.hpp"

namespace {

using namespace channel_test;
using tern::Error;
using tern::channel::BufferRef;
using tern::channel::Consumer;
using tern::channel::max_pool_buffers;
using tern::channel::pool_bytes;
using tern::channel::PoolGeometry;
using tern::channel::PoolOwner;
using tern::channel::PoolView;
using tern::channel::Producer;
using tern::channel::valid_geometry;

constexpr PoolOwner::Holder peer1 = 1;
constexpr PoolOwner::Holder peer2 = 2;

// The pool's shared object: exactly pool_bytes() bytes, so ASan reports any
// byte a PoolView hands out beyond it.
struct PoolMemory {
    explicit PoolMemory(const PoolGeometry& g) : geometry(g), bytes(pool_bytes(g)), data(new uint8_t[bytes]) {}
    PoolGeometry geometry;
    size_t bytes;
    std::unique_ptr<uint8_t[]> data;
};

TEST(ChannelPool, GeometryValidation)
{
    EXPECT_TRUE(valid_geometry({1, 1, 64, 0}));
    EXPECT_TRUE(valid_geometry({7, max_pool_buffers, 2048, 0}));
    EXPECT_TRUE(valid_geometry({0xFFFFFFFF, 3, 1u << 20, 0}));
    EXPECT_FALSE(valid_geometry({0, 16, 2048, 0})) << "id 0";
    EXPECT_FALSE(valid_geometry({1, 0, 2048, 0})) << "no buffers";
    EXPECT_FALSE(valid_geometry({1, max_pool_buffers + 1, 2048, 0})) << "too many buffers";
    EXPECT_FALSE(valid_geometry({1, 16, 0, 0})) << "size 0";
    EXPECT_FALSE(valid_geometry({1, 16, 32, 0})) << "smaller than a cache line";
    EXPECT_FALSE(valid_geometry({1, 16, 2000, 0})) << "not a multiple of 64";
    EXPECT_FALSE(valid_geometry({1, 16, (1u << 20) + 64, 0})) << "over 1 MiB";
    EXPECT_EQ(pool_bytes({1, max_pool_buffers, 1u << 20, 0}), size_t{1} << 36) << "no 32-bit overflow";

    PoolMemory memory({5, 4, 128, 0});
    PoolView view;
    EXPECT_EQ(view.attach(memory.data.get(), memory.bytes - 1, memory.geometry).error(), Error::invalid_argument);
    EXPECT_EQ(view.attach(nullptr, memory.bytes, memory.geometry).error(), Error::invalid_argument);
    EXPECT_EQ(view.attach(memory.data.get(), memory.bytes, {0, 4, 128, 0}).error(), Error::invalid_argument);
    EXPECT_TRUE(view.attach(memory.data.get(), memory.bytes, memory.geometry).ok());

    PoolOwner owner;
    EXPECT_EQ(owner.init(memory.data.get(), memory.bytes - 1, memory.geometry).error(), Error::invalid_argument);
    EXPECT_TRUE(owner.init(memory.data.get(), memory.bytes, memory.geometry).ok()) << "a failed init leaves no trace";
    EXPECT_EQ(owner.init(memory.data.get(), memory.bytes, memory.geometry).error(), Error::busy);
    EXPECT_EQ(owner.free_count(), 4u);
}

TEST(ChannelPool, AnUninitialisedOwnerAndViewRejectEverything)
{
    PoolOwner owner;
    const BufferRef ref{1, 0, 0, 64};
    EXPECT_EQ(owner.allocate().error(), Error::not_found);
    EXPECT_EQ(owner.free(ref).error(), Error::malformed);
    EXPECT_EQ(owner.lend(ref, peer1).error(), Error::malformed);
    EXPECT_EQ(owner.take_back(ref, peer1).error(), Error::malformed);
    EXPECT_EQ(owner.reclaim(peer1), 0u);
    EXPECT_EQ(owner.held_by(peer1), 0u);
    PoolView view;
    EXPECT_EQ(view.bytes(ref).error(), Error::malformed);
}

TEST(ChannelPool, AllocateHandsOutEveryBufferOnce)
{
    PoolMemory memory({9, 64, 2048, 0});
    PoolOwner owner;
    ASSERT_TRUE(owner.init(memory.data.get(), memory.bytes, memory.geometry).ok());
    std::set<uint32_t> seen;
    for (uint32_t i = 0; i < 64; ++i) {
        auto ref = owner.allocate();
        ASSERT_TRUE(ref.ok());
        EXPECT_EQ(ref.value().pool, 9u);
        EXPECT_EQ(ref.value().offset, 0u);
        EXPECT_EQ(ref.value().length, 2048u);
        EXPECT_LT(ref.value().index, 64u);
        EXPECT_TRUE(seen.insert(ref.value().index).second) << "buffer " << ref.value().index << " handed out twice";
        EXPECT_EQ(owner.free_count(), 63 - i);
    }
    EXPECT_EQ(owner.allocate().error(), Error::not_found);
    EXPECT_EQ(owner.held_by(PoolOwner::self), 64u);
    EXPECT_EQ(owner.held_by(PoolOwner::nobody), 0u);
    // Free them all; all come back, and can be allocated again.
    for (uint32_t index : seen)
        EXPECT_TRUE(owner.free({9, index, 0, 2048}).ok());
    EXPECT_EQ(owner.free_count(), 64u);
    EXPECT_EQ(owner.held_by(PoolOwner::nobody), 64u);
    std::set<uint32_t> again;
    for (uint32_t i = 0; i < 64; ++i)
        again.insert(owner.allocate().value_or({}).index);
    EXPECT_EQ(again, seen);
}

// The scenario of the brief: lend to two peers, then try every forgery.
class ChannelPoolLending : public ::testing::Test {
protected:
    static constexpr uint32_t count = 32;
    static constexpr uint32_t id = 42;

    void SetUp() override
    {
        ASSERT_TRUE(owner.init(memory.data.get(), memory.bytes, memory.geometry).ok());
        for (uint32_t i = 0; i < count; ++i) {
            auto ref = owner.allocate();
            ASSERT_TRUE(ref.ok());
            refs.push_back(ref.value());
        }
        // 0..9 to peer 1, 10..19 to peer 2, 20..25 kept by the owner, 26..31 freed.
        for (uint32_t i = 0; i < 10; ++i)
            ASSERT_TRUE(owner.lend(refs[i], peer1).ok());
        for (uint32_t i = 10; i < 20; ++i)
            ASSERT_TRUE(owner.lend(refs[i], peer2).ok());
        for (uint32_t i = 26; i < count; ++i)
            ASSERT_TRUE(owner.free(refs[i]).ok());
        ASSERT_EQ(owner.held_by(peer1), 10u);
        ASSERT_EQ(owner.held_by(peer2), 10u);
        ASSERT_EQ(owner.held_by(PoolOwner::self), 6u);
        ASSERT_EQ(owner.free_count(), 6u);
    }

    PoolMemory memory{{id, count, 256, 0}};
    PoolOwner owner;
    std::vector<BufferRef> refs;
};

TEST_F(ChannelPoolLending, TakeBackOnlyFromTheHolder)
{
    // Peer 2 returns peer 1's buffer, and the other way round.
    EXPECT_EQ(owner.take_back(refs[0], peer2).error(), Error::not_owner);
    EXPECT_EQ(owner.take_back(refs[10], peer1).error(), Error::not_owner);
    // A peer that never held anything.
    EXPECT_EQ(owner.take_back(refs[0], 3).error(), Error::not_owner);
    // The right peer.
    EXPECT_TRUE(owner.take_back(refs[0], peer1).ok());
    EXPECT_TRUE(owner.take_back(refs[10], peer2).ok());
    EXPECT_EQ(owner.held_by(peer1), 9u);
    EXPECT_EQ(owner.held_by(peer2), 9u);
    EXPECT_EQ(owner.held_by(PoolOwner::self), 8u);
    // Returned twice.
    EXPECT_EQ(owner.take_back(refs[0], peer1).error(), Error::not_owner);
    EXPECT_EQ(owner.take_back(refs[10], peer2).error(), Error::not_owner);
    // The owner is not a peer, nor is "nobody".
    EXPECT_EQ(owner.take_back(refs[20], PoolOwner::self).error(), Error::invalid_argument);
    EXPECT_EQ(owner.take_back(refs[26], PoolOwner::nobody).error(), Error::invalid_argument);
    EXPECT_EQ(owner.lend(refs[20], PoolOwner::self).error(), Error::invalid_argument);
    EXPECT_EQ(owner.lend(refs[20], PoolOwner::nobody).error(), Error::invalid_argument);
    EXPECT_EQ(owner.held_by(PoolOwner::self), 8u) << "a rejected lend changed the holder";
}

TEST_F(ChannelPoolLending, ForgedReferencesAreRejected)
{
    // Wrong pool id, index out of range (including the largest).
    for (uint32_t pool : {0u, id - 1, id + 1, 0xFFFFFFFFu}) {
        BufferRef forged = refs[0];
        forged.pool = pool;
        EXPECT_EQ(owner.take_back(forged, peer1).error(), Error::malformed) << "pool " << pool;
        EXPECT_EQ(owner.free(forged).error(), Error::malformed);
        EXPECT_EQ(owner.lend(forged, peer1).error(), Error::malformed);
    }
    for (uint32_t index : {count, count + 1, 0x10000u, 0xFFFFFFFFu}) {
        const BufferRef forged{id, index, 0, 256};
        EXPECT_EQ(owner.take_back(forged, peer1).error(), Error::malformed) << "index " << index;
        EXPECT_EQ(owner.free(forged).error(), Error::malformed);
        EXPECT_EQ(owner.lend(forged, peer1).error(), Error::malformed);
    }
    // In range, but peer 1 does not hold it: held by peer 2, by the owner, free.
    EXPECT_EQ(owner.take_back(refs[15], peer1).error(), Error::not_owner);
    EXPECT_EQ(owner.take_back(refs[22], peer1).error(), Error::not_owner);
    EXPECT_EQ(owner.take_back(refs[28], peer1).error(), Error::not_owner);
    // Nothing above changed anybody's holdings.
    EXPECT_EQ(owner.held_by(peer1), 10u);
    EXPECT_EQ(owner.held_by(peer2), 10u);
    EXPECT_EQ(owner.held_by(PoolOwner::self), 6u);
    EXPECT_EQ(owner.free_count(), 6u);

    // The owner cannot lend what it lent already, nor what is free.
    EXPECT_EQ(owner.lend(refs[0], peer2).error(), Error::not_owner);
    EXPECT_EQ(owner.lend(refs[28], peer1).error(), Error::not_owner);
    EXPECT_EQ(owner.held_by(peer1), 10u);
}

TEST_F(ChannelPoolLending, FreeOnlyWhatTheOwnerHolds)
{
    // Double free, and freeing a buffer a peer holds.
    EXPECT_EQ(owner.free(refs[27]).error(), Error::not_owner);
    EXPECT_EQ(owner.free(refs[3]).error(), Error::not_owner);
    EXPECT_EQ(owner.free(refs[13]).error(), Error::not_owner);
    EXPECT_EQ(owner.free_count(), 6u);
    EXPECT_TRUE(owner.free(refs[20]).ok());
    EXPECT_EQ(owner.free(refs[20]).error(), Error::not_owner);
    EXPECT_EQ(owner.free_count(), 7u);
    // The free stack holds each buffer once: allocating everything again
    // gives 7 distinct buffers.
    std::set<uint32_t> again;
    for (int i = 0; i < 7; ++i)
        again.insert(owner.allocate().value_or({}).index);
    EXPECT_EQ(again.size(), 7u);
    EXPECT_EQ(owner.allocate().error(), Error::not_found);
}

TEST_F(ChannelPoolLending, ReclaimAfterAPeerCrash)
{
    // Peer 1 returns three, then "crashes" holding seven.
    for (uint32_t i = 0; i < 3; ++i)
        ASSERT_TRUE(owner.take_back(refs[i], peer1).ok());
    EXPECT_EQ(owner.reclaim(peer1), 7u);
    EXPECT_EQ(owner.held_by(peer1), 0u);
    EXPECT_EQ(owner.free_count(), 6u + 7u);
    EXPECT_EQ(owner.held_by(peer2), 10u) << "reclaim touched another peer's buffers";
    EXPECT_EQ(owner.held_by(PoolOwner::self), 9u);
    // A late return from the dead peer is refused.
    EXPECT_EQ(owner.take_back(refs[5], peer1).error(), Error::not_owner);
    EXPECT_EQ(owner.reclaim(peer1), 0u) << "reclaimed twice";
    EXPECT_EQ(owner.reclaim(PoolOwner::self), 0u) << "reclaim(self) must not free the owner's buffers";
    EXPECT_EQ(owner.reclaim(PoolOwner::nobody), 0u);
    EXPECT_EQ(owner.free_count(), 13u);

    // Peer 2 crashes too; the owner frees what it holds: the pool is full.
    EXPECT_EQ(owner.reclaim(peer2), 10u);
    for (uint32_t i = 0; i < 3; ++i)
        ASSERT_TRUE(owner.free(refs[i]).ok());
    for (uint32_t i = 20; i < 26; ++i)
        ASSERT_TRUE(owner.free(refs[i]).ok());
    EXPECT_EQ(owner.free_count(), count);
    EXPECT_EQ(owner.held_by(PoolOwner::nobody), count);
    std::set<uint32_t> all;
    for (uint32_t i = 0; i < count; ++i) {
        auto ref = owner.allocate();
        ASSERT_TRUE(ref.ok());
        all.insert(ref.value().index);
    }
    EXPECT_EQ(all.size(), count);
    EXPECT_EQ(owner.allocate().error(), Error::not_found);
}

// A returned reference's offset and length are the peer's claim: take_back
// checks the buffer, and the owner reads through view().bytes(), which checks
// the rest.
TEST_F(ChannelPoolLending, ReturnedLengthsAreCheckedByTheView)
{
    BufferRef returned = refs[4];
    returned.offset = 200;
    returned.length = 100; // runs 44 bytes past the buffer
    ASSERT_TRUE(owner.take_back(returned, peer1).ok());
    EXPECT_EQ(owner.view().bytes(returned).error(), Error::malformed);
}

TEST(ChannelPoolView, RangeChecks)
{
    constexpr uint32_t size = 2048;
    PoolMemory memory({3, 8, size, 0});
    PoolView view;
    ASSERT_TRUE(view.attach(memory.data.get(), memory.bytes, memory.geometry).ok());
    uint8_t* const base = memory.data.get();

    struct Case {
        uint32_t index, offset, length;
        bool ok;
    };
    const Case cases[] = {
        {0, 0, size, true},
        {7, 0, size, true},
        {7, size, 0, true},     // empty, at the very end
        {7, size - 1, 1, true}, // the pool's last byte
        {7, 1, size - 1, true}, // offset + length == size
        {3, 100, 0, true},
        {0, 0, size + 1, false},
        {7, 1, size, false},
        {7, size, 1, false},
        {7, size + 1, 0, false},
        {0, 0xFFFFFFFF, 0xFFFFFFFF, false},
        {0, 0, 0xFFFFFFFF, false},
        {0, 0xFFFFFFFF, 0, false},
        {0, 0xFFFFFFFF, 1, false},     // offset + length wraps to 0
        {0, 1, 0xFFFFFFFF, false},     // wraps to 0
        {0, 0x80000000, 0x80000000, false}, // wraps to 0
        {0, size - 1, 0xFFFFFFFF - size + 2, false}, // wraps to 1
        {8, 0, 0, false},
        {0xFFFFFFFF, 0, 1, false},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE("index " + std::to_string(c.index) + " offset " + std::to_string(c.offset) + " length " +
                     std::to_string(c.length));
        const auto bytes = view.bytes({3, c.index, c.offset, c.length});
        ASSERT_EQ(bytes.ok(), c.ok);
        if (!c.ok) {
            EXPECT_EQ(bytes.error(), Error::malformed);
            continue;
        }
        uint8_t* const p = bytes.value();
        EXPECT_EQ(p, base + size_t{c.index} * size + c.offset);
        // Touch every byte the view allowed (ASan checks they are the pool's).
        std::memset(p, 0xAB, c.length);
    }
    // Wrong pool.
    EXPECT_EQ(view.bytes({4, 0, 0, 1}).error(), Error::malformed);
    EXPECT_EQ(view.bytes({0, 0, 0, 1}).error(), Error::malformed);
    EXPECT_EQ(view.buffer(7), base + 7 * size);
}

// ---------------------------------------------------------------------------
// Two threads: the owner lends buffers over an "active" ring, the peer
// returns them over a "free" ring, then crashes while holding some.

TEST(ChannelPoolThreads, BuffersGoRoundUntilThePeerCrashesThenReclaim)
{
    constexpr uint32_t count = 128;
    constexpr uint32_t size = 512;
    constexpr uint32_t id = 77;
    const uint64_t crash_after = 300000; // messages the peer receives before it dies
    PoolMemory memory({id, count, size, 0});
    // Both rings hold every buffer, so neither side ever waits for room.
    RingMemory active(count), returned(count);
    Failure failure;
    std::atomic<bool> crashed{false};
    uint64_t peer_received = 0, peer_returned = 0, peer_held_at_crash = 0;

    PoolOwner owner;
    ASSERT_TRUE(owner.init(memory.data.get(), memory.bytes, memory.geometry).ok());

    // The peer: checks each reference and the owner's bytes, writes its
    // answer into the buffer, and returns buffers in random-sized bunches.
    std::thread peer([&] {
        PoolView view; // its own view, as it would map the pool itself
        if (!view.attach(memory.data.get(), memory.bytes, memory.geometry).ok())
            return failure.fail("peer: attach to the pool failed");
        auto in = attach_end<Consumer<Message>>(active);
        auto out = attach_end<Producer<Message>>(returned);
        Rng rng(5);
        Idle idle(failure, "peer: nothing arrived");
        std::vector<Message> held;
        uint32_t keep = rng.between_1_and(32);
        Message batch[16];
        while (!failure.failed()) {
            bool wake = false;
            const uint32_t n = in.pop(batch, rng.between_1_and(16), &wake);
            if (n == 0) {
                if (!idle.wait())
                    return;
                continue;
            }
            idle.progress();
            for (uint32_t i = 0; i < n; ++i) {
                const Message& m = batch[i];
                auto bytes = view.bytes(m.buffer);
                if (!bytes.ok())
                    return failure.fail("peer: the owner sent a bad reference");
                const uint8_t* p = bytes.value();
                for (uint32_t b = 0; b < m.buffer.length; ++b)
                    if (p[b] != static_cast<uint8_t>(m.words[0] + b))
                        return failure.fail("peer: buffer contents of message " + std::to_string(m.words[0]) +
                                            " are wrong");
                // The answer: the whole buffer, filled with the sequence's low byte.
                uint8_t* whole = view.buffer(m.buffer.index);
                std::memset(whole, static_cast<uint8_t>(m.words[0] ^ 0xA5), size);
                Message answer = m;
                answer.buffer.offset = 0;
                answer.buffer.length = size;
                held.push_back(answer);
                ++peer_received;
                if (peer_received == crash_after) {
                    // Dies holding what it has not returned (at least this one).
                    peer_held_at_crash = held.size();
                    crashed.store(true, std::memory_order_release);
                    return;
                }
            }
            if (held.size() >= keep) {
                const uint32_t pushed = out.push(held.data(), static_cast<uint32_t>(held.size()), &wake);
                if (pushed != held.size())
                    return failure.fail("peer: the free ring was full");
                peer_returned += pushed;
                held.clear();
                keep = rng.between_1_and(32);
            }
        }
    });

    // The owner: takes returns back (checking the peer's answer), allocates,
    // fills, lends and sends, until the peer is gone.
    auto out = attach_end<Producer<Message>>(active);
    auto in = attach_end<Consumer<Message>>(returned);
    Rng rng(6);
    uint64_t sent = 0, taken_back = 0;
    std::vector<bool> ever_lent(count, false);
    auto drain = [&] {
        bool any = false;
        Message batch[16];
        bool wake = false;
        while (!failure.failed()) {
            const uint32_t n = in.pop(batch, 16, &wake);
            if (n == 0)
                break;
            any = true;
            for (uint32_t i = 0; i < n; ++i) {
                const BufferRef ref = batch[i].buffer;
                if (const auto back = owner.take_back(ref, peer1); !back.ok()) {
                    failure.fail(std::string("owner: take_back refused a buffer peer 1 held: ") +
                                 tern::error_name(back.error()));
                    return any;
                }
                auto bytes = owner.view().bytes(ref);
                if (!bytes.ok() || ref.length != size) {
                    failure.fail("owner: the peer returned a bad reference");
                    return any;
                }
                for (uint32_t b = 0; b < size; ++b)
                    if (bytes.value()[b] != static_cast<uint8_t>(batch[i].words[0] ^ 0xA5)) {
                        failure.fail("owner: the peer's answer in buffer " + std::to_string(ref.index) +
                                     " is wrong");
                        return any;
                    }
                if (!owner.free(ref).ok()) {
                    failure.fail("owner: free after take_back failed");
                    return any;
                }
                ++taken_back;
            }
        }
        return any;
    };
    {
        Idle idle(failure, "owner: the peer neither returned buffers nor crashed");
        while (!failure.failed() && !crashed.load(std::memory_order_acquire)) {
            bool progress = drain();
            for (uint32_t burst = rng.between_1_and(16); burst != 0; --burst) {
                auto allocated = owner.allocate();
                if (!allocated.ok())
                    break; // everything is lent: wait for returns
                BufferRef ref = allocated.value();
                ref.offset = rng.below(size + 1);
                ref.length = rng.below(size - ref.offset + 1);
                auto bytes = owner.view().bytes(ref);
                if (!bytes.ok()) {
                    failure.fail("owner: its own reference does not pass the view");
                    break;
                }
                for (uint32_t b = 0; b < ref.length; ++b)
                    bytes.value()[b] = static_cast<uint8_t>(sent + b);
                if (!owner.lend(ref, peer1).ok()) {
                    failure.fail("owner: lend of a fresh buffer failed");
                    break;
                }
                ever_lent[ref.index] = true;
                Message m{};
                m.type = data_message;
                m.buffer = ref;
                m.words[0] = sent;
                bool wake = false;
                if (out.push(&m, 1, &wake) != 1) {
                    failure.fail("owner: the active ring was full with buffers to spare");
                    break;
                }
                ++sent;
                progress = true;
            }
            if (progress)
                idle.progress();
            else
                idle.wait();
        }
    }
    peer.join();
    ASSERT_FALSE(failure.failed()) << failure.message();
    ASSERT_TRUE(crashed.load());

    // What the peer returned before it died is still good.
    drain();
    ASSERT_FALSE(failure.failed()) << failure.message();
    EXPECT_EQ(taken_back, peer_returned);
    const uint64_t outstanding = sent - taken_back;
    EXPECT_GT(peer_held_at_crash, 0u);
    // Lent and not back: what the peer held, plus what it never read.
    EXPECT_EQ(outstanding, peer_held_at_crash + (sent - peer_received));
    EXPECT_EQ(owner.held_by(peer1), outstanding);
    EXPECT_EQ(owner.free_count(), count - outstanding);

    EXPECT_EQ(owner.reclaim(peer1), outstanding);
    EXPECT_EQ(owner.free_count(), count);
    EXPECT_EQ(owner.held_by(peer1), 0u);
    EXPECT_EQ(owner.held_by(PoolOwner::nobody), count);
    // Anything the dead peer might still send back is refused.
    for (uint32_t index = 0; index < count; ++index)
        if (ever_lent[index]) {
            EXPECT_EQ(owner.take_back({id, index, 0, size}, peer1).error(), Error::not_owner) << index;
        }
    std::set<uint32_t> all;
    for (uint32_t i = 0; i < count; ++i)
        all.insert(owner.allocate().value_or({id, 0xFFFFFFFF, 0, 0}).index);
    EXPECT_EQ(all.size(), count);
    EXPECT_EQ(*all.rbegin(), count - 1);
    std::printf("  %llu buffers lent, %llu returned; the peer died holding %llu with %llu unread\n",
                static_cast<unsigned long long>(sent), static_cast<unsigned long long>(taken_back),
                static_cast<unsigned long long>(peer_held_at_crash),
                static_cast<unsigned long long>(sent - peer_received));
}

} // namespace
