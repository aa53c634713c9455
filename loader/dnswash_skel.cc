#include "dnswash_skel.h"

#include <bpf/bpf.h>
#include <sys/random.h>

#include <string>

#include "error.h"
#include "load_failure.h"

namespace dnswash {

namespace {

// Compares a live map with the skeleton's declaration of it; "" when they match.
std::string layout_diff(bpf_map *want, int fd) {
  bpf_map_info info{};
  uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) return errno_text("reading map info", errno);
  std::string d;
  auto cmp = [&](const char *what, uint64_t have, uint64_t expect) {
    if (have != expect)
      d += std::string(d.empty() ? "" : ", ") + what + " " + std::to_string(have) + " (expected " +
           std::to_string(expect) + ")";
  };
  cmp("type", info.type, bpf_map__type(want));
  cmp("key size", info.key_size, bpf_map__key_size(want));
  cmp("value size", info.value_size, bpf_map__value_size(want));
  cmp("max_entries", info.max_entries, bpf_map__max_entries(want));
  cmp("flags", info.map_flags, bpf_map__map_flags(want));
  return d;
}

}  // namespace

dnswash_bpf *open_dnswash_object(const ReuseMaps &reuse) {
  dnswash_bpf *s = dnswash_bpf__open();
  if (!s) throw Error(errno_text("opening the dnswash BPF object", errno));
  // One counters-and-scratch row per possible CPU (bpf_get_smp_processor_id() indexes it).
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0 || bpf_map__set_max_entries(s->maps.dw_cpu, uint32_t(ncpu)) != 0) {
    dnswash_bpf__destroy(s);
    throw Error(errno_text("sizing the per-CPU rows", ncpu <= 0 ? ncpu : errno));
  }
  const std::pair<bpf_map *, int> shared[] = {{s->maps.dw_zones, reuse.zones},
                                              {s->maps.dw_bans, reuse.bans},
                                              {s->maps.dw_config_map, reuse.config},
                                              {s->maps.dw_cpu, reuse.counters},
                                              {s->maps.dw_det, reuse.det}};
  for (auto [map, fd] : shared) {
    if (fd < 0) continue;
    std::string name = bpf_map__name(map);
    if (std::string d = layout_diff(map, fd); !d.empty()) {
      dnswash_bpf__destroy(s);
      throw Error("the existing map " + name + " has another layout: " + d);
    }
    if (int err = bpf_map__reuse_fd(map, fd); err) {
      dnswash_bpf__destroy(s);
      throw Error(errno_text("reusing the existing map " + name, err));
    }
  }
  return s;
}

std::unique_ptr<DnswashSkel> DnswashSkel::load(const dw_hash_key *fixed_key) {
  return load(fixed_key, ReuseMaps{});
}

std::unique_ptr<DnswashSkel> DnswashSkel::load(const dw_hash_key *fixed_key,
                                               const ReuseMaps &reuse) {
  return load(fixed_key, reuse, OptionalPrograms{});
}

std::unique_ptr<DnswashSkel> DnswashSkel::load(const dw_hash_key *fixed_key, const ReuseMaps &reuse,
                                               const OptionalPrograms &optional) {
  dw_hash_key key{};
  if (fixed_key) {
    key = *fixed_key;
  } else if (getrandom(&key, sizeof key, 0) != sizeof key) {
    throw Error(errno_text("getrandom", errno));
  }
  dnswash_bpf *s = open_dnswash_object(reuse);
  if (bpf_program__set_autoload(s->progs.dnswash_det_tc, optional.det_tc) != 0) {
    dnswash_bpf__destroy(s);
    throw Error("cannot leave out the detector's tc program (libbpf autoload)");
  }
  LoadLogCapture log;
  if (int err = dnswash_bpf__load(s); err) {
    dnswash_bpf__destroy(s);
    throw Error("the kernel refused a dnswash BPF program: " +
                load_failure_text(log.text(), err, "dnswash_xdp"));
  }
  return std::unique_ptr<DnswashSkel>(new DnswashSkel(s, key));
}

DnswashSkel::~DnswashSkel() {
  dnswash_bpf__destroy(skel_);
}

int DnswashSkel::prog_fd() const {
  return bpf_program__fd(skel_->progs.dnswash_xdp);
}
int DnswashSkel::zones_fd() const {
  return bpf_map__fd(skel_->maps.dw_zones);
}
int DnswashSkel::bans_fd() const {
  return bpf_map__fd(skel_->maps.dw_bans);
}
int DnswashSkel::config_fd() const {
  return bpf_map__fd(skel_->maps.dw_config_map);
}
int DnswashSkel::counters_fd() const {
  return bpf_map__fd(skel_->maps.dw_cpu);
}

}  // namespace dnswash
