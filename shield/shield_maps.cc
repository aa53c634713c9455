#include "shield_maps.h"

#include "config_map.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace dnswash::shield {

namespace {
std::runtime_error err(const std::string &what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}
}  // namespace

ShieldMaps::ShieldMaps(int names_outer_fd, int zones_fd, int stats_fd, int config_fd)
    : outer_(names_outer_fd), zones_(zones_fd), stats_(stats_fd), config_(config_fd) {}

ShieldMaps::~ShieldMaps() {
  if (live_ >= 0) close(live_);
}

void ShieldMaps::install(const NameSetImage &img) {
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_INNER_MAP);
  uint32_t n = uint32_t(img.elems.size());
  int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "dw_names_set", sizeof(uint32_t),
                          sizeof(dw_names_bucket), n, &opts);
  if (fd < 0) throw err("creating a name set of " + std::to_string(n) + " buckets");
  std::vector<uint32_t> keys(n);
  for (uint32_t i = 0; i < n; ++i) keys[i] = i;
  LIBBPF_OPTS(bpf_map_batch_opts, bopts);
  uint32_t count = n;
  if (bpf_map_update_batch(fd, keys.data(), img.elems.data(), &count, &bopts) != 0) {
    close(fd);
    throw err("filling the name set");
  }
  uint32_t slot = 0;
  if (bpf_map_update_elem(outer_, &slot, &fd, BPF_ANY) != 0) {
    close(fd);
    throw err("installing the name set");
  }
  if (live_ >= 0) close(live_);
  live_ = fd;
  bytes_ = size_t(n) * sizeof(dw_names_bucket);
}

void ShieldMaps::set_zone(uint64_t tag, const dw_shield_zone &z) {
  if (bpf_map_update_elem(zones_, &tag, &z, BPF_ANY) != 0) throw err("shielding a zone");
}

void ShieldMaps::clear_zone(uint64_t tag) {
  if (bpf_map_delete_elem(zones_, &tag) != 0 && errno != ENOENT) throw err("unshielding a zone");
}

std::unordered_map<uint64_t, dw_shield_stat> ShieldMaps::read_stats() const {
  std::unordered_map<uint64_t, dw_shield_stat> out;
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return out;
  std::vector<dw_shield_stat> per(static_cast<size_t>(ncpu));
  uint64_t key = 0, next = 0;
  uint64_t *prev = nullptr;
  while (bpf_map_get_next_key(stats_, prev, &next) == 0) {
    if (bpf_map_lookup_elem(stats_, &next, per.data()) == 0) {
      dw_shield_stat sum{};
      for (const auto &p : per) {
        sum.answers += p.answers;
        sum.nx += p.nx;
        sum.blocked += p.blocked;
      }
      out[next] = sum;
    }
    key = next;
    prev = &key;
  }
  return out;
}

void ShieldMaps::set_flag(bool on) {
  // Read-modify-write of the config line, like every other feature's switch: all run on the
  // daemon's one loop thread.
  if (bool(read_config(config_).flags & DW_CFG_SHIELD) != on)
    set_config_flag(config_, DW_CFG_SHIELD, on);
}

}  // namespace dnswash::shield
