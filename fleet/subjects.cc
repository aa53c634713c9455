#include "subjects.h"

#include <cctype>
#include <charconv>

namespace dnswash::fleet {

namespace {

constexpr char kHex[] = "0123456789abcdef";

std::string hex(const uint8_t *p, size_t n) {
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out += kHex[p[i] >> 4];
    out += kHex[p[i] & 15];
  }
  return out;
}

int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::string prefix_token(const dw_ban_key &key) {
  return hex(key.addr, sizeof key.addr) + "_" + std::to_string(key.prefixlen);
}

std::optional<dw_ban_key> parse_prefix_token(std::string_view t) {
  dw_ban_key k{};
  if (t.size() < 34 || t[32] != '_') return std::nullopt;
  for (size_t i = 0; i < 16; ++i) {
    int hi = nibble(t[2 * i]), lo = nibble(t[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    k.addr[i] = uint8_t(hi << 4 | lo);
  }
  std::string_view len = t.substr(33);
  auto [p, ec] = std::from_chars(len.data(), len.data() + len.size(), k.prefixlen);
  if (ec != std::errc() || p != len.data() + len.size() || k.prefixlen > 128) return std::nullopt;
  return k;
}

std::string zone_token(std::string_view zone) {
  std::string low(zone);
  for (char &c : low) c = char(std::tolower(static_cast<unsigned char>(c)));
  return hex(reinterpret_cast<const uint8_t *>(low.data()), low.size());
}

std::string ban_subject(std::string_view node, const dw_ban_key &key, bool keep) {
  return std::string(keep ? "dnswash.keep." : "dnswash.bans.") + std::string(node) + ".prefix." +
         prefix_token(key);
}

std::string shield_subject(std::string_view node, std::string_view zone) {
  return "dnswash.keep." + std::string(node) + ".shield." + zone_token(zone);
}

std::optional<SubjectParts> split_subject(std::string_view s) {
  constexpr std::string_view root = "dnswash.";
  if (s.substr(0, root.size()) != root) return std::nullopt;
  s.remove_prefix(root.size());
  SubjectParts out;
  for (std::string *part : {&out.stream, &out.node, &out.what}) {
    auto dot = s.find('.');
    if (dot == std::string_view::npos || dot == 0) return std::nullopt;
    *part = std::string(s.substr(0, dot));
    s.remove_prefix(dot + 1);
  }
  if (s.empty() || s.find('.') != std::string_view::npos) return std::nullopt;
  out.token = std::string(s);
  if (out.stream != "bans" && out.stream != "keep") return std::nullopt;
  if (out.what != "prefix" && !(out.what == "shield" && out.stream == "keep")) return std::nullopt;
  return out;
}

}  // namespace dnswash::fleet
