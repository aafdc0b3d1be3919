#include "server.hpp"

#include <new>

namespace httpd {

struct Server::Connection {
    enum class Phase : uint8_t { reading, writing, lingering };
    int fd = -1;
    Phase phase = Phase::reading;
    char* request = nullptr; // config.max_request bytes
    size_t received = 0;
    Output response;
    size_t sent = 0;
    uint64_t deadline_ms = 0;
};

Server::Server(const Config& config, StatusSource& source) : m_config(config), m_source(source) {}

Server::~Server()
{
    for (size_t i = 0; m_connections != nullptr && i < m_config.max_connections; ++i) {
        if (m_connections[i].fd >= 0)
            end(m_connections[i], false);
        delete[] m_connections[i].request;
    }
    if (m_listener >= 0)
        (void)netio::close(m_listener);
    delete[] m_connections;
    delete[] m_poll;
    delete[] m_poll_owner;
}

int Server::start()
{
    m_connections = new (std::nothrow) Connection[m_config.max_connections];
    m_poll = new (std::nothrow) netio::PollEntry[m_config.max_connections + 1];
    m_poll_owner = new (std::nothrow) int[m_config.max_connections + 1];
    if (m_connections == nullptr || m_poll == nullptr || m_poll_owner == nullptr)
        return -netio::err::no_memory;
    for (size_t i = 0; i < m_config.max_connections; ++i) {
        m_connections[i].request = new (std::nothrow) char[m_config.max_request];
        if (m_connections[i].request == nullptr)
            return -netio::err::no_memory;
    }
    const int fd = netio::open(netio::Kind::tcp);
    if (fd < 0)
        return fd;
    m_listener = fd;
    (void)netio::set_reuse_address(fd);
    if (const int r = netio::bind(fd, {m_config.address, m_config.port}); r < 0)
        return r;
    return netio::listen(fd, m_config.backlog);
}

int Server::step(int max_wait_ms)
{
    uint64_t now = netio::now_ms();
    int timeout = max_wait_ms;
    size_t n = 0;
    if (m_used < m_config.max_connections) {
        m_poll[n] = {m_listener, netio::poll_in, 0};
        m_poll_owner[n++] = -1;
    }
    for (size_t i = 0; i < m_config.max_connections; ++i) {
        const Connection& c = m_connections[i];
        if (c.fd < 0)
            continue;
        m_poll[n] = {c.fd, c.phase == Connection::Phase::writing ? netio::poll_out : netio::poll_in, 0};
        m_poll_owner[n++] = static_cast<int>(i);
        const uint64_t left = c.deadline_ms > now ? c.deadline_ms - now : 0;
        if (timeout < 0 || left < static_cast<uint64_t>(timeout))
            timeout = static_cast<int>(left);
    }
    const int ready = netio::poll(m_poll, n, timeout);
    if (ready < 0 && ready != -4) // EINTR (host tests): just another round
        return ready;
    bool listener_ready = false;
    for (size_t e = 0; ready > 0 && e < n; ++e) {
        if (m_poll[e].revents == 0)
            continue;
        if (m_poll_owner[e] < 0)
            listener_ready = true;
        else if (m_connections[m_poll_owner[e]].fd == m_poll[e].fd)
            serve(m_connections[m_poll_owner[e]]);
    }
    now = netio::now_ms();
    for (size_t i = 0; i < m_config.max_connections; ++i) {
        Connection& c = m_connections[i];
        if (c.fd < 0 || c.deadline_ms > now)
            continue;
        switch (c.phase) {
        case Connection::Phase::reading:
            ++m_counters.timeouts;
            start_response(c, 408, nullptr);
            break;
        case Connection::Phase::writing:
            ++m_counters.timeouts;
            end(c, true); // it does not read what it asked for
            break;
        case Connection::Phase::lingering: end(c, false); break;
        }
    }
    if (listener_ready)
        accept_all();
    return 0;
}

void Server::accept_all()
{
    while (m_used < m_config.max_connections) {
        const int fd = netio::accept(m_listener, nullptr);
        if (fd == -netio::err::again)
            return;
        if (fd < 0) {
            if (fd == -netio::err::connection_aborted || fd == -netio::err::connection_reset)
                continue;
            return;
        }
        size_t slot = 0;
        while (m_connections[slot].fd >= 0)
            ++slot;
        Connection& c = m_connections[slot];
        c.fd = fd;
        c.phase = Connection::Phase::reading;
        c.received = 0;
        c.sent = 0;
        c.response.clear();
        c.deadline_ms = netio::now_ms() + m_config.request_timeout_ms;
        ++m_used;
        ++m_counters.connections;
        read_request(c); // the request may be there already
    }
}

void Server::serve(Connection& c)
{
    switch (c.phase) {
    case Connection::Phase::reading: read_request(c); return;
    case Connection::Phase::writing: write_response(c); return;
    case Connection::Phase::lingering: linger(c); return;
    }
}

void Server::read_request(Connection& c)
{
    for (;;) {
        if (c.received == m_config.max_request) {
            start_response(c, 431, nullptr);
            return;
        }
        const int64_t n = netio::recv(c.fd, c.request + c.received, m_config.max_request - c.received);
        if (n == -netio::err::again)
            return;
        if (n < 0) {
            end(c, true);
            return;
        }
        if (n == 0) {
            // The client stopped sending before its head ended.
            if (c.received == 0)
                end(c, false);
            else
                start_response(c, 400, nullptr);
            return;
        }
        c.received += static_cast<size_t>(n);
        Request request;
        switch (parse_request(c.request, c.received, request)) {
        case Parse::incomplete: continue;
        case Parse::complete: start_response(c, 200, &request); return;
        case Parse::bad: start_response(c, 400, nullptr); return;
        case Parse::target_too_long: start_response(c, 414, nullptr); return;
        case Parse::bad_version: start_response(c, 505, nullptr); return;
        }
    }
}

void Server::start_response(Connection& c, int status, const Request* request)
{
    c.response.clear();
    if (request != nullptr)
        status = respond(m_source, *request, c.response);
    else
        respond_error(status, c.response);
    if (!c.response.ok()) {
        end(c, true); // out of memory: nothing sensible to send
        return;
    }
    ++m_counters.responses[status / 100 < 6 ? status / 100 : 5];
    c.phase = Connection::Phase::writing;
    c.sent = 0;
    c.deadline_ms = netio::now_ms() + m_config.send_timeout_ms;
    write_response(c);
}

void Server::write_response(Connection& c)
{
    while (c.sent < c.response.size()) {
        const int64_t n = netio::send(c.fd, c.response.data() + c.sent, c.response.size() - c.sent);
        if (n == -netio::err::again)
            return;
        if (n <= 0) {
            end(c, true);
            return;
        }
        c.sent += static_cast<size_t>(n);
    }
    // All written: end our side, and let the client close first.
    (void)netio::shutdown(c.fd, netio::shut_write);
    c.phase = Connection::Phase::lingering;
    c.deadline_ms = netio::now_ms() + m_config.linger_ms;
    linger(c);
}

void Server::linger(Connection& c)
{
    for (int i = 0; i < 16; ++i) {
        const int64_t n = netio::recv(c.fd, m_drain, sizeof(m_drain));
        if (n == -netio::err::again)
            return;
        if (n <= 0) {
            end(c, false);
            return;
        }
    }
}

void Server::end(Connection& c, bool error)
{
    (void)netio::close(c.fd);
    c.fd = -1;
    c.response.clear();
    --m_used;
    if (error)
        ++m_counters.resets;
}

} // namespace httpd
