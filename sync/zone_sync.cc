#include "zone_sync.h"

#include <malloc.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <iterator>
#include <optional>
#include <set>

#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "error.h"
#include "file_watcher.h"
#include "named_conf.h"
#include "named_stats.h"
#include "runtime_poller.h"
#include "zones_file.h"

namespace dnswash {

namespace {

using Clock = std::chrono::steady_clock;

// A burst of events (an editor's write + rename, a script rewriting several includes) gives
// one sync: it runs after this much quiet ...
constexpr auto kDebounce = std::chrono::milliseconds(100);
// ... but never later than this after the burst's first event, so a removed zone stops
// passing within a second even while something keeps touching a watched directory.
constexpr auto kMaxDelay = std::chrono::milliseconds(500);

int64_t us_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t).count();
}

// A 64-bit hash of a name: the set last applied is remembered as its sorted hashes (8 bytes a
// zone, not a copy of every name) to skip applying an unchanged set and to log the diff.
uint64_t name_hash(const DnsName &n) {
  std::hash<std::string_view> h;
  uint64_t x = 0x6a09e667f3bcc908ULL;
  for (const auto &l : n.labels) x = (x ^ h(l)) * 0x9e3779b97f4a7c15ULL + l.size();
  return x ^ (x >> 31);
}

// LSD radix sort, 16 bits a pass: a million hashes in ~20 ms, a third of std::sort's time,
// and this runs on every sync.
void radix_sort(std::vector<uint64_t> &v) {
  std::vector<uint64_t> tmp(v.size());
  std::vector<uint32_t> count(65536);
  for (int shift = 0; shift < 64; shift += 16) {
    std::fill(count.begin(), count.end(), 0);
    for (uint64_t x : v) ++count[(x >> shift) & 0xffff];
    uint32_t sum = 0;
    for (auto &c : count) {
      uint32_t n = c;
      c = sum;
      sum += n;
    }
    for (uint64_t x : v) tmp[count[(x >> shift) & 0xffff]++] = x;
    v.swap(tmp);
  }
}

std::vector<uint64_t> sorted_hashes(const std::vector<DnsName> &names) {
  std::vector<uint64_t> out;
  out.reserve(names.size());
  for (const auto &n : names) out.push_back(name_hash(n));
  if (out.size() < 4096)
    std::sort(out.begin(), out.end());
  else
    radix_sort(out);
  return out;
}

// How many of the sorted `from` are not in the sorted `in` (for the "+added -removed" log).
size_t count_missing(const std::vector<uint64_t> &from, const std::vector<uint64_t> &in) {
  size_t n = 0, j = 0;
  for (uint64_t v : from) {
    while (j < in.size() && in[j] < v) ++j;
    if (j == in.size() || in[j] != v) ++n;
  }
  return n;
}

bool contains_hash(const std::vector<uint64_t> &sorted, uint64_t h) {
  return std::binary_search(sorted.begin(), sorted.end(), h);
}

// Names of `from` whose hash is not in the sorted `in`, at most `max` of them, for the log.
std::vector<std::string> missing_names(const std::vector<DnsName> &from,
                                       const std::vector<uint64_t> &in, size_t max) {
  std::vector<std::string> out;
  for (const auto &n : from) {
    if (out.size() >= max) break;
    if (!contains_hash(in, name_hash(n))) out.push_back(n.to_text());
  }
  return out;
}

std::string absolute(const std::string &path) {
  if (path.empty()) return path;
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec);
  return ec ? path : abs.lexically_normal().string();
}

}  // namespace

struct ZoneSync::Impl {
  ZoneSources sources;
  ApplyFn apply;
  FlagsFn on_flags;
  SyncStatus status;
  FileWatcher watcher;
  int timer_fd = -1;
  int epoll_fd = -1;
  std::optional<Clock::time_point> burst_start;
  std::vector<std::string> watched_paths;  // what the watcher was last given
  std::vector<uint64_t> applied;           // sorted name hashes of the set last applied
  bool have_applied = false;
  std::set<std::string> last_warnings;
  bool verify_pending = false;   // the armed timer is (also) a re-read after new watches
  bool verifying = false;        // the sync running now is such a re-read
  bool events_in_burst = false;  // a watched file changed since the timer was armed

  // Per source, the sorted hashes of its zones in the last good sync (sources_of()).
  std::vector<uint64_t> conf_hashes, option_hashes, file_hashes;

  struct Runtime {
    std::unique_ptr<RuntimePoller> poller;
    std::vector<DnsName> accepted;  // the set last accepted from it (sorted)
    std::vector<uint64_t> hashes;   // and its sorted hashes
    bool have = false;
    std::optional<std::vector<uint64_t>> held;  // a large drop seen once
    Clock::time_point held_since;
  };
  std::vector<Runtime> runtime;

  ~Impl() {
    if (timer_fd >= 0) close(timer_fd);
    if (epoll_fd >= 0) close(epoll_fd);
  }

  // Paths that are watched whatever the configuration says: named.conf itself (also while
  // it cannot be read) and the zones files.
  std::vector<std::string> base_paths() const {
    std::vector<std::string> out;
    if (!sources.named_conf.empty()) {
      std::string p = sources.named_conf;
      if (!sources.chroot.empty()) p = sources.chroot + "/" + p;
      out.push_back(absolute(p));
    }
    for (const auto &f : sources.zones_files) out.push_back(f);
    return out;
  }

  void arm_timer(Clock::time_point when) {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(when.time_since_epoch());
    itimerspec its{};
    its.it_value.tv_sec = ns.count() / 1000000000;
    its.it_value.tv_nsec = ns.count() % 1000000000;
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) its.it_value.tv_nsec = 1;
    // steady_clock is CLOCK_MONOTONIC on Linux, the timer's clock.
    if (timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &its, nullptr) != 0)
      throw Error(errno_text("timerfd_settime", errno));
  }

  void disarm_timer() {
    itimerspec its{};
    timerfd_settime(timer_fd, 0, &its, nullptr);
    burst_start.reset();
    verify_pending = false;
    events_in_burst = false;
  }

  // A relevant change was seen now: (re)start the quiet period, capped by the burst's start.
  void debounce() {
    auto now = Clock::now();
    if (!burst_start) burst_start = now;
    arm_timer(std::min(now + kDebounce, *burst_start + kMaxDelay));
  }

  bool timer_expired() {
    uint64_t ticks = 0;
    return read(timer_fd, &ticks, sizeof ticks) == sizeof ticks && ticks > 0;
  }

  // Watches `paths`; if that adds a directory, a change there between our read and now was
  // missed: read again (the next sync finds the same directories, so this settles).
  void rearm(std::vector<std::string> paths) {
    auto base = base_paths();
    paths.insert(paths.end(), base.begin(), base.end());
    std::sort(paths.begin(), paths.end());
    paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
    std::vector<std::string> added;
    try {
      added = watcher.set_paths(paths);
    } catch (const Error &e) {
      // Still syncing on SIGHUP; say why edits are not picked up.
      spdlog::error("zone sync: {}; edits are picked up on SIGHUP only until this is fixed",
                    e.what());
    }
    watched_paths = std::move(paths);
    status.watched = watcher.directories();
    if (!added.empty() && have_applied) {
      spdlog::debug("zone sync: now also watching {}; re-reading once", fmt::join(added, ", "));
      verify_pending = true;
      debounce();
    }
  }

  struct Desired {
    std::vector<DnsName> zones;
    bool port53 = false;
    std::vector<std::string> protected_addresses;
    std::vector<std::string> watched;
    std::vector<zones::Warning> warnings;
    std::vector<uint64_t> conf_hashes, option_hashes, file_hashes;
  };

  // Reads every source. Throws zones::ParseError or Error.
  Desired read_sources() {
    Desired d;
    if (!sources.named_conf.empty()) {
      zones::ParseOptions opt;
      opt.path = sources.named_conf;
      opt.chroot = sources.chroot;
      opt.zone_details = false;
      zones::ParseResult r = zones::parse_named_conf(opt);
      d.zones = std::move(r.allowed);
      d.port53 = r.uses_source_port_53;
      d.protected_addresses = std::move(r.protected_addresses);
      d.watched = std::move(r.watched_paths);
      d.warnings = std::move(r.warnings);
    }
    d.conf_hashes = sorted_hashes(d.zones);
    std::vector<DnsName> extra;
    for (const auto &z : sources.zones) extra.push_back(parse_zone_argument(z));
    d.option_hashes = sorted_hashes(extra);
    size_t from_options = extra.size();
    for (const auto &f : sources.zones_files) {
      auto names = read_zones_file(f);
      extra.insert(extra.end(), std::make_move_iterator(names.begin()),
                   std::make_move_iterator(names.end()));
    }
    d.file_hashes = sorted_hashes(
        std::vector<DnsName>(extra.begin() + std::ptrdiff_t(from_options), extra.end()));
    // The servers' own lists, as last accepted (a failed read keeps the one before).
    for (const auto &rt : runtime)
      extra.insert(extra.end(), rt.accepted.begin(), rt.accepted.end());
    if (!extra.empty()) {
      std::sort(extra.begin(), extra.end());
      extra.erase(std::unique(extra.begin(), extra.end()), extra.end());
      std::vector<DnsName> merged;
      merged.reserve(d.zones.size() + extra.size());
      std::set_union(std::make_move_iterator(d.zones.begin()),
                     std::make_move_iterator(d.zones.end()), std::make_move_iterator(extra.begin()),
                     std::make_move_iterator(extra.end()), std::back_inserter(merged));
      d.zones = std::move(merged);
    }
    return d;
  }

  void log_warnings(const std::vector<zones::Warning> &warnings) {
    std::set<std::string> now;
    for (const auto &w : warnings) now.insert(w.to_text());
    if (now == last_warnings) return;  // said already
    for (const auto &w : now)
      if (!last_warnings.count(w)) spdlog::warn("named.conf: {}", w);
    last_warnings = std::move(now);
  }

  void fail(const std::string &why, const std::string &message, bool apply_failed = false) {
    if (verifying && status.failing && message == status.last_error) {
      // The re-read after new watches found the same error: one broken edit, one error.
      spdlog::debug("zone sync ({}): still failing: {}", why, message);
      return;
    }
    ++status.syncs_failed;
    status.last_error = message;
    status.failing = true;
    if (!have_applied)
      spdlog::error("zone sync ({}) failed: {}", why, message);
    else if (apply_failed)
      spdlog::error(
          "zone sync ({}) failed, the kernel keeps the zones it had: {}. Retried on the next "
          "change or SIGHUP",
          why, message);
    else
      spdlog::error(
          "zone sync ({}) failed, keeping the {} zones loaded: {}. Fix the file; it is read "
          "again on its next change or on SIGHUP",
          why, status.zones, message);
  }

  void watch_fd(int fd) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0)
      throw Error(errno_text("epoll_ctl", errno));
  }

  void add_runtime(std::shared_ptr<RuntimeSource> src) {
    Runtime rt;
    rt.poller = std::make_unique<RuntimePoller>(src, sources.runtime_interval);
    watch_fd(rt.poller->fd());
    runtime.push_back(std::move(rt));
    RuntimeSourceStatus st;
    st.name = src->name();
    st.where = src->where();
    status.runtime.push_back(std::move(st));
  }

  // The statistics channel named.conf declares, when asked to use it and none was given.
  void add_named_stats_from_conf() {
    if (!sources.named_stats_from_conf || sources.named_conf.empty()) return;
    for (const auto &rt : runtime)
      if (rt.poller->source().name() == "named-stats") return;
    zones::ParseOptions opt;
    opt.path = sources.named_conf;
    opt.chroot = sources.chroot;
    opt.zone_details = false;
    opt.read_new_zones = false;
    std::vector<std::pair<std::string, int>> channels;
    try {
      channels = zones::parse_named_conf(opt).statistics_channels;
    } catch (const std::exception &) {
      return;  // the sync that follows reports the error
    }
    if (channels.empty()) return;
    std::string url = stats_url_for(channels.front().first, channels.front().second);
    spdlog::info("zone sync: named.conf declares a statistics channel: reading {}", url);
    add_runtime(make_named_stats_source(url));
  }

  // Takes one read of runtime source `i`. True when its accepted set changed (the caller
  // syncs). A failed read keeps the set; so does a large drop seen only once.
  bool take_runtime(size_t i, RuntimeReadResult r) {
    Runtime &rt = runtime[i];
    RuntimeSourceStatus &st = status.runtime[i];
    const std::string &name = st.name;
    st.last_read_us = r.read_us;
    if (!r.ok) {
      ++st.reads_failed;
      if (!st.failing || st.last_error != r.error)
        spdlog::warn("zone source {}: read failed, keeping the {} zones it listed: {}", name,
                     rt.accepted.size(), r.error);
      st.failing = true;
      st.last_error = r.error;
      return false;
    }
    ++st.reads_ok;
    if (st.failing) spdlog::info("zone source {}: readable again", name);
    st.failing = false;
    std::vector<uint64_t> hashes = sorted_hashes(r.zones);
    if (rt.have && hashes == rt.hashes) {
      if (rt.held) spdlog::info("zone source {}: the drop held back is gone", name);
      rt.held.reset();
      st.drop_held = false;
      return false;
    }
    size_t removed = rt.have ? count_missing(rt.hashes, hashes) : 0;
    size_t allowed_drop =
        std::max<size_t>(1, size_t(sources.max_drop_share * double(rt.hashes.size())));
    if (removed > allowed_drop) {
      if (!rt.held || *rt.held != hashes) {
        rt.held = std::move(hashes);
        rt.held_since = Clock::now();
        ++st.drops_held;
        st.drop_held = true;
        spdlog::warn(
            "zone source {}: lists {} of its {} zones fewer than before (more than {:.0f}%): "
            "held back until a read at least {} ms later shows the same",
            name, removed, rt.hashes.size(), sources.max_drop_share * 100,
            sources.drop_confirm.count());
        return false;
      }
      if (Clock::now() - rt.held_since < sources.drop_confirm) return false;  // read again later
      spdlog::warn(
          "zone source {}: the same drop of {} zones was read again {} ms later: applying it", name,
          removed, us_since(rt.held_since) / 1000);
    }
    rt.held.reset();
    st.drop_held = false;
    auto added = missing_names(r.zones, rt.hashes, 20);
    auto gone = missing_names(rt.accepted, hashes, 20);
    size_t n_added = rt.have ? count_missing(hashes, rt.hashes) : hashes.size();
    spdlog::info("zone source {}: {} zones (+{} -{}){}{}{}{}", name, r.zones.size(), n_added,
                 removed, added.empty() ? "" : " added: ", fmt::join(added, " "),
                 gone.empty() ? "" : " removed: ", fmt::join(gone, " "));
    rt.accepted = std::move(r.zones);
    rt.hashes = std::move(hashes);
    rt.have = true;
    st.zones = rt.accepted.size();
    return true;
  }

  bool sync(const std::string &why, bool force) {
    auto t0 = Clock::now();
    Desired d;
    try {
      d = read_sources();
    } catch (const zones::ParseError &e) {
      fail(why, e.what());
      // Keep watching what we watched, plus what the parser got to: the broken file, or an
      // include that does not exist yet.
      auto paths = watched_paths;
      paths.insert(paths.end(), e.watched_paths().begin(), e.watched_paths().end());
      rearm(std::move(paths));
      return false;
    } catch (const std::exception &e) {
      fail(why, e.what());
      rearm(watched_paths);
      return false;
    }
    int64_t read_us = us_since(t0);
    log_warnings(d.warnings);

    std::vector<uint64_t> hashes = sorted_hashes(d.zones);
    bool changed = !have_applied || hashes != applied;
    int64_t apply_us = 0;
    if (changed || force) {
      auto t1 = Clock::now();
      try {
        apply(d.zones);
      } catch (const std::exception &e) {
        fail(why, std::string("applying the zone set: ") + e.what(), /*apply_failed=*/true);
        rearm(std::move(d.watched));
        return false;
      }
      apply_us = us_since(t1);
      ++status.applies;
      status.last_apply_us = apply_us;
    }
    if (d.zones.empty())
      spdlog::warn("zone sync ({}): no zones configured: every DNS query will be dropped", why);
    if (changed || force) {
      status.last_added = have_applied ? count_missing(hashes, applied) : hashes.size();
      status.last_removed = have_applied ? count_missing(applied, hashes) : 0;
      spdlog::info("zone sync ({}): {} zones (+{} -{}), read in {} ms, applied in {} ms", why,
                   d.zones.size(), status.last_added, status.last_removed, read_us / 1000,
                   apply_us / 1000);
    } else {
      spdlog::debug("zone sync ({}): {} zones, unchanged, read in {} ms", why, d.zones.size(),
                    read_us / 1000);
    }
    applied = std::move(hashes);
    have_applied = true;

    ++status.syncs_ok;
    status.failing = false;
    status.zones = d.zones.size();
    status.uses_source_port_53 = d.port53;
    status.protected_addresses = std::move(d.protected_addresses);
    status.last_ok_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
    status.last_read_us = read_us;
    conf_hashes = std::move(d.conf_hashes);
    option_hashes = std::move(d.option_hashes);
    file_hashes = std::move(d.file_hashes);
    status.zones_by_source.clear();
    if (!sources.named_conf.empty())
      status.zones_by_source.push_back({"named.conf", conf_hashes.size()});
    if (!sources.zones.empty()) status.zones_by_source.push_back({"zone", option_hashes.size()});
    if (!sources.zones_files.empty())
      status.zones_by_source.push_back({"zones-file", file_hashes.size()});
    for (const auto &rt : runtime)
      status.zones_by_source.push_back({rt.poller->source().name(), rt.hashes.size()});
    d.zones = {};  // free the names before on_flags and the re-arm
    if (on_flags) on_flags(status.uses_source_port_53);
    rearm(std::move(d.watched));
    return true;
  }
};

ZoneSync::ZoneSync(ZoneSources sources, ApplyFn apply, FlagsFn on_flags)
    : impl_(std::make_unique<Impl>()) {
  for (auto &f : sources.zones_files) f = absolute(f);
  impl_->sources = std::move(sources);
  impl_->apply = std::move(apply);
  impl_->on_flags = std::move(on_flags);
  impl_->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (impl_->timer_fd < 0) throw Error(errno_text("timerfd_create", errno));
  impl_->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (impl_->epoll_fd < 0) throw Error(errno_text("epoll_create1", errno));
  for (int fd : {impl_->watcher.fd(), impl_->timer_fd}) impl_->watch_fd(fd);
  for (const auto &src : impl_->sources.runtime) impl_->add_runtime(src);
}

ZoneSync::~ZoneSync() = default;

void ZoneSync::initial_sync() {
  // Watch named.conf and the zones files before the first read, so an edit during it is seen.
  impl_->rearm({});
  impl_->add_named_stats_from_conf();
  // The running servers once, here, so the first set already has their zones. A server that
  // cannot be read yet (named still starting) is read again on its thread; only when it is
  // the one source there is does the daemon refuse to start on it.
  bool static_sources = !impl_->sources.named_conf.empty() || !impl_->sources.zones.empty() ||
                        !impl_->sources.zones_files.empty();
  size_t runtime_ok = 0;
  std::string runtime_error;
  for (size_t i = 0; i < impl_->runtime.size(); ++i) {
    auto &rt = impl_->runtime[i];
    spdlog::info("zone source {}: reading {} every {} ms", rt.poller->source().name(),
                 rt.poller->source().where(), impl_->sources.runtime_interval.count());
    RuntimeReadResult r = rt.poller->read_now_and_start();
    if (r.ok)
      ++runtime_ok;
    else
      runtime_error = r.error;
    impl_->take_runtime(i, std::move(r));
  }
  if (!static_sources && !impl_->runtime.empty() && runtime_ok == 0)
    throw Error("no zone source could be read: " + runtime_error);
  if (!impl_->sync("start", /*force=*/true)) throw Error(impl_->status.last_error);
}

bool ZoneSync::resync(const std::string &why) {
  impl_->disarm_timer();                                      // covers any pending debounced sync
  for (auto &rt : impl_->runtime) rt.poller->request_read();  // their changes follow on their own
  try {
    return impl_->sync(why, /*force=*/true);
  } catch (const std::exception &e) {
    impl_->fail(why, e.what());
    return false;
  }
}

int ZoneSync::poll_fd() const {
  return impl_->epoll_fd;
}

void ZoneSync::on_ready() {
  bool runtime_changed = false;
  std::string runtime_why;
  for (size_t i = 0; i < impl_->runtime.size(); ++i) {
    if (auto r = impl_->runtime[i].poller->take()) {
      if (impl_->take_runtime(i, std::move(*r))) {
        runtime_changed = true;
        runtime_why = impl_->status.runtime[i].name;
      }
    }
  }
  bool due = impl_->timer_expired();
  std::vector<std::string> changed = impl_->watcher.drain();
  // Reading an NZD opens its LMDB lock file read-write: in a watched glob directory that
  // would re-trigger the sync forever.
  std::erase_if(changed, [](const std::string &p) {
    return p.size() >= 9 && p.compare(p.size() - 9, 9, ".nzd-lock") == 0;
  });
  if (!changed.empty()) {
    impl_->events_in_burst = true;
    spdlog::debug("zone sync: changed: {}", fmt::join(changed, ", "));
    impl_->status.watched = impl_->watcher.directories();  // a deleted directory drops out
  }
  if (due) {
    // The files are read after every event drained above, so this sync covers them too.
    impl_->burst_start.reset();
    // A change in the same burst makes this more than a re-read: its errors count.
    impl_->verifying = impl_->verify_pending && !impl_->events_in_burst;
    if (impl_->verifying) ++impl_->status.rereads;
    impl_->verify_pending = false;
    impl_->events_in_burst = false;
    try {
      impl_->sync("change", /*force=*/false);
    } catch (const std::exception &e) {
      impl_->fail("change", e.what());
    }
    impl_->verifying = false;
  } else {
    if (!changed.empty()) impl_->debounce();
    if (runtime_changed) {
      // The server's list changed: merge it now (a pending debounced sync still runs later).
      try {
        impl_->sync(runtime_why, /*force=*/false);
      } catch (const std::exception &e) {
        impl_->fail(runtime_why, e.what());
      }
    }
  }
}

std::vector<std::string> ZoneSync::sources_of(const DnsName &zone) const {
  std::vector<std::string> out;
  uint64_t h = name_hash(zone);
  if (contains_hash(impl_->conf_hashes, h)) out.push_back("named.conf");
  if (contains_hash(impl_->option_hashes, h)) out.push_back("zone");
  if (contains_hash(impl_->file_hashes, h)) out.push_back("zones-file");
  for (const auto &rt : impl_->runtime)
    if (rt.have && contains_hash(rt.hashes, h)) out.push_back(rt.poller->source().name());
  return out;
}

const SyncStatus &ZoneSync::status() const {
  return impl_->status;
}

void keep_sync_memory_resident() {
  mallopt(M_MMAP_THRESHOLD, 1 << 30);  // large blocks from the heap, not a fresh mmap each
  mallopt(M_TRIM_THRESHOLD, 1 << 30);  // and the heap top is not given back after a sync
}

}  // namespace dnswash
