#include "http.hpp"

namespace httpd {
namespace {

bool is_token(char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    for (const char* p = "!#$%&'*+-.^_`|~"; *p != '\0'; ++p)
        if (c == *p)
            return true;
    return false;
}

bool equal_ignoring_case(const char* a, size_t length, const char* b)
{
    for (size_t i = 0; i < length; ++i) {
        char c = a[i];
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
        if (b[i] == '\0' || c != b[i])
            return false;
    }
    return b[length] == '\0';
}

bool equal(const char* a, const char* b)
{
    while (*a != '\0' && *a == *b) {
        ++a;
        ++b;
    }
    return *a == *b;
}

// A line end at data[i]: CR LF or LF. Sets `next` after it.
Parse line_end(const char* data, size_t length, size_t i, size_t& next)
{
    if (i == length)
        return Parse::incomplete;
    if (data[i] == '\n') {
        next = i + 1;
        return Parse::complete;
    }
    if (data[i] != '\r')
        return Parse::bad;
    if (i + 1 == length)
        return Parse::incomplete;
    if (data[i + 1] != '\n')
        return Parse::bad;
    next = i + 2;
    return Parse::complete;
}

void copy_path(const char* target, size_t length, Request& request)
{
    // The absolute form (a proxy's "http://host/path") names the same path.
    size_t start = 0;
    if (length >= 7 && equal_ignoring_case(target, 7, "http://")) {
        start = 7;
        while (start < length && target[start] != '/')
            ++start;
    }
    size_t n = 0;
    if (start == length)
        request.path[n++] = '/';
    for (size_t i = start; i < length && target[i] != '?' && target[i] != '#'; ++i)
        request.path[n++] = target[i];
    request.path[n] = '\0';
}

void respond_with(Output& out, int status, const char* content_type, const Output* body, bool head_only,
                  const char* extra_header = nullptr)
{
    const char* fallback_type = "text/plain; charset=utf-8";
    char fallback[64];
    size_t length;
    if (body != nullptr) {
        length = body->size();
    } else {
        length = tern::format_to(fallback, sizeof(fallback), "%d %s\n", status, reason_phrase(status));
        content_type = fallback_type;
    }
    out.append("HTTP/1.1 %d %s\r\nServer: tern-httpd\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
               "Cache-Control: no-store\r\nConnection: close\r\n%s\r\n",
               status, reason_phrase(status), content_type, length, extra_header != nullptr ? extra_header : "");
    if (head_only)
        return;
    if (body != nullptr)
        out.write(body->data(), body->size());
    else
        out.write(fallback, length);
}

} // namespace

const char* reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    }
    return "Unknown";
}

Parse parse_request(const char* data, size_t length, Request& request)
{
    request = Request{};
    size_t i = 0;
    // Empty lines before the request line are ignored (RFC 9112, 2.2).
    while (i < length && (data[i] == '\r' || data[i] == '\n')) {
        size_t next;
        const Parse end = line_end(data, length, i, next);
        if (end != Parse::complete)
            return end;
        i = next;
    }

    // method SP target SP HTTP/d.d line-end
    const size_t method_start = i;
    while (i < length && data[i] >= 'A' && data[i] <= 'Z') {
        if (i - method_start == max_method)
            return Parse::bad;
        ++i;
    }
    if (i == length)
        return Parse::incomplete;
    if (data[i] != ' ' || i == method_start)
        return Parse::bad;
    const size_t method_length = i - method_start;
    if (method_length == 3 && data[method_start] == 'G' && data[method_start + 1] == 'E' &&
        data[method_start + 2] == 'T')
        request.method = Method::get;
    else if (method_length == 4 && data[method_start] == 'H' && data[method_start + 1] == 'E' &&
             data[method_start + 2] == 'A' && data[method_start + 3] == 'D')
        request.method = Method::head;
    ++i;

    const size_t target_start = i;
    while (i < length && data[i] > ' ' && data[i] < 0x7F) {
        if (i - target_start == sizeof(request.path) - 1)
            return Parse::target_too_long;
        ++i;
    }
    if (i == length)
        return Parse::incomplete;
    if (data[i] != ' ' || i == target_start)
        return Parse::bad;
    const size_t target_length = i - target_start;
    if (data[target_start] != '/' && !(target_length >= 7 && equal_ignoring_case(data + target_start, 7, "http://")))
        return Parse::bad;
    copy_path(data + target_start, target_length, request);
    ++i;

    for (const char* p = "HTTP/"; *p != '\0'; ++p, ++i) {
        if (i == length)
            return Parse::incomplete;
        if (data[i] != *p)
            return Parse::bad;
    }
    char version[3];
    for (int k = 0; k < 3; ++k, ++i) {
        if (i == length)
            return Parse::incomplete;
        version[k] = data[i];
    }
    if (version[0] < '0' || version[0] > '9' || version[1] != '.' || version[2] < '0' || version[2] > '9')
        return Parse::bad;
    if (version[0] != '1')
        return Parse::bad_version;
    request.http11 = version[2] >= '1'; // 1.2 and up speak 1.1 at least (RFC 9110, 6.2)
    size_t next;
    if (const Parse end = line_end(data, length, i, next); end != Parse::complete)
        return end;
    i = next;

    // Header lines up to an empty line.
    for (;;) {
        if (i == length)
            return Parse::incomplete;
        if (data[i] == '\r' || data[i] == '\n') {
            const Parse end = line_end(data, length, i, next);
            if (end != Parse::complete)
                return end;
            request.head_length = next;
            return Parse::complete;
        }
        const size_t name_start = i;
        while (i < length && is_token(data[i]))
            ++i;
        if (i == length)
            return Parse::incomplete;
        if (data[i] != ':' || i == name_start)
            return Parse::bad; // includes a folded line (leading blank), obsolete since RFC 7230
        const size_t name_length = i - name_start;
        ++i;
        for (; i < length; ++i) {
            const auto c = static_cast<unsigned char>(data[i]);
            if (c == '\r' || c == '\n')
                break;
            if (c != '\t' && (c < ' ' || c == 0x7F))
                return Parse::bad;
        }
        if (const Parse end = line_end(data, length, i, next); end != Parse::complete)
            return end;
        if (equal_ignoring_case(data + name_start, name_length, "host"))
            request.has_host = true;
        i = next;
    }
}

int respond(StatusSource& source, const Request& request, Output& out)
{
    const bool head_only = request.method == Method::head;
    if (request.method == Method::other) {
        respond_with(out, 405, nullptr, nullptr, false, "Allow: GET, HEAD\r\n");
        return 405;
    }
    if (request.http11 && !request.has_host) {
        respond_error(400, out, head_only);
        return 400;
    }
    const bool html = equal(request.path, "/") || equal(request.path, "/index.html");
    const bool text = equal(request.path, "/status.txt");
    if (!html && !text) {
        respond_error(404, out, head_only);
        return 404;
    }
    Output body;
    if (html)
        render_html(source, body);
    else
        render_text(source, body);
    if (!body.ok()) {
        respond_error(500, out, head_only);
        return 500;
    }
    respond_with(out, 200, html ? "text/html; charset=utf-8" : "text/plain; charset=utf-8", &body, head_only);
    return 200;
}

void respond_error(int status, Output& out, bool head_only)
{
    respond_with(out, status, nullptr, nullptr, head_only);
}

} // namespace httpd
