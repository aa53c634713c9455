// How a node applies the fleet's word on a zone's shield next to its own policy (docs/fleet.md
// "Shields"). Kernel-free, so the rule is tested alone (tests/fleet/remote_shield_test.cc); the
// shield feature (daemon/features/shield_feature.cc) keeps one per zone and feeds it the zone's
// missing-name rate every tick:
//   - the fleet says on: the zone is shielded here too (once its names are in the kernel: the
//     shield feature's own invariant);
//   - the fleet says off: the zone stays shielded while this node's own missing-name rate
//     (named's NXDOMAINs plus the shield's answers) is at least half --shield-nx-rate, and
//     until it has stayed below that for --shield-quiet: the off rule of the local automatic
//     policy, so a node the attack still reaches does not drop its shield because another node
//     stopped seeing it. A node the attack never reached turns it off at once.
// With this node's own state (shielded()): its operator's `off` wins over the fleet; its
// operator's `on` and its automatic policy shield the zone whatever the fleet says.
#pragma once

#include <cstdint>
#include <optional>

namespace dnswash::fleet {

class RemoteShield {
 public:
  RemoteShield(int64_t quiet_ms, double warm_rate) : quiet_ms_(quiet_ms), warm_rate_(warm_rate) {}
  // The fleet's word on the zone changed.
  void set(bool on) {
    on_ = on;
    if (on) held_ = true;
  }
  // One sample of this node's missing-name rate (per second); true while the fleet's word
  // keeps the zone shielded here.
  bool update(int64_t now_ms, double missing_rate);
  // The whole rule, once a tick: is the zone shielded here? `local_on`: this node's own
  // automatic policy or operator `on`; `local_off`: its operator said `off` (wins).
  bool shielded(int64_t now_ms, double missing_rate, bool local_on, bool local_off) {
    bool for_fleet = update(now_ms, missing_rate);
    return !local_off && (local_on || for_fleet);
  }
  bool word() const { return on_; }
  bool held() const { return held_; }

 private:
  int64_t quiet_ms_;
  double warm_rate_;
  bool on_ = false;    // the fleet's word
  bool held_ = false;  // the zone is shielded for the fleet
  std::optional<int64_t> last_warm_ms_;
};

}  // namespace dnswash::fleet
