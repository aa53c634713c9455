#include "detector_feature.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include <spdlog/spdlog.h>

#include "ban_table.h"
#include "config_map.h"
#include "counters.h"
#include "dns_name.h"
#include "dnswash_skel.h"
#include "duration.h"
#include "error.h"
#include "options.h"
#include "unique_fd.h"
#include "zone_sync.h"
#include "zone_table.h"
#include "wall_clock.h"

namespace dnswash::daemon {

using nlohmann::json;

namespace {

// Our egress filter's place on the clsact hook: a fixed handle and priority, so a daemon that
// died without detaching is replaced, never doubled.
constexpr uint32_t kTcHandle = 0xd45;
constexpr uint32_t kTcPriority = 0xd45;

uint64_t duration_s(const std::string &text, const char *option) {
  std::string err;
  auto d = parse_duration(text, &err);
  if (!d) throw Error(std::string(option) + ": " + err);
  return *d;
}

// A wire name as escaped presentation text; a name cut short (the 64-byte sample) ends in
// "...". Never raw bytes: labels go through escape_label (\DDD).
std::string wire_text(const uint8_t *p, size_t len) {
  std::string out;
  size_t off = 0;
  while (off < len) {
    uint8_t l = p[off];
    if (l == 0) return out.empty() ? "." : out;
    if (l > 63) break;
    if (off + 1 + l > len) {
      if (!out.empty()) out += '.';
      out += escape_label(
                 std::string_view(reinterpret_cast<const char *>(p + off + 1), len - off - 1)) +
             "...";
      return out;
    }
    if (!out.empty()) out += '.';
    std::string lab(reinterpret_cast<const char *>(p + off + 1), l);
    for (char &c : lab) c = ascii_lower(c);
    out += escape_label(lab);
    off += 1 + l;
  }
  return out + "...";
}

dw_ban_key key_from(const uint8_t addr[16], uint32_t prefixlen) {
  dw_ban_key k{};
  k.prefixlen = prefixlen;
  std::memcpy(k.addr, addr, 16);
  return k;
}

bool at_or_below(const DnsName &name, const DnsName &zone) {
  if (zone.labels.size() > name.labels.size()) return false;
  return std::equal(zone.labels.rbegin(), zone.labels.rend(), name.labels.rbegin());
}

}  // namespace

DetectorFeature::DetectorFeature(DaemonHooks &h, BansFeature &bans)
    : h_(h), bans_(&bans.manager()), ifindex_(h.ifindex()) {
  const Options &o = h.options();
  enabled_ = o.detector;
  queries_ = o.detector_signal == "queries";
  threshold_ = o.detector_threshold ? o.detector_threshold : (queries_ ? 20 : 3);
  window_s_ =
      uint32_t(std::min<uint64_t>(duration_s(o.detector_window, "--detector-window"), UINT32_MAX));
  for (const auto &c : o.never_ban) {
    std::string err;
    if (!parse_ban_prefix(c, &err)) throw Error("--never-ban " + c + ": " + err);
    never_opt_.push_back(c);
  }
  for (const auto &z : o.detector_exempt_zones) {
    std::string err;
    if (!parse_dns_name(z, &err)) throw Error("--detector-exempt-zone " + z + ": " + err);
  }
  tokens_ = o.detector_max_bans_per_min;

  refresh_exempt();
  refresh_never_ban();
  configure_kernel();
  if (enabled_) {
    rb_ =
        ring_buffer__new(bpf_map__fd(h.skel().skel()->maps.dw_det_events), ring_cb, this, nullptr);
    if (!rb_) throw Error(errno_text("opening the detector's event ring buffer", errno));
    h.add_fd(ring_buffer__epoll_fd(rb_), [this] { ring_buffer__consume(rb_); });
    if (!queries_) attach_tc();
    spdlog::info(
        "detector on ({} signal): {} distinct names under one zone within {} ban a source{}; "
        "ban {} then {}",
        queries_ ? "queries" : "answers", threshold_, duration_text(window_s_),
        queries_ ? "" : " (ratio guard " + std::to_string(o.detector_min_nx_pct) + "% NXDOMAIN)",
        duration_text(bans_->policy().first_s),
        bans_->policy().repeat_s ? duration_text(bans_->policy().repeat_s) : "permanent");
  }

  // Events first, then the bans feature's sweep: a ban the sweep must not adopt blind.
  if (rb_) bans.before_sweep([this] { ring_buffer__consume(rb_); });
  h.add_status("detector", [this] { return status(); });
  h.every(std::chrono::milliseconds(1000), [this] {
    if (enabled_) refill_budget();
    if (h_.sync_status().applies != seen_applies_) refresh_exempt();
  });
  h.every(std::chrono::milliseconds(5000), [this] { refresh_never_ban(); });
}

DetectorFeature::~DetectorFeature() {
  if (rb_) {
    h_.remove_fd(ring_buffer__epoll_fd(rb_));
    ring_buffer__consume(rb_);
    ring_buffer__free(rb_);
  }
  detach_tc();
  try {
    if (enabled_) {
      // No detector without a daemon to apply the policy: the kernel stops counting.
      dw_config cfg = read_config(h_.skel().config_fd());
      cfg.flags &= ~(DW_CFG_DETECTOR | DW_CFG_DETECTOR_QUERIES);
      cfg.det_bans_budget = 0;
      write_config(h_.skel().config_fd(), cfg);
    }
  } catch (const std::exception &e) {
    spdlog::warn("stopping the detector: {}", e.what());
  }
}

void DetectorFeature::configure_kernel() {
  const Options &o = h_.options();
  dw_config cfg = read_config(h_.skel().config_fd());
  cfg.det_threshold = threshold_;
  cfg.det_window_s = window_s_;
  // 0 would mean "default 50" to the kernel; 0% is "no ratio guard": 0 NXDOMAIN answers
  // never cross it anyway, so any value that always passes will do.
  cfg.det_min_nx_pct = o.detector_min_nx_pct ? o.detector_min_nx_pct : 1;
  cfg.det_v6_prefix = o.detector_v6_prefix;
  cfg.det_ban_ns = bans_->policy().first_s * 1000000000ull;
  cfg.det_bans_budget = enabled_ ? uint32_t(std::min<double>(tokens_, o.detector_max_bans)) : 0;
  last_budget_ = cfg.det_bans_budget;
  cfg.flags &= ~(DW_CFG_DETECTOR | DW_CFG_DETECTOR_QUERIES);
  if (enabled_) cfg.flags |= DW_CFG_DETECTOR | (queries_ ? DW_CFG_DETECTOR_QUERIES : 0);
  write_config(h_.skel().config_fd(), cfg);
  last_cap_counter_ = read_counters(h_.skel().counters_fd())[DW_C_DET_CAP_HIT];
}

void DetectorFeature::attach_tc() {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex_, .attach_point = BPF_TC_EGRESS);
  int err = bpf_tc_hook_create(&hook);
  if (err && err != -EEXIST)
    throw Error(errno_text("creating the clsact qdisc on the interface for the detector", -err));
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kTcHandle, .priority = kTcPriority);
  opts.flags = BPF_TC_F_REPLACE;
  opts.prog_fd = bpf_program__fd(h_.skel().skel()->progs.dnswash_det_tc);
  err = bpf_tc_attach(&hook, &opts);
  if (err)
    throw Error(errno_text(
        "attaching the detector's tc egress program (use --detector-signal queries where tc "
        "is not available)",
        -err));
  tc_attached_ = true;
  spdlog::info("detector: tc egress program id {} attached (handle {:#x}, priority {:#x})",
               opts.prog_id, kTcHandle, kTcPriority);
}

void DetectorFeature::detach_tc() {
  if (!tc_attached_) return;
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex_, .attach_point = BPF_TC_EGRESS);
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kTcHandle, .priority = kTcPriority);
  int err = bpf_tc_detach(&hook, &opts);
  if (err && err != -ENOENT && err != -ENODEV)
    spdlog::warn("{}", errno_text("detaching the detector's tc egress program", -err));
  tc_attached_ = false;
}

void DetectorFeature::refresh_exempt() {
  seen_applies_ = h_.sync_status().applies;
  auto key = live_zone_key(h_.skel().zones_fd());
  std::vector<DnsName> exempt;
  for (const auto &z : h_.options().detector_exempt_zones)
    if (auto n = parse_dns_name(z)) exempt.push_back(*n);
  std::set<uint64_t> want;
  zone_of_tag_.clear();
  if (key) {
    for (const auto &text : h_.zone_names()) {
      auto name = parse_dns_name(text);
      if (!name) continue;
      uint64_t tag = dw_zone_tag(zone_digest(*key, *name));
      zone_of_tag_[tag] = text;
      for (const auto &e : exempt)
        if (at_or_below(*name, e)) want.insert(tag);
    }
  }
  int fd = bpf_map__fd(h_.skel().skel()->maps.dw_det_exempt);
  uint8_t one = 1;
  for (uint64_t t : want)
    if (!exempt_tags_.count(t) && bpf_map_update_elem(fd, &t, &one, BPF_ANY) != 0)
      spdlog::warn("{}", errno_text("adding an exempt zone to the detector", errno));
  for (uint64_t t : exempt_tags_)
    if (!want.count(t)) bpf_map_delete_elem(fd, &t);
  exempt_tags_ = std::move(want);
}

void DetectorFeature::refresh_never_ban() {
  std::set<std::string> want = {"127.0.0.0/8", "::1"};
  for (const auto &c : never_opt_) want.insert(c);
  for (const auto &a : h_.sync_status().protected_addresses) want.insert(a);
  ifaddrs *ifa = nullptr;
  if (getifaddrs(&ifa) == 0) {
    for (ifaddrs *i = ifa; i; i = i->ifa_next) {
      if (!i->ifa_addr) continue;
      char buf[INET6_ADDRSTRLEN];
      if (i->ifa_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in *>(i->ifa_addr)->sin_addr, buf,
                  sizeof buf);
      else if (i->ifa_addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6 *>(i->ifa_addr)->sin6_addr, buf,
                  sizeof buf);
      else
        continue;
      want.insert(buf);
    }
    freeifaddrs(ifa);
  }
  if (want == never_) return;
  int fd = bpf_map__fd(h_.skel().skel()->maps.dw_det_never);
  uint8_t one = 1;
  for (const auto &t : want) {
    if (never_.count(t)) continue;
    auto k = parse_ban_prefix(t.substr(0, t.find('%')), nullptr);  // fe80::1%eth0
    if (!k) {
      spdlog::debug("never-ban: skipping '{}' (not an address or prefix)", t);
      continue;
    }
    if (bpf_map_update_elem(fd, &*k, &one, BPF_ANY) != 0)
      spdlog::warn("{}", errno_text("adding never-ban " + t, errno));
  }
  for (const auto &t : never_) {
    if (want.count(t)) continue;
    if (auto k = parse_ban_prefix(t, nullptr)) bpf_map_delete_elem(fd, &*k);
  }
  never_ = std::move(want);
}

void DetectorFeature::refill_budget() {
  const Options &o = h_.options();
  dw_config cfg = read_config(h_.skel().config_fd());
  uint32_t used = last_budget_ >= cfg.det_bans_budget ? last_budget_ - cfg.det_bans_budget : 0;
  double per_min = o.detector_max_bans_per_min;
  tokens_ = std::min(std::max(tokens_ - used, 0.0) + per_min / 60.0, per_min);
  size_t live = bans_->active(DW_BAN_ORIGIN_DETECTOR);
  size_t room = o.detector_max_bans > live ? o.detector_max_bans - live : 0;
  uint32_t budget = uint32_t(std::min<double>(std::floor(tokens_), double(room)));
  // Read-modify-write of the whole line: a ban the kernel takes between our read and this
  // write is not subtracted (at most one extra ban per CPU per second; documented).
  if (budget != cfg.det_bans_budget) {
    cfg.det_bans_budget = budget;
    write_config(h_.skel().config_fd(), cfg);
  }
  last_budget_ = budget;

  uint64_t caps = read_counters(h_.skel().counters_fd())[DW_C_DET_CAP_HIT];
  if (caps > last_cap_counter_) {
    uint64_t d = caps - last_cap_counter_;
    (room == 0 ? caps_total_ : caps_rate_) += d;
    int64_t now = now_unix_ms();
    if (now - last_alarm_ms_ >= 60000) {
      last_alarm_ms_ = now;
      spdlog::error(
          "ALARM detector: the ban cap is reached ({}): {} threshold crossings in the last "
          "second(s) were not banned (caps hit so far: rate {}, total {}). An attack from many "
          "sources, or a cap too low: see --detector-max-bans-per-min/--detector-max-bans",
          room == 0
              ? "--detector-max-bans " + std::to_string(o.detector_max_bans) + " bans in force"
              : "--detector-max-bans-per-min " + std::to_string(o.detector_max_bans_per_min),
          d, caps_rate_, caps_total_);
    }
  }
  last_cap_counter_ = caps;
}

int DetectorFeature::ring_cb(void *ctx, void *data, size_t size) {
  if (size < sizeof(dw_det_event)) return 0;
  dw_det_event ev;
  std::memcpy(&ev, data, sizeof ev);
  try {
    static_cast<DetectorFeature *>(ctx)->on_event(ev);
  } catch (const std::exception &e) {
    spdlog::error("detector event: {}", e.what());
  }
  return 0;
}

void DetectorFeature::on_event(const dw_det_event &ev) {
  dw_ban_key key = key_from(ev.addr, ev.prefixlen);
  std::string prefix = ban_prefix_text(key);
  auto zit = zone_of_tag_.find(ev.zone_tag);
  std::string zone = zit != zone_of_tag_.end() ? zit->second : "";
  std::vector<std::string> names;
  if (ev.sample_len) names.push_back(wire_text(ev.sample, std::min<size_t>(ev.sample_len, 64)));
  std::string crossing = wire_text(ev.name, std::min<size_t>(ev.name_len, 256));
  if (std::find(names.begin(), names.end(), crossing) == names.end()) names.push_back(crossing);
  // The event carries two of the names (the window's first sample and the one that crossed
  // the threshold), not all `distinct`: say so rather than list two under "3 names".
  std::string names_text = names.size() < ev.distinct ? std::to_string(names.size()) + " of " +
                                                            std::to_string(ev.distinct) + ": "
                                                      : "";
  for (size_t i = 0; i < names.size(); ++i) names_text += (i ? ", " : "") + names[i];
  std::string what = ev.signal == DW_DET_SIGNAL_QUERIES
                         ? std::to_string(ev.distinct) + " distinct names queried"
                         : std::to_string(ev.distinct) + " distinct NXDOMAIN names (" +
                               std::to_string(ev.nx) + " of " + std::to_string(ev.answers) +
                               " answers NXDOMAIN)";
  switch (ev.kind) {
    case DW_DET_EV_BANNED: {
      const BanRecord &r = bans_->on_detector_ban(key, ev.expires_ns, zone, names);
      std::string len =
          r.permanent ? "permanently"
                      : "for " + duration_text((r.expires_boot_ns -
                                                std::min<uint64_t>(r.expires_boot_ns, ev.ts_ns)) /
                                               1000000000ull);
      spdlog::warn("detector: banned {} {} (offense {}): {} under {} within {}; names: {}", prefix,
                   len, r.offenses, what, zone.empty() ? "?" : zone, duration_text(window_s_),
                   names_text);
      break;
    }
    case DW_DET_EV_NEVER_BAN:
      spdlog::warn(
          "detector: {} is on the never-ban list and was not banned: {} under {}; "
          "names: {}",
          prefix, what, zone.empty() ? "?" : zone, names_text);
      break;
    case DW_DET_EV_CAP:
      // Counted in the kernel; refill_budget() logs the (rate-limited) alarm.
      spdlog::debug("detector: {} crossed the threshold under {} but the ban cap is reached",
                    prefix, zone);
      break;
    default:
      break;
  }
}

json DetectorFeature::status() const {
  const Options &o = h_.options();
  Counters c = read_counters(h_.skel().counters_fd());
  json never = json::array();
  for (const auto &n : never_) never.push_back(n);
  return {
      {"enabled", enabled_},
      {"signal", queries_ ? "queries" : "answers"},
      {"threshold", threshold_},
      {"window_s", window_s_},
      {"min_nx_pct", queries_ ? 0u : o.detector_min_nx_pct},
      {"v6_prefix", o.detector_v6_prefix},
      {"tc_attached", tc_attached_},
      {"bans", bans_->active()},
      {"operator_bans", bans_->active(DW_BAN_ORIGIN_OPERATOR)},
      {"detector_bans", bans_->active(DW_BAN_ORIGIN_DETECTOR)},
      {"kernel_bans", c[DW_C_DET_BANS]},
      {"never_ban_crossings", c[DW_C_DET_NEVER_BAN]},
      {"caps_hit", {{"rate", caps_rate_}, {"total", caps_total_}}},
      {"events_lost", c[DW_C_DET_EVENTS_LOST]},
      {"ban_time_s", bans_->policy().first_s},
      {"ban_repeat_s", bans_->policy().repeat_s ? json(bans_->policy().repeat_s) : json(nullptr)},
      {"ban_forget_s", bans_->policy().forget_s ? json(bans_->policy().forget_s) : json(nullptr)},
      {"history",
       {{"sources", bans_->history()},
        {"max", bans_->policy().history_max},
        {"forgotten", bans_->forgotten()}}},
      {"exempt_zones", exempt_tags_.size()},
      {"never_ban", never},
      {"state_file", bans_->state_path()}};
}

}  // namespace dnswash::daemon
