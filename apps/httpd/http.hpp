// HTTP/1.0 and 1.1 as httpd speaks it (RFC 9110/9112, the small part a
// status server needs): a request head parsed from the bytes received so far,
// and whole responses, always with Content-Length and `Connection: close`.
// Pure: no sockets, no system calls.
#pragma once

#include <cstddef>
#include <cstdint>

#include "status_page.hpp"

namespace httpd {

enum class Method : uint8_t { get, head, other };

struct Request {
    Method method = Method::other;
    char path[256] = {};   // the target without its query ("/status.txt")
    bool http11 = false;   // HTTP/1.1 (else 1.0)
    bool has_host = false; // a Host header came (1.1 requires one)
    size_t head_length = 0; // bytes of the head, the empty line included
};

enum class Parse : uint8_t {
    incomplete, // no error so far, the head has not ended yet
    complete,
    bad,              // 400: not HTTP
    target_too_long,  // 414
    bad_version,      // 505: HTTP, but not 1.0 or 1.1
};

constexpr size_t max_method = 16;

// Parses the head at the start of data[0..length). Errors are reported as
// soon as the bytes show them, so garbage is refused without waiting for
// the end of a head that never comes. Empty lines before the request line
// are skipped; lines may end in CR LF or LF.
Parse parse_request(const char* data, size_t length, Request& request);

// The response to a complete request: 200 with the status page (GET / or
// /index.html: HTML; /status.txt: text), 404 for other paths, 405 for
// methods other than GET and HEAD, 400 for HTTP/1.1 without Host. HEAD gets
// the headers only (with the Content-Length a GET would have).
// Returns the status code.
int respond(StatusSource& source, const Request& request, Output& out);

// A short error response (400, 404, 405, 408, 414, 431, 500, 505).
void respond_error(int status, Output& out, bool head_only = false);

const char* reason_phrase(int status);

} // namespace httpd
