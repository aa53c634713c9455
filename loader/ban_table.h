// The ban map: an LPM trie of source prefixes (IPv4 stored IPv4-mapped) with expiry.
#pragma once

#include <cstdint>
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

// CLOCK_BOOTTIME now, the clock the datapath compares expiries against.
uint64_t boottime_ns();

void ban_put(int bans_fd, const dw_ban_key &key, const dw_ban_val &val);
bool ban_del(int bans_fd, const dw_ban_key &key);  // false if it was not there

}  // namespace dnswash
