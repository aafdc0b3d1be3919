#include "proc/ipc.hpp"

#include "proc/scheduler.hpp"

namespace kernel {
namespace {

using sys::Error;
using sys::error_code;

bool waits_for(const Process& receiver, sys::Endpoint from)
{
    return receiver.state == sys::ProcessState::blocked && receiver.wait == Wait::receive &&
           (receiver.ipc_peer == sys::endpoint::any || receiver.ipc_peer == from);
}

// Hands `message` to a receiver that waits for it and wakes it.
void deliver(Process& receiver, const sys::Message& message)
{
    receiver.awaiting_reply = false;
    receiver.message = message;
    receiver.ipc_result = 0;
    make_ready(receiver);
}

// Takes the first pending notification that `source` accepts into `out`.
bool take_notification(Process& p, sys::Endpoint source, sys::Message& out)
{
    auto accept = [source](sys::Endpoint from) { return source == sys::endpoint::any || source == from; };
    out = sys::Message{};
    out.type = sys::message_type::notify;
    if (p.kernel_event_pending && accept(sys::endpoint::kernel)) {
        p.kernel_event_pending = false;
        out.source = sys::endpoint::kernel;
        return true;
    }
    if (p.pending_irqs != 0 && accept(sys::endpoint::hardware)) {
        out.source = sys::endpoint::hardware;
        out.words[0] = p.pending_irqs;
        p.pending_irqs = 0;
        return true;
    }
    if (p.alarm_pending && accept(sys::endpoint::clock)) {
        p.alarm_pending = false;
        out.source = sys::endpoint::clock;
        return true;
    }
    if (p.pending_exits != 0 && accept(sys::endpoint::exits)) {
        out.source = sys::endpoint::exits;
        out.words[0] = p.pending_exits;
        p.pending_exits = 0;
        return true;
    }
    for (uint64_t bits = p.pending_notify; bits != 0; bits &= bits - 1) {
        const unsigned slot = static_cast<unsigned>(__builtin_ctzll(bits));
        const sys::Endpoint from = process_slot(slot).endpoint();
        if (!accept(from))
            continue;
        p.pending_notify &= ~(1ull << slot);
        out.source = from;
        return true;
    }
    return false;
}

void try_deliver_notification(Process& target)
{
    // A caller waiting for its reply takes no notification (it stays pending).
    if (target.state != sys::ProcessState::blocked || target.wait != Wait::receive || target.awaiting_reply)
        return;
    sys::Message message;
    if (take_notification(target, target.ipc_peer, message))
        deliver(target, message);
}

void unlink_sender(Process& target, Process& sender)
{
    for (Process** link = &target.senders; *link != nullptr; link = &(*link)->next_sender) {
        if (*link == &sender) {
            *link = sender.next_sender;
            sender.next_sender = nullptr;
            return;
        }
    }
}

// The message a sender passes: read from its memory, stamped with its endpoint.
bool read_message(const Process& me, uint64_t user_message, sys::Message& out)
{
    if (!me.space.copy_in(&out, user_message, sizeof(out)))
        return false;
    out.source = me.endpoint();
    return true;
}

// Waits for a message from `source` and copies it to the caller.
int64_t wait_and_copy_out(Process& me, sys::Endpoint source, uint64_t user_message)
{
    me.ipc_peer = source;
    block_current(Wait::receive);
    if (me.ipc_result != 0)
        return me.ipc_result;
    return me.space.copy_out(user_message, &me.message, sizeof(me.message)) ? 0 : error_code(Error::bad_address);
}

int64_t send_common(Process& me, sys::Endpoint destination, uint64_t user_message, bool nonblocking, bool call)
{
    sys::Message message;
    if (!read_message(me, user_message, message))
        return error_code(Error::bad_address);
    if (call && !me.space.copy_out(user_message, &message, sizeof(message)))
        return error_code(Error::bad_address); // the reply must be writable there
    Process* target = process_for(destination);
    if (target == nullptr)
        return error_code(Error::dead_endpoint);
    if (target == &me)
        return error_code(Error::deadlock);

    if (waits_for(*target, me.endpoint())) {
        deliver(*target, message);
        if (!call)
            return 0;
        me.awaiting_reply = true;
        return wait_and_copy_out(me, destination, user_message);
    }
    if (nonblocking)
        return error_code(Error::would_block);

    // Queue behind earlier senders and wait until the target receives.
    me.message = message;
    me.ipc_peer = destination;
    me.in_call = call;
    me.next_sender = nullptr;
    Process** tail = &target->senders;
    while (*tail != nullptr)
        tail = &(*tail)->next_sender;
    *tail = &me;
    block_current(Wait::send);
    // Woken either with an error, or (call) with the reply already in me.message.
    if (me.ipc_result != 0 || !call)
        return me.ipc_result;
    return me.space.copy_out(user_message, &me.message, sizeof(me.message)) ? 0 : error_code(Error::bad_address);
}

} // namespace

int64_t ipc_send(Process& me, sys::Endpoint destination, uint64_t user_message, bool nonblocking)
{
    return send_common(me, destination, user_message, nonblocking, false);
}

int64_t ipc_call(Process& me, sys::Endpoint destination, uint64_t user_message)
{
    return send_common(me, destination, user_message, false, true);
}

int64_t ipc_receive(Process& me, sys::Endpoint source, uint64_t user_message)
{
    // Check the buffer before anything is taken out of a queue, so a bad
    // pointer never loses a message.
    sys::Message message{};
    if (!me.space.copy_out(user_message, &message, sizeof(message)))
        return error_code(Error::bad_address);
    const bool special = source == sys::endpoint::kernel || source == sys::endpoint::hardware ||
                         source == sys::endpoint::clock || source == sys::endpoint::exits ||
                         source == sys::endpoint::any;
    if (!special && process_for(source) == nullptr)
        return error_code(Error::dead_endpoint);
    if (source == me.endpoint())
        return error_code(Error::deadlock);

    if (take_notification(me, source, message))
        return me.space.copy_out(user_message, &message, sizeof(message)) ? 0 : error_code(Error::bad_address);

    for (Process* sender = me.senders; sender != nullptr; sender = sender->next_sender) {
        if (source != sys::endpoint::any && sender->endpoint() != source)
            continue;
        unlink_sender(me, *sender);
        message = sender->message;
        if (sender->in_call) {
            // The sender now waits for our reply (it stays blocked).
            sender->in_call = false;
            sender->awaiting_reply = true;
            sender->wait = Wait::receive;
            sender->ipc_peer = me.endpoint();
        } else {
            sender->ipc_result = 0;
            make_ready(*sender);
        }
        return me.space.copy_out(user_message, &message, sizeof(message)) ? 0 : error_code(Error::bad_address);
    }
    return wait_and_copy_out(me, source, user_message);
}

int64_t ipc_reply(Process& me, sys::Endpoint destination, uint64_t user_message)
{
    sys::Message message;
    if (!read_message(me, user_message, message))
        return error_code(Error::bad_address);
    Process* target = process_for(destination);
    if (target == nullptr)
        return error_code(Error::dead_endpoint);
    // Only a process that waits for us in particular (a caller) takes a reply.
    if (target->state != sys::ProcessState::blocked || target->wait != Wait::receive ||
        target->ipc_peer != me.endpoint())
        return error_code(Error::busy);
    deliver(*target, message);
    return 0;
}

int64_t ipc_watch(Process& me, sys::Endpoint watched)
{
    Process* target = process_for(watched);
    if (target == nullptr)
        return error_code(Error::dead_endpoint);
    if (target == &me)
        return error_code(Error::deadlock);
    me.watching |= 1ull << target->slot;
    me.watched_generation[target->slot] = target->generation;
    return 0;
}

int64_t ipc_notify(Process& me, sys::Endpoint destination)
{
    Process* target = process_for(destination);
    if (target == nullptr)
        return error_code(Error::dead_endpoint);
    target->pending_notify |= 1ull << me.slot;
    try_deliver_notification(*target);
    return 0;
}

void post_notification(Process& target, KernelSource source, uint64_t bits)
{
    switch (source) {
    case KernelSource::kernel: target.kernel_event_pending = true; break;
    case KernelSource::hardware: target.pending_irqs |= bits; break;
    case KernelSource::clock: target.alarm_pending = true; break;
    case KernelSource::exits: target.pending_exits |= bits; break;
    }
    try_deliver_notification(target);
}

void ipc_process_died(Process& dead)
{
    const sys::Endpoint gone = dead.endpoint();
    // Everyone queued to send to the dead process fails.
    while (Process* sender = dead.senders) {
        dead.senders = sender->next_sender;
        sender->next_sender = nullptr;
        sender->ipc_result = error_code(Error::dead_endpoint);
        make_ready(*sender);
    }
    // If it was itself queued somewhere, leave that queue.
    if (dead.wait == Wait::send) {
        if (Process* target = process_for(dead.ipc_peer))
            unlink_sender(*target, dead);
    }
    for (size_t slot = 0; slot < max_processes; ++slot) {
        Process& p = process_slot(slot);
        if (&p == &dead)
            continue;
        p.pending_notify &= ~(1ull << dead.slot);
        // Watchers of the dead process learn of its end.
        const uint64_t bit = 1ull << dead.slot;
        if ((p.watching & bit) != 0 && p.watched_generation[dead.slot] == dead.generation) {
            p.watching &= ~bit;
            if (p.alive())
                post_notification(p, KernelSource::exits, bit);
        }
        // Receivers waiting for it in particular (callers waiting for a reply among them).
        if (p.state == sys::ProcessState::blocked && p.wait == Wait::receive && p.ipc_peer == gone) {
            p.awaiting_reply = false;
            p.ipc_result = error_code(Error::dead_endpoint);
            make_ready(p);
        }
    }
    dead.wait = Wait::none;
}

} // namespace kernel
