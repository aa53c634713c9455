#include "dnswash_skel.h"

#include <sys/random.h>

#include <string>

#include "error.h"

namespace dnswash {

std::unique_ptr<DnswashSkel> DnswashSkel::load(const dw_hash_key *fixed_key) {
  dw_hash_key key{};
  if (fixed_key) {
    key = *fixed_key;
  } else if (getrandom(&key, sizeof key, 0) != sizeof key) {
    throw Error(errno_text("getrandom", errno));
  }
  dnswash_bpf *s = dnswash_bpf__open();
  if (!s) throw Error(errno_text("opening the dnswash BPF object", errno));
  // One counters-and-scratch row per possible CPU (bpf_get_smp_processor_id() indexes it).
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0 || bpf_map__set_max_entries(s->maps.dw_cpu, uint32_t(ncpu)) != 0) {
    dnswash_bpf__destroy(s);
    throw Error(errno_text("sizing the per-CPU rows", ncpu <= 0 ? ncpu : errno));
  }
  if (int err = dnswash_bpf__load(s); err) {
    dnswash_bpf__destroy(s);
    throw Error(errno_text("loading the dnswash XDP program (the verifier's log is above)", err));
  }
  return std::unique_ptr<DnswashSkel>(new DnswashSkel(s, key));
}

DnswashSkel::~DnswashSkel() { dnswash_bpf__destroy(skel_); }

int DnswashSkel::prog_fd() const { return bpf_program__fd(skel_->progs.dnswash_xdp); }
int DnswashSkel::zones_fd() const { return bpf_map__fd(skel_->maps.dw_zones); }
int DnswashSkel::bans_fd() const { return bpf_map__fd(skel_->maps.dw_bans); }
int DnswashSkel::config_fd() const { return bpf_map__fd(skel_->maps.dw_config_map); }
int DnswashSkel::counters_fd() const { return bpf_map__fd(skel_->maps.dw_cpu); }

}  // namespace dnswash
