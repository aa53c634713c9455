// dnswashd's side of the fleet (docs/fleet.md): the adapter between the kernel-free fleet/
// library and this daemon. It reports the bans this node makes and lifts (BanManager's
// on_change) to the fleet, applies the fleet's decisions through the same BanManager (so they
// reach the map and the ban store like any ban) as bans of origin `fleet` (never over a local
// ban, never on a never-ban prefix), shares the zone shields with the ShieldFeature (its own
// word published, the fleet's handed in), acks the messages once the store has them, replays what
// this node missed before the daemon reports ready, and serves the `fleet` command and status.
// Without --fleet it only reports {"enabled": false}.
#pragma once

#include <memory>
#include <optional>

#include "ban_manager.h"
#include "bans_feature.h"
#include "daemon_hooks.h"
#include "fleet.h"
#include "shield_feature.h"

namespace dnswash::daemon {

class FleetFeature final : public DaemonFeature, public fleet::FleetTarget {
 public:
  FleetFeature(DaemonHooks &hooks, BansFeature &bans, ShieldFeature &shield);
  ~FleetFeature() override;

  // The record a fleet decision becomes in the BanManager (origin fleet, `source` the nodes
  // that reported it); nullopt if it has already ended at now_ms.
  static std::optional<BanRecord> record_of(const dw_ban_key &key, const fleet::Decision &d,
                                            int64_t now_ms);

  // fleet::FleetTarget
  bool never_ban(const dw_ban_key &key) override;
  void apply_ban(const dw_ban_key &key, const fleet::Decision &d) override;
  void remove_ban(const dw_ban_key &key) override;
  bool has_ban(const dw_ban_key &key) override;
  std::vector<dw_ban_key> fleet_bans() override { return bans_.active_keys(DW_BAN_ORIGIN_FLEET); }
  bool apply_shield(const std::string &zone, bool on) override;
  void when_durable(std::function<void()> done) override;

 private:
  nlohmann::json status() const;
  void on_change(const BanChange &c);  // publishes this node's own changes

  DaemonHooks &h_;
  BanManager &bans_;
  ShieldFeature &shield_;
  std::unique_ptr<fleet::Fleet> fleet_;
  bool applying_ = false;  // changes made for the fleet: not published
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for when_saved callbacks
};

}  // namespace dnswash::daemon
