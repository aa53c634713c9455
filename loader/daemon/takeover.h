// Restart and upgrade without a window: a daemon pins its XDP link and maps under
// <pin-dir>/<iface>/abi-<DW_ABI_VERSION>/; the next daemon finds them, loads its program
// sharing those maps and the old SipHash key, and swaps it in with bpf_link_update. The link
// (and with it the attachment and the driver's rings) never goes away.
//
// Why reuse the old key rather than re-key and re-fill: the zone map stays valid for the old
// and the new program at every instant, the bans and counters live on in the same maps, and
// the new daemon's first sync goes through the same window-free ZoneTable::apply as any edit.
// A new key would need a second, private zone map filled before the swap and would drop the
// bans and counters. The key is read back from the running program's frozen .rodata map, which
// only works when both builds lay out .rodata the same: the ABI version and the map layout
// checks below guard that.
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
  std::string zones() const { return dir + "/dw_zones"; }
  std::string bans() const { return dir + "/dw_bans"; }
  std::string config() const { return dir + "/dw_config_map"; }
  std::string counters() const { return dir + "/dw_counters"; }
};
PinLayout pin_layout(const std::string &pin_dir, const std::string &iface, int abi = DW_ABI_VERSION);

// Makes sure pin_dir is (or can be created) on a bpf filesystem. Throws Error saying how to
// mount one otherwise.
void ensure_bpffs_dir(const std::string &pin_dir);

// What an earlier dnswashd on this interface left pinned.
struct Previous {
  PinLayout pins;
  UniqueFd link;
  LinkInfo link_info;
  XdpState xdp;  // what the interface runs now (the link's program)
  // Same ABI version only: the maps to share and the running program's key.
  bool same_abi = false;
  UniqueFd zones, bans, config, counters;
  dw_hash_key key{};
  // Same ABI, but a map's layout differs (set by the daemon when loading with reuse fails).
  std::string incompatible;
};

// Looks under <pin-dir>/<iface>/ for a pinned link. nullopt when there is none, or when the
// pinned link no longer holds the interface (then the stale pins are removed). Throws Error
// for pins that belong to another interface or network namespace, or are inconsistent.
std::optional<Previous> find_previous(const std::string &pin_dir, const std::string &iface,
                                      int ifindex);

// Pins the link and the four shared maps under `pins` (skipping a pin that already names the
// same object). Throws Error.
void pin_state(const PinLayout &pins, int link_fd, DnswashSkel &skel);

// Removes the pins of one layout and its directories (the iface dir only if empty). Never throws.
void remove_pins(const PinLayout &pins);

}  // namespace dnswash::daemon
