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
  // rodata is writable until load, then frozen: the key cannot change under the zone map.
  s->rodata->dw_key.k0 = key.k0;
  s->rodata->dw_key.k1 = key.k1;
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
int DnswashSkel::counters_fd() const { return bpf_map__fd(skel_->maps.dw_counters); }

}  // namespace dnswash
