// Address literals in named.conf address lists and primaries lists.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dnswash::zones {

// Normalizes an address, or a prefix when prefix_len is set, to CIDR text with the host bits
// cleared: "192.0.2.1" -> "192.0.2.1/32", "10"/8 -> "10.0.0.0/8" (BIND accepts short IPv4
// prefixes), "2001:DB8::1" -> "2001:db8::1/128". IPv6 zone suffixes ("%eth0") are dropped.
// nullopt if the text is not an address (an ACL or list name, "any", a key...).
std::optional<std::string> to_cidr(std::string_view address,
                                   std::optional<int> prefix_len = std::nullopt);

}  // namespace dnswash::zones
