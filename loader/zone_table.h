// The kernel's zone set: keyed hashes of the served zone names in a hash map that sits in the
// one slot of dw_zones (an array of maps), plus the depth summary in dw_config.
#pragma once

#include <cstdint>
#include <vector>

#include "dns_name.h"
#include "dnswash_abi.h"

namespace dnswash {

// The map key of a zone: SipHash-1-3 of its root-first label encoding (bpf/dw_siphash.h),
// computed by the same code the datapath runs.
uint64_t zone_key(const dw_hash_key &key, const DnsName &zone);

struct DepthSummary {
  uint32_t max_depth = 0;
  uint64_t mask = 0;
};
DepthSummary depth_summary(const std::vector<DnsName> &zones);

// Slots to allocate for n zones: headroom so later diffs rarely need a rebuild.
uint32_t zone_capacity_for(size_t n);

class ZoneTable {
 public:
  ZoneTable(int zones_outer_fd, int config_fd, const dw_hash_key &key)
      : outer_fd_(zones_outer_fd), config_fd_(config_fd), key_(key) {}

  // Replaces the whole zone set at once. A new inner map is filled off to the side, the depth
  // summary is widened to cover both the old and the new set, the new map is swapped in with
  // one map update (each packet sees either the old or the new set, never a mix), and only then
  // is the summary narrowed to the new set. The root zone is rejected: it would allow every
  // name. Throws Error.
  void replace_all(const std::vector<DnsName> &zones);

  // Makes the kernel set equal to `zones` (what the zone sync calls). Unchanged zones are never
  // absent from the set at any moment. Throws Error.
  void apply(const std::vector<DnsName> &zones) { replace_all(zones); }

  // Keys of the live inner map (for tests and `zones list`).
  std::vector<uint64_t> live_keys() const;

 private:
  int outer_fd_;
  int config_fd_;
  dw_hash_key key_;
};

}  // namespace dnswash
