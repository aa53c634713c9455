#include "named_conf_addr.h"

#include <arpa/inet.h>

#include <cstdint>
#include <cstring>

namespace dnswash::zones {

namespace {

void clear_host_bits(uint8_t *bytes, int total_bits, int prefix) {
  for (int bit = prefix; bit < total_bits; ++bit) bytes[bit / 8] &= uint8_t(~(0x80 >> (bit % 8)));
}

std::string format(int family, const uint8_t *bytes, int prefix) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(family, bytes, buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(prefix);
}

}  // namespace

std::optional<std::string> to_cidr(std::string_view address, std::optional<int> prefix_len) {
  std::string text(address.substr(0, address.find('%')));
  if (text.empty() || text.size() > 64) return std::nullopt;
  uint8_t bytes[16] = {};
  if (text.find(':') != std::string::npos) {
    if (inet_pton(AF_INET6, text.c_str(), bytes) != 1) return std::nullopt;
    int prefix = prefix_len.value_or(128);
    if (prefix < 0 || prefix > 128) return std::nullopt;
    clear_host_bits(bytes, 128, prefix);
    return format(AF_INET6, bytes, prefix);
  }
  // IPv4: inet_pton wants four octets; prefixes may name fewer ("10/8", "192.168/16").
  int octets = 1;
  for (char c : text) {
    if (c == '.')
      ++octets;
    else if (c < '0' || c > '9')
      return std::nullopt;
  }
  if (octets > 4 || (octets < 4 && !prefix_len)) return std::nullopt;
  for (; octets < 4; ++octets) text += ".0";
  if (inet_pton(AF_INET, text.c_str(), bytes) != 1) return std::nullopt;
  int prefix = prefix_len.value_or(32);
  if (prefix < 0 || prefix > 32) return std::nullopt;
  clear_host_bits(bytes, 32, prefix);
  return format(AF_INET, bytes, prefix);
}

}  // namespace dnswash::zones
