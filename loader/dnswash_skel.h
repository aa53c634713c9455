// RAII ownership of the loaded dnswash XDP program and its maps (after katran's BpfSkeleton):
// the skeleton is destroyed, and with it every fd it holds, when the object goes away.
#pragma once

#include <memory>
#include <string>

#include "dnswash_abi.h"  // before the skeleton: it names struct dw_hash_key
#include "dnswash_bpf.skel.h"

namespace dnswash {

// Maps of a running program to reuse instead of creating new ones (daemon restart: the new
// program shares the old one's zone set (with its key), bans, config and counter rows).
// -1 = create.
struct ReuseMaps {
  int zones = -1;
  int bans = -1;
  int config = -1;
  int counters = -1;
  int det = -1;  // dw_det: the rolling-subdomain detector's counts (docs/detector.md)
};

// Which optional programs to load (libbpf autoload). A feature that is off does not load its
// program, so a kernel that refuses it cannot stop the filter. dnswash_xdp always loads.
struct OptionalPrograms {
  bool det_tc = true;  // dnswash_det_tc: the detector's tc egress program (answers signal)
};

// Opens (does not load) the dnswash BPF object with its per-CPU rows sized and the given maps
// reused after a layout check. Throws Error. DnswashSkel::load and the libxdp component
// (loader/xdp_share.h) both start here.
dnswash_bpf *open_dnswash_object(const ReuseMaps &reuse);

class DnswashSkel {
 public:
  // Opens and loads the program. key() is a fresh SipHash key for a new zone set, drawn from
  // getrandom() unless given (tests and benchmarks pass a fixed key to be reproducible); a
  // ZoneTable that takes over a live set keeps that set's key instead. Throws Error on failure,
  // with libbpf's and the verifier's message.
  static std::unique_ptr<DnswashSkel> load(const dw_hash_key *fixed_key = nullptr);
  // The same, sharing the given maps. Each reused map must have exactly the layout this build
  // declares (type, key and value size, max_entries, flags); otherwise Error names the map and
  // what differs, and nothing is loaded.
  static std::unique_ptr<DnswashSkel> load(const dw_hash_key *fixed_key, const ReuseMaps &reuse);
  // The same, loading only the optional programs asked for. If the kernel refuses a program,
  // Error names it, the kernel release and the verifier's last lines.
  static std::unique_ptr<DnswashSkel> load(const dw_hash_key *fixed_key, const ReuseMaps &reuse,
                                           const OptionalPrograms &optional);
  ~DnswashSkel();
  DnswashSkel(const DnswashSkel &) = delete;
  DnswashSkel &operator=(const DnswashSkel &) = delete;

  dnswash_bpf *skel() { return skel_; }
  int prog_fd() const;
  const dw_hash_key &key() const { return key_; }
  int zones_fd() const;
  int bans_fd() const;
  int config_fd() const;
  int counters_fd() const;  // dw_cpu: per-CPU rows of counters (and scratch)

 private:
  explicit DnswashSkel(dnswash_bpf *s, const dw_hash_key &k) : skel_(s), key_(k) {}
  dnswash_bpf *skel_;
  dw_hash_key key_;
};

}  // namespace dnswash
