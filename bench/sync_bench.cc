// The zone sync at scale: a generated named.conf with N zones (default 1,000,000) in a temporary
// directory, loaded through ZoneSync into a ZoneTable over the real loaded XDP program, then a
// one-zone removal and a one-zone addition picked up through inotify.
//
// Reports: parse time (reading and parsing every source), map load time (ZoneTable::apply into
// the loaded program's maps), the full load (both, as the daemon does at start), resident
// memory of this process (VmRSS after the load, VmHWM peak), kernel memory of the zone set
// (memlock of the inner map: dw_zones slot 0 -> map id -> fd -> /proc/self/fdinfo), and the
// one-zone edit time (from the rename that completes the edit to the apply done, through the
// sync's poll loop: debounce + re-read + apply). CPU time is shown beside wall time: on a shared
// machine wall time includes waiting for a CPU.
//
// Reproduce: ./build/bench/sync_bench --zones=1000000 --markdown=FILE
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "datapath_harness.h"
#include "error.h"
#include "packet_builder.h"
#include "zone_sync.h"
#include "zone_table.h"

using namespace dnswash;
using namespace dnswash::test;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  size_t zones = 1000000;
  std::string markdown;
  bool tune_malloc = true;
};

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

double cpu_seconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

long status_kb(const std::string &key) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key + ":", 0) == 0) return std::stol(line.substr(key.size() + 1));
  return -1;
}

std::string first_line(const std::string &path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// memlock of the zone set live in dw_zones slot 0, as the kernel accounts it.
long long zone_set_memlock(int zones_outer_fd, uint32_t *entries) {
  uint32_t slot = 0, id = 0;
  if (bpf_map_lookup_elem(zones_outer_fd, &slot, &id) != 0)
    throw Error(errno_text("reading dw_zones slot 0", errno));
  int fd = bpf_map_get_fd_by_id(id);
  if (fd < 0) throw Error(errno_text("bpf_map_get_fd_by_id", errno));
  bpf_map_info info{};
  uint32_t len = sizeof info;
  bpf_obj_get_info_by_fd(fd, &info, &len);
  *entries = info.max_entries;
  std::ifstream in("/proc/self/fdinfo/" + std::to_string(fd));
  long long memlock = -1;
  for (std::string line; std::getline(in, line);)
    if (line.rfind("memlock:", 0) == 0) memlock = std::stoll(line.substr(8));
  close(fd);
  return memlock;
}

const char *kTlds[] = {"com", "net", "org", "de", "example"};

std::string zone_name(size_t i) {
  return "z" + std::to_string(i) + "." + kTlds[i % 5];
}

std::string zone_line(size_t i) {
  std::string n = zone_name(i);
  return "zone \"" + n + "\" { type primary; file \"zones/" + n + ".db\"; };\n";
}

// named.conf with options and an include of zones.conf, which holds every zone statement
// (how large installations are laid out; the edit rewrites the whole 70 MB file).
void write_zones_conf(const std::string &path, size_t n, size_t skip, size_t extra) {
  std::string text;
  text.reserve(n * 72);
  for (size_t i = 0; i < n; ++i)
    if (i != skip) text += zone_line(i);
  if (extra != size_t(-1)) text += zone_line(extra);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// Polls the sync until `done` or 30 s.
bool run_until(ZoneSync &sync, const std::function<bool()> &done) {
  auto deadline = Clock::now() + std::chrono::seconds(30);
  while (!done()) {
    if (Clock::now() > deadline) return false;
    pollfd p{sync.poll_fd(), POLLIN, 0};
    if (poll(&p, 1, 100) > 0) sync.on_ready();
  }
  return true;
}

struct Edit {
  double write_s = 0;  // writing the new file (not part of the sync)
  double edit_s = 0;   // rename -> apply done
  double cpu_s = 0;
  double read_s = 0, apply_s = 0;
};

}  // namespace

int main(int argc, char **argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--zones=", 0) == 0) {
      opt.zones = std::stoul(a.substr(8));
    } else if (a.rfind("--markdown=", 0) == 0) {
      opt.markdown = a.substr(11);
    } else if (a == "--no-malloc-tuning") {
      opt.tune_malloc = false;
    } else {
      fprintf(stderr,
              "usage: %s [--zones=N] [--markdown=FILE] [--no-malloc-tuning]\n"
              "  N zones (default 1000000) in a generated named.conf; needs root (BPF)\n",
              argv[0]);
      return 2;
    }
  }
  if (opt.zones < 2) opt.zones = 2;
  std::string load_before = first_line("/proc/loadavg");

  char tmpl[] = "/tmp/dnswash-sync-bench-XXXXXX";
  if (!mkdtemp(tmpl)) {
    perror("mkdtemp");
    return 1;
  }
  std::string dir = tmpl;
  struct Cleanup {
    std::string d;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(d, ec);
    }
  } cleanup{dir};

  try {
    auto t = Clock::now();
    std::string conf = dir + "/named.conf", zones_conf = dir + "/zones.conf";
    std::ofstream(conf) << "options { directory \"" << dir << "\"; };\ninclude \"zones.conf\";\n";
    write_zones_conf(zones_conf, opt.zones, size_t(-1), size_t(-1));
    double gen_s = seconds_since(t);
    auto conf_bytes = std::filesystem::file_size(zones_conf);
    printf("generated %zu zones, %.1f MB, in %.2f s\n", opt.zones, double(conf_bytes) / 1e6, gen_s);
    // After generating: the generator's buffer is not the daemon's memory.
    if (opt.tune_malloc) keep_sync_memory_resident();

    long rss_before = status_kb("VmRSS");
    Datapath dp;  // the real program and its maps, and a ZoneTable over them
    long rss_skel = status_kb("VmRSS");
    size_t applied_zones = 0;
    ZoneSources src;
    src.named_conf = conf;
    ZoneSync sync(
        src,
        [&](const std::vector<DnsName> &zones) {
          dp.zones().apply(zones);
          applied_zones = zones.size();
        },
        nullptr);

    // Full load, as at daemon start.
    double c0 = cpu_seconds();
    t = Clock::now();
    sync.initial_sync();
    double load_s = seconds_since(t), load_cpu = cpu_seconds() - c0;
    double parse_s = double(sync.status().last_read_us) / 1e6;
    double apply_s = double(sync.status().last_apply_us) / 1e6;
    long rss_loaded = status_kb("VmRSS"), hwm_loaded = status_kb("VmHWM");
    uint32_t entries = 0;
    long long memlock = zone_set_memlock(dp.skel().zones_fd(), &entries);
    printf("full load: %.2f s (%.2f s CPU): parse %.2f s, map load %.2f s; %zu zones\n", load_s,
           load_cpu, parse_s, apply_s, applied_zones);
    printf(
        "memory: VmRSS %ld MB (before the program %ld MB, with it %ld MB), VmHWM %ld MB; "
        "zone set memlock %.1f MB (%.1f B/zone, %u elements)\n",
        rss_loaded / 1024, rss_before / 1024, rss_skel / 1024, hwm_loaded / 1024,
        double(memlock) / 1e6, double(memlock) / double(opt.zones), entries);

    // One-zone edits through inotify: remove zone 7, then add a new zone instead.
    size_t victim = 7, added = opt.zones + 1;
    auto edit = [&](size_t skip, size_t extra, size_t expect) {
      Edit e;
      auto w = Clock::now();
      write_zones_conf(zones_conf + ".tmp", opt.zones, skip, extra);
      e.write_s = seconds_since(w);
      uint64_t applies = sync.status().applies;
      double c = cpu_seconds();
      auto start = Clock::now();
      std::filesystem::rename(zones_conf + ".tmp", zones_conf);
      if (!run_until(sync, [&] { return sync.status().applies > applies; }))
        throw Error("the edit was not applied within 30 s");
      e.edit_s = seconds_since(start);
      e.cpu_s = cpu_seconds() - c;
      e.read_s = double(sync.status().last_read_us) / 1e6;
      e.apply_s = double(sync.status().last_apply_us) / 1e6;
      if (applied_zones != expect)
        throw Error("expected " + std::to_string(expect) + " zones after the edit, got " +
                    std::to_string(applied_zones));
      return e;
    };
    Edit removal = edit(victim, size_t(-1), opt.zones - 1);
    // The datapath agrees: the removed zone is dropped, the others pass.
    if (dp.run(query_frame("www." + zone_name(victim))).action != XDP_DROP ||
        dp.run(query_frame("www." + zone_name(victim + 1))).action != XDP_PASS)
      throw Error("datapath verdicts after the removal are wrong");
    Edit addition = edit(victim, added, opt.zones);
    if (dp.run(query_frame("www." + zone_name(added))).action != XDP_PASS)
      throw Error("the added zone does not pass");
    for (const auto &[what, e] :
         {std::pair{"remove one zone", removal}, {"add one zone", addition}})
      printf(
          "%s: %.2f s from rename to applied (%.2f s CPU: re-read %.2f s, apply %.3f s); "
          "writing the file took %.2f s\n",
          what, e.edit_s, e.cpu_s, e.read_s, e.apply_s, e.write_s);
    long rss_end = status_kb("VmRSS"), hwm_end = status_kb("VmHWM");
    printf("after the edits: VmRSS %ld MB, VmHWM %ld MB\n", rss_end / 1024, hwm_end / 1024);
    std::string load_after = first_line("/proc/loadavg");

    if (!opt.markdown.empty()) {
      std::ostringstream md;
      char buf[512];
      const char *tunables = getenv("GLIBC_TUNABLES");
      md << "Reproduce: `" << (tunables ? "GLIBC_TUNABLES=" + std::string(tunables) + " " : "")
         << "./build/bench/sync_bench --zones=" << opt.zones
         << (opt.tune_malloc ? "" : " --no-malloc-tuning") << " --markdown=FILE`\n\n";
      snprintf(buf, sizeof buf,
               "%zu zones: generated named.conf + zones.conf (%.1f MB, `zone \"zN.tld\" { type "
               "primary; file \"...\"; };`), loaded through ZoneSync into a ZoneTable over the "
               "loaded XDP program. Load average before/after: %s / %s. malloc tuning "
               "(keep_sync_memory_resident): %s. GLIBC_TUNABLES: %s.\n\n",
               opt.zones, double(conf_bytes) / 1e6, load_before.substr(0, 14).c_str(),
               load_after.substr(0, 14).c_str(), opt.tune_malloc ? "on" : "off",
               tunables ? tunables : "unset");
      md << buf;
      md << "| measure | value | goal |\n|---|---:|---|\n";
      auto row = [&](const char *what, const std::string &value, const char *goal) {
        md << "| " << what << " | " << value << " | " << goal << " |\n";
      };
      auto secs = [](double s) {
        char b[64];
        snprintf(b, sizeof b, "%.2f s", s);
        return std::string(b);
      };
      row("parse (read + parse named.conf, allowlist)", secs(parse_s), "");
      row("map load (ZoneTable::apply into the loaded program)", secs(apply_s), "");
      snprintf(buf, sizeof buf, "%.2f s (%.2f s CPU)", load_s, load_cpu);
      row("full load at start (initial_sync)", buf, "< 3 s");
      snprintf(buf, sizeof buf, "%.2f s (%.2f s CPU; re-read %.2f s, apply %.3f s)", removal.edit_s,
               removal.cpu_s, removal.read_s, removal.apply_s);
      row("one-zone removal, rename to applied", buf, "< 1 s");
      snprintf(buf, sizeof buf, "%.2f s (%.2f s CPU; re-read %.2f s, apply %.3f s)",
               addition.edit_s, addition.cpu_s, addition.read_s, addition.apply_s);
      row("one-zone addition, rename to applied", buf, "< 1 s");
      snprintf(buf, sizeof buf, "%ld MB (VmHWM %ld MB)", rss_loaded / 1024, hwm_loaded / 1024);
      row("daemon-side resident memory after the load", buf, "");
      snprintf(buf, sizeof buf, "%ld MB", rss_skel / 1024);
      row("of which before the load (program, maps mapped)", buf, "");
      snprintf(buf, sizeof buf, "%ld MB (VmHWM %ld MB)", rss_end / 1024, hwm_end / 1024);
      row("resident memory after the two edits", buf, "");
      snprintf(buf, sizeof buf, "%.1f MB (%.1f B/zone)", double(memlock) / 1e6,
               double(memlock) / double(opt.zones));
      row("kernel memory of the zone set (memlock)", buf, "");
      std::ofstream(opt.markdown) << md.str();
      printf("wrote %s\n", opt.markdown.c_str());
    }
  } catch (const std::exception &e) {
    fprintf(stderr, "sync_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
