#include "fleet_feature.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>
#include <chrono>

#include <spdlog/spdlog.h>

#include "ban_table.h"
#include "credentials.h"
#include "dnswash_skel.h"
#include "duration.h"
#include "error.h"
#include "options.h"
#include "prefix_text.h"
#include "wall_clock.h"

namespace dnswash::daemon {

using nlohmann::json;

namespace {

uint64_t seconds_of(const std::string &text, const char *option) {
  std::string err;
  auto d = parse_duration(text, &err);
  if (!d) throw Error(std::string(option) + ": " + err);
  return *d;
}

std::vector<std::string> split_urls(const std::string &s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    std::string u = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!u.empty()) {
      if (u.find("://") == std::string::npos)
        throw Error("--fleet: '" + u + "' is not a URL (nats://HOST:PORT)");
      out.push_back(u);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (out.empty()) throw Error("--fleet: no server URL");
  return out;
}

std::string default_node_id() {
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  std::string id = host;
  for (char &c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) c = '_';
  if (id.empty()) id = "dnswash";
  return id.substr(0, fleet::kMaxNodeIdLen);
}

// Do two prefixes share an address (one contains the other)?
bool overlap(const dw_ban_key &a, const dw_ban_key &b) {
  uint32_t len = std::min(a.prefixlen, b.prefixlen);
  for (uint32_t i = 0; i < len / 8; ++i)
    if (a.addr[i] != b.addr[i]) return false;
  if (len % 8) {
    uint8_t mask = uint8_t(0xff << (8 - len % 8));
    if ((a.addr[len / 8] ^ b.addr[len / 8]) & mask) return false;
  }
  return true;
}

}  // namespace

FleetFeature::FleetFeature(DaemonHooks &h, BansFeature &bans, ShieldFeature &shield)
    : h_(h), bans_(bans.manager()), shield_(shield) {
  const Options &o = h.options();
  if (o.fleet.empty()) {
    h.add_status("fleet", [] { return json{{"enabled", false}}; });
    h.add_command("fleet", false, [](const json &, const Peer &) {
      return json{{"ok", true}, {"fleet", {{"enabled", false}}}};
    });
    return;
  }
  fleet::FleetOptions fo;
  fo.link.servers = split_urls(o.fleet);
  fo.link.node = o.fleet_node_id.empty() ? default_node_id() : o.fleet_node_id;
  if (!fleet::valid_node_id(fo.link.node))
    throw Error("--fleet-node-id '" + fo.link.node + "': 1-64 letters, digits, '-' or '_'");
  if (!o.fleet_credentials.empty()) fo.link.creds = fleet::read_credentials(o.fleet_credentials);
  if (o.fleet_quorum == 0) throw Error("--fleet-quorum must be at least 1");
  fo.quorum = o.fleet_quorum;
  fo.link.queue_max = o.fleet_queue;
  fo.link.replicas = int(o.fleet_replicas);
  // The timed stream must keep a ban as long as it can last here.
  uint64_t longest = std::max<uint64_t>(86400, bans_.policy().first_s);
  longest = std::max(longest, bans_.policy().repeat_s);
  if (!o.fleet_max_age.empty()) longest = seconds_of(o.fleet_max_age, "--fleet-max-age");
  fo.link.bans_max_age_ms = int64_t(longest) * 1000;
  uint64_t ready_s = seconds_of(o.fleet_ready_timeout, "--fleet-ready-timeout");

  fleet_ = std::make_unique<fleet::Fleet>(fo, *this);
  // The BanManager has no way to unregister: the callback checks that the feature is alive.
  bans_.on_change([this, alive = std::weak_ptr<bool>(alive_)](const BanChange &c) {
    if (!alive.expired()) on_change(c);
  });
  // This node's own shield words are published (the shield feature is destroyed after this
  // one: the destructor unhooks it).
  shield_.on_local_change(
      [this](const std::string &zone, bool on) { fleet_->on_shield(zone, on); });
  h.add_fd(fleet_->wake_fd(), [this] { fleet_->poll(); });
  h.every(std::chrono::milliseconds(1000), [this] { fleet_->tick(); });
  h.add_status("fleet", [this] { return status(); });
  h.add_command("fleet", false, [this](const json &, const Peer &) {
    return json{{"ok", true}, {"fleet", status()}};
  });

  spdlog::info("fleet: node {} on {} (quorum {}), replaying what it missed (at most {})",
               fo.link.node, o.fleet, fo.quorum, duration_text(ready_s));
  auto t0 = std::chrono::steady_clock::now();
  bool done = fleet_->replay(std::chrono::seconds(ready_s));
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  json st = fleet_->status();
  if (done)
    spdlog::info("fleet: replay done in {} ms: {} message(s) applied, {} fleet ban(s) in force", ms,
                 st["applied"].get<uint64_t>(), st["fleet_bans"].get<size_t>());
  else
    spdlog::warn(
        "fleet: replay not finished after {} (NATS {}): starting anyway; the node catches up "
        "when it can",
        duration_text(ready_s), st.value("connected", false) ? "connected" : "unreachable");
}

FleetFeature::~FleetFeature() {
  if (!fleet_) return;
  // The acks waiting for the store run now, while the NATS link is still there.
  bans_.flush_saves();
  shield_.on_local_change(nullptr);
  alive_.reset();
  h_.remove_fd(fleet_->wake_fd());
  fleet_.reset();
}

json FleetFeature::status() const {
  json j = fleet_->status();
  j["ban_map_fleet_bans"] = bans_.active(DW_BAN_ORIGIN_FLEET);
  return j;
}

bool FleetFeature::never_ban(const dw_ban_key &key) {
  // The detector feature keeps the never-ban map current (--never-ban, named.conf's servers,
  // this host's addresses, loopback), with or without --detector.
  int fd = bpf_map__fd(h_.skel().skel()->maps.dw_det_never);
  dw_ban_key k{}, next{};
  const dw_ban_key *prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    k = next;
    prev = &k;
    if (overlap(k, key)) return true;
  }
  for (const auto &text : h_.options().never_ban)
    if (auto n = parse_ban_prefix(text, nullptr); n && overlap(*n, key)) return true;
  return false;
}

std::optional<BanRecord> FleetFeature::record_of(const dw_ban_key &key, const fleet::Decision &d,
                                                 int64_t now) {
  if (d.expires_ms && *d.expires_ms <= now) return std::nullopt;
  BanRecord r;
  r.key = key;
  r.origin = DW_BAN_ORIGIN_FLEET;
  r.active = true;
  r.permanent = !d.expires_ms;
  r.since_unix_ms = std::clamp<int64_t>(d.start_ms, 0, now);
  if (d.expires_ms) {
    r.expires_unix_ms = *d.expires_ms;
    r.length_ms = std::max<int64_t>(*d.expires_ms - r.since_unix_ms, 1);
  }
  r.zone = d.zone.substr(0, banstore::kMaxZoneText);
  r.source = d.by.empty() ? "fleet" : d.by.substr(0, banstore::kMaxSource);
  return r;
}

void FleetFeature::apply_ban(const dw_ban_key &key, const fleet::Decision &d) {
  const BanRecord *cur = bans_.find(key);
  if (cur && cur->active && cur->origin != DW_BAN_ORIGIN_FLEET) return;  // a local ban stays
  int64_t now = now_unix_ms();
  if (d.expires_ms && *d.expires_ms <= now) return;
  if (cur && cur->active && cur->permanent == !d.expires_ms &&
      (!d.expires_ms || std::llabs(cur->expires_unix_ms - *d.expires_ms) < 1000))
    return;  // already in force as decided (a redelivery, the periodic check)
  auto r = record_of(key, d, now);
  if (!r) return;
  applying_ = true;
  try {
    bans_.apply(std::move(*r));
    spdlog::warn("fleet: banned {} {} (reported by {}{}{})", ban_prefix_text(key),
                 d.expires_ms ? "for " + duration_text(uint64_t((*d.expires_ms - now) / 1000))
                              : "permanently",
                 d.by, d.manual ? ", manual" : "", d.zone.empty() ? "" : ", zone " + d.zone);
  } catch (const std::exception &e) {
    spdlog::error("fleet: not applied: {}", e.what());
  }
  applying_ = false;
}

void FleetFeature::remove_ban(const dw_ban_key &key) {
  const BanRecord *cur = bans_.find(key);
  if (!cur || cur->origin != DW_BAN_ORIGIN_FLEET) return;  // a local ban stays
  applying_ = true;
  bool was = bans_.del(key);
  applying_ = false;
  if (was) spdlog::info("fleet: unbanned {}", ban_prefix_text(key));
}

bool FleetFeature::has_ban(const dw_ban_key &key) {
  const BanRecord *cur = bans_.find(key);
  return cur && cur->active;
}

bool FleetFeature::apply_shield(const std::string &zone, bool on) {
  return shield_.apply_remote(zone, on);
}

void FleetFeature::when_durable(std::function<void()> done) {
  bans_.when_saved(bans_.last_seq(), [alive = std::weak_ptr<bool>(alive_), done = std::move(done)](
                                         bool, const std::string &) {
    // Saved or not (a failed save is retried by the store), the ban is in the
    // map: ack, so the server does not redeliver for ever.
    if (!alive.expired()) done();
  });
}

void FleetFeature::on_change(const BanChange &c) {
  if (applying_ || !fleet_) return;
  const BanRecord &r = c.record;
  switch (c.why) {
    case BanChange::Why::kAdded:
    case BanChange::Why::kAdopted: {
      if (c.removed || !r.active || r.origin == DW_BAN_ORIGIN_FLEET) return;
      fleet::LocalBan b;
      b.key = r.key;
      b.manual = r.origin == DW_BAN_ORIGIN_OPERATOR;
      b.zone = r.zone;
      b.start_ms = r.since_unix_ms;
      b.expires_ms = bans_.expires_unix_ms(r);
      b.offenses = r.offenses;
      fleet_->on_local_ban(b);
      return;
    }
    case BanChange::Why::kRemoved:
      // dnswashctl bans del / flush: lifted fleet-wide (a fleet ban too: the operator's word).
      if (r.active) fleet_->on_local_unban(r.key, true);
      return;
    case BanChange::Why::kExpired:
    case BanChange::Why::kForgotten:
      return;  // every node expires a ban by its time; a history is this node's own
  }
}

}  // namespace dnswash::daemon
