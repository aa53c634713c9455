#include "ban_manager.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "ban_table.h"
#include "duration.h"
#include "error.h"
#include "prefix_text.h"
#include "wall_clock.h"

namespace dnswash::daemon {

using nlohmann::json;

namespace {

const char *origin_name(uint32_t o) {
  if (o == DW_BAN_ORIGIN_FLEET) return "fleet";
  return o == DW_BAN_ORIGIN_DETECTOR ? "detector" : "operator";
}

constexpr uint64_t kNsPerMs = 1000000;
constexpr size_t kExpiriesPerSweep = 50000;  // the rest next second

}  // namespace

BanManager::BanManager(int bans_fd, std::string store_path, BanPolicy policy,
                       std::string legacy_json)
    : fd_(bans_fd),
      path_(std::move(store_path)),
      legacy_(std::move(legacy_json)),
      policy_(policy),
      boot_id_(banstore::current_boot_id()) {}

BanManager::~BanManager() {
  if (!writer_) return;
  writer_->drain();  // what is queued gets its try (one commit: milliseconds)
  if (auto s = writer_->stats(); s.unsaved)
    spdlog::error("bans: {} change(s) could not be saved: {}", s.unsaved, s.last_error);
}

BanManager::Key BanManager::key_of(const dw_ban_key &k) {
  Key out;
  std::memcpy(out.data(), &k, sizeof k);
  return out;
}

const BanRecord *BanManager::find(const dw_ban_key &key) const {
  auto it = recs_.find(key_of(key));
  return it == recs_.end() ? nullptr : &it->second;
}

void BanManager::put_kernel(const BanRecord &r) {
  dw_ban_val v{};
  v.expires_ns = r.permanent ? 0 : r.expires_boot_ns;
  v.origin = r.origin;
  ban_put(fd_, r.key, v);
}

void BanManager::stamp(BanRecord &r) const {
  r.boot_id = boot_id_;
  if (r.active && !r.permanent) {
    auto e = expires_unix_ms(r);
    r.expires_unix_ms = std::max<int64_t>(*e, 1);
    if (r.length_ms <= 0) r.length_ms = std::max<int64_t>(r.expires_unix_ms - r.since_unix_ms, 1);
  } else {
    r.expires_unix_ms = 0;
    r.length_ms = 0;
    if (!r.active) r.expires_boot_ns = 0;
  }
}

void BanManager::unindex(const Key &k, const BanRecord &r) {
  if (r.active) {
    --active_total_;
    if (r.origin == DW_BAN_ORIGIN_DETECTOR) --active_detector_;
    if (r.origin == DW_BAN_ORIGIN_FLEET) --active_fleet_;
    if (!r.permanent) expiry_.remove(r.expires_boot_ns, k);
  } else if (r.offenses > 0) {
    histories_.erase({r.since_unix_ms, k});
  }
}

void BanManager::index(const Key &k, const BanRecord &r) {
  if (r.active) {
    ++active_total_;
    if (r.origin == DW_BAN_ORIGIN_DETECTOR) ++active_detector_;
    if (r.origin == DW_BAN_ORIGIN_FLEET) ++active_fleet_;
    if (!r.permanent) expiry_.add(r.expires_boot_ns, k);
  } else if (r.offenses > 0) {
    histories_.insert({r.since_unix_ms, k});
  }
}

void BanManager::set(const Key &k, std::optional<BanRecord> r, BanChange::Why why) {
  auto it = recs_.find(k);
  if (it != recs_.end()) unindex(k, it->second);
  BanChange ch;
  ch.why = why;
  dw_ban_key key;
  std::memcpy(&key, k.data(), sizeof key);
  if (r) {
    stamp(*r);
    index(k, *r);
    BanRecord &slot = it != recs_.end() ? it->second : recs_[k];
    slot = std::move(*r);
    ch.record = slot;
  } else {
    if (it == recs_.end()) return;
    ch.record = it->second;
    ch.removed = true;
    recs_.erase(it);
  }
  if (writer_)
    seq_ = writer_->submit(key, ch.removed ? std::nullopt : std::optional<BanRecord>(ch.record));
  else
    ++seq_;
  ch.seq = ++change_seq_;
  // Journal first: a listener may change the bans in turn (the fleet lifts its ban when the
  // operator deletes one), and the journal must stay in sequence order.
  journal_.push_back(ch);
  if (journal_.size() > kJournal) journal_.pop_front();
  for (const auto &fn : listeners_) fn(ch);
}

std::optional<int64_t> BanManager::expires_unix_ms(const BanRecord &r) const {
  if (r.permanent) return std::nullopt;
  int64_t left_ns = int64_t(r.expires_boot_ns) - int64_t(boottime_ns());
  return now_unix_ms() + left_ns / int64_t(kNsPerMs);
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
  if (!r.source.empty()) j["source"] = r.source;
  return j;
}

const BanRecord &BanManager::add_operator(const dw_ban_key &key, std::optional<uint64_t> seconds) {
  Key k = key_of(key);
  BanRecord r;
  if (auto it = recs_.find(k); it != recs_.end()) r = it->second;
  r.key = key;
  r.origin = DW_BAN_ORIGIN_OPERATOR;
  r.active = true;
  r.permanent = !seconds;
  r.since_unix_ms = now_unix_ms();
  r.expires_boot_ns = seconds ? boottime_ns() + *seconds * 1000000000ull : 0;
  r.length_ms = seconds ? int64_t(*seconds * 1000) : 0;
  r.source.clear();
  put_kernel(r);
  set(k, std::move(r), BanChange::Why::kAdded);
  return recs_.at(k);
}

const BanRecord &BanManager::apply(BanRecord r) {
  // The boot-time expiry is this node's to compute (below): a sender's means nothing here.
  if (r.active && !r.permanent) r.expires_boot_ns = 1;
  if (std::string err = banstore::check_entry(r); !err.empty())
    throw Error("ban " + ban_prefix_text(r.key) + ": " + err);
  Key k = key_of(r.key);
  if (r.active && !r.permanent) {
    int64_t left = std::min(r.expires_unix_ms - now_unix_ms(), r.length_ms);
    if (left <= 0) throw Error("ban " + ban_prefix_text(r.key) + " has expired");
    r.expires_boot_ns = boottime_ns() + uint64_t(left) * kNsPerMs;
  }
  if (r.active) put_kernel(r);
  set(k, std::move(r), BanChange::Why::kAdded);
  return recs_.at(k);
}

bool BanManager::del(const dw_ban_key &key) {
  auto it = recs_.find(key_of(key));
  bool in_map = ban_del(fd_, key);
  if (it == recs_.end()) return in_map;
  bool was = it->second.active || in_map;
  set(it->first, std::nullopt, BanChange::Why::kRemoved);
  return was;
}

size_t BanManager::flush(bool detector_only) {
  adopt_unknown();  // so a ban the kernel just added is flushed too
  size_t n = 0;
  std::vector<Key> gone;
  for (const auto &[k, r] : recs_) {
    if (detector_only && r.origin != DW_BAN_ORIGIN_DETECTOR) continue;
    if (r.active) {
      ban_del(fd_, r.key);
      ++n;
    }
    gone.push_back(k);
  }
  for (const Key &k : gone) set(k, std::nullopt, BanChange::Why::kRemoved);
  return n;
}

const BanRecord &BanManager::on_detector_ban(const dw_ban_key &key, uint64_t kernel_expires,
                                             const std::string &zone,
                                             const std::vector<std::string> &names) {
  Key k = key_of(key);
  BanRecord r;
  // A fleet ban's record is not this node's history: the offense here is the first.
  if (auto it = recs_.find(k); it != recs_.end() && it->second.origin != DW_BAN_ORIGIN_FLEET)
    r = it->second;
  bool repeat = r.offenses > 0;
  r.key = key;
  r.origin = DW_BAN_ORIGIN_DETECTOR;
  r.active = true;
  r.since_unix_ms = now_unix_ms();
  r.offenses = std::min(r.offenses + 1, banstore::kMaxOffenses);
  r.zone = zone;
  r.names = names;
  r.source.clear();
  uint64_t len_s = repeat ? policy_.repeat_s : policy_.first_s;
  r.permanent = len_s == 0;
  // The kernel's ban began at kernel_expires - det_ban_ns (det_ban_ns = the first-offense
  // length): count from then, not from when the event was read.
  uint64_t first_ns = policy_.first_s * 1000000000ull;
  uint64_t began = kernel_expires - std::min(kernel_expires, first_ns);
  r.expires_boot_ns = r.permanent ? 0 : (repeat ? began + len_s * 1000000000ull : kernel_expires);
  r.length_ms = r.permanent ? 0 : int64_t(len_s * 1000);
  if (repeat || r.permanent) put_kernel(r);
  set(k, std::move(r), BanChange::Why::kAdded);
  return recs_.at(k);
}

BanManager::KernelView BanManager::read_kernel_map() const {
  KernelView out;
  dw_ban_key k{}, next{};
  const dw_ban_key *prev = nullptr;
  while (bpf_map_get_next_key(fd_, prev, &next) == 0) {
    k = next;
    prev = &k;
    dw_ban_val v{};
    if (bpf_map_lookup_elem(fd_, &k, &v) == 0) out.emplace(key_of(k), v);
  }
  return out;
}

void BanManager::adopt_unknown() {
  adopt_from(read_kernel_map());
}

void BanManager::adopt_from(const KernelView &kernel) {
  uint64_t now = boottime_ns();
  for (auto [key, v] : kernel) {
    auto it = recs_.find(key);
    if (it != recs_.end() && it->second.active) continue;
    if (v.expires_ns != 0 && v.expires_ns <= now) continue;     // ends on its own
    if (v.expires_ns > banstore::kMaxBootNs) v.expires_ns = 0;  // nothing sane: keep it in force
    BanRecord r = it != recs_.end() ? it->second : BanRecord{};
    bool known = r.offenses > 0 || r.since_unix_ms != 0;
    std::memcpy(&r.key, key.data(), sizeof r.key);
    r.origin = v.origin == DW_BAN_ORIGIN_DETECTOR || v.origin == DW_BAN_ORIGIN_FLEET
                   ? v.origin
                   : DW_BAN_ORIGIN_OPERATOR;
    if (r.origin == DW_BAN_ORIGIN_FLEET && r.source.empty()) r.source = "fleet";
    r.active = true;
    r.permanent = v.expires_ns == 0;
    r.expires_boot_ns = v.expires_ns;
    r.length_ms = 0;  // stamp() takes it from now to the expiry
    if (!known) r.since_unix_ms = now_unix_ms();
    if (r.origin == DW_BAN_ORIGIN_DETECTOR && !known) r.offenses = 1;
    set(key, std::move(r), BanChange::Why::kAdopted);
  }
}

void BanManager::sweep() {
  uint64_t now = boottime_ns();
  for (const Key &k : expiry_.take_due(now, kExpiriesPerSweep)) {
    auto it = recs_.find(k);
    if (it == recs_.end()) continue;
    BanRecord r = it->second;
    // take_due() took it out of the queue: keep the index true before set() unindexes.
    expiry_.add(r.expires_boot_ns, k);
    dw_ban_val cur{};
    if (bpf_map_lookup_elem(fd_, &r.key, &cur) == 0) {
      if (cur.expires_ns == 0 || cur.expires_ns > now) {
        // The kernel banned again meanwhile (its event is on the way): follow the map.
        r.permanent = cur.expires_ns == 0;
        r.expires_boot_ns = cur.expires_ns;
        r.length_ms = 0;
        set(k, std::move(r), BanChange::Why::kAdded);
        continue;
      }
      ban_del(fd_, r.key);
    }
    spdlog::info("ban on {} ({}) expired", ban_prefix_text(r.key), origin_name(r.origin));
    if (r.offenses == 0) {
      set(k, std::nullopt, BanChange::Why::kExpired);  // no history to keep
      continue;
    }
    // Only bans in force are listed with their names: a history needs none.
    r.active = false;
    r.permanent = false;
    r.names.clear();
    set(k, std::move(r), BanChange::Why::kExpired);
  }
  forget_histories();
  on_writer_ready();  // a completion missed by the poll (harmless when none)
}

size_t BanManager::forget_histories() {
  int64_t now_ms = now_unix_ms();
  size_t n = 0;
  auto forget = [&](const Key &k) {
    set(k, std::nullopt, BanChange::Why::kForgotten);
    ++n;
  };
  if (policy_.forget_s) {
    int64_t cut = now_ms - int64_t(policy_.forget_s) * 1000;
    while (!histories_.empty() && histories_.begin()->first < cut)
      forget(histories_.begin()->second);
  }
  // Oldest last offense first (ties: key order, so the choice is deterministic).
  while (histories_.size() > policy_.history_max) forget(histories_.begin()->second);
  if (n > 0) {
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
  if (origin == DW_BAN_ORIGIN_DETECTOR) return active_detector_;
  if (origin == DW_BAN_ORIGIN_FLEET) return active_fleet_;
  return active_total_ - active_detector_ - active_fleet_;
}

std::vector<dw_ban_key> BanManager::active_keys(uint32_t origin) const {
  std::vector<dw_ban_key> out;
  for (const auto &[k, r] : recs_)
    if (r.active && r.origin == origin) out.push_back(r.key);
  return out;
}

json BanManager::list(size_t offset, size_t limit, size_t *total) const {
  *total = active_total_;
  json out = json::array();
  size_t i = 0;
  for (const auto &[k, r] : recs_) {
    if (!r.active) continue;
    if (i++ < offset) continue;
    if (out.size() >= limit) break;
    out.push_back(entry_json(r));
  }
  return out;
}

std::vector<BanChange> BanManager::changes_since(uint64_t after_seq, size_t max) const {
  std::vector<BanChange> out;
  if (journal_.empty() || after_seq >= journal_.back().seq) return out;
  size_t first =
      after_seq < journal_.front().seq ? 0 : size_t(after_seq - journal_.front().seq + 1);
  for (size_t i = first; i < journal_.size() && out.size() < max; ++i) out.push_back(journal_[i]);
  return out;
}

// --- durability -------------------------------------------------------------------------

void BanManager::when_saved(uint64_t seq, std::function<void(bool, const std::string &)> fn) {
  if (!writer_) {
    fn(false, store_ ? store_->open_error()
                     : "no ban store (--ban-state-dir is empty): bans last until the daemon stops");
    return;
  }
  waiters_.emplace(seq, std::move(fn));
}

void BanManager::flush_saves() {
  if (!writer_) return;
  writer_->drain();
  on_writer_ready();
}

int BanManager::writer_fd() const {
  return writer_ ? writer_->event_fd() : -1;
}

void BanManager::on_writer_ready() {
  if (!writer_) return;
  for (const auto &d : writer_->take_done()) {
    if (!d.error.empty() && d.error != last_logged_error_)
      spdlog::error("bans: {} change(s) not saved: {} (they stay in force and are retried)",
                    d.changes, d.error);
    else if (d.error.empty() && !last_logged_error_.empty())
      spdlog::info("bans: saving works again; every change so far is saved");
    last_logged_error_ = d.error;
    while (!waiters_.empty() && waiters_.begin()->first <= d.upto) {
      auto fn = std::move(waiters_.begin()->second);
      waiters_.erase(waiters_.begin());
      fn(d.error.empty(), d.error);
    }
  }
}

uint64_t BanManager::save_failures() const {
  return writer_ ? writer_->stats().failures : 0;
}
size_t BanManager::unsaved() const {
  return writer_ ? writer_->stats().unsaved : 0;
}

json BanManager::store_status() const {
  json j = {{"path", path_}, {"skipped_at_load", skipped_}};
  if (!writer_) {
    j["ok"] = false;
    j["error"] = path_.empty() ? "no --ban-state-dir: bans are not saved"
                               : (store_ ? store_->open_error() : "not opened");
    return j;
  }
  auto s = writer_->stats();
  j["ok"] = s.last_error.empty();
  j["unsaved"] = s.unsaved;
  j["commits"] = s.commits;
  j["failures"] = s.failures;
  j["changes_saved"] = s.changes_saved;
  j["last_error"] = s.last_error.empty() ? json(nullptr) : json(s.last_error);
  j["last_error_unix_ms"] = s.last_error_unix_ms ? json(s.last_error_unix_ms) : json(nullptr);
  return j;
}

// --- load ---------------------------------------------------------------------------------

std::vector<BanRecord> BanManager::import_legacy() {
  std::vector<BanRecord> out;
  std::ifstream in(legacy_);
  if (!in) return out;
  std::stringstream ss;
  ss << in.rdbuf();
  json j;
  try {
    j = json::parse(ss.str());
    if (j.at("version").get<int>() != 1)
      throw std::runtime_error("unknown version " + j.at("version").dump());
    if (!j.at("bans").is_array()) throw std::runtime_error("\"bans\" is not a list");
  } catch (const std::exception &e) {
    std::string aside = legacy_ + ".corrupt-" + std::to_string(now_unix_ms());
    spdlog::error("{}: unreadable ban state ({}); moved aside to {} and starting without it",
                  legacy_, e.what(), aside);
    if (rename(legacy_.c_str(), aside.c_str()) != 0)
      spdlog::error("{}", errno_text("renaming " + legacy_, errno));
    return out;
  }
  auto boot = banstore::parse_boot_id(j.value("boot_id", std::string()));
  size_t i = 0;
  for (const json &b : j.at("bans")) {
    ++i;
    std::string name = b.is_object() && b.contains("prefix") && b["prefix"].is_string()
                           ? b["prefix"].get<std::string>()
                           : "entry " + std::to_string(i);
    try {
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
      // Unsigned fields read signed and range-checked: `-1` is an error, not 4294967295.
      int64_t off = b.value("offenses", int64_t(0));
      if (off < 0 || off > banstore::kMaxOffenses)
        throw std::runtime_error("offenses " + std::to_string(off) + " out of range");
      r.offenses = uint32_t(off);
      r.permanent = b.at("permanent").get<bool>();
      if (!b.at("zone").is_null()) r.zone = b.at("zone").get<std::string>();
      r.names = b.value("names", std::vector<std::string>{});
      r.active = b.value("active", true);
      if (r.active && !r.permanent) {
        r.expires_unix_ms = b.at("expires_unix_ms").get<int64_t>();
        if (b.contains("length_ms")) r.length_ms = b.at("length_ms").get<int64_t>();
        // Files of old versions lack a length: the time left as written is the bound.
        if (r.length_ms <= 0)
          r.length_ms =
              std::max<int64_t>(r.expires_unix_ms - b.value("saved_unix_ms", r.since_unix_ms), 1);
        if (boot) {
          r.boot_id = *boot;
          int64_t e = b.at("expires_boot_ns").get<int64_t>();
          if (e <= 0) throw std::runtime_error("expires_boot_ns out of range");
          r.expires_boot_ns = uint64_t(e);
        }
      } else if (!r.active) {
        r.permanent = false;
        r.names.clear();
      }
      if (r.active && !r.permanent && !boot) r.expires_boot_ns = 1;  // recomputed by restore()
      if (std::string why = banstore::check_entry(r); !why.empty()) throw std::runtime_error(why);
      out.push_back(std::move(r));
    } catch (const std::exception &e) {
      skipped_.push_back(name + ": " + e.what());
      spdlog::error("{}: skipping the ban on {}: {}", legacy_, name, e.what());
    }
  }
  return out;
}

void BanManager::restore(std::vector<BanRecord> recs, bool from_store, const KernelView &kernel) {
  const int64_t now_ms = now_unix_ms();
  const uint64_t now_boot = boottime_ns();
  size_t restored = 0, ended = 0;
  // First what each record becomes, then every map entry in one batch (at 250,000 bans one
  // syscall each cost seconds), then the indexes of those that are in force.
  std::vector<char> rewrite(recs.size(), 0), keep(recs.size(), 0);
  std::vector<dw_ban_key> put_keys;
  std::vector<dw_ban_val> put_vals;
  std::vector<size_t> put_index;
  put_keys.reserve(recs.size());
  put_vals.reserve(recs.size());
  put_index.reserve(recs.size());
  for (size_t i = 0; i < recs.size(); ++i) {
    BanRecord &r = recs[i];
    rewrite[i] = !from_store;
    if (r.active && !r.permanent) {
      if (r.boot_id != boot_id_ || r.boot_id == banstore::BootId{}) {
        // Another boot: the wall-clock time left, never more than the ban's length (a clock
        // stepped back must not lengthen it).
        int64_t left = std::min(r.expires_unix_ms - now_ms, r.length_ms);
        r.expires_boot_ns = left > 0 ? now_boot + uint64_t(left) * kNsPerMs : 0;
        rewrite[i] = 1;
      }
      if (r.expires_boot_ns <= now_boot) {
        r.active = false;
        r.names.clear();
        ++ended;
        rewrite[i] = 1;
      }
    }
    if (!r.active && r.offenses == 0) {
      if (from_store && writer_) writer_->submit(r.key, std::nullopt);  // nothing to remember
      continue;
    }
    keep[i] = 1;
    if (!r.active) continue;
    const uint64_t want = r.permanent ? 0 : r.expires_boot_ns;
    // A taken-over map that holds the ban as stored needs no write.
    if (!kernel.empty()) {
      auto kv = kernel.find(key_of(r.key));
      if (kv != kernel.end() && kv->second.expires_ns == want && kv->second.origin == r.origin)
        continue;
    }
    dw_ban_val v{};
    v.expires_ns = want;
    v.origin = r.origin;
    put_keys.push_back(r.key);
    put_vals.push_back(v);
    put_index.push_back(i);
  }
  auto t_map = std::chrono::steady_clock::now();
  ban_put_all(fd_, put_keys.data(), put_vals.data(), put_keys.size(),
              [&](size_t j, const std::string &why) {
                spdlog::error("restoring a ban: {}", why);
                keep[put_index[j]] = 0;
              });
  auto t_index = std::chrono::steady_clock::now();
  for (size_t i = 0; i < recs.size(); ++i) {
    if (!keep[i]) continue;
    BanRecord &r = recs[i];
    if (r.active) ++restored;
    Key k = key_of(r.key);
    if (rewrite[i]) {
      set(k, std::move(r), BanChange::Why::kAdded);
    } else {
      // As stored: index it without writing it back. The store reads in key order, the
      // map's order: the end is the right hint.
      index(k, r);
      recs_.insert_or_assign(recs_.end(), k, std::move(r));
    }
  }
  auto ms = [](auto a, auto b) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
  };
  if (restored || ended)
    spdlog::info("bans: {} restored from {}{} (map {} ms, indexes {} ms)", restored,
                 from_store ? path_ : legacy_,
                 ended ? ", " + std::to_string(ended) + " ended while the daemon was down" : "",
                 ms(t_map, t_index), ms(t_index, std::chrono::steady_clock::now()));
}

void BanManager::load(bool map_shared) {
  KernelView kernel;
  if (map_shared) kernel = read_kernel_map();
  if (!path_.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), ec);
    store_ = std::make_unique<banstore::BanStore>(path_);
    std::vector<BanRecord> recs;
    std::vector<banstore::BanStore::Skipped> skipped;
    if (store_->open_error().empty()) {
      try {
        auto t0 = std::chrono::steady_clock::now();
        recs = store_->load(&skipped);
        spdlog::info("bans: {} records read from {} in {} ms", recs.size(), path_,
                     std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - t0)
                         .count());
      } catch (const std::exception &e) {
        spdlog::error("bans: {}", e.what());
      }
    } else {
      spdlog::error("bans: {} (bans are kept in force and saved once it opens)",
                    store_->open_error());
    }
    for (const auto &s : skipped) {
      skipped_.push_back(s.key + ": " + s.why);
      spdlog::error("{}: skipped the ban on {}: {} (kept aside in the store's \"skipped\" table)",
                    path_, s.key, s.why);
    }
    writer_ = std::make_unique<banstore::BanWriter>(*store_);
    restore(std::move(recs), true, kernel);
    if (!legacy_.empty() && std::filesystem::exists(legacy_)) {
      if (recs_.empty()) {
        restore(import_legacy(), false, kernel);
        writer_->drain();
        if (writer_->stats().unsaved == 0) {
          std::string done = legacy_ + ".imported";
          if (rename(legacy_.c_str(), done.c_str()) == 0)
            spdlog::info("bans: imported {} into {} (the old file is now {})", legacy_, path_,
                         done);
        }
      } else {
        spdlog::warn("bans: {} left alone: {} already holds bans", legacy_, path_);
      }
    }
  }
  if (map_shared) adopt_from(kernel);
  forget_histories();  // a store from a daemon with a larger --ban-history-max, say
  if (!recs_.empty())
    spdlog::info("bans: {} in force, {} sources with an offense history", active(), history());
}

}  // namespace dnswash::daemon
