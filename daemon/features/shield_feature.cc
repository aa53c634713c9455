#include "shield_feature.h"

#include <bpf/bpf.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstring>

#include "dnswash_skel.h"
#include "duration.h"
#include "options.h"
#include "unique_fd.h"
#include "wall_clock.h"
#include "zone_sync.h"
#include "zone_table.h"

namespace dnswash::daemon {

using json = nlohmann::json;

namespace {

int64_t mono_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

shield::Endpoint parse_endpoint(const std::string &s) {
  shield::Endpoint ep;
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    ep.address = s.substr(1, close - 1);
    if (close + 1 < s.size() && s[close + 1] == ':')
      ep.port = uint16_t(std::stoi(s.substr(close + 2)));
  } else if (std::count(s.begin(), s.end(), ':') == 1) {
    ep.address = s.substr(0, s.find(':'));
    ep.port = uint16_t(std::stoi(s.substr(s.find(':') + 1)));
  } else {
    ep.address = s;
  }
  return ep;
}

const char *action_name(uint32_t action) {
  return action == DW_SHIELD_ACT_TC ? "tc" : action == DW_SHIELD_ACT_DROP ? "drop" : "nxdomain";
}

}  // namespace

ShieldFeature::ShieldFeature(DaemonHooks &h) : h_(h) {
  const Options &o = h.options();
  // NFQUEUE mode has no shield: the answer to a missing name is built by the XDP program.
  enabled_ = o.detector && h.skel().skel() && !h.nfqueue_samples();
  params_.on_nx_rate = o.shield_nx_rate;
  params_.on_nx_share = o.shield_nx_pct / 100.0;
  params_.quiet_ms = int64_t(parse_duration(o.shield_quiet).value_or(60)) * 1000;
  action_ = o.shield_action == "tc"     ? DW_SHIELD_ACT_TC
            : o.shield_action == "drop" ? DW_SHIELD_ACT_DROP
                                        : DW_SHIELD_ACT_NXDOMAIN;
  from_ = parse_endpoint(o.shield_transfer_from);
  h.add_status("shield", [this] { return status(); });
  h.add_command("zones-shield", true,
                [this](const json &r, const Peer &p) { return cmd_shield(r, p); });
  if (!enabled_) return;
  auto *s = h.skel().skel();
  maps_ = std::make_unique<shield::ShieldMaps>(
      bpf_map__fd(s->maps.dw_shield_names), bpf_map__fd(s->maps.dw_shield_zones),
      bpf_map__fd(s->maps.dw_shield_stats), h.skel().config_fd());
  worker_ = std::thread([this] { worker_loop(); });
  h.every(std::chrono::milliseconds(100), [this] { tick(); });
}

ShieldFeature::~ShieldFeature() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  if (!maps_) return;
  try {
    maps_->set_flag(false);  // the next daemon (takeover) starts unshielded and decides anew
    for (auto &[tag, z] : zones_)
      if (z.kernel_on) maps_->clear_zone(tag);
  } catch (const std::exception &e) {
    spdlog::warn("shield: {}", e.what());
  }
}

void ShieldFeature::refresh_zone_tags() {
  seen_applies_ = h_.sync_status().applies;
  key_ = live_zone_key(h_.skel().zones_fd());
  zone_of_tag_.clear();
  if (!key_) return;
  for (const auto &text : h_.zone_names()) {
    auto name = parse_dns_name(text);
    if (name) zone_of_tag_[dw_zone_tag(zone_digest(*key_, *name))] = text;
  }
}

ShieldFeature::Zone &ShieldFeature::zone_for(uint64_t tag, const std::string &name) {
  auto it = zones_.find(tag);
  if (it == zones_.end()) {
    Zone z{name, parse_dns_name(name).value_or(DnsName{}), shield::ZonePolicy(params_)};
    z.remote = fleet::RemoteShield(params_.quiet_ms, params_.on_nx_rate / 2);
    it = zones_.emplace(tag, std::move(z)).first;
  }
  return it->second;
}

void ShieldFeature::tick() {
  if (h_.sync_status().applies != seen_applies_) refresh_zone_tags();
  int64_t now = mono_ms();
  try {
    {
      std::optional<shield::NameSetImage> img;
      std::map<std::string, Loaded> loaded;
      {
        std::lock_guard<std::mutex> g(mu_);
        img.swap(pending_);
        loaded = pending_loaded_;
      }
      if (img) {
        maps_->install(*img);
        for (auto &[name, l] : loaded) {
          auto old = installed_.find(name);
          if (old == installed_.end() || old->second.serial != l.serial)
            spdlog::info("shield: {} names of {} (serial {}) in the kernel", l.names, name,
                         l.serial);
        }
        installed_ = std::move(loaded);
      }
    }
    auto stats = maps_->read_stats();
    for (const auto &[tag, st] : stats) {
      auto name = zone_of_tag_.find(tag);
      if (name == zone_of_tag_.end()) continue;
      Zone &z = zone_for(tag, name->second);
      z.blocked = st.blocked;
      z.named_nx = st.nx;
      z.policy.update(now, st.answers, st.nx, st.blocked);
    }
    bool any = false;
    std::set<std::string> watch;
    for (auto &[tag, z] : zones_) {
      if (z.policy.on() != z.word) {  // this node's own word changed: the fleet hears it
        z.word = z.policy.on();
        if (local_change_) local_change_(z.name, z.word);
      }
      // The fleet's word shields the zone too, unless this node's operator said off.
      bool want = z.remote.shielded(now, z.policy.missing_rate(), z.word,
                                    z.policy.mode() == shield::Mode::kOff);
      // Names are loaded ahead, once a zone's missing names reach a quarter of the rate: the
      // shield can then come on at the next tick (a transfer takes ms for a small zone, seconds
      // for a million names).
      if (want || z.policy.missing_rate() >= params_.on_nx_rate / 4) watch.insert(z.name);
      auto inst = installed_.find(z.name);
      // The kernel's entry is written when the shield comes on, and again when the zone's
      // new version (a reload, an UPDATE, a signing) changes its SOA or its answer.
      if (want && inst != installed_.end() &&
          (!z.kernel_on || z.kernel_action != action_for(inst->second) ||
           z.kernel_serial != inst->second.serial)) {
        dw_shield_zone v{};
        v.action = action_for(inst->second);
        const auto &soa = inst->second.soa_rr;
        if (soa.size() <= DW_SHIELD_SOA_MAX) {
          v.soa_len = uint32_t(soa.size());
          std::memcpy(v.soa, soa.data(), soa.size());
        }
        maps_->set_zone(tag, v);
        if (!z.kernel_on)
          spdlog::warn("shield: {} ON ({}{}; {:.0f} missing names/s, {:.0f}% of its answers{})",
                       z.name, shield::mode_name(z.policy.mode()), z.word ? "" : ", for the fleet",
                       z.policy.missing_rate(), z.policy.share() * 100,
                       v.action != action_ ? "; signed: missing names get TC=1" : "");
        else if (v.action != z.kernel_action)
          spdlog::warn("shield: {} now answers missing names with {}", z.name,
                       action_name(v.action));
        z.kernel_on = true;
        z.kernel_action = v.action;
        z.kernel_serial = inst->second.serial;
      } else if (!want && z.kernel_on) {
        maps_->clear_zone(tag);
        z.kernel_on = false;
        spdlog::warn("shield: {} off ({}{})", z.name, shield::mode_name(z.policy.mode()),
                     z.remote.word() ? "; the fleet's shield overruled" : "");
      }
      any = any || z.kernel_on;
    }
    maps_->set_flag(any);
    {
      std::lock_guard<std::mutex> g(mu_);
      // Watched zones stay watched (their names are kept current for the next attack).
      size_t before = watch_.size();
      watch_.insert(watch.begin(), watch.end());
      if (watch_.size() != before) cv_.notify_all();
    }
  } catch (const std::exception &e) {
    spdlog::error("shield: {}", e.what());
  }
}

void ShieldFeature::worker_loop() {
  std::map<std::string, shield::ZoneTransfer> have;
  std::map<std::string, std::string> last_err;
  std::set<std::string> full_due;  // an IXFR deleted records: the whole zone next
  for (;;) {
    std::set<std::string> watch;
    std::optional<dw_hash_key> key;
    {
      std::unique_lock<std::mutex> g(mu_);
      cv_.wait_for(g, std::chrono::milliseconds(250), [&] {
        if (stop_) return true;
        for (const auto &z : watch_)
          if (!have.count(z)) return true;  // a new zone to load: at once
        return false;
      });
      if (stop_) return;
      watch = watch_;
    }
    key = live_zone_key(h_.skel().zones_fd());
    if (!key) continue;
    bool changed = false;
    for (const auto &zone : watch) {
      auto dn = parse_dns_name(zone);
      if (!dn) continue;
      auto cur = have.find(zone);
      bool full = cur == have.end() || full_due.count(zone);
      if (!full) {
        auto serial = shield::query_serial(from_, *dn, std::chrono::milliseconds(200));
        if (!serial || *serial == cur->second.serial) continue;
      }
      try {
        auto t0 = mono_ms();
        if (!full) {
          // A change: the difference by IXFR (ms for an UPDATE, whatever the zone's size),
          // or the whole zone if named keeps no history for it.
          auto c =
              shield::transfer_zone_since(from_, *dn, cur->second.serial, std::chrono::seconds(30));
          if (!c.whole) {
            auto &d = c.delta;
            if (d.serial == cur->second.serial) continue;
            shield::ZoneTransfer &zt = cur->second;
            spdlog::info(
                "shield: IXFR of {} from {}: serial {} -> {}, {} records added, {} deleted in {} "
                "ms{}",
                zone, from_.text(), zt.serial, d.serial, d.added_records, d.deleted_records,
                mono_ms() - t0,
                d.deleted_records ? " (deleted names stay until the whole transfer that follows)"
                                  : "");
            if (!d.added.empty()) zt.names = shield::merge_names(zt.names, d.added);
            zt.serial = d.serial;
            zt.soa_rr = std::move(d.soa_rr);
            zt.records += d.added_records;
            zt.signed_zone = zt.signed_zone || d.dnskey_added;
            if (d.deleted_records) full_due.insert(zone);
            last_err.erase(zone);
            changed = true;
            continue;
          }
          spdlog::info(
              "shield: IXFR of {} from {}: the whole zone (no history kept): serial {}, "
              "{} records, {} names in {} ms",
              zone, from_.text(), c.zone.serial, c.zone.records, c.zone.names.size(),
              mono_ms() - t0);
          cur->second = std::move(c.zone);
          last_err.erase(zone);
          changed = true;
          continue;
        }
        auto zt = shield::transfer_zone(from_, *dn, std::chrono::seconds(30));
        full_due.erase(zone);
        spdlog::info("shield: transferred {} from {}: serial {}, {} records, {} names in {} ms",
                     zone, from_.text(), zt.serial, zt.records, zt.names.size(), mono_ms() - t0);
        have[zone] = std::move(zt);
        last_err.erase(zone);
        changed = true;
      } catch (const std::exception &e) {
        if (last_err[zone] != e.what()) spdlog::error("shield: {}", e.what());
        last_err[zone] = e.what();
        if (!full) full_due.insert(zone);  // an IXFR that failed: the whole zone next time
        if (cur == have.end()) continue;   // keep the names we had
      }
    }
    if (!changed) continue;
    auto t0 = mono_ms();
    std::vector<shield::ZoneNameList> all;
    std::map<std::string, Loaded> loaded;
    size_t names = 0;
    for (const auto &[zone, zt] : have) {
      auto dn = parse_dns_name(zone);
      if (!dn) continue;  // watched zones are served zones: they parse
      all.push_back({*dn, &zt.names});
      names += zt.names.size();
      loaded[zone] = Loaded{zt.serial, zt.soa_rr, zt.names.size(), mono_ms(), zt.signed_zone};
    }
    auto img = shield::build_name_set(*key, all);
    spdlog::info("shield: name set of {} names, {} KiB, built in {} ms", names,
                 img.elems.size() * sizeof(dw_names_bucket) / 1024, mono_ms() - t0);
    std::lock_guard<std::mutex> g(mu_);
    pending_ = std::move(img);
    pending_loaded_ = std::move(loaded);
    errors_ = last_err;
  }
}

uint32_t ShieldFeature::action_for(const Loaded &l) const {
  return action_ == DW_SHIELD_ACT_NXDOMAIN && l.signed_zone ? DW_SHIELD_ACT_TC : action_;
}

json ShieldFeature::status() const {
  json zones = json::array();
  int64_t now = mono_ms(), wall = now_unix_ms();
  for (const auto &[tag, z] : zones_) {
    auto inst = installed_.find(z.name);
    json j = {{"zone", z.name},
              {"mode", shield::mode_name(z.policy.mode())},
              {"shielded", z.kernel_on},
              {"local", z.word},
              {"fleet", z.remote.word()},
              {"for_fleet", z.remote.held()},
              {"names", inst == installed_.end() ? 0 : inst->second.names},
              {"serial", inst == installed_.end() ? 0 : inst->second.serial},
              {"drops", z.blocked},
              {"named_nx", z.named_nx},
              {"missing_per_s", int64_t(z.policy.missing_rate())},
              {"signed", inst != installed_.end() && inst->second.signed_zone},
              {"answer", inst == installed_.end() ? action_name(action_)
                                                  : action_name(action_for(inst->second))}};
    j["since_unix_ms"] = z.policy.since_ms() ? wall - (now - z.policy.since_ms()) : 0;
    zones.push_back(j);
  }
  size_t bytes = maps_ ? maps_->kernel_bytes() : 0;
  return {{"enabled", enabled_},
          {"action", action_name(action_)},
          {"nx_rate", params_.on_nx_rate},
          {"nx_pct", int(params_.on_nx_share * 100 + 0.5)},
          {"quiet_s", params_.quiet_ms / 1000},
          {"kernel_bytes", bytes},
          {"fleet_unserved", fleet_unserved_},
          {"zones", zones}};
}

bool ShieldFeature::apply_remote(const std::string &zone, bool on) {
  auto dn = parse_dns_name(zone);
  if (!enabled_ || !dn) {
    ++fleet_unserved_;
    spdlog::info("shield: the fleet's shield {} {} ignored (no zone shield here)", zone,
                 on ? "on" : "off");
    return false;
  }
  if (h_.sync_status().applies != seen_applies_) refresh_zone_tags();
  std::string text = dn->to_text();
  uint64_t tag = 0;
  for (const auto &[t, n] : zone_of_tag_)
    if (n == text) tag = t;
  if (!tag) {
    ++fleet_unserved_;
    spdlog::info("shield: the fleet's shield {} {} ignored (not a zone served here)", text,
                 on ? "on" : "off");
    return false;
  }
  Zone &z = zone_for(tag, text);
  z.remote.set(on);
  spdlog::info("shield: the fleet's shield on {}: {}", text, on ? "on" : "off");
  tick();  // at once: the names start loading now, the kernel follows once they are in
  return true;
}

json ShieldFeature::cmd_shield(const json &req, const Peer &peer) {
  if (!enabled_)
    return {{"ok", false}, {"error", "the zone shield is part of --detector, which is off"}};
  std::string zone = req.value("zone", ""), mode = req.value("mode", "");
  shield::Mode m;
  if (!shield::parse_mode(mode, &m))
    return {{"ok", false}, {"error", "zones-shield needs \"mode\": on, off or auto"}};
  auto dn = parse_dns_name(zone);
  if (!dn) return {{"ok", false}, {"error", "zones-shield needs \"zone\", a served zone"}};
  if (h_.sync_status().applies != seen_applies_) refresh_zone_tags();
  std::string text = dn->to_text();
  uint64_t tag = 0;
  for (const auto &[t, n] : zone_of_tag_)
    if (n == text) tag = t;
  if (!tag) return {{"ok", false}, {"error", "not a served zone: " + text}};
  Zone &z = zone_for(tag, text);
  z.policy.set_mode(m, mono_ms());
  spdlog::info("control (pid {} uid {}): shield {} {}", peer.pid, peer.uid, text, mode);
  tick();
  return {{"ok", true}, {"zone", text}, {"mode", mode}, {"shielded", z.kernel_on}};
}

}  // namespace dnswash::daemon
