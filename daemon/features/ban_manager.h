// The one owner of dw_bans in userspace: operator bans (dnswashctl bans add) and detector bans
// (added by the kernel, then shaped by the offense policy here), their offense history, and
// the ban store that carries both across daemon restarts and reboots (docs/detector.md,
// banstore/).
//
// Every change goes to the kernel map at once (enforcement never waits for the disk) and to
// the store through the BanWriter, one record per change, durable a few milliseconds later;
// when_saved() says when (or that it failed: then it is retried, and status shows it).
// Expiry and the forgetting of old histories follow time-ordered indexes: the once-a-second
// sweep costs what is due, not the number of bans.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ban_entry.h"
#include "ban_store.h"
#include "ban_writer.h"
#include "dnswash_abi.h"
#include "expiry_queue.h"

namespace dnswash::daemon {

using BanRecord = banstore::BanEntry;

struct BanPolicy {
  uint64_t first_s = 7200;  // first offense
  uint64_t repeat_s = 0;    // an offense after an earlier ban; 0 = permanent
  // The offense history of sources whose ban has ended is bounded, so an attacker who gets
  // many sources banned (forged ones included) cannot grow the daemon and its store without
  // end. Forgotten first: histories older than forget_s (0 = never), then the oldest beyond
  // history_max. A ban in force is never touched.
  uint64_t forget_s = 0;
  size_t history_max = 10000;
};

// One change to the bans, for whoever follows them (the fleet publishes the local ones):
// `record` is the state after the change; removed = the prefix has no ban and no history now.
struct BanChange {
  uint64_t seq = 0;  // increasing, per daemon run
  BanRecord record;
  bool removed = false;
  enum class Why { kAdded, kExpired, kRemoved, kForgotten, kAdopted } why = Why::kAdded;
};

class BanManager {
 public:
  // store_path "" = nothing persisted. legacy_json: a state file of the JSON format earlier
  // versions wrote, imported into an empty store once and renamed *.imported.
  BanManager(int bans_fd, std::string store_path, BanPolicy policy, std::string legacy_json = "");
  ~BanManager();

  // Reads the store (each invalid record is skipped, named in the log and kept aside), puts
  // the bans that still have time left into the map, and, when the map was taken over from
  // a previous daemon (map_shared), adopts the entries it holds that the store does not know
  // and skips the puts it already holds. A fresh map is not walked (at 250,000 bans a walk
  // costs seconds).
  void load(bool map_shared = true);

  // Operator ban; seconds nullopt = permanent. Replaces a ban on the same prefix.
  const BanRecord &add_operator(const dw_ban_key &key, std::optional<uint64_t> seconds);
  // A ban from elsewhere (a fleet node: origin DW_BAN_ORIGIN_FLEET, r.source names it),
  // applied as given: r.active, and r.expires_unix_ms/length_ms or r.permanent; stored like
  // any other. Throws Error if r fails banstore::check_entry or has already ended.
  const BanRecord &apply(BanRecord r);
  // Removes the ban on exactly this prefix and its offense history; false if there was none.
  bool del(const dw_ban_key &key);
  // Removes every active ban (or only the detector's) and their history; returns how many.
  size_t flush(bool detector_only);

  // The kernel banned `key` until kernel_expires (boot ns). Applies the offense policy
  // (rewrites the map entry for a repeat offense) and returns the record.
  const BanRecord &on_detector_ban(const dw_ban_key &key, uint64_t kernel_expires,
                                   const std::string &zone, const std::vector<std::string> &names);

  // Expired bans leave the map, old histories are forgotten. Called every second; costs what
  // is due.
  void sweep();
  // Walks the kernel map for entries the kernel added whose event was lost (costly: call when
  // the detector's events-lost counter moved, and at load).
  void adopt_unknown();

  // Blocks until every change so far was tried by the store, then runs the when_saved()
  // callbacks that are due (shutdown of a feature whose callbacks must not outlive it).
  void flush_saves();

  // Durability. last_seq() is the sequence number of the latest change; fn(saved, error)
  // runs once every change up to `seq` is durable or failed (at once with no store).
  uint64_t last_seq() const { return seq_; }
  void when_saved(uint64_t seq, std::function<void(bool saved, const std::string &error)> fn);
  int writer_fd() const;  // poll it; call on_writer_ready() when readable (-1 = no store)
  void on_writer_ready();
  nlohmann::json store_status() const;
  uint64_t save_failures() const;
  size_t unsaved() const;

  // Changes after `after_seq` still in the journal (the newest kJournal), oldest first.
  static constexpr size_t kJournal = 16384;
  std::vector<BanChange> changes_since(uint64_t after_seq, size_t max) const;
  void on_change(std::function<void(const BanChange &)> fn) { listeners_.push_back(std::move(fn)); }

  size_t active(uint32_t origin) const;                        // active bans of one origin
  std::vector<dw_ban_key> active_keys(uint32_t origin) const;  // walks every record
  size_t active() const { return active_total_; }
  size_t history() const { return histories_.size(); }  // sources with history, no ban
  uint64_t forgotten() const { return forgotten_total_; }
  // The `bans` reply's entries, in key order.
  nlohmann::json list(size_t offset, size_t limit, size_t *total) const;
  nlohmann::json entry_json(const BanRecord &r) const;
  std::optional<int64_t> expires_unix_ms(const BanRecord &r) const;
  const BanRecord *find(const dw_ban_key &key) const;

  const BanPolicy &policy() const { return policy_; }
  void set_policy(const BanPolicy &p) { policy_ = p; }
  const std::string &state_path() const { return path_; }

 private:
  using Key = std::array<uint8_t, sizeof(dw_ban_key)>;
  static Key key_of(const dw_ban_key &k);
  // Every change of a record goes through here: indexes, counts, store, journal, listeners.
  // nullopt removes the record.
  void set(const Key &k, std::optional<BanRecord> r, BanChange::Why why);
  void unindex(const Key &k, const BanRecord &r);
  void index(const Key &k, const BanRecord &r);
  void put_kernel(const BanRecord &r);
  void stamp(BanRecord &r) const;  // wall-clock expiry, length and boot id for the store
  std::vector<BanRecord> import_legacy();
  using KernelView = std::map<Key, dw_ban_val>;
  KernelView read_kernel_map() const;
  void adopt_from(const KernelView &kernel);
  void restore(std::vector<BanRecord> recs, bool from_store, const KernelView &kernel);
  size_t forget_histories();

  int fd_;
  std::string path_, legacy_;
  BanPolicy policy_;
  banstore::BootId boot_id_;
  std::unique_ptr<banstore::BanStore> store_;
  std::unique_ptr<banstore::BanWriter> writer_;
  std::map<Key, BanRecord> recs_;
  banstore::ExpiryQueue<Key> expiry_;            // active, not permanent: by boot-time expiry
  std::set<std::pair<int64_t, Key>> histories_;  // not active, offenses > 0: by since
  size_t active_total_ = 0;
  size_t active_detector_ = 0;
  size_t active_fleet_ = 0;
  uint64_t seq_ = 0;         // the store writer's numbering
  uint64_t change_seq_ = 0;  // the journal's numbering
  std::deque<BanChange> journal_;
  std::vector<std::function<void(const BanChange &)>> listeners_;
  std::multimap<uint64_t, std::function<void(bool, const std::string &)>> waiters_;
  uint64_t forgotten_total_ = 0;
  uint64_t forgotten_unlogged_ = 0;
  int64_t forgot_logged_ms_ = 0;
  std::vector<std::string> skipped_;  // at load: what was skipped and why
  std::string last_logged_error_;
};

}  // namespace dnswash::daemon
