#include "service_table.hpp"

namespace rs {
namespace {

bool starts_with(const char* text, const char* prefix, const char*& rest)
{
    size_t i = 0;
    for (; prefix[i] != '\0'; ++i) {
        if (text[i] != prefix[i])
            return false;
    }
    rest = text + i;
    return true;
}

// A decimal number up to the next space or the end.
bool parse_number(const char* text, uint64_t& value, uint64_t max)
{
    value = 0;
    if (*text < '0' || *text > '9')
        return false;
    for (; *text >= '0' && *text <= '9'; ++text) {
        value = value * 10 + static_cast<uint64_t>(*text - '0');
        if (value > max)
            return false;
    }
    return *text == '\0' || *text == ' ';
}

bool word_is(const char* text, const char* word, const char*& rest)
{
    if (!starts_with(text, word, rest))
        return false;
    return *rest == '\0' || *rest == ' ' || *rest == ',';
}

bool parse_privileges(const char* text, uint64_t& out)
{
    struct Name {
        const char* name;
        uint64_t bit;
    };
    constexpr Name names[] = {{"spawn", sys::privilege::spawn},
                              {"crash", sys::privilege::crash},
                              {"devices", sys::privilege::devices},
                              {"poweroff", sys::privilege::poweroff},
                              {"console_read", sys::privilege::console_read}};
    out = 0;
    while (*text != '\0' && *text != ' ') {
        bool known = false;
        for (const Name& n : names) {
            const char* rest;
            if (word_is(text, n.name, rest)) {
                out |= n.bit;
                text = rest;
                known = true;
                break;
            }
        }
        if (!known)
            return false;
        if (*text == ',')
            ++text;
    }
    return true;
}

// Up to `max_digits` hexadecimal digits (at least one) into `out`; advances `text`.
bool parse_hex(const char*& text, size_t max_digits, uint32_t& out)
{
    out = 0;
    size_t digits = 0;
    for (;; ++text) {
        const char c = *text;
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = static_cast<uint32_t>(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = static_cast<uint32_t>(c - 'a' + 10);
        else
            break;
        out = out * 16 + d;
        if (++digits > max_digits)
            return false;
    }
    return digits != 0;
}

bool at_word_end(const char* text) { return *text == '\0' || *text == ' '; }

// "VVVV:DDDD[,VVVV:DDDD...]": vendor and device IDs, four hexadecimal digits
// each; DDDD may be * (any device of that vendor).
bool parse_pci_ids(const char* text, ServiceConfig& out)
{
    for (;;) {
        uint32_t vendor, device;
        const char* start = text;
        if (!parse_hex(text, 4, vendor) || text - start != 4 || *text++ != ':')
            return false;
        start = text;
        const bool any_device = *text == '*';
        if (any_device)
            device = 0, ++text;
        else if (!parse_hex(text, 4, device) || text - start != 4)
            return false;
        if (out.pci_id_count == ServiceConfig::max_pci_ids)
            return false;
        out.pci_ids[out.pci_id_count++] =
            PciId{static_cast<uint16_t>(vendor), static_cast<uint16_t>(device), any_device};
        if (at_word_end(text))
            return true;
        if (*text++ != ',')
            return false;
    }
}

// "BB:DD.F" in hexadecimal, as lspci prints it.
bool parse_pci(const char* text, uint32_t& out)
{
    uint32_t bus, device, function;
    if (!parse_hex(text, 2, bus) || *text++ != ':' || !parse_hex(text, 2, device) || *text++ != '.' ||
        !parse_hex(text, 1, function) || !at_word_end(text))
        return false;
    if (device > 31 || function > 7)
        return false;
    out = (bus << 8) | (device << 3) | function;
    return true;
}

} // namespace

bool parse_module_cmdline(const char* cmdline, ServiceConfig& out, const char*& error)
{
    out = ServiceConfig{};
    error = nullptr;
    size_t n = 0;
    while (cmdline[n] != '\0' && cmdline[n] != ' ') {
        if (n + 1 >= sizeof(out.name)) {
            error = "name longer than 16 characters";
            return false;
        }
        out.name[n] = cmdline[n];
        ++n;
    }
    if (n == 0) {
        error = "empty command line";
        return false;
    }
    const char* p = cmdline + n;
    while (*p != '\0') {
        while (*p == ' ')
            ++p;
        if (*p == '\0')
            break;
        const char* value;
        uint64_t number;
        if (starts_with(p, "core=", value)) {
            if (!parse_number(value, number, 255)) {
                error = "core= needs a core number";
                return false;
            }
            out.core = static_cast<int32_t>(number);
        } else if (starts_with(p, "priv=", value)) {
            if (!parse_privileges(value, out.privileges)) {
                error = "priv= takes spawn,crash,devices,poweroff,console_read";
                return false;
            }
        } else if (starts_with(p, "restart=", value)) {
            const char* rest;
            if (word_is(value, "always", rest))
                out.restart = RestartPolicy::always;
            else if (word_is(value, "never", rest))
                out.restart = RestartPolicy::never;
            else {
                error = "restart= takes always or never";
                return false;
            }
        } else if (starts_with(p, "heartbeat=", value)) {
            if (!parse_number(value, number, 60000) || number < 10) {
                error = "heartbeat= takes milliseconds (10..60000)";
                return false;
            }
            out.heartbeat_ms = static_cast<uint32_t>(number);
        } else if (starts_with(p, "start=", value)) {
            const char* rest;
            if (!word_is(value, "manual", rest)) {
                error = "start= takes manual";
                return false;
            }
            out.manual_start = true;
        } else if (starts_with(p, "pci=", value)) {
            if (!parse_pci(value, out.pci_device) && !parse_pci_ids(value, out)) {
                error = "pci= takes BB:DD.F or a list of VVVV:DDDD (hexadecimal, DDDD may be *)";
                return false;
            }
        } else if (starts_with(p, "pciclass=", value)) {
            uint32_t class_and_subclass;
            const char* start = value;
            if (!parse_hex(value, 4, class_and_subclass) || value - start != 4 || !at_word_end(value)) {
                error = "pciclass= takes CCSS (class and subclass, hexadecimal)";
                return false;
            }
            out.pci_class = static_cast<int32_t>(class_and_subclass);
        }
        // Anything else is the program's own option.
        while (*p != '\0' && *p != ' ')
            ++p;
    }
    return true;
}

size_t match_pci(const ServiceConfig& config, const sys::PciInfo* functions, size_t count, uint32_t* out,
                 size_t max)
{
    size_t matched = 0;
    for (size_t i = 0; i < count; ++i) {
        const sys::PciInfo& f = functions[i];
        if (config.pci_class >= 0 && ((f.class_code << 8) | f.subclass) != config.pci_class)
            continue;
        for (size_t k = 0; k < config.pci_id_count; ++k) {
            const PciId& id = config.pci_ids[k];
            if (f.vendor_id == id.vendor && (id.any_device || f.device_id == id.device)) {
                if (matched < max)
                    out[matched] = f.address;
                ++matched;
                break;
            }
        }
    }
    return matched;
}

ServiceConfig pci_instance(const ServiceConfig& config, uint32_t pci_address, size_t index)
{
    ServiceConfig instance = config;
    instance.pci_device = pci_address;
    if (index == 0)
        return instance;
    char suffix[8];
    size_t length = 0;
    suffix[length++] = '-';
    char digits[4];
    size_t count = 0;
    for (size_t n = index; n != 0 && count < sizeof(digits); n /= 10)
        digits[count++] = static_cast<char>('0' + n % 10);
    while (count != 0)
        suffix[length++] = digits[--count];
    size_t name_length = __builtin_strlen(instance.name);
    const size_t room = sizeof(instance.name) - 1;
    if (name_length + length > room)
        name_length = room - length;
    for (size_t i = 0; i < length; ++i)
        instance.name[name_length + i] = suffix[i];
    instance.name[name_length + length] = '\0';
    return instance;
}

uint64_t restart_delay_ns(Service& s, uint64_t now_ns)
{
    constexpr uint64_t quick_ns = 1000000000;  // dying within 1 s of starting counts as quick
    constexpr uint32_t free_restarts = 3;      // that many quick failures restart at once
    constexpr uint64_t first_delay_ns = 10000000;
    constexpr uint64_t max_delay_ns = 1000000000;
    if (s.ended_on_request) {
        s.ended_on_request = false;
        s.quick_failures = 0;
        return 0;
    }
    s.quick_failures = now_ns - s.started_ns < quick_ns ? s.quick_failures + 1 : 0;
    if (s.quick_failures <= free_restarts)
        return 0;
    uint64_t delay = first_delay_ns;
    for (uint32_t i = free_restarts + 1; i < s.quick_failures && delay < max_delay_ns; ++i)
        delay *= 2;
    return delay < max_delay_ns ? delay : max_delay_ns;
}

Service* ServiceTable::add(const ServiceConfig& config, uint32_t module)
{
    for (Service& s : m_services) {
        if (!s.in_use) {
            s = Service{};
            s.config = config;
            s.module = module;
            s.in_use = true;
            return &s;
        }
    }
    return nullptr;
}

Service* ServiceTable::by_name(const char* name)
{
    for (Service& s : m_services) {
        if (!s.in_use)
            continue;
        size_t i = 0;
        while (i < sizeof(s.config.name) && s.config.name[i] != '\0' && s.config.name[i] == name[i])
            ++i;
        if (s.config.name[i] == '\0' && name[i] == '\0')
            return &s;
    }
    return nullptr;
}

Service* ServiceTable::by_endpoint(sys::Endpoint endpoint)
{
    if (endpoint == 0)
        return nullptr;
    for (Service& s : m_services) {
        if (s.in_use && s.endpoint == endpoint)
            return &s;
    }
    return nullptr;
}

uint32_t ServiceTable::heartbeat_period_ms() const
{
    uint32_t period = 0;
    for (const Service& s : m_services) {
        if (s.in_use && s.endpoint != 0 && s.config.heartbeat_ms != 0 &&
            (period == 0 || s.config.heartbeat_ms < period))
            period = s.config.heartbeat_ms;
    }
    return period;
}

void ServiceTable::heartbeat_round(Service** ping, size_t& ping_count, Service** hung, size_t& hung_count)
{
    ping_count = 0;
    hung_count = 0;
    for (Service& s : m_services) {
        if (!s.in_use || s.endpoint == 0 || s.config.heartbeat_ms == 0)
            continue;
        if (s.ping_outstanding && ++s.missed_pings >= 2) {
            hung[hung_count++] = &s;
            continue;
        }
        s.ping_outstanding = true;
        ping[ping_count++] = &s;
    }
}

} // namespace rs
