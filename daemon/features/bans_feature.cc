#include "bans_feature.h"

#include <chrono>
#include <optional>
#include <string>

#include <spdlog/spdlog.h>

#include "duration.h"
#include "error.h"
#include "options.h"
#include "prefix_text.h"
#include "dnswash_skel.h"

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

BansFeature::BansFeature(DaemonHooks &h) {
  const Options &o = h.options();
  BanPolicy policy;
  policy.first_s = duration_s(o.ban_time, "--ban-time");
  policy.repeat_s = o.ban_repeat == "permanent" ? 0 : duration_s(o.ban_repeat, "--ban-repeat");
  policy.forget_s = o.ban_forget == "never" ? 0 : duration_s(o.ban_forget, "--ban-forget");
  policy.history_max = o.ban_history_max;
  std::string path = o.ban_state_dir.empty() ? "" : o.ban_state_dir + "/bans-" + o.iface + ".json";
  bans_ = std::make_unique<BanManager>(h.skel().bans_fd(), path, policy);
  bans_->load();

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
  });
}

BansFeature::~BansFeature() {
  try {
    bans_->save();
  } catch (const std::exception &e) {
    spdlog::warn("saving the bans: {}", e.what());
  }
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
  return {{"ok", true},
          {"prefix", ban_prefix_text(r.key)},
          {"expires_unix_ms", e ? json(*e) : json(nullptr)}};
}

json BansFeature::cmd_ban_del(const json &req, const Peer &peer) {
  std::string err;
  if (!req.contains("prefix") || !req["prefix"].is_string())
    return {{"ok", false}, {"error", "ban-del needs \"prefix\" (an address or CIDR)"}};
  auto key = parse_ban_prefix(req["prefix"].get<std::string>(), &err);
  if (!key) return {{"ok", false}, {"error", err}};
  if (!bans_->del(*key)) return {{"ok", false}, {"error", "no ban on " + ban_prefix_text(*key)}};
  spdlog::info("control (pid {} uid {}): unban {}", peer.pid, peer.uid, ban_prefix_text(*key));
  return {{"ok", true}, {"prefix", ban_prefix_text(*key)}};
}

json BansFeature::cmd_ban_flush(const json &req, const Peer &peer) {
  bool det_only = req.value("detector_only", false);
  size_t n = bans_->flush(det_only);
  spdlog::info("control (pid {} uid {}): flushed {} {}ban(s)", peer.pid, peer.uid, n,
               det_only ? "detector " : "");
  return {{"ok", true}, {"removed", n}};
}

}  // namespace dnswash::daemon
