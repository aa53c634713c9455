#include "message.h"

#include <cctype>
#include <cstring>

#include <nlohmann/json.hpp>

#include "prefix_text.h"
#include "subjects.h"

namespace dnswash::fleet {

using nlohmann::json;

const char *reject_name(Reject r) {
  switch (r) {
    case Reject::kNone:
      return "none";
    case Reject::kOversized:
      return "oversized";
    case Reject::kMalformed:
      return "malformed";
    case Reject::kVersion:
      return "version";
    case Reject::kRange:
      return "range";
    case Reject::kSubject:
      return "subject";
  }
  return "?";
}

bool valid_node_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxNodeIdLen) return false;
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
  return true;
}

std::string encode(const Message &m) {
  json j = {{"v", kVersion}, {"node", m.node}, {"seq", m.seq}, {"at_ms", m.at_ms}};
  switch (m.kind) {
    case Kind::kBan:
      j["type"] = "ban";
      j["prefix"] = ban_prefix_text(m.key);
      j["reason"] = m.manual ? "manual" : "detector";
      j["zone"] = m.zone.empty() ? json(nullptr) : json(m.zone);
      j["start_ms"] = m.start_ms;
      j["expires_ms"] = m.expires_ms ? json(*m.expires_ms) : json(nullptr);
      j["offenses"] = m.offenses;
      break;
    case Kind::kUnban:
      j["type"] = "unban";
      j["prefix"] = ban_prefix_text(m.key);
      j["reason"] = m.manual ? "manual" : "detector";
      break;
    case Kind::kShield:
      j["type"] = "shield";
      j["zone"] = m.zone;
      j["on"] = m.shield_on;
      break;
  }
  return j.dump();
}

namespace {

// Thrown inside decode() for a field that is present and well-typed but out of range.
struct OutOfRange {};

int64_t get_i64(const json &j, const char *k) {
  const json &v = j.at(k);
  if (!v.is_number_integer())
    throw json::type_error::create(302, std::string(k) + ": not an integer", &v);
  return v.get<int64_t>();
}

bool valid_zone_text(const std::string &z) {
  if (z.empty() || z.size() > 253) return false;
  for (unsigned char c : z)
    if (c <= 0x20 || c >= 0x7f) return false;  // presentation form, escaped (\DDD)
  return true;
}

}  // namespace

Reject decode(std::string_view subject, std::string_view data, int64_t now_ms, Message *out) {
  if (data.size() > kMaxMessageBytes) return Reject::kOversized;
  auto parts = split_subject(subject);
  if (!parts) return Reject::kSubject;
  json j = json::parse(data.begin(), data.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Reject::kMalformed;
  try {
    if (!j.contains("v") || !j["v"].is_number_integer()) return Reject::kMalformed;
    if (j["v"].get<int64_t>() != kVersion) return Reject::kVersion;
    Message m;
    m.node = j.at("node").get<std::string>();
    if (!valid_node_id(m.node)) throw OutOfRange{};
    if (m.node != parts->node) return Reject::kSubject;
    if (!j.at("seq").is_number_unsigned()) throw OutOfRange{};
    m.seq = j["seq"].get<uint64_t>();
    m.at_ms = get_i64(j, "at_ms");
    // Not before 2001, not (much) after now.
    if (m.seq == 0 || m.at_ms < 1000000000000ll || m.at_ms > now_ms + kMaxSkewMs)
      throw OutOfRange{};
    std::string type = j.at("type").get<std::string>();
    if (type == "ban" || type == "unban") {
      if (parts->what != "prefix") return Reject::kSubject;
      m.kind = type == "ban" ? Kind::kBan : Kind::kUnban;
      auto key = parse_ban_prefix(j.at("prefix").get<std::string>(), nullptr);
      if (!key) throw OutOfRange{};
      bool v4 = key->prefixlen >= 96 && key->addr[10] == 0xff && key->addr[11] == 0xff &&
                key->addr[0] == 0 && key->addr[9] == 0;
      if (key->prefixlen < (v4 ? 96 + kMinPrefixV4 : kMinPrefixV6)) throw OutOfRange{};
      m.key = *key;
      auto tok = parse_prefix_token(parts->token);
      if (!tok || std::memcmp(&*tok, &m.key, sizeof m.key) != 0) return Reject::kSubject;
      std::string reason = j.at("reason").get<std::string>();
      if (reason != "manual" && reason != "detector") throw OutOfRange{};
      m.manual = reason == "manual";
      if (m.kind == Kind::kBan) {
        if (!j.at("zone").is_null()) {
          m.zone = j["zone"].get<std::string>();
          if (!valid_zone_text(m.zone)) throw OutOfRange{};
        }
        m.start_ms = get_i64(j, "start_ms");
        if (m.start_ms < 1000000000000ll || m.start_ms > m.at_ms) throw OutOfRange{};
        if (!j.at("expires_ms").is_null()) {
          int64_t e = get_i64(j, "expires_ms");
          if (e <= m.start_ms || e - m.start_ms > kMaxBanMs) throw OutOfRange{};
          m.expires_ms = e;
        }
        if (!j.at("offenses").is_number_unsigned() || j["offenses"].get<uint64_t>() > 1000000)
          throw OutOfRange{};
        m.offenses = j["offenses"].get<uint32_t>();
        // The timed stream ages messages out: a permanent ban there would be forgotten.
        if (parts->stream == "bans" && !m.expires_ms) return Reject::kSubject;
      }
    } else if (type == "shield") {
      if (parts->what != "shield") return Reject::kSubject;
      m.kind = Kind::kShield;
      m.zone = j.at("zone").get<std::string>();
      if (!valid_zone_text(m.zone)) throw OutOfRange{};
      if (zone_token(m.zone) != parts->token) return Reject::kSubject;
      if (!j.at("on").is_boolean()) throw OutOfRange{};
      m.shield_on = j["on"].get<bool>();
    } else {
      throw OutOfRange{};
    }
    *out = std::move(m);
    return Reject::kNone;
  } catch (const OutOfRange &) {
    return Reject::kRange;
  } catch (const json::exception &) {
    return Reject::kMalformed;
  }
}

}  // namespace dnswash::fleet
