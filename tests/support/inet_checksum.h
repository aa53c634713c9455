// The Internet checksum (RFC 1071) as the reply tests check it: replies the XDP program builds
// (slip, --refuse, the shield) must carry IP and UDP checksums a receiver accepts.
#pragma once

#include <cstddef>
#include <cstdint>

#include "packet_builder.h"

namespace dnswash::test {

inline uint16_t be16(const Bytes &b, size_t off) {
  return uint16_t(b[off] << 8 | b[off + 1]);
}
// Sum over 16-bit big-endian words (an odd tail byte padded with zero), unfolded.
inline uint32_t sum16(const uint8_t *p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += uint32_t(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += uint32_t(p[n - 1] << 8);
  return sum;
}
inline uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(sum);
}

}  // namespace dnswash::test
