#include "bans_feature.h"

#include <chrono>
#include <optional>
#include <string>

#include <spdlog/spdlog.h>

#include "duration.h"
#include "error.h"
#include "options.h"
#include "prefix_text.h"
#include "counters.h"
#include "dnswash_skel.h"
#include "wall_clock.h"

namespace dnswash::daemon {

using nlohmann::json;

namespace {

uint64_t duration_s(const std::string &text, const char *option) {
  std::string err;
  auto d = parse_duration(text, &err);
  if (!d) throw Error(std::string(option) + ": " + err);
  return *d;
}

}  // namespace

BansFeature::BansFeature(DaemonHooks &h) : h_(h) {
  const Options &o = h.options();
  BanPolicy policy;
  policy.first_s = duration_s(o.ban_time, "--ban-time");
  policy.repeat_s = o.ban_repeat == "permanent" ? 0 : duration_s(o.ban_repeat, "--ban-repeat");
  policy.forget_s = o.ban_forget == "never" ? 0 : duration_s(o.ban_forget, "--ban-forget");
  policy.history_max = o.ban_history_max;
  std::string stem = o.ban_state_dir.empty() ? "" : o.ban_state_dir + "/bans-" + o.iface;
  bans_ = std::make_unique<BanManager>(h.skel().bans_fd(), stem.empty() ? "" : stem + ".lmdb",
                                       policy, stem.empty() ? "" : stem + ".json");
  bans_->load(h.maps_taken_over());
  if (bans_->writer_fd() >= 0) h.add_fd(bans_->writer_fd(), [this] { bans_->on_writer_ready(); });
  last_events_lost_ = read_counters(h.skel().counters_fd())[DW_C_DET_EVENTS_LOST];
  h.add_status("ban_map", [this] {
    return json{{"entries", bans_->active()}, {"max", DW_BANS_MAX}};
  });
  h.add_status("ban_store", [this] { return bans_->store_status(); });

  h.add_command("bans", false, [this](const json &r, const Peer &) { return cmd_bans(r); });
  h.add_command("ban-add", true,
                [this](const json &r, const Peer &p) { return cmd_ban_add(r, p); });
  h.add_command("ban-del", true,
                [this](const json &r, const Peer &p) { return cmd_ban_del(r, p); });
  h.add_command("ban-flush", true,
                [this](const json &r, const Peer &p) { return cmd_ban_flush(r, p); });
  h.every(std::chrono::milliseconds(1000), [this] {
    for (const auto &fn : before_sweep_) fn();
    bans_->sweep();
    adopt_lost();
  });
}

BansFeature::~BansFeature() {
  // The BanManager's destructor gives what is queued its commit.
  if (bans_->writer_fd() >= 0) h_.remove_fd(bans_->writer_fd());
}

void BansFeature::adopt_lost() {
  // A detector ban whose event did not fit the ring is in the map but not known here: walk
  // the map, which costs seconds at 250,000 bans, only when the kernel says an event was
  // lost, and at most every 10 s.
  uint64_t lost = read_counters(h_.skel().counters_fd())[DW_C_DET_EVENTS_LOST];
  int64_t now = now_unix_ms();
  if (lost == last_events_lost_ || now - last_adopt_ms_ < 10000) return;
  last_events_lost_ = lost;
  last_adopt_ms_ = now;
  size_t before = bans_->active();
  bans_->adopt_unknown();
  if (bans_->active() > before)
    spdlog::warn("bans: adopted {} ban(s) whose detector events were lost",
                 bans_->active() - before);
}

json BansFeature::when_saved(json reply, const Peer &peer) {
  // The change is in force in the kernel already; the reply waits until it is durable (a
  // few ms: the writer's next commit) or says it is not, without holding the loop.
  auto finish = [](json &r, bool saved, const std::string &err) {
    r["saved"] = saved;
    if (!saved) r["error"] = "in force, but not saved: " + err;
  };
  if (bans_->writer_fd() < 0) {
    bans_->when_saved(bans_->last_seq(),
                      [&](bool saved, const std::string &err) { finish(reply, saved, err); });
    return reply;
  }
  uint64_t conn = peer.conn;
  bans_->when_saved(bans_->last_seq(),
                    [this, conn, reply, finish](bool saved, const std::string &err) mutable {
                      finish(reply, saved, err);
                      h_.reply(conn, reply);
                    });
  return ControlServer::deferred();
}

json BansFeature::cmd_bans(const json &req) {
  size_t offset = req.value("offset", size_t(0));
  size_t limit = req.value("limit", size_t(1000));
  size_t total = 0;
  json list = bans_->list(offset, limit, &total);
  return {{"ok", true}, {"total", total}, {"bans", list}};
}

json BansFeature::cmd_ban_add(const json &req, const Peer &peer) {
  std::string err;
  if (!req.contains("prefix") || !req["prefix"].is_string())
    return {{"ok", false}, {"error", "ban-add needs \"prefix\" (an address or CIDR)"}};
  auto key = parse_ban_prefix(req["prefix"].get<std::string>(), &err);
  if (!key) return {{"ok", false}, {"error", err}};
  bool permanent = req.value("permanent", false);
  bool has_seconds = req.contains("seconds") && !req["seconds"].is_null();
  if (permanent == has_seconds)
    return {{"ok", false},
            {"error",
             "ban-add needs exactly one of \"seconds\" (a positive number) or "
             "\"permanent\": true"}};
  std::optional<uint64_t> secs;
  if (has_seconds) {
    if (!req["seconds"].is_number_unsigned() || req["seconds"].get<uint64_t>() == 0 ||
        req["seconds"].get<uint64_t>() > 100ull * 365 * 86400)
      return {{"ok", false}, {"error", "\"seconds\" must be a whole number from 1 to 100 years"}};
    secs = req["seconds"].get<uint64_t>();
  }
  const BanRecord &r = bans_->add_operator(*key, secs);
  spdlog::info("control (pid {} uid {}): ban {} {}", peer.pid, peer.uid, ban_prefix_text(r.key),
               secs ? "for " + duration_text(*secs) : "permanently");
  auto e = bans_->expires_unix_ms(r);
  return when_saved({{"ok", true},
                     {"prefix", ban_prefix_text(r.key)},
                     {"expires_unix_ms", e ? json(*e) : json(nullptr)}},
                    peer);
}

json BansFeature::cmd_ban_del(const json &req, const Peer &peer) {
  std::string err;
  if (!req.contains("prefix") || !req["prefix"].is_string())
    return {{"ok", false}, {"error", "ban-del needs \"prefix\" (an address or CIDR)"}};
  auto key = parse_ban_prefix(req["prefix"].get<std::string>(), &err);
  if (!key) return {{"ok", false}, {"error", err}};
  if (!bans_->del(*key)) return {{"ok", false}, {"error", "no ban on " + ban_prefix_text(*key)}};
  spdlog::info("control (pid {} uid {}): unban {}", peer.pid, peer.uid, ban_prefix_text(*key));
  return when_saved({{"ok", true}, {"prefix", ban_prefix_text(*key)}}, peer);
}

json BansFeature::cmd_ban_flush(const json &req, const Peer &peer) {
  bool det_only = req.value("detector_only", false);
  size_t n = bans_->flush(det_only);
  spdlog::info("control (pid {} uid {}): flushed {} {}ban(s)", peer.pid, peer.uid, n,
               det_only ? "detector " : "");
  return when_saved({{"ok", true}, {"removed", n}}, peer);
}

}  // namespace dnswash::daemon
