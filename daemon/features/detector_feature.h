// dnswashd's rolling-subdomain detector (docs/detector.md): the detector's kernel parameters,
// the tc egress program (answers signal), the exempt-zone and never-ban maps, the event ring
// buffer, the ban budget and the `detector` status section. Its bans go through the bans
// feature's BanManager (bans_feature.h), which exists without --detector. One DaemonFeature,
// created in Daemon::start_features().
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "ban_manager.h"
#include "bans_feature.h"
#include "daemon_hooks.h"
#include "dnswash_abi.h"

struct ring_buffer;

namespace dnswash::daemon {

class DetectorFeature final : public DaemonFeature {
 public:
  DetectorFeature(DaemonHooks &hooks, BansFeature &bans);
  ~DetectorFeature() override;

 private:
  void configure_kernel();
  void attach_tc();
  void detach_tc();
  void refresh_exempt();
  void refresh_never_ban();
  void refill_budget();
  void on_event(const dw_det_event &ev);
  static int ring_cb(void *ctx, void *data, size_t size);
  nlohmann::json status() const;

  DaemonHooks &h_;
  bool enabled_ = false;
  bool queries_ = false;
  uint32_t threshold_ = 0;
  uint32_t window_s_ = 0;
  BanManager *bans_;  // the bans feature's, which outlives this one
  ring_buffer *rb_ = nullptr;
  int ifindex_ = 0;
  bool tc_attached_ = false;
  uint64_t seen_applies_ = UINT64_MAX;
  std::unordered_map<uint64_t, std::string> zone_of_tag_;
  std::set<uint64_t> exempt_tags_;
  std::set<std::string> never_;  // prefixes in the never-ban map (text)
  std::vector<std::string> never_opt_;
  // Ban budget (token bucket, refilled each second).
  double tokens_ = 0;
  uint32_t last_budget_ = 0;
  uint64_t caps_rate_ = 0, caps_total_ = 0, last_cap_counter_ = 0;
  int64_t last_alarm_ms_ = 0;
};

}  // namespace dnswash::daemon
