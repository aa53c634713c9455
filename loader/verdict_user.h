// The datapath's verdict code (bpf/dw_verdict.h, compiled here by g++) run in userspace against
// the live kernel maps. The NFQUEUE fallback classifies every queued packet with it and
// `dnswashctl check` classifies a synthetic query with it, so both give exactly the verdict
// the XDP program gives (tests/nfqueue proves it with a differential test).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "dnswash_abi.h"

struct dw_verdict;

namespace dnswash {

// The maps the verdict reads; fds stay owned by the caller.
struct LiveMaps {
  int zones_fd = -1;   // dw_zones (outer array of maps)
  int bans_fd = -1;    // dw_bans
  int config_fd = -1;  // dw_config_map
};

struct UserVerdict {
  int reason = -1;          // enum dw_reason
  uint8_t family = 0;       // 4, 6 or 0
  uint8_t match_depth = 0;  // ALLOWED: labels of the zone that matched
  uint8_t labels = 0;       // QNAME labels
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  uint32_t dns_off = 0;  // DNS header offset in the frame
  uint32_t dns_len = 0;
  dw_ban_key src{};  // source as a /128 ban key
  bool drop() const { return reason >= 0 && dw_reason_is_drop(unsigned(reason)); }
};

class VerdictEngine {
 public:
  explicit VerdictEngine(const LiveMaps &maps) : maps_(maps) {}

  // Not thread-safe per engine: use one per thread.

  // A whole Ethernet frame, as XDP sees it, against the maps as they are now (it takes a
  // fresh snapshot first).
  UserVerdict classify_frame(const uint8_t *frame, size_t len);

  // Batches (the NFQUEUE threads): snapshot the zone set and dw_config once, then classify
  // many packets against it. Each bpf(2) read costs ~2 us here, so reading them per packet
  // would dominate. begin_batch() returns false, keeping the previous config, if dw_config
  // cannot be read; no installed set means no name matches, as in XDP.
  bool begin_batch();
  const dw_config &config() const { return cfg_; }
  // An IP packet without link header (what NFQUEUE delivers), against the batch's snapshot:
  // classified as if it arrived in an untagged Ethernet frame, so reasons and offsets match
  // the XDP program's (offsets are frame offsets, i.e. 14 more than in `packet`).
  UserVerdict classify_ip(const uint8_t *packet, size_t len);

  // dw_verdict.h's zone hooks: the snapshot's set (null if none) and one of its elements,
  // read with bpf(2) into a buffer of this engine.
  void *zone_set() { return inner_fd_ >= 0 ? this : nullptr; }
  const dw_zone_bucket *zone_element(uint32_t idx);

  // dw_odd.h's hook: this engine's own odd-query rate buckets (the NFQUEUE fallback and the
  // XDP program each limit what they pass; never both on one interface). Bounded like the
  // kernel's LRU map, by forgetting all buckets when full (a forged flood then still meets
  // the global bucket, which is recreated full: at most one extra burst per forgetting).
  dw_slip_val *odd_bucket(const dw_slip_key &k);

 private:
  UserVerdict classify_in_batch(const uint8_t *frame, size_t len);

  LiveMaps maps_;
  dw_config cfg_{};
  std::vector<uint8_t> frame_;  // classify_ip's frame, reused
  uint32_t inner_id_ = 0;
  int inner_fd_ = -1;
  dw_zone_bucket hdr_buf_{};
  dw_zone_bucket bucket_buf_{};
  std::unordered_map<std::string, dw_slip_val> odd_;

 public:
  ~VerdictEngine();
  VerdictEngine(const VerdictEngine &) = delete;
  VerdictEngine &operator=(const VerdictEngine &) = delete;
};

}  // namespace dnswash
