// The ban store at scale (issue 20): BanManager over a real LPM ban map of DW_BANS_MAX entries
// and an LMDB store in a directory given on the command line (on the filesystem to measure).
//   ban_store_bench DIR [N]          N bans (default 250,000)
//   ban_store_bench --fill PATH N    only writes a store of N bans at PATH (for dnswashd)
// Prints one JSON object:
//   fsync_p50/p99_ms   baseline measured in the same run: one 128-byte pwrite + fdatasync on
//                      DIR's filesystem, the floor under any durable acknowledgement
//   commit_p50/p99_ms  one ban record written alone in an LMDB transaction (BanStore::write)
//                      with N bans in the store: the floor under an acknowledgement in this
//                      design (LMDB syncs twice per commit: the data pages, then the meta page)
//   put_single_s       N entries into a fresh map, one bpf_map_update_elem each (the old way)
//   put_batch_s        the same with ban_put_all (bpf_map_update_batch in chunks)
//   fill_s             N operator bans added and saved (group commits)
//   store_read_s       the store alone: N records read and checked
//   restart_s          a fresh map and a new BanManager: read the store, N bans into the map
//   restart_cpu_s      the CPU time (user + system) of that restart
//   sweep_idle_us      one once-a-second sweep with N bans in force and none due
//   add_p50/p99_ms     ban-add until durable, 1,000 bans/s offered for 5 s
//   applied_per_s      bans added and saved per second in that run
#include <bpf/bpf.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "ban_manager.h"
#include "ban_store.h"
#include "ban_table.h"
#include "prefix_text.h"

using Clock = std::chrono::steady_clock;
using dnswash::daemon::BanManager;

namespace {

double since_ms(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double pct(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[size_t(q * double(v.size() - 1))];
}

int new_map() {
  LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
  int fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "bench_bans", sizeof(dw_ban_key),
                          sizeof(dw_ban_val), DW_BANS_MAX, &o);
  if (fd < 0) {
    perror("bpf_map_create");
    exit(1);
  }
  return fd;
}

dw_ban_key key_n(uint32_t i) {
  dw_ban_key k{};
  k.prefixlen = 128;
  k.addr[0] = 0x20;
  k.addr[1] = 0x01;
  k.addr[2] = 0x0d;
  k.addr[3] = 0xb8;
  k.addr[12] = uint8_t(i >> 24);
  k.addr[13] = uint8_t(i >> 16);
  k.addr[14] = uint8_t(i >> 8);
  k.addr[15] = uint8_t(i);
  return k;
}

// Waits for every change so far to be durable; false if one failed.
bool wait_saved(BanManager &m) {
  bool done = false, ok = false;
  m.when_saved(m.last_seq(), [&](bool s, const std::string &) { done = true, ok = s; });
  while (!done) {
    pollfd p{m.writer_fd(), POLLIN, 0};
    poll(&p, 1, 1000);
    m.on_writer_ready();
  }
  return ok;
}

double cpu_s() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

std::pair<double, double> fsync_baseline(const std::string &dir) {
  std::string f = dir + "/fsync-probe";
  int fd = open(f.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  std::vector<double> lat;
  char buf[128] = {1};
  for (int i = 0; i < 200; ++i) {
    auto t0 = Clock::now();
    (void)!pwrite(fd, buf, sizeof buf, off_t(i) * 128);
    fdatasync(fd);
    lat.push_back(since_ms(t0));
  }
  close(fd);
  unlink(f.c_str());
  return {pct(lat, 0.5), pct(lat, 0.99)};
}

}  // namespace

int main(int argc, char **argv) {
  if (argc >= 4 && std::string(argv[1]) == "--fill") {
    // A store for dnswashd to start from (bench/hostile_bench.sh): N timed operator bans.
    spdlog::set_level(spdlog::level::warn);
    std::filesystem::remove(argv[2]);
    int fd = new_map();
    BanManager m(fd, argv[2], {7200, 0});
    m.load(false);
    for (uint32_t i = 0, n = uint32_t(std::stoul(argv[3])); i < n; ++i)
      m.add_operator(key_n(i), 7200 + i % 3600);
    return wait_saved(m) ? 0 : 1;
  }
  if (argc < 2) {
    fprintf(stderr, "usage: ban_store_bench DIR [N]\n");
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);
  std::string dir = argv[1];
  uint32_t n = argc > 2 ? uint32_t(std::stoul(argv[2])) : 250000;
  std::string path = dir + "/bench-bans.lmdb";
  std::filesystem::remove(path);
  nlohmann::json out;
  auto [f50, f99] = fsync_baseline(dir);
  out["fsync_p50_ms"] = f50;
  out["fsync_p99_ms"] = f99;
  out["bans"] = n;

  int map1 = new_map();
  {
    BanManager m(map1, path, {7200, 0});
    m.load(false);
    auto t0 = Clock::now();
    for (uint32_t i = 0; i < n; ++i) {
      m.add_operator(key_n(i), 3600 + i % 3600);
      if (i % 5000 == 4999) m.on_writer_ready();
    }
    if (!wait_saved(m)) return 1;
    out["fill_s"] = since_ms(t0) / 1000;
  }
  close(map1);

  {
    auto l0 = Clock::now();
    dnswash::banstore::BanStore s(path);
    std::vector<dnswash::banstore::BanStore::Skipped> sk;
    auto all = s.load(&sk);
    out["store_read_s"] = since_ms(l0) / 1000;
  }
  int map2 = new_map();
  auto t0 = Clock::now();
  double c0 = cpu_s();
  BanManager m(map2, path, {7200, 0});
  m.load(false);  // as after a reboot, or a start without --keep-on-exit: a fresh map
  out["restart_s"] = since_ms(t0) / 1000;
  out["restart_cpu_s"] = cpu_s() - c0;
  out["restored"] = m.active();

  {
    // The floor under an acknowledgement: one record per durable LMDB commit, on the store
    // as it is now (N bans). The restarted manager's writer is idle meanwhile.
    dnswash::banstore::BanStore s(path);
    std::vector<double> commits;
    for (uint32_t i = 0; i < 200; ++i) {
      dnswash::banstore::BanEntry e;
      e.key = key_n(n + 20000 + i);
      e.origin = DW_BAN_ORIGIN_OPERATOR;
      e.active = true;
      e.permanent = true;
      e.since_unix_ms = 1;
      auto c0 = Clock::now();
      std::string err = s.write({{e.key, e}});
      commits.push_back(since_ms(c0));
      if (!err.empty()) {
        fprintf(stderr, "commit: %s\n", err.c_str());
        return 1;
      }
    }
    out["commit_p50_ms"] = pct(commits, 0.5);
    out["commit_p99_ms"] = pct(commits, 0.99);
    std::vector<dnswash::banstore::BanStore::Change> undo;
    for (uint32_t i = 0; i < 200; ++i) undo.push_back({key_n(n + 20000 + i), std::nullopt});
    s.write(undo);
  }
  {
    // The map puts of a restart alone: one syscall per entry against the batch.
    std::vector<dw_ban_key> keys(n);
    std::vector<dw_ban_val> vals(n);
    for (uint32_t i = 0; i < n; ++i) {
      keys[i] = key_n(i);
      vals[i] = {dnswash::boottime_ns() + 3600000000000ull, DW_BAN_ORIGIN_OPERATOR, 0};
    }
    int single = new_map();
    auto p0 = Clock::now();
    for (uint32_t i = 0; i < n; ++i) dnswash::ban_put(single, keys[i], vals[i]);
    out["put_single_s"] = since_ms(p0) / 1000;
    close(single);
    int batch = new_map();
    p0 = Clock::now();
    size_t put = dnswash::ban_put_all(
        batch, keys.data(), vals.data(), n,
        [](size_t, const std::string &why) { fprintf(stderr, "put: %s\n", why.c_str()); });
    out["put_batch_s"] = since_ms(p0) / 1000;
    out["put_batch_entries"] = put;
    close(batch);
  }

  std::vector<double> sweeps;
  for (int i = 0; i < 20; ++i) {
    auto s0 = Clock::now();
    m.sweep();
    sweeps.push_back(since_ms(s0) * 1000);
  }
  out["sweep_idle_us"] = pct(sweeps, 0.5);

  // 1,000 bans/s offered for 5 s (new prefixes beyond the first N, replacing where full).
  std::vector<double> lat;
  std::vector<std::pair<uint64_t, Clock::time_point>> pending;
  auto start = Clock::now();
  uint32_t sent = 0;
  size_t saved = 0, failed = 0;
  while (since_ms(start) < 5000 || !pending.empty()) {
    auto due = uint32_t(std::min(5000.0, since_ms(start)));  // one per ms
    while (sent < due) {
      auto t = Clock::now();
      m.add_operator(key_n(n + (sent % 10000)), 3600);
      uint64_t seq = m.last_seq();
      m.when_saved(seq, [&, t](bool ok, const std::string &) {
        ok ? (lat.push_back(since_ms(t)), ++saved) : ++failed;
      });
      pending.push_back({seq, t});
      ++sent;
    }
    pollfd p{m.writer_fd(), POLLIN, 0};
    poll(&p, 1, 1);
    m.on_writer_ready();
    if (lat.size() + failed == sent) pending.clear();
    if (since_ms(start) > 20000) break;
  }
  double secs = since_ms(start) / 1000;
  out["add_p50_ms"] = pct(lat, 0.5);
  out["add_p99_ms"] = pct(lat, 0.99);
  out["add_failed"] = failed;
  out["applied_per_s"] = double(saved) / secs;
  printf("%s\n", out.dump().c_str());
  return 0;
}
