// The fleet: bans and zone shields shared by every dnswash node through NATS JetStream
// (docs/fleet.md). This is the whole interface the daemon sees, so wiring it in is a small
// adapter (daemon/features/fleet_feature.cc):
//   - FleetSink: the daemon reports its own changes (detector bans, dnswashctl bans add/del,
//     shield on/off); they are published, never waited for.
//   - FleetTarget: the daemon applies what the fleet decided (ledger.h) to its own maps, and
//     says which prefixes its never-ban list protects.
// Everything here runs on the daemon's loop; NATS runs on NatsLink's threads and wakes the
// loop through wake_fd().
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ledger.h"
#include "message.h"
#include "nats_link.h"

namespace dnswash::fleet {

struct LocalBan {
  dw_ban_key key{};
  bool manual = false;
  std::string zone;
  int64_t start_ms = 0;
  std::optional<int64_t> expires_ms;  // nullopt = permanent
  uint32_t offenses = 0;
};

class FleetSink {
 public:
  virtual ~FleetSink() = default;
  virtual void on_local_ban(const LocalBan &ban) = 0;
  virtual void on_local_unban(const dw_ban_key &key, bool manual) = 0;
  virtual void on_shield(const std::string &zone, bool on) = 0;
};

class FleetTarget {
 public:
  virtual ~FleetTarget() = default;
  // True if the local never-ban list covers any address of `key`: a remote ban on it is
  // never applied (the local list always wins).
  virtual bool never_ban(const dw_ban_key &key) = 0;
  // Enforce the fleet's ban on `key` until d.expires_ms (nullopt = permanent), replacing an
  // earlier fleet ban on it; a local ban on the same prefix is left as it is.
  virtual void apply_ban(const dw_ban_key &key, const Decision &d) = 0;
  // Lift the fleet's ban on `key` (a local one stays).
  virtual void remove_ban(const dw_ban_key &key) = 0;
  // True if some ban on exactly `key` is in force (the periodic check re-applies a fleet ban
  // that was lost, e.g. flushed by the operator or ended with a shorter local ban).
  virtual bool has_ban(const dw_ban_key &key) = 0;
  // The fleet bans in the map now (after a restart: those saved before it). Once the replay
  // is done, those the fleet no longer decides are removed.
  virtual std::vector<dw_ban_key> fleet_bans() = 0;
  // The fleet's word on a zone's shield changed (--fleet-quorum other nodes have it on, or no
  // longer). False if this node does not serve the zone, or has no shield: ignored, counted.
  virtual bool apply_shield(const std::string &zone, bool on) = 0;
  // Runs `done` once what was applied so far is durable here (the ban store), or at once when
  // nothing is stored; the messages that carried it are acked in `done`, so a crash before
  // then means a redelivery, not a loss. `done` may run later, from the target's own loop.
  virtual void when_durable(std::function<void()> done) { done(); }
};

struct FleetOptions {
  LinkOptions link;
  unsigned quorum = 1;
};

class Fleet final : public FleetSink {
 public:
  Fleet(FleetOptions opt, FleetTarget &target);
  ~Fleet() override;

  void on_local_ban(const LocalBan &ban) override;
  void on_local_unban(const dw_ban_key &key, bool manual) override;
  void on_shield(const std::string &zone, bool on) override;

  int wake_fd() const { return wake_fd_; }
  // Applies what has arrived (the loop calls it when wake_fd() is readable).
  void poll();
  // Once a second: bans whose reports expired, and fleet bans lost from the map.
  void tick();
  // Applies arriving messages until both durable consumers have replayed what they had for
  // this node, or `limit` passes. True if caught up.
  bool replay(std::chrono::milliseconds limit);

  nlohmann::json status() const;
  // One message as it would arrive (tests and the benchmark drive the checks with it).
  Reject receive(const std::string &subject, const std::string &data, int64_t now_ms);

 private:
  void publish(Message m, bool keep, bool both);
  void apply(const std::vector<BanChange> &bans, const std::vector<ShieldChange> &shields);

  FleetOptions opt_;
  FleetTarget &target_;
  int wake_fd_ = -1;
  std::unique_ptr<NatsLink> link_;
  Ledger ledger_;
  uint64_t seq_ = 0;
  bool replayed_ = false;

  struct Peer {
    int64_t last_rx_ms = 0;     // when this node last received a message from it
    int64_t last_at_ms = 0;     // that message's own time
    int64_t last_delay_ms = 0;  // between the two (clocks in sync: the propagation delay)
    uint64_t messages = 0;
  };
  std::map<std::string, Peer> peers_;
  // This node's own word on each zone's shield as published since it started; a word from
  // before (seq below first_seq_) saying "on" that this run does not hold is corrected.
  std::map<std::string, bool> local_shield_;
  uint64_t first_seq_ = 0;
  uint64_t shields_ignored_ = 0, shields_corrected_ = 0;
  uint64_t applied_ = 0, stale_ = 0, own_ = 0, never_ban_ = 0, local_published_ = 0;
  std::map<Reject, uint64_t> rejected_;
  uint64_t bans_applied_ = 0, bans_lifted_ = 0, shields_applied_ = 0, reapplied_ = 0;
};

}  // namespace dnswash::fleet
