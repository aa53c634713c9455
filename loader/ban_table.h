// The ban map: an LPM trie of source prefixes (IPv4 stored IPv4-mapped) with expiry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "dnswash_abi.h"
#include "prefix_text.h"  // parse_ban_prefix, ban_prefix_text

namespace dnswash {

// CLOCK_BOOTTIME now, the clock the datapath compares expiries against.
uint64_t boottime_ns();

void ban_put(int bans_fd, const dw_ban_key &key, const dw_ban_val &val);
bool ban_del(int bans_fd, const dw_ban_key &key);  // false if it was not there

// Puts n entries (keys[i] -> vals[i]) with as few syscalls as the kernel allows:
// bpf_map_update_batch in chunks where the kernel has it for the map type, one
// bpf_map_update_elem each where not (a restart puts up to DW_BANS_MAX entries; one syscall each
// cost seconds). An entry that fails is passed to on_error(i, why); the rest still go in.
// Returns how many went in.
size_t ban_put_all(int bans_fd, const dw_ban_key *keys, const dw_ban_val *vals, size_t n,
                   const std::function<void(size_t i, const std::string &why)> &on_error);

}  // namespace dnswash
