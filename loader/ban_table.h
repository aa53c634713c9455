// The ban map: an LPM trie of source prefixes (IPv4 stored IPv4-mapped) with expiry.
#pragma once

#include <cstdint>
#include "dnswash_abi.h"
#include "prefix_text.h"  // parse_ban_prefix, ban_prefix_text

namespace dnswash {

// CLOCK_BOOTTIME now, the clock the datapath compares expiries against.
uint64_t boottime_ns();

void ban_put(int bans_fd, const dw_ban_key &key, const dw_ban_val &val);
bool ban_del(int bans_fd, const dw_ban_key &key);  // false if it was not there

}  // namespace dnswash
