#include "ban_entry.h"

#include <cstring>
#include <fstream>

#include "prefix_text.h"

namespace dnswash::banstore {

namespace {

constexpr uint8_t kVersion = 1;
constexpr uint8_t kActive = 1, kPermanent = 2;

// Little-endian fixed-width fields; the store is local to one host, but a fixed order keeps a
// copied state directory readable.
template <typename T>
void put(std::string &out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(char(uint64_t(v) >> (8 * i) & 0xff));
}
void put_str(std::string &out, std::string_view s) {
  put<uint16_t>(out, uint16_t(s.size()));
  out.append(s);
}

class Reader {
 public:
  explicit Reader(std::string_view v) : v_(v) {}
  template <typename T>
  bool get(T &out) {
    if (v_.size() - off_ < sizeof(T)) return false;
    uint64_t x = 0;
    for (size_t i = 0; i < sizeof(T); ++i) x |= uint64_t(uint8_t(v_[off_ + i])) << (8 * i);
    out = T(x);
    off_ += sizeof(T);
    return true;
  }
  bool get_str(std::string &out, size_t max) {
    uint16_t len = 0;
    if (!get(len) || len > max || v_.size() - off_ < len) return false;
    out.assign(v_.substr(off_, len));
    off_ += len;
    return true;
  }
  bool get_bytes(uint8_t *out, size_t n) {
    if (v_.size() - off_ < n) return false;
    std::memcpy(out, v_.data() + off_, n);
    off_ += n;
    return true;
  }
  bool done() const { return off_ == v_.size(); }

 private:
  std::string_view v_;
  size_t off_ = 0;
};

bool valid_key(const dw_ban_key &k, std::string *why) {
  if (k.prefixlen > 128) {
    *why = "prefix length " + std::to_string(k.prefixlen) + " over 128";
    return false;
  }
  for (unsigned bit = k.prefixlen; bit < 128; ++bit)
    if (k.addr[bit / 8] & (0x80 >> (bit % 8))) {
      *why = "host bits set beyond the prefix length";
      return false;
    }
  return true;
}

}  // namespace

std::string check_entry(const BanEntry &e) {
  std::string why;
  if (!valid_key(e.key, &why)) return why;
  if (e.origin != DW_BAN_ORIGIN_OPERATOR && e.origin != DW_BAN_ORIGIN_DETECTOR &&
      e.origin != DW_BAN_ORIGIN_FLEET)
    return "origin " + std::to_string(e.origin) + " is neither operator, detector nor fleet";
  if (e.since_unix_ms < 0 || e.since_unix_ms > kMaxUnixMs)
    return "since_unix_ms " + std::to_string(e.since_unix_ms) + " out of range";
  if (e.offenses > kMaxOffenses) return "offenses " + std::to_string(e.offenses) + " out of range";
  if (!e.active && e.permanent) return "a permanent ban that is not in force";
  if (e.active && !e.permanent) {
    if (e.length_ms <= 0 || uint64_t(e.length_ms) > kMaxBanSeconds * 1000)
      return "length_ms " + std::to_string(e.length_ms) + " out of range (1 ms to 100 years)";
    if (e.expires_unix_ms <= 0 || e.expires_unix_ms > kMaxUnixMs)
      return "expires_unix_ms " + std::to_string(e.expires_unix_ms) + " out of range";
    if (e.expires_boot_ns == 0 || e.expires_boot_ns > kMaxBootNs)
      return "expires_boot_ns " + std::to_string(e.expires_boot_ns) + " out of range";
  }
  if (e.zone.size() > kMaxZoneText) return "zone text longer than " + std::to_string(kMaxZoneText);
  if (e.names.size() > kMaxNames) return "more than " + std::to_string(kMaxNames) + " names";
  for (const auto &n : e.names)
    if (n.size() > kMaxNameText) return "a name longer than " + std::to_string(kMaxNameText);
  if (e.source.size() > kMaxSource) return "source longer than " + std::to_string(kMaxSource);
  return "";
}

std::string_view key_bytes(const dw_ban_key &k) {
  return {reinterpret_cast<const char *>(&k), sizeof k};
}

std::string encode_entry(const BanEntry &e) {
  std::string out;
  out.reserve(64 + e.zone.size() + e.source.size());
  put<uint8_t>(out, kVersion);
  put<uint8_t>(out, uint8_t(e.origin));
  put<uint8_t>(out, uint8_t((e.active ? kActive : 0) | (e.permanent ? kPermanent : 0)));
  put<uint32_t>(out, e.offenses);
  put<int64_t>(out, e.since_unix_ms);
  put<int64_t>(out, e.expires_unix_ms);
  put<int64_t>(out, e.length_ms);
  put<uint64_t>(out, e.expires_boot_ns);
  out.append(reinterpret_cast<const char *>(e.boot_id.data()), e.boot_id.size());
  put_str(out, e.zone);
  put_str(out, e.source);
  put<uint8_t>(out, uint8_t(std::min<size_t>(e.names.size(), 255)));
  for (size_t i = 0; i < e.names.size() && i < 255; ++i) put_str(out, e.names[i]);
  return out;
}

std::optional<BanEntry> decode_entry(std::string_view key, std::string_view value,
                                     std::string *why) {
  BanEntry e;
  if (key.size() != sizeof e.key) {
    *why = "key of " + std::to_string(key.size()) + " bytes (a ban key has " +
           std::to_string(sizeof e.key) + ")";
    return std::nullopt;
  }
  std::memcpy(&e.key, key.data(), sizeof e.key);
  Reader r(value);
  uint8_t version = 0, origin = 0, flags = 0, nnames = 0;
  if (!r.get(version) || version != kVersion) {
    *why = value.empty() ? "empty value" : "unknown record version " + std::to_string(version);
    return std::nullopt;
  }
  bool ok = r.get(origin) && r.get(flags) && r.get(e.offenses) && r.get(e.since_unix_ms) &&
            r.get(e.expires_unix_ms) && r.get(e.length_ms) && r.get(e.expires_boot_ns) &&
            r.get_bytes(e.boot_id.data(), e.boot_id.size()) && r.get_str(e.zone, kMaxZoneText) &&
            r.get_str(e.source, kMaxSource) && r.get(nnames) && nnames <= kMaxNames;
  for (unsigned i = 0; ok && i < nnames; ++i) {
    std::string n;
    ok = r.get_str(n, kMaxNameText);
    e.names.push_back(std::move(n));
  }
  if (!ok || !r.done() || (flags & ~(kActive | kPermanent))) {
    *why = "truncated or malformed record";
    return std::nullopt;
  }
  e.origin = origin;
  e.active = flags & kActive;
  e.permanent = flags & kPermanent;
  if (std::string err = check_entry(e); !err.empty()) {
    *why = err;
    return std::nullopt;
  }
  return e;
}

BootId current_boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string text;
  std::getline(in, text);
  return parse_boot_id(text).value_or(BootId{});
}

std::string boot_id_text(const BootId &id) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < id.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += hex[id[i] >> 4];
    out += hex[id[i] & 15];
  }
  return out;
}

std::optional<BootId> parse_boot_id(std::string_view text) {
  BootId id{};
  size_t n = 0;
  for (char c : text) {
    if (c == '-') continue;
    int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (v < 0 || n >= 32) return std::nullopt;
    id[n / 2] = uint8_t(id[n / 2] | (n % 2 ? v : v << 4));
    ++n;
  }
  if (n != 32) return std::nullopt;
  return id;
}

}  // namespace dnswash::banstore
