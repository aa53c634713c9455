// One ban (or offense history) as the ban store keeps it: the record, its binary encoding in
// the store, and the range checks a value read back must pass before it reaches the kernel.
//
// Time: the kernel map holds CLOCK_BOOTTIME expiries (0 = permanent). A record keeps the
// wall-clock start, expiry and length, and the boot id with the boot-time expiry: a restart
// within the same boot uses the boot-time expiry as is (a wall-clock step changes nothing);
// after a reboot the remaining time is the wall-clock difference, capped at the ban's length,
// so a clock stepped back never lengthens a ban.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dnswash_abi.h"

namespace dnswash::banstore {

using BootId = std::array<uint8_t, 16>;

// Limits a record must respect, in the store and from any other source (a legacy state file,
// a fleet message): what is outside is refused, never clamped into something else.
inline constexpr uint64_t kMaxBanSeconds = 100ull * 365 * 86400;  // 100 years
inline constexpr int64_t kMaxUnixMs = 32503680000000;             // year 3000
inline constexpr uint64_t kMaxBootNs = uint64_t(1) << 62;         // ~146 years of uptime
inline constexpr uint32_t kMaxOffenses = 1000000;
inline constexpr size_t kMaxZoneText = 1024;  // escaped presentation form: 255 bytes, \DDD each
inline constexpr size_t kMaxNames = 8;
inline constexpr size_t kMaxNameText = 1100;
inline constexpr size_t kMaxSource = 255;

struct BanEntry {
  dw_ban_key key{};
  uint32_t origin = DW_BAN_ORIGIN_OPERATOR;
  bool active = false;  // a ban in force (false: an offense history only)
  bool permanent = false;
  int64_t since_unix_ms = 0;
  int64_t expires_unix_ms = 0;   // active, not permanent: wall-clock expiry when written
  int64_t length_ms = 0;         // active, not permanent: the ban's length as given
  uint64_t expires_boot_ns = 0;  // active, not permanent: in the boot `boot_id`
  BootId boot_id{};
  uint32_t offenses = 0;           // detector offenses so far (kept after the ban ends)
  std::string zone;                // detector: the zone it rolled under ("" = unknown)
  std::vector<std::string> names;  // detector: a few of the names (escaped presentation form)
  std::string source;              // who made it: "" = this node (a fleet node's id otherwise)
};

// "" if `e` is within the limits above and its key is a valid prefix (length <= 128, no host
// bits, IPv4 only as IPv4-mapped), else what is wrong.
std::string check_entry(const BanEntry &e);

// The store's key: the dw_ban_key bytes.
std::string_view key_bytes(const dw_ban_key &k);
// The store's value: a version byte, then fixed fields, then the strings with their lengths.
std::string encode_entry(const BanEntry &e);
// nullopt (and *why) for a value that is not a version-1 record or fails check_entry().
std::optional<BanEntry> decode_entry(std::string_view key, std::string_view value,
                                     std::string *why);

// This boot's id (/proc/sys/kernel/random/boot_id) as 16 bytes; all zero if unreadable.
BootId current_boot_id();
std::string boot_id_text(const BootId &id);
std::optional<BootId> parse_boot_id(std::string_view text);

}  // namespace dnswash::banstore
