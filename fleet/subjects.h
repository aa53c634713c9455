// The fleet's subject layout and stream names (docs/fleet.md, "Subjects and streams").
//   dnswash.bans.<node>.prefix.<prefix>  timed bans, unbans           stream DNSWASH_BANS (MaxAge)
//   dnswash.keep.<node>.prefix.<prefix>  permanent and longer bans,   stream DNSWASH_KEEP (no age)
//                                        unbans
//   dnswash.keep.<node>.shield.<zone>    zone shield on/off           stream DNSWASH_KEEP
// The node is the third token, so the server can hold each node to its own subjects
// (publish allow dnswash.*.<node>.>), and each stream is one filter for its durable consumer.
// Both streams keep one message per subject (the latest), so a stream holds each node's
// current word on each prefix and zone, and a node joining late replays exactly that.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "dnswash_abi.h"

namespace dnswash::fleet {

inline constexpr const char *kBansStream = "DNSWASH_BANS";
inline constexpr const char *kKeepStream = "DNSWASH_KEEP";
inline constexpr const char *kBansSubjects = "dnswash.bans.>";
inline constexpr const char *kKeepSubjects = "dnswash.keep.>";

// A prefix as a subject token: the 16 address bytes in hex, '_', the key's prefix length
// (IPv4 is IPv4-mapped, so 192.0.2.7 is ...ffffc0000207_128).
std::string prefix_token(const dw_ban_key &key);
std::optional<dw_ban_key> parse_prefix_token(std::string_view token);
// A zone as a subject token: its lower-case presentation text in hex ("." allowed only as
// the root, which no shield uses).
std::string zone_token(std::string_view zone);

std::string ban_subject(std::string_view node, const dw_ban_key &key, bool keep);
std::string shield_subject(std::string_view node, std::string_view zone);

struct SubjectParts {
  std::string stream;  // "bans" or "keep"
  std::string node;
  std::string what;  // "prefix" or "shield" (shield: keep only)
  std::string token;
};
std::optional<SubjectParts> split_subject(std::string_view subject);

}  // namespace dnswash::fleet
