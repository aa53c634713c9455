// Sorting many names fast in DnsName's order (label by label, leftmost first, bytes unsigned):
// a 64-bit key from the first 8 bytes of the first label decides most comparisons without
// touching the names; only ties need the whole names. Internal to dnswash_zones.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace dnswash::zones {

// The first label's first 8 bytes, big-endian, zero-padded. If key(a) < key(b) then a < b; on
// equal keys compare the names.
inline uint64_t label_order_key(std::string_view label) {
  uint64_t k = 0;
  for (size_t i = 0; i < 8; ++i) k = (k << 8) | (i < label.size() ? uint8_t(label[i]) : 0);
  return k;
}

inline uint64_t wire_order_key(std::string_view wire) {
  if (wire.empty() || wire[0] == 0) return 0;
  return label_order_key(wire.substr(1, uint8_t(wire[0])));
}

// DnsName's operator< on two well-formed wire names.
inline bool wire_less(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (true) {
    size_t la = uint8_t(a[i]), lb = uint8_t(b[j]);
    if (la == 0 || lb == 0) return la == 0 && lb != 0;
    int c = std::memcmp(a.data() + i + 1, b.data() + j + 1, la < lb ? la : lb);
    if (c != 0) return c < 0;
    if (la != lb) return la < lb;
    i += 1 + la;
    j += 1 + lb;
  }
}

}  // namespace dnswash::zones
