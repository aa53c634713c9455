// The zone shield's kernel maps (bpf/dw_shield.h): the name set (an inner array map swapped
// into dw_shield_names' one slot), the shielded zones (dw_shield_zones) and the per-zone counts
// (dw_shield_stats, per CPU), plus the config flag DW_CFG_SHIELD.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "dnswash_abi.h"
#include "name_set.h"

namespace dnswash::shield {

class ShieldMaps {
 public:
  ShieldMaps(int names_outer_fd, int zones_fd, int stats_fd, int config_fd);
  ~ShieldMaps();
  ShieldMaps(const ShieldMaps &) = delete;
  ShieldMaps &operator=(const ShieldMaps &) = delete;

  // Builds a new inner map from the image and makes it the live set (one update: each packet
  // sees the old or the new set). Throws std::runtime_error.
  void install(const NameSetImage &img);
  void set_zone(uint64_t tag, const dw_shield_zone &z);
  void clear_zone(uint64_t tag);
  // Per-zone counts summed over the CPUs.
  std::unordered_map<uint64_t, dw_shield_stat> read_stats() const;
  // DW_CFG_SHIELD: set while any zone is shielded (the XDP program then calls the hook).
  void set_flag(bool on);
  size_t kernel_bytes() const { return bytes_; }

 private:
  int outer_, zones_, stats_, config_;
  int live_ = -1;
  size_t bytes_ = 0;
};

}  // namespace dnswash::shield
