// The zone shield's per-packet cost in XDP during a live flood (bench/shield_flood_bench.sh runs
// it inside the receiving namespace): the kernel's own BPF run-time statistics
// (kernel.bpf_stats_enabled=1; run_time_ns / run_cnt) of the dnswash program attached in
// native mode to the veth, while dnswash-xdp-flood sends queries from the peer namespace.
// shield_bench measures the same four cases under BPF_PROG_TEST_RUN, where every run is its
// own syscall: on this VM (PTI without PCID) each one starts with a flushed TLB, so every page
// a run touches costs a page walk under nested paging. On a live interface the program runs
// packet after packet, as on a server.
//
// The scene of shield_bench (1,000 zones; z0.bench.test shielded, action NXDOMAIN) with the
// flood's 131,072 names (`dnswash-xdp-flood --under z0.bench.test --print-names`) as the
// shielded zone's names. Four cases, each a flood of names <5 random letters>.ZONE:
//   baseline     z1.bench.test, no zone shielded (DW_CFG_SHIELD off)
//   other        z1.bench.test, z0.bench.test shielded (the hook finds z1 unshielded)
//   exists       z0.bench.test, the name exists: passes
//   missing      z0.bench.test, --missing: the NXDOMAIN is built in XDP and sent back
// in turn, --rounds times; each figure is the median of its rounds.
//
//   shield_flood_bench --dev VETH --names FILE --flood 'CMD...' [--seconds S] [--rounds N]
// --flood: the command that floods VETH from the other side; it gets --under ZONE [--missing]
// appended and runs until SIGTERM.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "counters.h"
#include "reasons.h"
#include "shield_setup.h"

using namespace dnswash;
using namespace dnswash::bench;

namespace {

struct RunStats {
  uint64_t cnt = 0, ns = 0;
};

RunStats prog_stats(int fd) {
  bpf_prog_info info{};
  uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) {
    std::perror("shield_flood_bench: bpf_obj_get_info_by_fd");
    std::exit(1);
  }
  return {info.run_cnt, info.run_time_ns};
}

// The receiver's NAPI kthreads (napi/<dev>-<id>) on CPU 1, the flood's sender on CPU 0 (as in
// flood_bench.sh); checked before every case: an attach may re-create the NAPI context.
void pin_napi(const std::string &dev) {
  std::ofstream("/sys/class/net/" + dev + "/threaded") << "1\n";
  const std::string prefix = "napi/" + dev + "-";
  bool found = false;
  DIR *d = opendir("/proc");
  while (dirent *e = d ? readdir(d) : nullptr) {
    std::string comm;
    std::ifstream(std::string("/proc/") + e->d_name + "/comm") >> comm;
    if (comm.rfind(prefix, 0) != 0) continue;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(1, &set);
    found = sched_setaffinity(pid_t(std::atoi(e->d_name)), sizeof set, &set) == 0 || found;
  }
  if (d) closedir(d);
  if (!found) {
    std::fprintf(stderr, "shield_flood_bench: no NAPI thread for %s\n", dev.c_str());
    std::exit(1);
  }
}

// One case: flood, wait until the program runs, 1 s to warm up (rings full, NAPI busy), then
// the program's ns per run over `seconds`. The verdicts of those runs must be `expect` (at
// least 99 % of them): a figure for a path the packets did not take would be worthless.
double measure(int prog, int counters, dw_reason expect, const std::string &dev,
               const std::string &cmd, double seconds) {
  using clock = std::chrono::steady_clock;
  pin_napi(dev);
  pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), (char *)nullptr);
    _exit(127);
  }
  RunStats a = prog_stats(prog);
  auto deadline = clock::now() + std::chrono::seconds(10);
  while (prog_stats(prog).cnt < a.cnt + 1000) {
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid || clock::now() > deadline) {
      std::fprintf(stderr, "shield_flood_bench: the program saw no flood (%s)\n", cmd.c_str());
      std::exit(1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  a = prog_stats(prog);
  Counters ca = read_counters(counters);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  RunStats b = prog_stats(prog);
  Counters cb = read_counters(counters);
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  if (b.cnt <= a.cnt) {
    std::fprintf(stderr, "shield_flood_bench: no runs counted (kernel.bpf_stats_enabled?)\n");
    std::exit(1);
  }
  const uint64_t runs = b.cnt - a.cnt, hits = cb[expect] - ca[expect];
  if (hits * 100 < runs * 99) {
    std::fprintf(stderr, "shield_flood_bench: %llu of %llu runs had verdict %s (%s); counters:",
                 (unsigned long long)hits, (unsigned long long)runs,
                 std::string(counter_name(expect)).c_str(), cmd.c_str());
    for (size_t i = 0; i < cb.size(); ++i)
      if (cb[i] != ca[i])
        std::fprintf(stderr, " %s %llu", std::string(counter_name(unsigned(i))).c_str(),
                     (unsigned long long)(cb[i] - ca[i]));
    std::fprintf(stderr, "\n");
    std::exit(1);
  }
  return double(b.ns - a.ns) / double(runs);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The shielded zone's names: what the flood's --print-names lists for these name bits.
std::vector<std::string> flood_names(const std::string &flood, int bits) {
  std::vector<std::string> out;
  std::string cmd = flood + " --under " + shield_zone_name(0) + " --name-bits " +
                    std::to_string(bits) + " --print-names";
  FILE *f = popen(cmd.c_str(), "r");
  char line[256];
  while (f && std::fgets(line, sizeof line, f)) {
    std::string n(line);
    while (!n.empty() && n.back() == '\n') n.pop_back();
    if (!n.empty()) out.push_back(n);
  }
  if (!f || pclose(f) != 0 || out.size() != (size_t(1) << bits)) {
    std::fprintf(stderr, "shield_flood_bench: %s listed %zu names\n", cmd.c_str(), out.size());
    std::exit(1);
  }
  return out;
}

}  // namespace

int main(int argc, char **argv) {
  CLI::App app{"zone shield: live per-packet cost in XDP"};
  std::string dev, flood;
  double seconds = 3;
  int rounds = 3, main_bits = 17;
  std::vector<int> sizes = {12, 14, 15, 16, 17, 18};
  app.add_option("--dev", dev, "the receiving veth (this namespace)")->required();
  app.add_option("--flood", flood, "flood command (gets --under ZONE ...)")->required();
  app.add_option("--seconds", seconds, "measured seconds per case");
  app.add_option("--rounds", rounds, "rounds of the cases")->check(CLI::Range(1, 99));
  app.add_option("--name-bits", main_bits, "the main table's zone: 2^B names")
      ->check(CLI::Range(4, 19));
  app.add_option("--sizes", sizes, "existing names also measured at these 2^B zone sizes")
      ->check(CLI::Range(4, 19));
  CLI11_PARSE(app, argc, argv);
  if (std::find(sizes.begin(), sizes.end(), main_bits) == sizes.end()) sizes.push_back(main_bits);
  std::sort(sizes.begin(), sizes.end());

  std::map<int, std::vector<std::string>> names;
  for (int b : sizes) names[b] = flood_names(flood, b);
  ShieldScene scene(names[main_bits]);
  int prog = scene.skel->prog_fd(), counters = scene.skel->counters_fd();
  int ifindex = int(if_nametoindex(dev.c_str()));
  if (ifindex == 0) {
    std::perror(("shield_flood_bench: " + dev).c_str());
    return 1;
  }
  // A link (native mode on a veth): it goes away with this process whatever happens.
  int link = bpf_link_create(prog, ifindex, BPF_XDP, nullptr);
  if (link < 0) {
    std::perror("shield_flood_bench: attach (native XDP link)");
    return 1;
  }
  auto under = [&](size_t zone, int bits) {
    return flood + " --under " + shield_zone_name(zone) + " --name-bits " + std::to_string(bits);
  };
  std::vector<double> base_r, hook_r, miss_r;
  std::map<int, std::vector<double>> exist_r;
  std::map<int, size_t> set_bytes;
  for (int r = 0; r < rounds; ++r) {
    scene.maps->set_flag(false);
    base_r.push_back(measure(prog, counters, DW_R_ALLOWED, dev, under(1, main_bits), seconds));
    scene.maps->set_flag(true);
    hook_r.push_back(measure(prog, counters, DW_R_ALLOWED, dev, under(1, main_bits), seconds));
    for (int b : sizes) {
      scene.install_names(names[b]);
      set_bytes[b] = scene.maps->kernel_bytes();
      exist_r[b].push_back(measure(prog, counters, DW_R_ALLOWED, dev, under(0, b), seconds));
      if (b == main_bits)
        miss_r.push_back(
            measure(prog, counters, DW_R_SHIELD, dev, under(0, b) + " --missing", seconds));
    }
  }
  const double base = median(base_r), hook = median(hook_r), miss = median(miss_r),
               exist = median(exist_r[main_bits]);
  std::printf(
      "| XDP native, live flood, <5 letters>.ZONE (3 labels), 1,000 zones | ns | "
      "vs. unshielded zone |\n");
  std::printf("|---|---:|---:|\n");
  std::printf("| unshielded zone, no zone shielded (baseline) | %.1f | 1.00x |\n", base);
  std::printf("| unshielded zone, another zone shielded | %.1f | %.2fx |\n", hook, hook / base);
  std::printf("| shielded zone (%zu names), name exists: passes | %.1f | %.2fx |\n",
              names[main_bits].size(), exist, exist / base);
  std::printf("| shielded zone, name missing: NXDOMAIN built in XDP, sent back | %.1f | %.2fx |\n",
              miss, miss / base);
  std::printf(
      "\n| shielded zone's names | name set in the kernel | name exists: ns | vs. "
      "unshielded zone |\n");
  std::printf("|---:|---:|---:|---:|\n");
  for (int b : sizes)
    std::printf("| %zu | %zu KiB | %.1f | %.2fx |\n", names[b].size(), set_bytes[b] / 1024,
                median(exist_r[b]), median(exist_r[b]) / base);
  std::printf("\nlive rounds (baseline / other shielded / missing; exists by size):");
  for (int r = 0; r < rounds; ++r) {
    std::printf(" %.0f/%.0f/%.0f;", base_r[size_t(r)], hook_r[size_t(r)], miss_r[size_t(r)]);
    for (int b : sizes) std::printf(" %.0f", exist_r[b][size_t(r)]);
  }
  std::printf("\n");
  close(link);
  return 0;
}
