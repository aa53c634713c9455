// The NFQUEUE fallback's per-packet decision: the XDP program's verdict code (dw_verdict.h,
// through VerdictEngine's batch API) over the bytes netfilter copied to userspace, plus dry-run.
//
// Netfilter copies only the first kCopyRange bytes of a packet. That covers every byte the
// verdict code can read for IPv4 (60-byte header, UDP, 12 + 255 + 4 bytes of DNS) and for
// IPv6 with up to kCopyRange - 40 - 8 - 271 bytes of extension headers. A packet whose
// headers run past the copied bytes is sent back to the kernel to be queued again, whole, on
// a second queue (NeedWhole); nothing is ever judged on bytes it did not see.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "verdict_user.h"

namespace dnswash::nfqueue {

struct Decision {
  enum Action : uint8_t { Accept, Drop, NeedWhole };
  Action action = Accept;
  int reason = -1;              // enum dw_reason; -1 with NeedWhole
  bool dry_run_passed = false;  // a drop verdict accepted because dry-run is on
  UserVerdict verdict;          // the whole verdict (not with NeedWhole), for the sampler
};

class Judge {
 public:
  static constexpr uint32_t kCopyRange = 512;

  explicit Judge(const LiveMaps &maps) : engine_(maps) {}

  // Reads the zone set and dw_config (dry-run included) for the packets that follow: call it
  // once per receive batch. False if the maps cannot be read (the last snapshot stays).
  bool begin_batch() { return engine_.begin_batch(); }

  // `copied` bytes of an IP packet (no link header) whose real length is `orig_len`
  // (NFQA_CAP_LEN, or `copied` when netfilter copied it all). With may_requeue false (the
  // whole-packet queue, whose copy range is the kernel's maximum, 65531 bytes) a packet still
  // cut short is judged on its copied bytes with the rest taken as zeros.
  Decision decide(const uint8_t *packet, size_t copied, size_t orig_len, bool may_requeue = true);

  // How many leading bytes of this packet the verdict code can read at most, judging by the
  // headers in the first `copied` bytes; SIZE_MAX if those headers continue past them.
  static size_t bytes_needed(const uint8_t *packet, size_t copied);

  VerdictEngine &engine() { return engine_; }

 private:
  VerdictEngine engine_;
  std::vector<uint8_t> padded_;
};

}  // namespace dnswash::nfqueue
