// dnswashd's zone shield (docs/detector.md "Zone shield"), on with --detector: reads the
// per-zone counts (dw_shield_stats) every 100 ms and turns a zone's shield on and off
// (shield::ZonePolicy, or the operator's `zones-shield` mode); keeps the names of the zones it
// watches current from named (AXFR, SOA serial polled every 250 ms) in a worker thread that
// also builds the name set; installs the set, then shields the zone (never the other way
// round: a zone is shielded only once its names are in the kernel). Status section `shield`,
// control command `zones-shield`. With --fleet, the fleet feature hears this node's own word on
// each zone and hands in the fleet's (docs/fleet.md "Shields", fleet/remote_shield.h).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>

#include "axfr.h"
#include "daemon_hooks.h"
#include "name_set.h"
#include "remote_shield.h"
#include "shield_maps.h"
#include "shield_policy.h"

namespace dnswash::daemon {

class ShieldFeature final : public DaemonFeature {
 public:
  explicit ShieldFeature(DaemonHooks &hooks);
  ~ShieldFeature() override;

  // The fleet's seam. `fn` hears every change of this node's own word on a zone (its automatic
  // policy or its operator's mode), never a shield applied for the fleet; empty: none.
  using LocalChange = std::function<void(const std::string &zone, bool on)>;
  void on_local_change(LocalChange fn) { local_change_ = std::move(fn); }
  // The fleet's word on `zone` (presentation text). False, and counted, if this node does not
  // serve the zone or has no shield (no --detector, NFQUEUE mode).
  bool apply_remote(const std::string &zone, bool on);

 private:
  struct Loaded {
    uint32_t serial = 0;
    std::vector<uint8_t> soa_rr;
    size_t names = 0;
    int64_t at_ms = 0;
    bool signed_zone = false;  // DNSKEY at the apex (shield::ZoneTransfer)
  };
  struct Zone {
    std::string name;
    DnsName dn;
    shield::ZonePolicy policy;
    bool kernel_on = false;
    uint32_t kernel_action = 0;  // the dw_shield_zones entry's, while kernel_on
    uint32_t kernel_serial = 0;  // the serial of the SOA in that entry
    bool word = false;           // this node's own word, as last told to local_change_
    fleet::RemoteShield remote{0, 0};
    uint64_t blocked = 0;   // queries the shield answered or dropped (kernel count)
    uint64_t named_nx = 0;  // named's NXDOMAIN answers under the zone (tc count, all sources)
  };
  void tick();
  // The answer for a missing name under a zone: --shield-action, but TC=1 for a signed zone
  // when that is nxdomain (a validator would reject an NXDOMAIN without its NSEC proofs).
  uint32_t action_for(const Loaded &l) const;
  void refresh_zone_tags();
  Zone &zone_for(uint64_t tag, const std::string &name);
  void worker_loop();
  nlohmann::json status() const;
  nlohmann::json cmd_shield(const nlohmann::json &req, const Peer &peer);

  DaemonHooks &h_;
  bool enabled_ = false;
  shield::PolicyParams params_;
  uint32_t action_ = DW_SHIELD_ACT_NXDOMAIN;
  shield::Endpoint from_;
  std::unique_ptr<shield::ShieldMaps> maps_;
  std::optional<dw_hash_key> key_;
  uint64_t seen_applies_ = UINT64_MAX;
  std::unordered_map<uint64_t, std::string> zone_of_tag_;
  std::map<uint64_t, Zone> zones_;
  std::map<std::string, Loaded> installed_;  // zones whose names the live set holds
  LocalChange local_change_;
  uint64_t fleet_unserved_ = 0;  // the fleet's words on zones this node cannot shield

  // Shared with the worker thread.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::set<std::string> watch_;  // zones whose names the worker keeps current
  std::optional<shield::NameSetImage> pending_;
  std::map<std::string, Loaded> pending_loaded_;
  std::map<std::string, std::string> errors_;  // zone -> last transfer error
  std::thread worker_;
};

}  // namespace dnswash::daemon
