// Source prefixes as an operator types them and as dnswash prints them, in the ban map's key
// layout (dw_ban_key: IPv4 stored IPv4-mapped). Shared by the daemon, dnswashctl and the
// ban map code; no kernel calls.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "dnswash_abi.h"

namespace dnswash {

// "192.0.2.1", "192.0.2.0/24", "2001:db8::1", "2001:db8::/32". A missing length means the
// single address. Host bits set beyond the prefix are an error (the operator probably typed
// the wrong length), as are out-of-range lengths and anything unparsable. Sets *error.
std::optional<dw_ban_key> parse_ban_prefix(std::string_view text, std::string *error);
std::string ban_prefix_text(const dw_ban_key &key);

}  // namespace dnswash
