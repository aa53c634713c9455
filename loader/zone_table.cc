#include "zone_table.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include "config_map.h"
#include "dw_siphash.h"
#include "error.h"

namespace dnswash {

uint64_t zone_key(const dw_hash_key &key, const DnsName &zone) {
  std::vector<uint8_t> wire = zone.to_wire();
  wire.resize(wire.size() + 8, 0);  // dw_sip_absorb_label reads up to 7 bytes past a label
  std::vector<size_t> offs;
  for (size_t off = 0; wire[off] != 0; off += 1 + wire[off]) offs.push_back(off);
  dw_sip s;
  dw_sip_init(&s, key.k0, key.k1);
  for (auto it = offs.rbegin(); it != offs.rend(); ++it) dw_sip_absorb_label(&s, &wire[*it]);
  return dw_sip_digest(&s);
}

DepthSummary depth_summary(const std::vector<DnsName> &zones) {
  DepthSummary d;
  for (const auto &z : zones) {
    uint32_t n = uint32_t(z.labels.size());
    if (n == 0) continue;
    d.max_depth = std::max(d.max_depth, n);
    d.mask |= n >= 64 ? (1ULL << 63) : (1ULL << (n - 1));
  }
  return d;
}

uint32_t zone_capacity_for(size_t n) { return uint32_t(std::max<size_t>(64, n + n / 16 + 16)); }

namespace {
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};
}  // namespace

void ZoneTable::replace_all(const std::vector<DnsName> &zones) {
  for (const auto &z : zones)
    if (z.is_root()) throw Error("refusing the root zone '.': it would allow every name");

  LIBBPF_OPTS(bpf_map_create_opts, opts);
  Fd inner{bpf_map_create(BPF_MAP_TYPE_HASH, "dw_zone_set", sizeof(dw_zone_key),
                          sizeof(dw_zone_val), zone_capacity_for(zones.size()), &opts)};
  if (inner.fd < 0) throw Error(errno_text("creating the zone map", errno));

  std::vector<dw_zone_key> keys;
  std::vector<dw_zone_val> vals;
  keys.reserve(zones.size());
  vals.reserve(zones.size());
  for (const auto &z : zones) {
    keys.push_back(zone_key(key_, z));
    vals.push_back(dw_zone_val{uint16_t(z.labels.size()), 0, 0});
  }
  if (!keys.empty()) {
    LIBBPF_OPTS(bpf_map_batch_opts, bopts);
    uint32_t count = uint32_t(keys.size());
    if (bpf_map_update_batch(inner.fd, keys.data(), vals.data(), &count, &bopts) != 0)
      throw Error(errno_text("filling the zone map", errno));
  }

  DepthSummary next = depth_summary(zones);
  dw_config cfg = read_config(config_fd_);
  dw_config wide = cfg;
  wide.max_depth = std::max(cfg.max_depth, next.max_depth);
  wide.depth_mask = cfg.depth_mask | next.mask;
  write_config(config_fd_, wide);

  uint32_t slot = 0;
  int ifd = inner.fd;
  if (bpf_map_update_elem(outer_fd_, &slot, &ifd, BPF_ANY) != 0)
    throw Error(errno_text("installing the zone map", errno));

  dw_config narrow = read_config(config_fd_);  // flags may have changed meanwhile
  narrow.max_depth = next.max_depth;
  narrow.depth_mask = next.mask;
  write_config(config_fd_, narrow);
}

std::vector<uint64_t> ZoneTable::live_keys() const {
  std::vector<uint64_t> out;
  uint32_t slot = 0, inner_id = 0;
  if (bpf_map_lookup_elem(outer_fd_, &slot, &inner_id) != 0) return out;  // no set installed
  Fd inner{bpf_map_get_fd_by_id(inner_id)};
  if (inner.fd < 0) throw Error(errno_text("opening the zone map", errno));
  uint64_t k, next;
  uint64_t *prev = nullptr;
  while (bpf_map_get_next_key(inner.fd, prev, &next) == 0) {
    out.push_back(next);
    k = next;
    prev = &k;
  }
  return out;
}

}  // namespace dnswash
