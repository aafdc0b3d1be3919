#include "boot_config.hpp"

#include "ip_stack.hpp"

namespace ip {

using tern::net::parse_ipv4;

namespace {

bool starts_with(const char* word, size_t length, const char* prefix)
{
    const size_t n = __builtin_strlen(prefix);
    return length >= n && __builtin_memcmp(word, prefix, n) == 0;
}

bool equals(const char* text, size_t length, const char* literal)
{
    return __builtin_strlen(literal) == length && __builtin_memcmp(text, literal, length) == 0;
}

// "ADDR/PREFIX", "dhcp" or "off".
bool parse_interface(const char* value, size_t length, InterfaceBootConfig& out, const char*& error)
{
    if (equals(value, length, "dhcp")) {
        out = InterfaceBootConfig{};
        return true;
    }
    if (equals(value, length, "off")) {
        out = InterfaceBootConfig{.mode = InterfaceBootConfig::Mode::off};
        return true;
    }
    size_t slash = 0;
    while (slash < length && value[slash] != '/')
        ++slash;
    if (slash == length) {
        error = "ip=: expected ADDRESS/PREFIX, dhcp or off";
        return false;
    }
    const auto address = parse_ipv4(value, slash);
    if (!address.ok() || !address.value().is_unicast()) {
        error = "ip=: not a host address";
        return false;
    }
    unsigned prefix = 0;
    const size_t digits = length - slash - 1;
    if (digits == 0 || digits > 2) {
        error = "ip=: the prefix must be 1..32";
        return false;
    }
    for (size_t i = slash + 1; i < length; ++i) {
        if (value[i] < '0' || value[i] > '9') {
            error = "ip=: the prefix must be 1..32";
            return false;
        }
        prefix = prefix * 10 + static_cast<unsigned>(value[i] - '0');
    }
    if (prefix < 1 || prefix > 32) {
        error = "ip=: the prefix must be 1..32";
        return false;
    }
    out = InterfaceBootConfig{.mode = InterfaceBootConfig::Mode::static_address,
                              .address = address.value(),
                              .prefix_length = static_cast<uint8_t>(prefix)};
    return true;
}

bool parse_host(const char* value, size_t length, Ipv4Address& out, const char* what, const char*& error)
{
    const auto address = parse_ipv4(value, length);
    if (!address.ok() || !address.value().is_unicast()) {
        error = what;
        return false;
    }
    out = address.value();
    return true;
}

bool parse_word(const char* word, size_t length, BootConfig& out, const char*& error)
{
    if (starts_with(word, length, "gw=")) {
        out.has_gateway = true;
        return parse_host(word + 3, length - 3, out.gateway, "gw=: not a host address", error);
    }
    if (starts_with(word, length, "dns=")) {
        out.has_dns = true;
        return parse_host(word + 4, length - 4, out.dns, "dns=: not a host address", error);
    }
    if (starts_with(word, length, "ip="))
        return parse_interface(word + 3, length - 3, out.interfaces[0], error);
    // ipN= for interface N.
    if (length >= 4 && word[0] == 'i' && word[1] == 'p' && word[2] >= '0' && word[2] <= '9' && word[3] == '=') {
        const unsigned index = static_cast<unsigned>(word[2] - '0');
        if (index >= max_interfaces) {
            error = "ipN=: no such interface (ip0= to ip3=)";
            return false;
        }
        return parse_interface(word + 4, length - 4, out.interfaces[index], error);
    }
    return true; // somebody else's option
}

} // namespace

bool parse_boot_config(const char* line, BootConfig& out, const char*& error)
{
    out = BootConfig{};
    error = nullptr;
    if (line == nullptr)
        return true;
    size_t i = 0;
    while (line[i] != '\0') {
        while (line[i] == ' ' || line[i] == '\t')
            ++i;
        const size_t start = i;
        while (line[i] != '\0' && line[i] != ' ' && line[i] != '\t')
            ++i;
        if (i > start && !parse_word(line + start, i - start, out, error))
            return false;
    }
    if (out.has_gateway) {
        bool found = false;
        for (unsigned k = 0; k < max_interfaces && !found; ++k) {
            const InterfaceBootConfig& c = out.interfaces[k];
            if (c.mode == InterfaceBootConfig::Mode::static_address &&
                tern::net::same_prefix(c.address, out.gateway, c.prefix_length) && !(c.address == out.gateway)) {
                out.gateway_interface = k;
                found = true;
            }
        }
        if (!found) {
            error = "gw=: not in the network of any ip= address";
            return false;
        }
    }
    return true;
}

void apply_boot_config(IpStack& stack, const BootConfig& config, uint32_t seed, uint64_t now_ns)
{
    for (unsigned i = 0; i < stack.interface_count() && i < max_interfaces; ++i) {
        const InterfaceBootConfig& c = config.interfaces[i];
        switch (c.mode) {
        case InterfaceBootConfig::Mode::static_address: (void)stack.configure(i, c.address, c.prefix_length); break;
        case InterfaceBootConfig::Mode::dhcp: (void)stack.start_dhcp(i, seed + i, now_ns); break;
        case InterfaceBootConfig::Mode::off: break;
        }
    }
    if (config.has_gateway && config.gateway_interface < stack.interface_count())
        (void)stack.set_default_gateway(config.gateway, config.gateway_interface);
    if (config.has_dns)
        stack.set_dns_server(config.dns);
}

} // namespace ip
