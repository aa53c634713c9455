#include "ban_manager.h"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "ban_table.h"
#include "duration.h"
#include "error.h"
#include "wall_clock.h"

namespace dnswash::daemon {

using nlohmann::json;

namespace {

const char *origin_name(uint32_t o) {
  return o == DW_BAN_ORIGIN_DETECTOR ? "detector" : "operator";
}

}  // namespace

std::string current_boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

void write_file_atomic(const std::string &path, const std::string &text) {
  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw Error(errno_text("creating " + tmp, errno));
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      unlink(tmp.c_str());
      throw Error(errno_text("writing " + tmp, e));
    }
    off += size_t(n);
  }
  if (fsync(fd) != 0) {
    int e = errno;
    close(fd);
    unlink(tmp.c_str());
    throw Error(errno_text("fsync " + tmp, e));
  }
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    unlink(tmp.c_str());
    throw Error(errno_text("renaming " + tmp + " to " + path, e));
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dfd = open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
}

BanManager::BanManager(int bans_fd, std::string state_path, BanPolicy policy)
    : fd_(bans_fd), path_(std::move(state_path)), policy_(policy) {}

BanManager::Key BanManager::key_of(const dw_ban_key &k) {
  Key out;
  std::memcpy(out.data(), &k, sizeof k);
  return out;
}

void BanManager::put(const BanRecord &r) {
  dw_ban_val v{};
  v.expires_ns = r.permanent ? 0 : r.expires_boot_ns;
  v.origin = r.origin;
  ban_put(fd_, r.key, v);
}

std::optional<int64_t> BanManager::expires_unix_ms(const BanRecord &r) const {
  if (r.permanent) return std::nullopt;
  int64_t left_ns = int64_t(r.expires_boot_ns) - int64_t(boottime_ns());
  return now_unix_ms() + left_ns / 1000000;
}

json BanManager::entry_json(const BanRecord &r) const {
  json j = {{"prefix", ban_prefix_text(r.key)},
            {"origin", origin_name(r.origin)},
            {"since_unix_ms", r.since_unix_ms},
            {"permanent", r.permanent},
            {"offenses", r.offenses}};
  auto e = expires_unix_ms(r);
  j["expires_unix_ms"] = e ? json(*e) : json(nullptr);
  j["zone"] = r.zone.empty() ? json(nullptr) : json(r.zone);
  j["names"] = r.names;
  return j;
}

const BanRecord &BanManager::add_operator(const dw_ban_key &key, std::optional<uint64_t> seconds) {
  BanRecord &r = recs_[key_of(key)];
  r.key = key;
  r.origin = DW_BAN_ORIGIN_OPERATOR;
  r.active = true;
  r.permanent = !seconds;
  r.since_unix_ms = now_unix_ms();
  r.expires_boot_ns = seconds ? boottime_ns() + *seconds * 1000000000ull : 0;
  put(r);
  dirty_ = true;
  save();
  return r;
}

bool BanManager::del(const dw_ban_key &key) {
  auto it = recs_.find(key_of(key));
  bool in_map = ban_del(fd_, key);
  if (it == recs_.end()) {
    if (in_map) dirty_ = true;
    return in_map;
  }
  bool was = it->second.active || in_map;
  recs_.erase(it);
  dirty_ = true;
  save();
  return was;
}

size_t BanManager::flush(bool detector_only) {
  adopt_unknown();  // so a ban the kernel just added is flushed too
  size_t n = 0;
  for (auto it = recs_.begin(); it != recs_.end();) {
    if (detector_only && it->second.origin != DW_BAN_ORIGIN_DETECTOR) {
      ++it;
      continue;
    }
    if (it->second.active) {
      ban_del(fd_, it->second.key);
      ++n;
    }
    it = recs_.erase(it);
  }
  dirty_ = true;
  save();
  return n;
}

const BanRecord &BanManager::on_detector_ban(const dw_ban_key &key, uint64_t kernel_expires,
                                             const std::string &zone,
                                             const std::vector<std::string> &names) {
  BanRecord &r = recs_[key_of(key)];
  bool repeat = r.offenses > 0;
  r.key = key;
  r.origin = DW_BAN_ORIGIN_DETECTOR;
  r.active = true;
  r.since_unix_ms = now_unix_ms();
  r.offenses += 1;
  r.zone = zone;
  r.names = names;
  uint64_t len_s = repeat ? policy_.repeat_s : policy_.first_s;
  r.permanent = len_s == 0;
  // The kernel's ban began at kernel_expires - det_ban_ns (det_ban_ns = the first-offense
  // length): count from then, not from when the event was read.
  uint64_t first_ns = policy_.first_s * 1000000000ull;
  uint64_t began = kernel_expires - std::min(kernel_expires, first_ns);
  r.expires_boot_ns = r.permanent ? 0 : (repeat ? began + len_s * 1000000000ull : kernel_expires);
  if (repeat || r.permanent) put(r);
  dirty_ = true;
  save();
  return r;
}

void BanManager::adopt_unknown() {
  dw_ban_key k{}, next{};
  const dw_ban_key *prev = nullptr;
  uint64_t now = boottime_ns();
  while (bpf_map_get_next_key(fd_, prev, &next) == 0) {
    k = next;
    prev = &k;
    dw_ban_val v{};
    if (bpf_map_lookup_elem(fd_, &k, &v) != 0) continue;
    auto it = recs_.find(key_of(k));
    if (it != recs_.end() && it->second.active) continue;
    if (v.expires_ns != 0 && v.expires_ns <= now) continue;  // the sweep removes it
    BanRecord &r = recs_[key_of(k)];
    bool known = r.offenses > 0 || r.since_unix_ms != 0;
    r.key = k;
    r.origin = v.origin == DW_BAN_ORIGIN_DETECTOR ? DW_BAN_ORIGIN_DETECTOR : DW_BAN_ORIGIN_OPERATOR;
    r.active = true;
    r.permanent = v.expires_ns == 0;
    r.expires_boot_ns = v.expires_ns;
    if (!known) r.since_unix_ms = now_unix_ms();
    if (r.origin == DW_BAN_ORIGIN_DETECTOR && !known) r.offenses = 1;
    dirty_ = true;
  }
}

void BanManager::sweep() {
  uint64_t now = boottime_ns();
  for (auto it = recs_.begin(); it != recs_.end();) {
    BanRecord &r = it->second;
    if (r.active && !r.permanent && r.expires_boot_ns <= now) {
      dw_ban_val cur{};
      if (bpf_map_lookup_elem(fd_, &r.key, &cur) == 0) {
        if (cur.expires_ns != 0 && cur.expires_ns <= now) {
          ban_del(fd_, r.key);
        } else {
          // The kernel banned again meanwhile (its event is on the way): follow the map.
          r.permanent = cur.expires_ns == 0;
          r.expires_boot_ns = cur.expires_ns;
          ++it;
          continue;
        }
      }
      spdlog::info("ban on {} ({}) expired", ban_prefix_text(r.key), origin_name(r.origin));
      r.active = false;
      dirty_ = true;
      if (r.origin == DW_BAN_ORIGIN_OPERATOR && r.offenses == 0) {
        it = recs_.erase(it);  // no history to keep
        continue;
      }
      // Only bans in force are listed with their names: a history needs none, and the state
      // file stays small.
      r.names.clear();
    }
    ++it;
  }
  adopt_unknown();
  forget_histories();
  save();
}

size_t BanManager::forget_histories() {
  std::vector<std::map<Key, BanRecord>::iterator> hist;
  int64_t now_ms = now_unix_ms();
  size_t n = 0;
  for (auto it = recs_.begin(); it != recs_.end();) {
    const BanRecord &r = it->second;
    if (r.active || r.offenses == 0) {
      ++it;
      continue;
    }
    if (policy_.forget_s && now_ms - r.since_unix_ms > int64_t(policy_.forget_s) * 1000) {
      it = recs_.erase(it);
      ++n;
      continue;
    }
    hist.push_back(it++);
  }
  if (hist.size() > policy_.history_max) {
    // Oldest last offense first (ties: the map's order, so the choice is deterministic).
    size_t drop = hist.size() - policy_.history_max;
    std::nth_element(hist.begin(), hist.begin() + ptrdiff_t(drop - 1), hist.end(),
                     [](auto a, auto b) {
                       if (a->second.since_unix_ms != b->second.since_unix_ms)
                         return a->second.since_unix_ms < b->second.since_unix_ms;
                       return a->first < b->first;
                     });
    for (size_t i = 0; i < drop; ++i) recs_.erase(hist[i]);
    n += drop;
  }
  if (n > 0) {
    dirty_ = true;
    forgotten_total_ += n;
    forgotten_unlogged_ += n;
  }
  // At most one line a minute; the tail of a burst is logged by a later sweep.
  if (forgotten_unlogged_ > 0 && now_ms - forgot_logged_ms_ >= 60000) {
    spdlog::info("bans: forgot the offense history of {} source(s) (kept: the newest {}{})",
                 forgotten_unlogged_, policy_.history_max,
                 policy_.forget_s ? ", none older than " + duration_text(policy_.forget_s) : "");
    forgotten_unlogged_ = 0;
    forgot_logged_ms_ = now_ms;
  }
  return n;
}

size_t BanManager::active(uint32_t origin) const {
  return size_t(std::count_if(recs_.begin(), recs_.end(), [&](const auto &p) {
    return p.second.active && p.second.origin == origin;
  }));
}
size_t BanManager::active() const {
  return size_t(
      std::count_if(recs_.begin(), recs_.end(), [](const auto &p) { return p.second.active; }));
}
size_t BanManager::history() const {
  return size_t(std::count_if(recs_.begin(), recs_.end(), [](const auto &p) {
    return !p.second.active && p.second.offenses > 0;
  }));
}

json BanManager::list(size_t offset, size_t limit, size_t *total) const {
  std::vector<const BanRecord *> act;
  for (const auto &[k, r] : recs_)
    if (r.active) act.push_back(&r);
  *total = act.size();
  json out = json::array();
  for (size_t i = offset; i < act.size() && i - offset < limit; ++i)
    out.push_back(entry_json(*act[i]));
  return out;
}

json BanManager::to_json() const {
  json bans = json::array();
  for (const auto &[k, r] : recs_) {
    json j = entry_json(r);
    j["active"] = r.active;
    j["expires_boot_ns"] = r.expires_boot_ns;
    // Length of the ban as given: after a reboot the remaining time never exceeds it.
    if (r.active && !r.permanent) {
      auto e = expires_unix_ms(r);
      j["length_ms"] = *e - r.since_unix_ms;
    }
    bans.push_back(j);
  }
  return {{"version", 1},
          {"boot_id", current_boot_id()},
          {"saved_unix_ms", now_unix_ms()},
          {"bans", bans}};
}

void BanManager::save() {
  if (!dirty_ || path_.empty()) return;
  try {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), ec);
    write_file_atomic(path_, to_json().dump(1) + "\n");
    dirty_ = false;
  } catch (const std::exception &e) {
    // Logged once per failing save; retried on the next sweep.
    spdlog::error(
        "cannot save the ban state: {} (bans stay in force; fix the directory or "
        "--ban-state-dir)",
        e.what());
  }
}

bool BanManager::load_file() {
  std::ifstream in(path_);
  if (!in) return true;  // no file yet
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    json j = json::parse(ss.str());
    if (j.at("version").get<int>() != 1)
      throw std::runtime_error("unknown version " + j.at("version").dump());
    bool same_boot =
        j.value("boot_id", std::string()) == current_boot_id() && !current_boot_id().empty();
    int64_t now_ms = now_unix_ms();
    uint64_t now_boot = boottime_ns();
    std::map<Key, BanRecord> recs;
    for (const json &b : j.at("bans")) {
      BanRecord r;
      std::string err;
      auto key = parse_ban_prefix(b.at("prefix").get<std::string>(), &err);
      if (!key) throw std::runtime_error("prefix: " + err);
      r.key = *key;
      std::string origin = b.at("origin").get<std::string>();
      if (origin != "detector" && origin != "operator")
        throw std::runtime_error("origin '" + origin + "'");
      r.origin = origin == "detector" ? DW_BAN_ORIGIN_DETECTOR : DW_BAN_ORIGIN_OPERATOR;
      r.since_unix_ms = b.at("since_unix_ms").get<int64_t>();
      r.offenses = b.value("offenses", 0u);
      r.permanent = b.at("permanent").get<bool>();
      if (!b.at("zone").is_null()) r.zone = b.at("zone").get<std::string>();
      r.names = b.value("names", std::vector<std::string>{});
      r.active = b.value("active", true);
      if (r.active && !r.permanent) {
        if (same_boot) {
          r.expires_boot_ns = b.at("expires_boot_ns").get<uint64_t>();
        } else {
          int64_t exp = b.at("expires_unix_ms").get<int64_t>();
          int64_t left = exp - now_ms;
          // A wall clock stepped back would make `left` too long: never more than the length.
          if (b.contains("length_ms")) left = std::min(left, b.at("length_ms").get<int64_t>());
          r.expires_boot_ns = left > 0 ? now_boot + uint64_t(left) * 1000000 : 0;
        }
        if (r.expires_boot_ns <= now_boot) r.active = false;
      }
      if (!r.active && r.offenses == 0) continue;  // nothing left to remember
      if (!r.active) r.names.clear();
      recs[key_of(r.key)] = r;
    }
    recs_ = std::move(recs);
    return true;
  } catch (const std::exception &e) {
    std::string aside = path_ + ".corrupt-" + std::to_string(now_unix_ms());
    spdlog::error("{}: unreadable ban state ({}); moved aside to {} and starting without it", path_,
                  e.what(), aside);
    if (rename(path_.c_str(), aside.c_str()) != 0)
      spdlog::error("{}", errno_text("renaming " + path_, errno));
    return false;
  }
}

void BanManager::load() {
  if (!path_.empty()) load_file();
  size_t restored = 0;
  for (auto &[k, r] : recs_) {
    if (!r.active) continue;
    try {
      put(r);
      ++restored;
    } catch (const std::exception &e) {
      spdlog::error("restoring a ban: {}", e.what());
      r.active = false;
    }
  }
  adopt_unknown();
  forget_histories();  // a file from a daemon with a larger --ban-history-max, say
  if (!recs_.empty())
    spdlog::info("bans: {} restored from {}, {} in force, {} sources with an offense history",
                 restored, path_, active(),
                 std::count_if(recs_.begin(), recs_.end(),
                               [](const auto &p) { return p.second.offenses > 0; }));
  save();
}

}  // namespace dnswash::daemon
