// The one owner of dw_bans in userspace: operator bans (dnswashctl bans add) and detector bans
// (added by the kernel, then shaped by the offense policy here), their offense history, and the
// state file that carries both across daemon restarts and reboots (docs/detector.md).
//
// Time: the kernel map holds CLOCK_BOOTTIME expiries (0 = permanent). The state file holds UTC
// wall-clock times plus the boot id and the boot-time expiry: after a daemon restart within the
// same boot the boot-time expiry is used as is (a wall-clock step changes nothing); after a
// reboot the remaining time is expires - now in wall-clock time, capped at the ban's original
// length, so a clock stepped back never lengthens a ban.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dnswash_abi.h"

namespace dnswash::daemon {

struct BanPolicy {
  uint64_t first_s = 7200;  // first offense
  uint64_t repeat_s = 0;    // an offense after an earlier ban; 0 = permanent
  // The offense history of sources whose ban has ended is bounded, so an attacker who gets
  // many sources banned (forged ones included) cannot grow the daemon and its state file,
  // which is rewritten on every change, without end. Forgotten first: histories older than
  // forget_s (0 = never), then the oldest beyond history_max. A ban in force is never touched.
  uint64_t forget_s = 0;
  size_t history_max = 10000;
};

struct BanRecord {
  dw_ban_key key{};
  uint32_t origin = DW_BAN_ORIGIN_OPERATOR;
  bool active = false;  // in the kernel map now
  bool permanent = false;
  int64_t since_unix_ms = 0;
  uint64_t expires_boot_ns = 0;    // active, not permanent
  uint32_t offenses = 0;           // detector offenses so far (history, kept after expiry)
  std::string zone;                // detector: the zone it rolled under ("" = unknown)
  std::vector<std::string> names;  // detector: a few of the names (escaped presentation form)
};

class BanManager {
 public:
  // state_path "" = nothing persisted.
  BanManager(int bans_fd, std::string state_path, BanPolicy policy);

  // Reads the state file (a corrupt one is logged and renamed aside, never fatal), puts the
  // bans that still have time left into the map, and adopts entries the map holds that the
  // file does not know (a taken-over map).
  void load();

  // Operator ban; seconds nullopt = permanent. Replaces a ban on the same prefix.
  const BanRecord &add_operator(const dw_ban_key &key, std::optional<uint64_t> seconds);
  // Removes the ban on exactly this prefix and its offense history; false if there was none.
  bool del(const dw_ban_key &key);
  // Removes every active ban (or only the detector's) and their history; returns how many.
  size_t flush(bool detector_only);

  // The kernel banned `key` until kernel_expires (boot ns). Applies the offense policy
  // (rewrites the map entry for a repeat offense) and returns the record.
  const BanRecord &on_detector_ban(const dw_ban_key &key, uint64_t kernel_expires,
                                   const std::string &zone, const std::vector<std::string> &names);

  // Expired bans leave the map; entries the kernel added whose event was lost are adopted;
  // the state file is written if anything changed. Called every second.
  void sweep();
  void save();  // now, if anything changed since the last save

  size_t active(uint32_t origin) const;  // active bans of one origin
  size_t active() const;
  size_t history() const;  // sources with an offense history and no ban in force
  uint64_t forgotten() const { return forgotten_total_; }  // histories forgotten so far
  // The `bans` reply's entries, sorted by prefix text.
  nlohmann::json list(size_t offset, size_t limit, size_t *total) const;
  nlohmann::json entry_json(const BanRecord &r) const;
  std::optional<int64_t> expires_unix_ms(const BanRecord &r) const;

  const BanPolicy &policy() const { return policy_; }
  void set_policy(const BanPolicy &p) { policy_ = p; }
  const std::string &state_path() const { return path_; }

 private:
  using Key = std::array<uint8_t, sizeof(dw_ban_key)>;
  static Key key_of(const dw_ban_key &k);
  void put(const BanRecord &r);
  void adopt_unknown();
  bool load_file();
  nlohmann::json to_json() const;
  // Applies forget_s and history_max (see BanPolicy); logs what it forgot, at most once a
  // minute under a steady stream. Returns how many histories it forgot.
  size_t forget_histories();

  int fd_;
  std::string path_;
  BanPolicy policy_;
  std::map<Key, BanRecord> recs_;
  bool dirty_ = false;
  uint64_t forgotten_total_ = 0;
  uint64_t forgotten_unlogged_ = 0;
  int64_t forgot_logged_ms_ = 0;
};

// This boot's id (/proc/sys/kernel/random/boot_id), "" if unreadable.
std::string current_boot_id();
// Writes `text` to `path` atomically: tmp file, fsync, rename, fsync of the directory.
// Throws Error.
void write_file_atomic(const std::string &path, const std::string &text);

}  // namespace dnswash::daemon
