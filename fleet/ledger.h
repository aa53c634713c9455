// What the other nodes said, and what this node should enforce because of it: the policy half
// of the fleet, with no NATS and no maps, so it is tested alone (tests/fleet/ledger_test.cc).
//
// For each prefix it keeps every other node's latest word (ban with its expiry, or unban),
// ordered by that node's seq, so a message replayed or delivered twice changes nothing and an
// older one never undoes a newer one. The ban this node enforces is decided from those reports:
//   - it needs `quorum` distinct nodes with a ban in force on the prefix (default 1);
//   - its expiry is the quorum-th longest of theirs (permanent counts as longest), so one node
//     alone can neither ban nor lengthen a ban beyond what `quorum` nodes agree on;
//   - a manual unban clears every node's ban on the prefix made before it (an operator's
//     `dnswashctl bans del` lifts a ban fleet-wide), a detector one only its node's.
// The node's own messages are not counted: its own bans are in force locally already.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "message.h"

namespace dnswash::fleet {

struct Decision {
  std::optional<int64_t> expires_ms;  // nullopt = permanent
  int64_t start_ms = 0;               // earliest start among the reports counted
  size_t nodes = 0;                   // nodes with a ban in force
  bool manual = false;                // one of them is an operator's ban
  std::string zone;                   // the zone one of them rolled under
  uint32_t offenses = 0;              // the most any of them counted
  std::string by;                     // the nodes counted, comma-separated (at most 255 chars)
  bool operator==(const Decision &) const = default;
};

struct BanChange {
  dw_ban_key key{};
  std::optional<Decision> now;  // nullopt: no fleet ban on the key any more
};
struct ShieldChange {
  std::string zone;
  bool on = false;
};

enum class Outcome { kApplied, kStale, kOwn };

class Ledger {
 public:
  Ledger(std::string self, unsigned quorum)
      : self_(std::move(self)), quorum_(quorum ? quorum : 1) {}

  // Takes one checked message; appends the decisions that changed.
  Outcome add(const Message &m, int64_t now_ms, std::vector<BanChange> *bans,
              std::vector<ShieldChange> *shields);
  // This node's operator lifted the ban on `key` at at_ms: as a manual unban from elsewhere.
  void lift(const dw_ban_key &key, int64_t at_ms, int64_t now_ms, std::vector<BanChange> *out);
  // Bans whose reports expired: recomputed (a quorum may be lost, an expiry shorten).
  void expire(int64_t now_ms, std::vector<BanChange> *out);

  std::optional<Decision> decision(const dw_ban_key &key) const;
  const std::map<std::array<uint8_t, sizeof(dw_ban_key)>, Decision> &decisions() const {
    return decided_;
  }
  size_t pending_quorum(int64_t now_ms) const;  // prefixes with bans in force, short of quorum
  bool shield(const std::string &zone) const;
  std::vector<std::string> shields_on() const;  // zones the fleet has shielded
  unsigned quorum() const { return quorum_; }

 private:
  using Key = std::array<uint8_t, sizeof(dw_ban_key)>;
  struct Report {
    uint64_t seq = 0;
    int64_t at_ms = 0;
    bool banned = false;
    std::optional<int64_t> expires_ms;
    int64_t start_ms = 0;
    bool manual = false;
    std::string zone;
    uint32_t offenses = 0;
  };
  struct Prefix {
    dw_ban_key key{};
    std::map<std::string, Report> by_node;
    int64_t cleared_at_ms = 0;  // newest manual unban
  };
  struct ShieldWord {
    uint64_t seq = 0;
    bool on = false;
  };
  static Key key_of(const dw_ban_key &k);
  std::optional<Decision> decide(const Prefix &p, int64_t now_ms) const;
  void update(const Key &k, int64_t now_ms, std::vector<BanChange> *out);

  std::string self_;
  unsigned quorum_;
  std::map<Key, Prefix> prefixes_;
  std::map<Key, Decision> decided_;
  std::map<std::string, std::map<std::string, ShieldWord>> shields_;  // zone -> node -> word
  std::map<std::string, bool> shield_on_;
};

}  // namespace dnswash::fleet
