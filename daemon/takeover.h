// Restart and upgrade without a window: a daemon pins its XDP link and maps under
// <pin-dir>/<iface>/abi-<DW_ABI_VERSION>/; the next daemon finds them, loads its program
// sharing those maps, and swaps it in with bpf_link_update. The link (and with it the
// attachment and the driver's rings) never goes away.
//
// The zone keys stay valid because the new program keeps the old SipHash key rather than
// re-keying: the key lives in the zone set's header (bpf/dnswash_abi.h, struct dw_zone_hdr),
// so sharing dw_zones shares the key, and ZoneTable takes the live set over with its key. The
// alternative, a fresh key and a re-filled private zone set swapped in with the program, would
// also be window-free, but would hold two full sets in memory during every restart and would
// not carry the bans and counters over; sharing the maps does both for free.
//
// Attached through libxdp's dispatcher (docs/nic-sharing.md) there is no link of ours: the
// daemon pins its component program instead (xdp-prog), and the next daemon attaches its own
// component beside it (both share the maps, so both give the same verdicts) and then detaches
// the old one. libxdp swaps each new dispatcher in atomically: no window either.
//
// Pins of another ABI version (or maps whose layout differs from this build's) are never
// reused: by policy the daemon either refuses to start, or loads a fresh program with fresh
// maps and still swaps it into the old link (no window either; counters and bans start over).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "attach.h"
#include "dnswash_abi.h"
#include "dnswash_skel.h"
#include "unique_fd.h"

namespace dnswash::daemon {

struct PinLayout {
  std::string iface_dir;  // <pin-dir>/<iface>
  std::string dir;        // <iface_dir>/abi-<N>
  int abi = 0;
  std::string link() const { return dir + "/link"; }
  std::string shared_prog() const { return dir + "/xdp-prog"; }  // libxdp: instead of link
  std::string zones() const { return dir + "/dw_zones"; }
  std::string bans() const { return dir + "/dw_bans"; }
  std::string config() const { return dir + "/dw_config_map"; }
  std::string counters() const { return dir + "/dw_cpu"; }
  std::string det() const { return dir + "/dw_det"; }  // optional: older pins lack it
};
PinLayout pin_layout(const std::string &pin_dir, const std::string &iface,
                     int abi = DW_ABI_VERSION);

// Makes sure pin_dir is (or can be created) on a bpf filesystem. Throws Error saying how to
// mount one otherwise.
void ensure_bpffs_dir(const std::string &pin_dir);

// What an earlier dnswashd on this interface left pinned.
struct Previous {
  PinLayout pins;
  UniqueFd link;
  LinkInfo link_info;
  // Attached through libxdp's dispatcher: no link; its component program instead.
  bool shared = false;
  UniqueFd shared_prog;
  uint32_t shared_prog_id = 0;
  XdpState xdp;  // what the interface runs now (the link's program)
  // Same ABI version only: the maps to share (the zone set carries its key).
  bool same_abi = false;
  UniqueFd zones, bans, config, counters;
  UniqueFd det;  // the detector's counts; invalid when the previous daemon pinned none
  // Same ABI, but a map's layout differs (set by the daemon when loading with reuse fails).
  std::string incompatible;
};

// Looks under <pin-dir>/<iface>/ for a pinned link (or libxdp component). nullopt when there
// is none, or when the pinned link (component) no longer holds the interface (then the stale
// pins are removed). Throws Error
// for pins that belong to another interface or network namespace, or are inconsistent.
std::optional<Previous> find_previous(const std::string &pin_dir, const std::string &iface,
                                      int ifindex);

// Pins the shared maps and then the link (or, `shared`, the libxdp component program) under
// `pins` (skipping a pin that already names the same object). Throws Error.
void pin_state(const PinLayout &pins, int link_fd, DnswashSkel &skel, bool shared = false);

// Removes the pins of one layout and its directories (the iface dir only if empty). Never throws.
void remove_pins(const PinLayout &pins);

}  // namespace dnswash::daemon
