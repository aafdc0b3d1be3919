#include "runtime/rs_client.hpp"

#include "runtime/start.hpp"
#include "runtime/sys.hpp"

namespace tern {
namespace {

bool name_fits(const char* name)
{
    if (name == nullptr)
        return false;
    for (size_t i = 0; i <= rs::key_size; ++i)
        if (name[i] == '\0')
            return true;
    return false;
}

// Sends `m` (type and words filled in) to rs and waits for the answer in `m`.
int64_t request(sys::Message& m)
{
    const int64_t sent = sys::call(rs_endpoint(), m);
    if (sent < 0)
        return sent;
    return static_cast<int64_t>(m.words[0]);
}

} // namespace

int64_t rs_call(rs::Op op, const char* name, uint64_t arg, sys::Message& reply)
{
    if (!name_fits(name))
        return sys::error_code(sys::Error::invalid_argument);
    reply = sys::Message{};
    reply.type = static_cast<uint32_t>(op);
    rs::put_name(reply, name);
    reply.words[2] = arg;
    return request(reply);
}

int64_t rs_lookup(const char* name)
{
    sys::Message reply;
    const int64_t result = rs_call(rs::Op::lookup, name, 0, reply);
    return result < 0 ? result : static_cast<int64_t>(reply.words[1]);
}

int64_t ds_put(const char* key, const void* value, size_t size)
{
    if (!name_fits(key) || size > rs::value_size || (value == nullptr && size > 0))
        return sys::error_code(sys::Error::invalid_argument);
    sys::Message m{};
    m.type = static_cast<uint32_t>(rs::Op::ds_put);
    rs::put_name(m, key);
    auto* dst = reinterpret_cast<uint8_t*>(&m.words[2]);
    const auto* src = static_cast<const uint8_t*>(value);
    for (size_t i = 0; i < size; ++i)
        dst[i] = src[i];
    return request(m);
}

int64_t ds_get(const char* key, void* value, size_t size)
{
    if (!name_fits(key) || size > rs::value_size || (value == nullptr && size > 0))
        return sys::error_code(sys::Error::invalid_argument);
    sys::Message m{};
    m.type = static_cast<uint32_t>(rs::Op::ds_get);
    rs::put_name(m, key);
    const int64_t result = request(m);
    if (result < 0)
        return result;
    const auto* src = reinterpret_cast<const uint8_t*>(&m.words[2]);
    auto* dst = static_cast<uint8_t*>(value);
    for (size_t i = 0; i < size; ++i)
        dst[i] = src[i];
    return result;
}

int64_t rs_wait_for_endpoint(const char* name, sys::Endpoint old, uint64_t timeout_ns)
{
    const uint64_t deadline = static_cast<uint64_t>(sys::uptime()) + timeout_ns;
    for (;;) {
        const int64_t endpoint = rs_lookup(name);
        if (endpoint > 0 && static_cast<sys::Endpoint>(endpoint) != old)
            return endpoint;
        if (endpoint < 0 && endpoint != sys::error_code(sys::Error::not_found))
            return endpoint;
        if (static_cast<uint64_t>(sys::uptime()) > deadline)
            return endpoint < 0 ? endpoint : sys::error_code(sys::Error::would_block);
        (void)sys::sleep(1);
    }
}

int64_t rs_ensure_running(const char* name, uint64_t timeout_ns)
{
    const int64_t found = rs_lookup(name);
    if (found != sys::error_code(sys::Error::not_found))
        return found;
    sys::Message reply;
    const int64_t started = rs_call(rs::Op::start, name, ~0ull, reply);
    if (started < 0 && started != sys::error_code(sys::Error::busy))
        return started;
    return rs_wait_for_endpoint(name, 0, timeout_ns);
}

void receive_request(sys::Message& message)
{
    for (;;) {
        message = sys::Message{};
        if (sys::receive(sys::endpoint::any, message) < 0)
            continue;
        if (message.type != sys::message_type::notify)
            return;
        if (message.source == rs_endpoint())
            (void)sys::notify(message.source); // heartbeat
    }
}

} // namespace tern
