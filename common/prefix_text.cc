#include "prefix_text.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace dnswash {

static std::optional<dw_ban_key> bad(std::string *error, std::string msg) {
  if (error) *error = std::move(msg);
  return std::nullopt;
}

std::optional<dw_ban_key> parse_ban_prefix(std::string_view text, std::string *error) {
  if (text.empty()) return bad(error, "empty address");
  std::string addr(text.substr(0, text.find('/')));
  dw_ban_key key{};
  unsigned maxlen;
  unsigned base;
  if (in_addr a4; inet_pton(AF_INET, addr.c_str(), &a4) == 1) {
    key.addr[10] = key.addr[11] = 0xff;
    std::memcpy(&key.addr[12], &a4, 4);
    maxlen = 32;
    base = 96;
  } else if (inet_pton(AF_INET6, addr.c_str(), key.addr) == 1) {
    maxlen = 128;
    base = 0;
  } else {
    return bad(error, "'" + addr + "' is not an IPv4 or IPv6 address");
  }
  unsigned len = maxlen;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    std::string_view l = text.substr(slash + 1);
    auto [p, ec] = std::from_chars(l.data(), l.data() + l.size(), len);
    if (l.empty() || ec != std::errc() || p != l.data() + l.size() || len > maxlen)
      return bad(error,
                 "prefix length '" + std::string(l) + "' is not 0.." + std::to_string(maxlen));
  }
  key.prefixlen = base + len;
  for (unsigned bit = key.prefixlen; bit < 128; ++bit)
    if (key.addr[bit / 8] & (0x80 >> (bit % 8)))
      return bad(error,
                 "'" + std::string(text) + "' has host bits set beyond /" + std::to_string(len));
  return key;
}

std::string ban_prefix_text(const dw_ban_key &key) {
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char buf[INET6_ADDRSTRLEN];
  if (key.prefixlen >= 96 && std::memcmp(key.addr, mapped, 12) == 0) {
    inet_ntop(AF_INET, &key.addr[12], buf, sizeof buf);
    unsigned len = key.prefixlen - 96;
    return len == 32 ? std::string(buf) : std::string(buf) + "/" + std::to_string(len);
  }
  inet_ntop(AF_INET6, key.addr, buf, sizeof buf);
  return key.prefixlen == 128 ? std::string(buf)
                              : std::string(buf) + "/" + std::to_string(key.prefixlen);
}

}  // namespace dnswash
