// The fleet's one message format (docs/fleet.md, "Messages"): small versioned JSON, one ban,
// unban or zone shield change per message, as a node publishes it and as every other node
// checks it before anything is applied. Kernel-free, so the codec is unit-tested alone and the
// checks are written once for the daemon, the tests and the benchmark.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dnswash_abi.h"

namespace dnswash::fleet {

inline constexpr int kVersion = 1;
// A message larger than this is dropped unread: a ban needs ~300 bytes.
inline constexpr size_t kMaxMessageBytes = 4096;
// Shortest prefixes a remote node may ban: a forged 0.0.0.0/0 must not drop the world.
inline constexpr uint32_t kMinPrefixV4 = 16;  // /16 (as an IPv4 length)
inline constexpr uint32_t kMinPrefixV6 = 32;  // /32
// Clock skew tolerated between nodes for times "in the future".
inline constexpr int64_t kMaxSkewMs = 5 * 60 * 1000;
// Longest ban a message may carry (a manual ban is capped at 100 years, dnswashctl's limit).
inline constexpr int64_t kMaxBanMs = 100ll * 365 * 86400 * 1000;
inline constexpr size_t kMaxNodeIdLen = 64;

enum class Kind { kBan, kUnban, kShield };

struct Message {
  Kind kind = Kind::kBan;
  std::string node;   // publisher's node id ([A-Za-z0-9_-], 1..64)
  uint64_t seq = 0;   // publisher's order: strictly increasing per node, across restarts
  int64_t at_ms = 0;  // when the publisher made the change (wall clock)
  // kBan / kUnban
  dw_ban_key key{};
  bool manual = false;                // dnswashctl bans add/del (else the detector)
  std::string zone;                   // ban: the zone rolled under ("" = unknown); shield: the zone
  int64_t start_ms = 0;               // ban start
  std::optional<int64_t> expires_ms;  // nullopt = permanent
  uint32_t offenses = 0;
  // kShield
  bool shield_on = false;
};

// Why a received message was dropped. kNone = accepted.
enum class Reject { kNone, kOversized, kMalformed, kVersion, kRange, kSubject };
const char *reject_name(Reject r);

// Node ids are subject tokens: letters, digits, '-' and '_' only.
bool valid_node_id(std::string_view id);

std::string encode(const Message &m);

// Checks everything a message must satisfy before it may touch a map: size, JSON shape,
// version, field ranges against `now_ms`, and that it came on the subject its content names
// (a node may only publish under its own node token; the server enforces that, docs/fleet.md).
Reject decode(std::string_view subject, std::string_view data, int64_t now_ms, Message *out);

}  // namespace dnswash::fleet
