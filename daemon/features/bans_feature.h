// dnswashd's bans (docs/ban-action.md, docs/detector.md): the BanManager over the ban map
// (policy, history, the ban store), its once-a-second sweep, the store writer's completions,
// and the `bans`/`ban-add`/`ban-del`/`ban-flush` control commands (answered once the change
// is saved, without holding the loop), and the `ban_map`/`ban_store` status sections. Operators ban
// without --detector; the detector feature bans through manager(). One DaemonFeature, created in
// Daemon::start_features() before the detector (destroyed after it, so the detector's last events
// are saved).
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "ban_manager.h"
#include "daemon_hooks.h"

namespace dnswash::daemon {

class BansFeature final : public DaemonFeature {
 public:
  explicit BansFeature(DaemonHooks &hooks);
  ~BansFeature() override;

  BanManager &manager() { return *bans_; }
  // Runs fn before every sweep (the detector drains its events there first).
  void before_sweep(std::function<void()> fn) { before_sweep_.push_back(std::move(fn)); }

 private:
  nlohmann::json cmd_bans(const nlohmann::json &req);
  nlohmann::json cmd_ban_add(const nlohmann::json &req, const Peer &peer);
  nlohmann::json cmd_ban_del(const nlohmann::json &req, const Peer &peer);
  nlohmann::json cmd_ban_flush(const nlohmann::json &req, const Peer &peer);
  // `reply` once the change is durable ("saved": true) or failed ("saved": false, "error").
  nlohmann::json when_saved(nlohmann::json reply, const Peer &peer);
  void adopt_lost();

  DaemonHooks &h_;
  uint64_t last_events_lost_ = 0;
  int64_t last_adopt_ms_ = 0;

  std::unique_ptr<BanManager> bans_;
  std::vector<std::function<void()>> before_sweep_;
};

}  // namespace dnswash::daemon
