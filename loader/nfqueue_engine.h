// The verdict code (bpf/dw_verdict.h) bound to the live maps for the NFQUEUE threads, with the
// zone set and dw_config read once per receive batch instead of once per packet.
//
// Why not VerdictEngine (verdict_user.h): it reads dw_config and the zone set's outer map for
// every packet (and zone_has looks the outer map up once per depth), each a bpf(2) syscall
// of ~2 us on this VM; a queue thread spends most of its time there. This binding reads them
// once per batch of up to 64 packets, which roughly halves the cost per packet. Same verdict
// text, same hooks otherwise; tests/nfqueue/differential_test.cc holds it to the XDP program.
// To be folded into VerdictEngine as a batch API (see the NFQUEUE report).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "dnswash_abi.h"
#include "verdict_user.h"

namespace dnswash {

class NfqVerdictEngine {
 public:
  explicit NfqVerdictEngine(const LiveMaps &maps) : maps_(maps) {}
  ~NfqVerdictEngine();
  NfqVerdictEngine(const NfqVerdictEngine &) = delete;
  NfqVerdictEngine &operator=(const NfqVerdictEngine &) = delete;

  // Snapshots the current zone set (its header travels with it) and dw_config for the
  // packets that follow. Returns false (and keeps the previous snapshot) if the maps cannot be read.
  bool begin_batch();
  const dw_config &config() const { return cfg_; }

  // An IP packet without link header, classified as VerdictEngine::classify_ip does (as if
  // it arrived in an untagged Ethernet frame). Returns the reason.
  int classify_ip(const uint8_t *packet, size_t len);

  // The hook dw_verdict.h calls: element idx (0 = header) of the batch's zone set.
  const dw_zone_bucket *zone_element(uint32_t idx);
  bool has_zone_set() const { return inner_fd_ >= 0; }

 private:
  LiveMaps maps_;
  dw_config cfg_{};
  uint32_t inner_id_ = 0;
  int inner_fd_ = -1;
  dw_zone_bucket hdr_buf_{};
  dw_zone_bucket bucket_buf_{};
  std::vector<uint8_t> frame_;
};

}  // namespace dnswash
