#include "nfqueue/judge.h"

#include <cstring>

namespace dnswash::nfqueue {

size_t Judge::bytes_needed(const uint8_t *p, size_t copied) {
  if (copied < 1) return SIZE_MAX;
  unsigned version = p[0] >> 4;
  if (version == 4) {
    // Header through IHL, UDP header, then at most DW_LOAD_MAX bytes of DNS.
    return size_t(p[0] & 0x0F) * 4 + 8 + DW_LOAD_MAX;
  }
  if (version != 6) return 40;  // classify_ip takes it for IPv6 and stops at the version
  // The same walk as dw_skip_ipv6_exthdrs: up to DW_MAX_IPV6_EXTHDRS headers, 8 bytes of
  // each read before its length is known.
  if (copied < 40) return SIZE_MAX;
  size_t off = 40;
  uint8_t nh = p[6];
  for (int i = 0; i < DW_MAX_IPV6_EXTHDRS; ++i) {
    if (nh != 0 && nh != 43 && nh != 60 && nh != 44) break;
    if (off + 8 > copied) return SIZE_MAX;
    size_t len = nh == 44 ? 8 : (size_t(p[off + 1]) + 1) * 8;
    nh = p[off];
    off += len;
  }
  return off + 8 + DW_LOAD_MAX;
}

Decision Judge::decide(const uint8_t *packet, size_t copied, size_t orig_len, bool may_requeue) {
  Decision d;
  if (copied >= orig_len) {
    d.verdict = engine_.classify_ip(packet, copied);
  } else {
    if (may_requeue && bytes_needed(packet, copied) > copied) {
      d.action = Decision::NeedWhole;
      return d;
    }
    // Every byte the verdict reads is in the copy; the rest only has to exist, so the real
    // length reaches the length checks exactly as in XDP.
    padded_.assign(orig_len, 0);
    std::memcpy(padded_.data(), packet, copied);
    d.verdict = engine_.classify_ip(padded_.data(), orig_len);
  }
  d.reason = d.verdict.reason;
  if (!dw_reason_is_drop(unsigned(d.reason))) {
    d.action = Decision::Accept;
  } else if (engine_.config().flags & DW_CFG_DRY_RUN) {
    d.action = Decision::Accept;
    d.dry_run_passed = true;
  } else {
    d.action = Decision::Drop;
  }
  return d;
}

}  // namespace dnswash::nfqueue
