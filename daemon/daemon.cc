#include "daemon.h"

#include <bpf/bpf.h>
#include <linux/if_link.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "attach.h"
#include "check_feature.h"
#include "checks.h"
#include "ban_action_feature.h"
#include "odd_answers_feature.h"
#include "config_map.h"
#include "control_server.h"
#include "daemon_hooks.h"
#include "bans_feature.h"
#include "detector_feature.h"
#include "fleet_feature.h"
#include "shield_feature.h"
#include "counters.h"
#include "dnswash_skel.h"
#include "error.h"
#include "metrics_feature.h"
#include "nfqueue/filter.h"
#include "reasons.h"
#include "sampler_feature.h"
#include "sd_notify.h"
#include "takeover.h"
#include "unique_fd.h"
#include "named_stats.h"
#include "zone_sync.h"
#include "zone_tools.h"
#include "zone_table.h"
#include "wall_clock.h"
#include "xdp_share.h"

namespace dnswash::daemon {

namespace {

using nlohmann::json;

json zones_by_source_json(const SyncStatus &ss) {
  json j = json::object();
  for (const auto &[name, n] : ss.zones_by_source) j[name] = n;
  return j;
}

// The running servers read for zones (named's statistics channel, knotc, nsd-control).
json runtime_sources_json(const SyncStatus &ss) {
  json a = json::array();
  for (const auto &r : ss.runtime)
    a.push_back({{"name", r.name},
                 {"where", r.where},
                 {"zones", r.zones},
                 {"reads_ok", r.reads_ok},
                 {"reads_failed", r.reads_failed},
                 {"failing", r.failing},
                 {"last_error", r.last_error},
                 {"drops_held", r.drops_held},
                 {"drop_held", r.drop_held},
                 {"last_read_us", r.last_read_us}});
  return a;
}

uint32_t prog_id_of(int prog_fd) {
  bpf_prog_info info{};
  uint32_t len = sizeof info;
  return bpf_obj_get_info_by_fd(prog_fd, &info, &len) == 0 ? info.id : 0;
}
uint32_t map_id_of(int fd) {
  bpf_map_info info{};
  uint32_t len = sizeof info;
  return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

bool in_dispatcher(uint32_t prog_id, int ifindex) {
  try {
    for (const auto &c : inspect_xdp_hook(ifindex).components)
      if (c.id == prog_id) return true;
  } catch (const Error &) {
  }
  return false;
}

bool link_attached(int link_fd) {
  try {
    return link_info(link_fd).ifindex != 0;
  } catch (const Error &) {
    return false;
  }
}

Mode mode_of_attach(uint8_t attach_mode) {
  return attach_mode == XDP_ATTACHED_DRV ? Mode::kNative : Mode::kGeneric;
}

class Daemon final : public DaemonHooks {
 public:
  explicit Daemon(const Options &o) : opt_(o) {}
  int run();

  // DaemonHooks (see daemon_hooks.h).
  void add_command(const std::string &name, bool admin, Command fn) override {
    commands_[name] = {admin, std::move(fn)};
  }
  void add_fd(int fd, std::function<void()> on_readable) override {
    watches_.push_back({fd, std::move(on_readable), false});
  }
  void remove_fd(int fd) override {
    std::erase_if(watches_, [fd](const Watch &w) { return w.fd == fd; });
  }
  void watch_write(int fd, bool on) override {
    for (Watch &w : watches_)
      if (w.fd == fd) w.write = on;
  }
  void reply(uint64_t conn, const json &r) override { control_->reply(conn, r); }
  bool maps_taken_over() const override { return reuse_maps_; }
  void every(std::chrono::milliseconds period, std::function<void()> fn) override {
    timers_.push_back({period, std::chrono::steady_clock::now() + period, std::move(fn)});
  }
  void add_status(const std::string &key, std::function<json()> fn) override {
    status_parts_.push_back({key, std::move(fn)});
  }
  DnswashSkel &skel() override { return *skel_; }
  const Options &options() const override { return opt_; }
  const SyncStatus &sync_status() const override { return sync_->status(); }
  std::vector<std::string> zone_names() override { return table_->names(); }
  int ifindex() const override { return ifindex_; }
  nfqueue::SampleQueue *nfqueue_samples() override { return nfq_ ? &nfq_->samples() : nullptr; }

 private:
  void start();
  void load_program();
  OptionalPrograms optional_programs() const;
  void attach_fresh();
  bool choose_libxdp();
  bool attach_shared(Mode m, std::string &notes, bool last_try);
  void take_over();
  void take_over_shared();
  void start_nfqueue();
  void start_features();
  void loop();
  int poll_timeout_ms() const;
  void run_due_timers();
  void stop();
  void write_state_file();
  void add_core_commands();
  json handle(const json &req, const Peer &peer);
  json status() const override;

  Options opt_;
  Mode requested_ = Mode::kAuto;
  Mode mode_ = Mode::kAuto;
  std::string mode_reason_;
  int ifindex_ = 0;
  std::unique_ptr<ControlServer> control_;
  std::optional<Previous> prev_;
  bool reuse_maps_ = false;
  std::unique_ptr<DnswashSkel> skel_;
  std::unique_ptr<ZoneTable> table_;
  std::unique_ptr<ZoneSync> sync_;
  std::vector<std::string> zone_names_;  // cache of table_->names() for `zones`; empty = stale
  std::unique_ptr<nfqueue::Filter> nfq_;
  UniqueFd link_;
  uint32_t link_id_ = 0;
  // Attached through libxdp's dispatcher instead of link_ (docs/nic-sharing.md).
  std::unique_ptr<SharedXdpProgram> shared_;
  std::string xdp_attach_;  // "libxdp" or "direct" once attached; "" in NFQUEUE mode
  PinLayout pins_;
  bool pinned_ = false;
  bool took_over_ = false;
  bool keep_ = false;
  int exit_code_ = kExitOk;
  bool running_ = true;
  int64_t started_ms_ = now_unix_ms();
  std::string state_file_;

  struct CommandEntry {
    bool admin;
    Command fn;
  };
  struct Watch {
    int fd;
    std::function<void()> on_readable;
    bool write;  // also POLLOUT
  };
  struct Timer {
    std::chrono::milliseconds period;
    std::chrono::steady_clock::time_point due;
    std::function<void()> fn;
  };
  std::map<std::string, CommandEntry> commands_;
  std::vector<Watch> watches_;
  std::vector<Timer> timers_;
  std::vector<std::pair<std::string, std::function<json()>>> status_parts_;
  // Daemon features (daemon_hooks.h), destroyed in stop() before the filter is detached.
  std::vector<std::unique_ptr<DaemonFeature>> features_;
};

int Daemon::run() {
  try {
    start();
  } catch (const std::exception &e) {
    spdlog::error("{}", e.what());
    // A fresh attach whose start failed half-way leaves nothing: the link fd closes with us,
    // and the pins we made go too. A takeover keeps the previous daemon's pins and link.
    if (pinned_ && !took_over_) remove_pins(pins_);
    // A link goes with our fd; a libxdp component stays (libxdp pins it) unless removed.
    if (shared_ && !took_over_) {
      try {
        detach_from_dispatcher(shared_->prog_id(), ifindex_);
      } catch (const Error &d) {
        spdlog::warn("{}", d.what());
      }
    }
    return kExitError;
  }
  try {
    loop();
  } catch (const std::exception &e) {
    spdlog::error("{}", e.what());
    exit_code_ = kExitError;
  }
  stop();
  return exit_code_;
}

void Daemon::start() {
  requested_ = parse_mode(opt_.mode);
  check_privileges();
  ifindex_ = interface_index(opt_.iface);
  check_kernel_bpf();
  if (opt_.keep_on_exit && opt_.pin_dir.empty())
    throw Error("--keep-on-exit needs a --pin-dir: the next dnswashd finds the filter there");
  if (!opt_.pin_dir.empty()) ensure_bpffs_dir(opt_.pin_dir);

  // The lock first: a second instance must not touch anything.
  ControlLimits limits;
  limits.max_clients = opt_.control_clients;
  limits.per_uid = opt_.control_clients_per_uid;
  limits.admin_reserve = opt_.control_admin_reserve;
  control_ = std::make_unique<ControlServer>(
      opt_.iface, [this](const json &r, const Peer &p) { return handle(r, p); }, limits);
  spdlog::info("control socket {}", control_->name());

  nfqueue::Filter::remove_stale_rules(opt_.iface);
  if (!opt_.pin_dir.empty()) {
    pins_ = pin_layout(opt_.pin_dir, opt_.iface);
    prev_ = find_previous(opt_.pin_dir, opt_.iface, ifindex_);
  }
  load_program();

  // Takes over the live zone set and its key when the maps are shared.
  table_ = std::make_unique<ZoneTable>(skel_->zones_fd(), skel_->key());
  ZoneSources src;
  src.named_conf = opt_.named_conf;
  src.chroot = opt_.chroot;
  src.zones = opt_.zones;
  src.zones_files = opt_.zones_files;
  src.runtime_interval = std::chrono::milliseconds(opt_.zones_poll_ms);
  src.max_drop_share = opt_.zones_max_drop_share;
  src.drop_confirm = std::chrono::milliseconds(opt_.zones_drop_confirm_ms);
  if (opt_.zones_from == "bind") {
    if (opt_.named_stats == "auto")
      src.named_stats_from_conf = true;
    else if (opt_.named_stats != "off" && !opt_.named_stats.empty())
      src.runtime.push_back(make_named_stats_source(opt_.named_stats));
  } else {
    src.named_conf.clear();  // Knot and NSD know their own zones; named.conf is not theirs
    if (opt_.zones_from == "knot")
      src.runtime.push_back(make_knot_source(opt_.knotc, opt_.knot_socket));
    else
      src.runtime.push_back(make_nsd_source(opt_.nsd_control, opt_.nsd_conf));
  }
  sync_ = std::make_unique<ZoneSync>(
      src,
      [this](const std::vector<DnsName> &zones) {
        zone_names_.clear();  // the `zones` listing is rebuilt on the next request
        table_->apply(zones);
      },
      [this](bool port53) { set_config_flag(skel_->config_fd(), DW_CFG_ALLOW_RESPONSES, port53); });
  sync_->initial_sync();
  spdlog::info("zones loaded: {}", table_->size());
  // Only now, with the zones in place: a start that fails before this point must not change
  // the switches of a filter it shares with the previous daemon.
  set_config_flag(skel_->config_fd(), DW_CFG_DRY_RUN, opt_.dry_run);
  set_config_flag(skel_->config_fd(), DW_CFG_ALLOW_CHAOS, opt_.allow_chaos);

  if (requested_ == Mode::kNfqueue) {
    start_nfqueue();
    if (prev_) {
      // NFQUEUE runs already, so dropping the old XDP filter opens no window.
      spdlog::info("detaching the XDP filter left by the previous dnswashd ({} id {})",
                   prev_->shared ? "libxdp component, program" : "link",
                   prev_->shared ? prev_->shared_prog_id : prev_->link_info.id);
      if (prev_->shared)
        detach_from_dispatcher(prev_->shared_prog_id, ifindex_);
      else
        bpf_link_detach(prev_->link.get());
      remove_pins(prev_->pins);
      prev_.reset();
    }
  } else if (prev_) {
    take_over();
  } else {
    attach_fresh();
  }

  add_core_commands();
  start_features();
  write_state_file();
  std::string ready = "READY=1\nSTATUS=filtering " + opt_.iface + " (" + mode_name(mode_) + ", " +
                      std::to_string(table_->size()) +
                      " zones)\nMAINPID=" + std::to_string(getpid()) + "\n";
  sd_notify(ready);
  spdlog::info("ready: {} mode {}{}, program id {}, link id {}, {} zones{}", opt_.iface,
               mode_name(mode_), shared_ ? " (libxdp's dispatcher)" : "",
               shared_ ? shared_->prog_id() : prog_id_of(skel_->prog_fd()), link_id_,
               table_->size(), opt_.dry_run ? ", dry-run" : "");
}

void Daemon::load_program() {
  if (prev_ && prev_->same_abi) {
    try {
      skel_ = DnswashSkel::load(
          nullptr,
          ReuseMaps{prev_->zones.get(), prev_->bans.get(), prev_->config.get(),
                    prev_->counters.get(), prev_->det.valid() ? prev_->det.get() : -1},
          optional_programs());
      reuse_maps_ = true;
      spdlog::info(
          "taking over the filter on {} (link id {}, program id {}): sharing its maps "
          "and zone set",
          opt_.iface, prev_->link_info.id, prev_->link_info.prog_id);
      return;
    } catch (const Error &e) {
      prev_->incompatible = e.what();
    }
  }
  if (prev_) {
    std::string why = !prev_->same_abi
                          ? "its maps are from map ABI version " + std::to_string(prev_->pins.abi) +
                                " (this dnswashd uses " + std::to_string(DW_ABI_VERSION) + ")"
                          : "its maps do not fit this build: " + prev_->incompatible;
    if (opt_.on_abi_mismatch == "refuse")
      throw Error("the filter pinned in " + prev_->pins.dir + " cannot be taken over: " + why +
                  ". Stop it first (run the old dnswashd without --keep-on-exit), or start with "
                  "--on-abi-mismatch=replace to swap in a fresh program and maps");
    spdlog::warn(
        "the filter pinned in {} cannot be reused: {}; replacing it with a fresh "
        "program and maps in the same link (no window; counters and bans start over)",
        prev_->pins.dir, why);
  }
  skel_ = DnswashSkel::load(nullptr, ReuseMaps{}, optional_programs());
}

// The detector's tc program only when the detector runs on answers: with it off (or on the
// queries signal) the kernel never sees that program, so it can never keep the filter out.
OptionalPrograms Daemon::optional_programs() const {
  return OptionalPrograms{.det_tc = opt_.detector && opt_.detector_signal != "queries"};
}

void Daemon::take_over() {
  Previous &p = *prev_;
  if (p.shared) return take_over_shared();
  if (opt_.xdp_attach == "libxdp")
    spdlog::warn(
        "--xdp-attach libxdp requested, but the filter taken over has its own link; a restart "
        "keeps the link, so stop (without --keep-on-exit) and start to join libxdp's "
        "dispatcher");
  xdp_attach_ = "direct";
  UniqueFd old_prog(bpf_prog_get_fd_by_id(p.link_info.prog_id));
  if (!old_prog.valid())
    throw Error(
        errno_text("opening the running program id " + std::to_string(p.link_info.prog_id), errno));
  // BPF_F_REPLACE: swap only if the link still runs the program we inspected.
  LIBBPF_OPTS(bpf_link_update_opts, uopts, .flags = BPF_F_REPLACE,
              .old_prog_fd = uint32_t(old_prog.get()));
  if (bpf_link_update(p.link.get(), skel_->prog_fd(), &uopts) != 0)
    throw Error(errno_text(
        "swapping the new program into link id " + std::to_string(p.link_info.id), errno));
  link_ = std::move(p.link);
  link_id_ = p.link_info.id;
  took_over_ = true;
  mode_ = mode_of_attach(p.xdp.attach_mode);
  mode_reason_ = "took over link id " + std::to_string(link_id_) + " from the previous dnswashd";
  if (requested_ != Mode::kAuto && requested_ != mode_)
    spdlog::warn(
        "--mode {} requested, but the filter taken over runs in {} mode; a restart "
        "keeps the link, so stop (without --keep-on-exit) and start to change mode",
        mode_name(requested_), mode_name(mode_));
  spdlog::info("took over link id {}: program id {} replaced by {}", link_id_, p.link_info.prog_id,
               prog_id_of(skel_->prog_fd()));
  pin_state(pins_, link_.get(), *skel_);
  pinned_ = true;
  if (p.pins.dir != pins_.dir) remove_pins(p.pins);  // the other ABI version's directory
  prev_.reset();
}

// The previous daemon's component runs in libxdp's dispatcher: this one's joins it, then the old
// one leaves. In between both run, first the one and then the other, sharing the maps (or, with
// another map ABI, each with its own but the same zone set): a packet gets the same verdict
// from either, and each dispatcher swap is atomic. Other programs in the dispatcher stay.
void Daemon::take_over_shared() {
  Previous &p = *prev_;
  const bool native = p.xdp.attach_mode == XDP_ATTACHED_DRV;
  if (opt_.xdp_attach == "direct")
    spdlog::warn(
        "--xdp-attach direct requested, but the filter taken over runs in libxdp's dispatcher; "
        "a restart keeps it there, so stop (without --keep-on-exit) and start to change");
  shared_ = SharedXdpProgram::attach(*skel_, ifindex_, native);
  took_over_ = true;  // from here on the old component may be gone: never undo ours
  try {
    detach_from_dispatcher(p.shared_prog_id, ifindex_);
  } catch (const Error &e) {
    spdlog::warn("the previous dnswashd's component (program id {}) stays in the dispatcher: {}",
                 p.shared_prog_id, e.what());
  }
  mode_ = native ? Mode::kNative : Mode::kGeneric;
  xdp_attach_ = "libxdp";
  mode_reason_ = "took over program id " + std::to_string(p.shared_prog_id) +
                 " in libxdp's dispatcher from the previous dnswashd";
  if (requested_ != Mode::kAuto && requested_ != mode_)
    spdlog::warn("--mode {} requested, but the dispatcher taken over runs in {} mode",
                 mode_name(requested_), mode_name(mode_));
  spdlog::info("took over in libxdp's dispatcher: program id {} replaced by {}; {}",
               p.shared_prog_id, shared_->prog_id(), describe(inspect_xdp_hook(ifindex_)));
  pin_state(pins_, shared_->prog_fd(), *skel_, true);
  pinned_ = true;
  if (p.pins.dir != pins_.dir) remove_pins(p.pins);
  prev_.reset();
}

// Whether to attach through libxdp's dispatcher (--xdp-attach auto or libxdp). Says why not.
bool Daemon::choose_libxdp() {
  if (opt_.xdp_attach == "direct") return false;
  auto refused = [&](const std::string &why) {
    if (opt_.xdp_attach == "libxdp")
      throw Error("--xdp-attach libxdp: libxdp's dispatcher cannot run here: " + why);
    spdlog::warn(
        "libxdp's dispatcher cannot run here ({}): attaching directly, so no other XDP program "
        "can share {}",
        why, opt_.iface);
    return false;
  };
  if (std::string why = libxdp_bpffs_problem(); !why.empty()) return refused(why);
  XdpHookHolder hook = inspect_xdp_hook(ifindex_);
  if (hook.kind == XdpHookHolder::kOther) {
    spdlog::warn(
        "{} holds {}: libxdp can share the interface only with programs attached through its "
        "dispatcher; falling back to a direct attach",
        opt_.iface, describe(hook));
    return false;
  }
  if (std::string why = dispatcher_refusal(); !why.empty()) return refused(why);
  if (hook.kind == XdpHookHolder::kDispatcher)
    spdlog::info("{} holds {}: joining it", opt_.iface, describe(hook));
  return true;
}

// One attempt through libxdp in mode m. false (with the reason added to notes) if it failed.
bool Daemon::attach_shared(Mode m, std::string &notes, bool last_try) {
  try {
    shared_ = SharedXdpProgram::attach(*skel_, ifindex_, m == Mode::kNative);
  } catch (const Error &e) {
    std::string msg =
        std::string(mode_name(m)) + " XDP through libxdp on " + opt_.iface + " failed: " + e.what();
    if (last_try) throw Error(msg);
    spdlog::warn("{}", msg);
    notes += msg + "; ";
    return false;
  }
  mode_ = m;
  xdp_attach_ = "libxdp";
  mode_reason_ = notes + mode_name(m) + " XDP attached through libxdp's dispatcher";
  spdlog::info(
      "attached in {} XDP mode through libxdp's dispatcher (program id {}, priority {}); {}",
      mode_name(m), shared_->prog_id(), kXdpShareRunPrio, describe(inspect_xdp_hook(ifindex_)));
  if (!opt_.pin_dir.empty()) {
    pinned_ = true;  // set first: a partial pin is cleaned up too
    pin_state(pins_, shared_->prog_fd(), *skel_, true);
  }
  return true;
}

void Daemon::attach_fresh() {
  bool libxdp = choose_libxdp();
  XdpState now = query_xdp(ifindex_);
  if (now.prog_id && !libxdp)
    throw Error(
        "an XDP program (id " + std::to_string(now.prog_id) + ", name '" + now.prog_name +
        "') is already attached to " + opt_.iface +
        (opt_.pin_dir.empty() ? "" : " and no dnswashd state is pinned in " + opt_.pin_dir) +
        ": dnswashd does not replace it. If it is a dnswashd filter pinned elsewhere, "
        "start with that --pin-dir; otherwise remove it (`bpftool link detach id N` for "
        "a link, `ip link set dev " +
        opt_.iface + " xdp off` otherwise)" +
        (now.prog_name == "xdp_dispatcher"
             ? ". It is libxdp's dispatcher: --xdp-attach auto or libxdp joins it"
             : ""));
  const bool joining = now.prog_id != 0;  // a dispatcher with other programs in it
  std::vector<Mode> order;
  if (requested_ == Mode::kAuto)
    order = {Mode::kNative, Mode::kGeneric, Mode::kNfqueue};
  else
    order = {requested_};
  std::string notes;
  for (Mode m : order) {
    if (m == Mode::kNfqueue) {
      start_nfqueue();
      mode_reason_ = notes + "NFQUEUE mode";
      return;
    }
    if (libxdp) {
      // An empty hook can still take dnswash alone (auto); a dispatcher's other programs
      // cannot share a direct link: then the next mode, if any.
      const bool direct_next = !joining && opt_.xdp_attach == "auto";
      if (attach_shared(m, notes, requested_ != Mode::kAuto && !direct_next)) return;
      if (!direct_next) continue;
      spdlog::warn("attaching directly instead: no other XDP program can share {}", opt_.iface);
      libxdp = false;
    }
    XdpAttempt a = attach_xdp_link(skel_->prog_fd(), ifindex_, m == Mode::kNative);
    if (a.ok) {
      xdp_attach_ = "direct";
      link_ = std::move(a.link);
      link_id_ = link_info(link_.get()).id;
      mode_ = m;
      mode_reason_ = notes + mode_name(m) + " XDP attached";
      spdlog::info("attached in {} XDP mode (link id {})", mode_name(m), link_id_);
      if (!opt_.pin_dir.empty()) {
        pinned_ = true;  // set first: a partial pin is cleaned up too
        pin_state(pins_, link_.get(), *skel_);
      }
      return;
    }
    std::string msg =
        std::string(mode_name(m)) + " XDP on " + opt_.iface + " failed: " + a.describe();
    if (requested_ != Mode::kAuto) throw Error(msg);
    spdlog::warn("{}; {}", msg,
                 m == Mode::kNative ? "trying generic XDP" : "falling back to NFQUEUE");
    notes += msg + "; ";
  }
}

void Daemon::start_nfqueue() {
  nfqueue::Options no;
  no.iface = opt_.iface;
  no.queues = opt_.queues;
  no.fail_closed = opt_.fail_closed;
  LiveMaps maps{skel_->zones_fd(), skel_->bans_fd(), skel_->config_fd()};
  nfq_ = std::make_unique<nfqueue::Filter>(no, maps, skel_->counters_fd());
  mode_ = Mode::kNfqueue;
  if (mode_reason_.empty()) mode_reason_ = "NFQUEUE mode requested";
  spdlog::info("filtering {} through NFQUEUE ({} queue{})", opt_.iface, opt_.queues,
               opt_.queues == 1 ? "" : "s");
}

void Daemon::start_features() {
  // One line per feature: features_.push_back(std::make_unique<Feature>(*this, ...));
  // (a feature registers its commands, fds, timers and status in its constructor).
  features_.push_back(std::make_unique<BanActionFeature>(*this));
  auto bans = std::make_unique<BansFeature>(*this);
  BansFeature &bans_ref = *bans;
  features_.push_back(std::move(bans));
  features_.push_back(std::make_unique<OddAnswersFeature>(*this));
  features_.push_back(std::make_unique<DetectorFeature>(*this, bans_ref));
  auto shield = std::make_unique<ShieldFeature>(*this);  // part of --detector
  ShieldFeature &shield_ref = *shield;
  features_.push_back(std::move(shield));
  // After the detector (it fills the never-ban map the fleet checks) and the shield (the fleet
  // shares its zones' shields); replays before ready.
  features_.push_back(std::make_unique<FleetFeature>(*this, bans_ref, shield_ref));
  features_.push_back(std::make_unique<SamplerFeature>(*this));
  features_.push_back(std::make_unique<CheckFeature>(*this));
  features_.push_back(std::make_unique<MetricsFeature>(*this));
}

int Daemon::poll_timeout_ms() const {
  int control = control_->timeout_ms();
  if (timers_.empty()) return control;
  auto now = std::chrono::steady_clock::now();
  auto first = timers_.front().due;
  for (const Timer &t : timers_) first = std::min(first, t.due);
  if (first <= now) return 0;
  // Round up: waking a millisecond early would spin until the timer is due.
  int t = int(std::chrono::ceil<std::chrono::milliseconds>(first - now).count());
  return control < 0 ? t : std::min(t, control);
}

void Daemon::run_due_timers() {
  auto now = std::chrono::steady_clock::now();
  for (Timer &t : timers_) {
    if (t.due > now) continue;
    // Next due from now, not from the old due time: a stalled loop does not run a burst.
    t.due = now + t.period;
    t.fn();
  }
}

void Daemon::loop() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGUSR2}) sigaddset(&set, s);
  UniqueFd sfd(signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!sfd.valid()) throw Error(errno_text("signalfd", errno));

  while (running_) {
    std::vector<pollfd> pfds{{sfd.get(), POLLIN, 0}, {sync_->poll_fd(), POLLIN, 0}};
    const size_t first_watch = pfds.size();
    for (const Watch &w : watches_)
      pfds.push_back({w.fd, short(POLLIN | (w.write ? POLLOUT : 0)), 0});
    const size_t first_control = pfds.size();
    for (const pollfd &p : control_->poll_fds()) pfds.push_back(p);
    int n = poll(pfds.data(), pfds.size(), poll_timeout_ms());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(errno_text("poll", errno));
    }
    if (pfds[0].revents) {
      signalfd_siginfo si;
      while (read(sfd.get(), &si, sizeof si) == ssize_t(sizeof si)) {
        switch (si.ssi_signo) {
          case SIGHUP:
            spdlog::info("SIGHUP: re-reading the zone sources");
            sync_->resync("SIGHUP");
            break;
          case SIGUSR2:
            spdlog::info("SIGUSR2: exiting and leaving the filter for the next dnswashd");
            keep_ = true;
            exit_code_ = kExitHandover;
            running_ = false;
            break;
          default:
            spdlog::info("{}: stopping{}", strsignal(int(si.ssi_signo)),
                         opt_.keep_on_exit ? " (--keep-on-exit: the filter stays)" : "");
            keep_ = opt_.keep_on_exit;
            running_ = false;
        }
      }
    }
    if (pfds[1].revents) sync_->on_ready();
    // Copies: a callback may add or remove watches.
    std::vector<Watch> ready;
    for (size_t i = first_watch; i < first_control; ++i)
      if (pfds[i].revents)
        for (const Watch &w : watches_)
          if (w.fd == pfds[i].fd) ready.push_back(w);
    for (const Watch &w : ready) w.on_readable();
    for (size_t i = first_control; i < pfds.size(); ++i)
      if (pfds[i].revents) control_->on_ready(pfds[i].fd, pfds[i].revents);
    // One request per client per round: the loop comes back here (signals, zone sync) between
    // a pipelining client's requests.
    control_->serve();
    run_due_timers();
  }
}

void Daemon::stop() {
  sd_notify("STOPPING=1\n");
  // Features first, newest first: they may use the maps, and must be gone before the link.
  while (!features_.empty()) features_.pop_back();
  watches_.clear();
  timers_.clear();
  if (nfq_) {
    if (keep_) spdlog::warn("NFQUEUE mode cannot outlive the daemon: removing its rules");
    nfq_.reset();
  }
  if (link_.valid()) {
    if (keep_) {
      spdlog::info("left link id {} attached and pinned in {}", link_id_, pins_.dir);
    } else {
      // Detach even if another process holds an fd to the link (e.g. bpftool): a stop leaves
      // no program on the interface.
      if (bpf_link_detach(link_.get()) != 0)
        spdlog::warn("{}", errno_text("detaching link id " + std::to_string(link_id_), errno));
      if (pinned_) remove_pins(pins_);
      spdlog::info("detached from {}; pins removed", opt_.iface);
    }
  }
  link_.reset();
  if (shared_) {
    if (keep_) {
      spdlog::info("left program id {} in libxdp's dispatcher, pinned in {}", shared_->prog_id(),
                   pins_.dir);
    } else {
      try {
        detach_from_dispatcher(shared_->prog_id(), ifindex_);
        spdlog::info("detached from libxdp's dispatcher on {}", opt_.iface);
      } catch (const Error &e) {
        spdlog::warn("{}", e.what());
      }
      if (pinned_) remove_pins(pins_);
    }
  }
  shared_.reset();
  if (!state_file_.empty()) unlink(state_file_.c_str());
}

void Daemon::write_state_file() {
  if (opt_.state_dir.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(opt_.state_dir, ec);
  std::string path = opt_.state_dir + "/" + opt_.iface + ".json";
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << status().dump(2) << "\n";
    if (!out) {
      spdlog::warn("cannot write {}: the daemon runs on, dnswashctl finds it by its socket", tmp);
      return;
    }
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    spdlog::warn("{}", errno_text("renaming " + tmp, errno));
    return;
  }
  state_file_ = path;
}

json Daemon::status() const {
  dw_config cfg = read_config(skel_->config_fd());
  const SyncStatus &ss = sync_->status();
  json j = {
      {"ok", true},
      {"version", "0.1.0"},
      {"abi", DW_ABI_VERSION},
      {"pid", getpid()},
      {"iface", opt_.iface},
      {"ifindex", ifindex_},
      {"mode", mode_name(mode_)},
      {"mode_reason", mode_reason_},
      {"prog_id", shared_ ? shared_->prog_id() : prog_id_of(skel_->prog_fd())},
      {"link_id", link_id_},
      {"xdp_attach", xdp_attach_},
      // false once the kernel let go of the link (the interface was deleted, or someone ran
      // `bpftool link detach` or `xdp-loader unload`): the daemon then filters nothing and
      // should be restarted.
      {"attached", mode_ == Mode::kNfqueue || (link_.valid() && link_attached(link_.get())) ||
                       (shared_ && in_dispatcher(shared_->prog_id(), ifindex_))},
      {"took_over", took_over_},
      {"maps",
       {{"zones", map_id_of(skel_->zones_fd())},
        {"bans", map_id_of(skel_->bans_fd())},
        {"config", map_id_of(skel_->config_fd())},
        {"counters", map_id_of(skel_->counters_fd())}}},
      {"pin_dir", pinned_ ? pins_.dir : ""},
      {"dry_run", (cfg.flags & DW_CFG_DRY_RUN) != 0},
      {"allow_chaos", (cfg.flags & DW_CFG_ALLOW_CHAOS) != 0},
      {"allow_responses", (cfg.flags & DW_CFG_ALLOW_RESPONSES) != 0},
      {"zones", table_->size()},
      {"started_unix_ms", started_ms_},
      {"sync",
       {{"ok", ss.syncs_ok},
        {"failed", ss.syncs_failed},
        {"failing", ss.failing},
        {"last_error", ss.last_error},
        {"last_ok_unix_ms", ss.last_ok_unix_ms},
        {"zones", ss.zones},
        {"applies", ss.applies},
        {"last_added", ss.last_added},
        {"last_removed", ss.last_removed},
        {"last_read_us", ss.last_read_us},
        {"last_apply_us", ss.last_apply_us},
        {"uses_source_port_53", ss.uses_source_port_53},
        {"protected_addresses", ss.protected_addresses},
        {"watched", ss.watched},
        {"zones_by_source", zones_by_source_json(ss)},
        {"sources", runtime_sources_json(ss)}}},
  };
  if (nfq_) {
    json queues = json::array();
    for (const auto &q : nfq_->stats())
      queues.push_back({{"queue", q.queue},
                        {"packets", q.packets},
                        {"accepted", q.accepted},
                        {"dropped", q.dropped},
                        {"requeued", q.requeued},
                        {"errors", q.errors}});
    j["nfqueue"] = {{"backend", nfq_->backend()}, {"queues", queues}};
  }
  ControlStats cs = control_->stats();
  const ControlLimits &cl = control_->limits();
  j["control"] = {{"clients", cs.clients},
                  {"admin_clients", cs.admins},
                  {"accepted", cs.accepted},
                  {"evicted", cs.evicted},
                  {"refused", cs.refused},
                  {"timed_out", cs.timed_out},
                  {"oversized", cs.oversized},
                  {"limits",
                   {{"clients", cl.max_clients},
                    {"per_uid", cl.per_uid},
                    {"admin_reserve", cl.admin_reserve},
                    {"idle_ms", cl.idle.count()},
                    {"request_ms", cl.request.count()},
                    {"write_ms", cl.write.count()}}}};
  for (const auto &[key, fn] : status_parts_) j[key] = fn();
  return j;
}

// The daemon's own commands, registered like every feature's (one registry, one admin check
// in handle()).
void Daemon::add_core_commands() {
  add_command("status", false, [this](const json &, const Peer &) { return status(); });
  add_command("counters", false, [this](const json &, const Peer &) -> json {
    Counters c = read_counters(skel_->counters_fd());
    json counters = json::object();
    for (unsigned i = 0; i < DW_C_COUNT; ++i) counters[std::string(counter_name(i))] = c[i];
    return {{"ok", true}, {"counters", counters}};
  });
  add_command("set-flag", true, [this](const json &req, const Peer &peer) -> json {
    const std::string flag = req.at("flag").get<std::string>();
    const bool value = req.at("value").get<bool>();
    uint32_t bit = flag == "dry-run"       ? DW_CFG_DRY_RUN
                   : flag == "allow-chaos" ? DW_CFG_ALLOW_CHAOS
                                           : 0;
    if (!bit)
      throw Error("unknown flag '" + flag +
                  "': dry-run or allow-chaos (allow-responses follows named.conf)");
    set_config_flag(skel_->config_fd(), bit, value);
    spdlog::info("control (pid {} uid {}): {} {}", peer.pid, peer.uid, flag, value ? "on" : "off");
    return {{"ok", true}, {"flag", flag}, {"value", value}};
  });
  add_command("zones", false, [this](const json &req, const Peer &) -> json {
    if (zone_names_.empty()) zone_names_ = table_->names();
    size_t offset = req.value("offset", size_t(0));
    size_t limit = req.value("limit", size_t(10000));
    json names = json::array();
    json sources = json::object();
    bool with_sources = req.value("sources", false);
    for (size_t i = offset; i < table_->size() && i - offset < limit; ++i) {
      names.push_back(zone_names_[i]);
      if (!with_sources) continue;
      auto name = parse_dns_name(zone_names_[i]);
      sources[zone_names_[i]] = name ? sync_->sources_of(*name) : std::vector<std::string>{};
    }
    json r = {{"ok", true}, {"total", table_->size()}, {"offset", offset}, {"zones", names}};
    if (with_sources) r["sources"] = sources;
    return r;
  });
  add_command("resync", true, [this](const json &, const Peer &) -> json {
    bool ok = sync_->resync("control request");
    json r = {{"ok", ok}, {"zones", table_->size()}};
    if (!ok) r["error"] = sync_->status().last_error;
    return r;
  });
}

json Daemon::handle(const json &req, const Peer &peer) {
  const std::string cmd = req.at("cmd").get<std::string>();
  auto it = commands_.find(cmd);
  if (it == commands_.end()) {
    std::string known;
    for (const auto &[name, entry] : commands_) known += (known.empty() ? "" : ", ") + name;
    throw Error("unknown command '" + cmd + "' (" + known + ")");
  }
  if (it->second.admin && peer.uid != 0 && peer.uid != geteuid())
    throw Error("'" + cmd + "' changes the filter: only root (or uid " + std::to_string(geteuid()) +
                ") may do that");
  return it->second.fn(req, peer);
}

}  // namespace

int run_daemon(const Options &opt) {
  // Signals are read from a signalfd in the loop; blocked from the start so a SIGTERM during
  // start-up is not lost (it is handled once the loop runs).
  // A signal ignored at exec (a shell's background job ignores SIGINT) is discarded rather
  // than queued, so restore the default disposition before blocking.
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGUSR2}) {
    signal(s, SIG_DFL);
    sigaddset(&set, s);
  }
  sigprocmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  Daemon d(opt);
  return d.run();
}

}  // namespace dnswash::daemon
