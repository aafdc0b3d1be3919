// chantest: two processes on two cores talk through a channel (lib/channel,
// runtime/channel.hpp). Two module lines run this program:
//   chansource (mode=source, core 0, priv=crash): owns a pool of 256 packet
//     buffers, connects to chansink and, in phases,
//     1. busy: sends 1,000,000 messages, each lending a buffer with a payload
//        and its checksum; takes every buffer back from the reverse ring; the
//        kernel's system-call counters of both processes must not move;
//     2. idle: waits until chansink sleeps in the kernel, sends a ping and
//        times the pong: the kernel must wake it (20 times);
//     3. crash: has chansink hold 32 buffers, has rs crash it, sees its end
//        (proc_watch), reclaims the 32 buffers, connects to the restarted
//        chansink and exchanges 10,000 more messages;
//     then says "done" and waits (the scenario crashes it in turn).
//   chansink (mode=sink, core 1): a service that accepts one channel at a
//     time, checks every payload and sequence number, returns the buffers,
//     and survives the end of its client: it reads the rings once more after
//     the client is gone (the memory must still be mapped), closes the
//     channel and waits for the next one.
//   chanevil (mode=evil, core 0, priv=crash): a hostile client of chansink:
//     open requests with a bad ring size, with memory smaller than it claims,
//     with a pool smaller than its geometry; a ring whose shared index it
//     corrupts; a message with a forged buffer reference. chansink must
//     refuse or drop each, count what it dropped, and keep running (no
//     restart).
#include "channel/message.hpp"
#include "base/select.hpp"
#include "proto/channel.hpp"
#include "runtime/assert.hpp"
#include "runtime/channel.hpp"
#include "runtime/cpu.hpp"
#include "runtime/print.hpp"
#include "runtime/rs_client.hpp"
#include "runtime/sys.hpp"

namespace {

namespace sys = tern::sys;
using tern::Channel;
using tern::print;
using tern::rdtsc;
using Message = tern::channel::Message;
using tern::channel::BufferRef;

// Message types on the channel.
enum Type : uint32_t {
    data = 1,     // source -> sink: buffer, words[0] = sequence number, words[1] = payload checksum
    returned = 2, // sink -> source: the buffer of a data message, given back
    start = 3,    // source -> sink: a new phase: words[0] = spin budget in TSC cycles, sequence numbers restart
    ready = 4,    // sink -> source: the phase has started
    ping = 5,     // source -> sink: words[0] = TSC at sending
    pong = 6,     // sink -> source: the ping's words
    report = 7,   // source -> sink: report what you checked (and hold)
    summary = 8,  // sink -> source: words[0] = data messages checked, words[1] = bad ones, words[2] = held
};
constexpr uint32_t flag_hold = 1; // data: keep the buffer (do not return it)

constexpr uint32_t slots = 512;       // per ring: more than the pool, so returns never wait for room
constexpr uint32_t pool_buffers = 256;
constexpr uint32_t batch = 32;
constexpr uint64_t busy_messages = 1'000'000;
constexpr uint64_t reconnect_messages = 10'000;
constexpr int idle_rounds = 20;
constexpr uint32_t held_buffers = 32;
constexpr uint64_t busy_spin = 4'000'000'000; // cycles a busy side polls before it sleeps (seconds)
constexpr uint64_t idle_spin = 100'000;
constexpr uint64_t timeout_ms = 10'000;
constexpr tern::channel::PoolOwner::Holder sink_holder = 1;

// The payload of message `seq`: 1..32 words at a word offset of 0..3.
uint32_t payload_words(uint64_t seq) { return 1 + static_cast<uint32_t>(seq % 32); }
uint32_t payload_offset(uint64_t seq) { return 8 * static_cast<uint32_t>(seq % 4); }
uint64_t payload_word(uint64_t seq, uint64_t i) { return (seq * 0x9E3779B97F4A7C15ull) ^ (i * 0xC2B2AE3D27D4EB4Full); }

uint64_t checksum(const uint64_t* words, uint32_t count)
{
    uint64_t sum = 0xCBF29CE484222325ull;
    for (uint32_t i = 0; i < count; ++i)
        sum = (sum ^ words[i]) * 0x100000001B3ull;
    return sum;
}

// --- the sink ----------------------------------------------------------------

class Sink {
public:
    int run()
    {
        for (;;) {
            sys::Message m{};
            if (!m_channel.is_open()) {
                if (sys::receive(sys::endpoint::any, m) == 0)
                    control(m);
                continue;
            }
            if (drain() != 0 || !m_channel.is_open()) {
                m_last_work = rdtsc();
                continue;
            }
            if (rdtsc() - m_last_work < m_spin) {
                tern::cpu_relax();
                continue;
            }
            tern::channel::WaitSet set;
            set.add(m_channel.rx());
            if (tern::wait(set, m))
                control(m);
        }
    }

private:
    void control(const sys::Message& m)
    {
        if (m.type == tern::channel_proto::open) {
            if (const auto accepted = m_channel.accept(m, nullptr); !accepted.ok()) {
                print("chansink: refused a channel from 0x%lx: %s\n", m.source, tern::error_name(accepted.error()));
                return;
            }
            m_expected = m_checked = m_bad = m_held = 0;
            m_spin = idle_spin;
            print("chansink: channel from 0x%lx accepted\n", m.source);
            return;
        }
        if (m_channel.peer_ended(m)) {
            // The client is gone but its rings stay mapped until we close:
            // look at them once more (this must not fault).
            const uint32_t left = m_channel.rx().available();
            print("chansink: peer 0x%lx ended, %u messages left in its ring, closing the channel, still running\n",
                  m_channel.peer(), left);
            m_channel.close();
        }
    }

    // Handles up to one batch of messages; returns how many.
    uint32_t drain()
    {
        auto& rx = m_channel.rx();
        // Each message may need a reply slot: take no more than there is room for.
        const uint32_t waiting = rx.available();
        const uint32_t room = m_channel.tx().space(batch);
        uint32_t n = waiting < batch ? waiting : batch;
        n = n < room ? n : room;
        uint32_t replies = 0;
        for (uint32_t i = 0; i < n; ++i) {
            const Message m = rx.read(i);
            if (handle(m, m_channel.tx().slot(replies)))
                ++replies;
        }
        if (n != 0)
            m_channel.release(n);
        if (replies != 0)
            m_channel.publish(replies);
        if (m_channel.rx().broken() || m_channel.tx().broken()) {
            print("chansink: the channel from 0x%lx is corrupt, closing it\n", m_channel.peer());
            m_channel.close();
        } else if (n == 0 && m_channel.peer_closed()) {
            print("chansink: 0x%lx closed its channel\n", m_channel.peer());
            m_channel.close();
        }
        return n;
    }

    // Handles one message; true if it wrote a reply into `reply` (a free tx slot).
    bool handle(const Message& m, Message& reply)
    {
        reply = Message{};
        switch (m.type) {
        case data: {
            check(m);
            if ((m.flags & flag_hold) != 0) {
                ++m_held;
                return false;
            }
            reply.type = returned;
            reply.buffer = m.buffer;
            return true;
        }
        case start:
            m_spin = m.words[0];
            m_expected = m_checked = m_bad = 0;
            reply.type = ready;
            return true;
        case ping:
            reply.type = pong;
            reply.words[0] = m.words[0];
            return true;
        case report:
            if (m_bad == 0)
                print("chansink: %lu messages, all checksums ok\n", m_checked);
            else
                print("chansink: %lu messages, %lu BAD\n", m_checked, m_bad);
            reply.type = summary;
            reply.words[0] = m_checked;
            reply.words[1] = m_bad;
            reply.words[2] = m_held;
            m_spin = idle_spin;
            return true;
        default: ++m_bad; return false;
        }
    }

    void check(const Message& m)
    {
        const uint64_t seq = m.words[0];
        const auto bytes = m_channel.peer_pool() != nullptr ? m_channel.peer_pool()->bytes(m.buffer)
                                                            : tern::Result<uint8_t*>(tern::Error::malformed);
        const bool ok = seq == m_expected && bytes.ok() && m.buffer.length == payload_words(seq) * 8 &&
                        m.buffer.offset == payload_offset(seq) &&
                        checksum(reinterpret_cast<const uint64_t*>(bytes.value_or(nullptr)), payload_words(seq)) ==
                            m.words[1];
        if (!ok && m_bad++ < 5)
            print("chansink: bad message: seq %lu (expected %lu), buffer %u+%u/%u\n", seq, m_expected,
                  m.buffer.index, m.buffer.offset, m.buffer.length);
        m_expected = seq + 1;
        ++m_checked;
    }

    Channel m_channel;
    uint64_t m_spin = idle_spin;
    uint64_t m_last_work = 0;
    uint64_t m_expected = 0, m_checked = 0, m_bad = 0, m_held = 0;
};

// --- the source --------------------------------------------------------------

class Source {
public:
    int run()
    {
        if (const auto made = m_pool.create(pool_buffers); !made.ok())
            fail("cannot make the pool: %s", tern::error_name(made.error()));
        const int64_t sink = tern::rs_ensure_running("chansink", timeout_ms * 1'000'000);
        if (sink < 0)
            fail("chansink is not running: %s", sys::error_name(sink));
        if (const auto connected = m_channel.connect("chansink", slots, &m_pool); !connected.ok())
            fail("cannot connect to chansink: %s", tern::error_name(connected.error()));

        busy_phase(busy_messages, true);
        idle_phase();
        crash_phase();

        print("chansource: done\n");
        for (;;) {
            sys::Message m{};
            (void)sys::receive(sys::endpoint::any, m);
        }
    }

private:
    template <typename... Args>
    [[noreturn]] void fail(const char* fmt, Args... args)
    {
        tern::exit_with_message(1, "chansource: FAILED: ", fmt, args...);
    }

    void connect(sys::Endpoint sink)
    {
        if (const auto connected = m_channel.connect(sink, slots, &m_pool); !connected.ok())
            fail("cannot connect to chansink 0x%lx: %s", sink, tern::error_name(connected.error()));
    }

    void send(uint32_t type, uint64_t word = 0)
    {
        Message m{};
        m.type = type;
        m.words[0] = word;
        if (!m_channel.send(m))
            fail("the ring to chansink is full");
    }

    // The next message from the sink, which must be of type `type`; returned
    // buffers on the way are taken back. Sleeps when there is nothing (a
    // system call; not used in the busy phase), with a timeout.
    Message await(uint32_t type)
    {
        (void)sys::alarm(timeout_ms);
        for (;;) {
            Message m{};
            if (receive_one(m)) {
                if (m.type == type) {
                    (void)sys::alarm(0);
                    return m;
                }
                fail("expected message type %u from chansink, got %u", type, m.type);
            }
            tern::channel::WaitSet set;
            set.add(m_channel.rx());
            sys::Message woke{};
            if (!tern::wait(set, woke))
                continue;
            if (woke.source == sys::endpoint::clock)
                fail("timed out waiting for message type %u from chansink", type);
            if (m_channel.peer_ended(woke))
                fail("chansink ended while we waited for message type %u", type);
        }
    }

    // One message that is not a returned buffer, if there is one.
    bool receive_one(Message& out)
    {
        auto& rx = m_channel.rx();
        while (rx.available() != 0) {
            out = rx.read(0);
            m_channel.release(1);
            if (out.type != returned)
                return true;
            take_back(out.buffer);
        }
        if (rx.broken())
            fail("the ring from chansink is corrupt");
        return false;
    }

    void take_back(const BufferRef& ref)
    {
        auto& owner = m_pool.owner();
        if (const auto back = owner.take_back(ref, sink_holder); !back.ok())
            fail("chansink returned a buffer it does not hold (%u): %s", ref.index, tern::error_name(back.error()));
        if (const auto freed = owner.free(ref); !freed.ok())
            fail("cannot free buffer %u: %s", ref.index, tern::error_name(freed.error()));
        ++m_returned;
    }

    // Fills `slot` with data message `seq` in a fresh buffer lent to the sink.
    bool fill(uint64_t seq, uint32_t flags, Message& slot)
    {
        auto buffer = m_pool.owner().allocate();
        if (!buffer.ok())
            return false;
        BufferRef ref = buffer.value();
        ref.offset = payload_offset(seq);
        ref.length = payload_words(seq) * 8;
        auto* words = reinterpret_cast<uint64_t*>(m_pool.data(ref));
        for (uint32_t i = 0; i < payload_words(seq); ++i)
            words[i] = payload_word(seq, i);
        slot = Message{};
        slot.type = data;
        slot.flags = flags;
        slot.buffer = ref;
        slot.words[0] = seq;
        slot.words[1] = checksum(words, payload_words(seq));
        if (const auto lent = m_pool.owner().lend(ref, sink_holder); !lent.ok())
            fail("cannot lend buffer %u: %s", ref.index, tern::error_name(lent.error()));
        return true;
    }

    // Sends `count` data messages as fast as the rings allow, polling only
    // (no system call unless a side announced sleep), until every buffer is
    // back. Returns the TSC cycles it took.
    uint64_t stream(uint64_t count)
    {
        auto& tx = m_channel.tx();
        uint64_t seq = 0;
        m_returned = 0;
        const uint64_t begin = rdtsc();
        while (m_returned < count) {
            Message other{};
            if (receive_one(other))
                fail("unexpected message type %u from chansink while streaming", other.type);
            uint32_t filled = 0;
            const uint32_t room = tx.space(batch);
            while (filled < room && filled < batch && seq < count && fill(seq, 0, tx.slot(filled))) {
                ++filled;
                ++seq;
            }
            if (filled != 0)
                m_channel.publish(filled);
            else if (tx.broken())
                fail("the ring to chansink is corrupt");
            else
                tern::cpu_relax();
        }
        return rdtsc() - begin;
    }

    // A ping answered while we only poll: once the pong is here, any system
    // call the sink made to wake us earlier has finished, and neither side
    // has announced sleep.
    void sync()
    {
        send(ping, 0);
        Message m{};
        const uint64_t begin = rdtsc();
        while (!receive_one(m)) {
            if (rdtsc() - begin > busy_spin)
                fail("no pong from the busy chansink");
            tern::cpu_relax();
        }
        if (m.type != pong)
            fail("expected a pong, got message type %u", m.type);
    }

    // Phase 1 (and the exchange after reconnecting): `count` messages with
    // checksums; both processes must stay out of the kernel meanwhile.
    void busy_phase(uint64_t count, bool announce)
    {
        const sys::Endpoint sink = m_channel.peer();
        send(start, busy_spin);
        (void)await(ready);
        sync();
        // The order matters: our own count is read last before and first
        // after the phase, so exactly one call (the second read) lies between.
        const auto self = static_cast<sys::Endpoint>(sys::self());
        const int64_t sink_before = sys::syscall_count(sink);
        const int64_t own_before = sys::syscall_count(self);
        const uint64_t wakeups_before = m_channel.wakeups();
        const uint64_t cycles = stream(count);
        const int64_t own_after = sys::syscall_count(self);
        const int64_t sink_after = sys::syscall_count(sink);
        const int64_t own_calls = own_after - own_before - 1;
        const int64_t sink_calls = sink_after - sink_before;
        send(report);
        const Message result = await(summary);
        if (result.words[0] != count || result.words[1] != 0)
            fail("chansink checked %lu messages, %lu bad (sent %lu)", result.words[0], result.words[1], count);
        if (m_pool.owner().free_count() != pool_buffers)
            fail("only %u of %u buffers are back", m_pool.owner().free_count(), pool_buffers);
        if (announce) {
            print("chansource: busy phase: %lu messages in %lu cycles (%lu per message), all %u buffers back, "
                  "system calls during it: chansource %ld, chansink %ld (wake-ups %lu)\n",
                  count, cycles, cycles / count, pool_buffers, own_calls, sink_calls,
                  m_channel.wakeups() - wakeups_before);
            if (own_calls != 0 || sink_calls != 0)
                fail("system calls happened while both sides were busy");
        }
    }

    // Phase 2: a message to a consumer that sleeps in the kernel.
    void idle_phase()
    {
        send(start, 0); // the sink sleeps as soon as its ring is empty
        (void)await(ready);
        static uint32_t cycles[idle_rounds];
        int woken = 0;
        for (int round = 0; round < idle_rounds; ++round) {
            wait_until_asleep();
            const uint64_t wakeups = m_channel.wakeups();
            const uint64_t sent = rdtsc();
            send(ping, sent);
            const Message back = await(pong);
            const uint64_t took = rdtsc() - sent;
            if (back.words[0] != sent)
                fail("pong %lu does not match ping %lu", back.words[0], sent);
            woken += m_channel.wakeups() == wakeups + 1 ? 1 : 0;
            cycles[round] = took > 0xFFFFFFFF ? 0xFFFFFFFF : static_cast<uint32_t>(took);
        }
        print("chansource: idle chansink woken by the kernel %d of %d times; ping to pong median %u cycles\n", woken,
              idle_rounds, tern::kth_smallest(cycles, idle_rounds, idle_rounds / 2));
        if (woken != idle_rounds)
            fail("the sink was not asleep (or not woken) every time");
    }

    // Until the sink has announced sleep and blocks in the kernel.
    void wait_until_asleep()
    {
        const uint64_t deadline = static_cast<uint64_t>(sys::uptime()) + timeout_ms * 1'000'000;
        for (;;) {
            sys::ProcessInfo info{};
            if (m_channel.tx().consumer_asleep() &&
                sys::proc_info(sys::endpoint::slot(m_channel.peer()), info) == 0 &&
                info.state == sys::ProcessState::blocked)
                return;
            if (static_cast<uint64_t>(sys::uptime()) > deadline)
                fail("chansink does not go to sleep");
            (void)sys::yield();
        }
    }

    // Phase 3: the sink crashes holding buffers; we reclaim them and
    // reconnect to its restarted successor.
    void crash_phase()
    {
        send(start, idle_spin);
        (void)await(ready);
        auto& tx = m_channel.tx();
        if (tx.space(held_buffers) < held_buffers)
            fail("no room for the held messages");
        for (uint32_t i = 0; i < held_buffers; ++i) {
            if (!fill(i, flag_hold, tx.slot(i)))
                fail("no free buffer");
        }
        m_channel.publish(held_buffers);
        send(report);
        const Message result = await(summary);
        if (result.words[2] != held_buffers || m_pool.owner().held_by(sink_holder) != held_buffers)
            fail("chansink holds %lu buffers, our record says %u", result.words[2],
                 m_pool.owner().held_by(sink_holder));

        const sys::Endpoint old = m_channel.peer();
        sys::Message reply;
        if (const int64_t crashed = tern::rs_call(tern::rs::Op::crash, "chansink",
                                                  static_cast<uint64_t>(sys::CrashKind::segfault), reply);
            crashed < 0)
            fail("cannot have chansink crashed: %s", sys::error_name(crashed));
        (void)sys::alarm(timeout_ms);
        for (;;) {
            sys::Message m{};
            if (sys::receive(sys::endpoint::any, m) < 0 || m.source == sys::endpoint::clock)
                fail("the end of chansink was not reported");
            if (m_channel.peer_ended(m))
                break;
        }
        (void)sys::alarm(0);
        const uint32_t reclaimed = m_pool.owner().reclaim(sink_holder);
        print("chansource: chansink ended holding %u buffers, %u reclaimed, %u of %u free\n", held_buffers,
              reclaimed, m_pool.owner().free_count(), pool_buffers);
        if (reclaimed != held_buffers || m_pool.owner().free_count() != pool_buffers)
            fail("the pool did not get its buffers back");
        m_channel.close();

        const int64_t restarted = tern::rs_wait_for_endpoint("chansink", old, timeout_ms * 1'000'000);
        if (restarted < 0)
            fail("chansink was not restarted: %s", sys::error_name(restarted));
        connect(static_cast<sys::Endpoint>(restarted));
        busy_phase(reconnect_messages, false);
        print("chansource: reconnected to the restarted chansink (0x%lx), %lu messages checked\n", restarted,
              reconnect_messages);
    }

    tern::SharedPool m_pool;
    Channel m_channel;
    uint64_t m_returned = 0;
};

// --- the hostile client -----------------------------------------------------

class Evil {
public:
    int run()
    {
        const int64_t sink = tern::rs_ensure_running("chansink", timeout_ms * 1'000'000);
        if (sink < 0)
            fail("chansink is not running: %s", sys::error_name(sink));
        m_sink = static_cast<sys::Endpoint>(sink);

        const uint64_t small = make_object(4096);
        const uint64_t rings = make_object(2 * tern::channel::ring_bytes(slots));
        expect_refused("a ring of 3 slots", rings, 3, 0, {});
        expect_refused("rings in 4 KiB claiming 512 slots", small, slots, 0, {});
        expect_refused("a pool of 4 KiB claiming 256 buffers of 2 KiB", rings, slots, small,
                       {0x4556'0001, 256, 2048, 0});
        expect_refused("a pool with a zero buffer size", rings, slots, small, {0x4556'0002, 1, 0, 0});

        corrupt_ring();
        forged_reference();

        if (tern::rs_lookup("chansink") != sink)
            fail("chansink is not the same process any more");
        print("chanevil: chansink 0x%lx survived all of it (no restart)\n", m_sink);
        return 0;
    }

private:
    template <typename... Args>
    [[noreturn]] void fail(const char* fmt, Args... args)
    {
        tern::exit_with_message(1, "chanevil: FAILED: ", fmt, args...);
    }

    uint64_t make_object(uint64_t size)
    {
        const int64_t handle = sys::shm_create(size);
        if (handle < 0 || sys::shm_grant(static_cast<uint64_t>(handle), m_sink,
                                         sys::map_flags::read | sys::map_flags::write) < 0)
            fail("cannot make a shared object");
        return static_cast<uint64_t>(handle);
    }

    void expect_refused(const char* what, uint64_t rings, uint64_t ring_slots, uint64_t pool,
                        tern::channel::PoolGeometry geometry)
    {
        sys::Message m{};
        m.type = tern::channel_proto::open;
        m.words[0] = rings;
        m.words[1] = ring_slots;
        tern::channel_proto::put_pool(m, pool, geometry);
        if (const int64_t called = sys::call(m_sink, m); called < 0)
            fail("open (%s): %s", what, sys::error_name(called));
        const auto result = static_cast<int64_t>(m.words[0]);
        if (result >= 0)
            fail("chansink accepted %s", what);
        print("chanevil: %s: refused (%s)\n", what, sys::error_name(result));
    }

    // Connects for real, retrying while chansink still has a previous
    // channel open (busy).
    void connect(Channel& channel, tern::SharedPool* pool)
    {
        const uint64_t deadline = static_cast<uint64_t>(sys::uptime()) + timeout_ms * 1'000'000;
        for (;;) {
            const auto connected = channel.connect(m_sink, 64, pool);
            if (connected.ok())
                return;
            if (connected.error() != tern::Error::busy || static_cast<uint64_t>(sys::uptime()) > deadline)
                fail("cannot connect: %s", tern::error_name(connected.error()));
            (void)sys::sleep(10);
        }
    }

    // A head far beyond what the ring can hold: the sink must call the ring
    // broken and close the channel rather than read past it.
    void corrupt_ring()
    {
        Channel channel;
        connect(channel, nullptr);
        auto* control = channel.tx().control();
        control->head.store(control->tail.load() + 100'000);
        (void)sys::notify(m_sink);
        // The sink is free again only once it has closed the channel.
        Channel next;
        connect(next, nullptr);
        print("chanevil: a corrupt ring index: chansink closed that channel and accepted the next\n");
    }

    // A data message whose buffer index lies outside our pool.
    void forged_reference()
    {
        tern::SharedPool pool;
        if (!pool.create(16).ok())
            fail("cannot make a pool");
        Channel channel;
        connect(channel, &pool);
        Message m{};
        m.type = start;
        channel.send(m);
        m = Message{};
        m.type = data;
        m.buffer = tern::channel::BufferRef{pool.geometry().id, 1000, 0, 64};
        channel.send(m);
        m = Message{};
        m.type = report;
        channel.send(m);
        (void)sys::alarm(timeout_ms);
        for (;;) {
            auto& rx = channel.rx();
            if (rx.available() != 0) {
                const Message back = rx.read(0);
                channel.release(1);
                if (back.type != summary)
                    continue;
                if (back.words[1] != 1)
                    fail("chansink counted %lu bad messages, not 1", back.words[1]);
                break;
            }
            tern::channel::WaitSet set;
            set.add(rx);
            sys::Message woke{};
            if (tern::wait(set, woke) && woke.source == sys::endpoint::clock)
                fail("no summary from chansink");
        }
        (void)sys::alarm(0);
        print("chanevil: a forged buffer reference: chansink dropped and counted it\n");
    }

    sys::Endpoint m_sink = 0;
};

} // namespace

int main(int argc, char** argv)
{
    for (int i = 1; i < argc; ++i) {
        if (__builtin_strcmp(argv[i], "mode=sink") == 0)
            return Sink().run();
        if (__builtin_strcmp(argv[i], "mode=source") == 0)
            return Source().run();
        if (__builtin_strcmp(argv[i], "mode=evil") == 0)
            return Evil().run();
    }
    tern::exit_with_message(1, "chantest: FAILED: ", "no mode= (source, sink or evil)");
}
