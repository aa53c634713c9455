// Cost of the zone shield in XDP (docs/detector.md "Zone shield") under BPF_PROG_TEST_RUN, all
// in one run: a query under an unshielded zone with no zone shielded (the baseline), the same
// with some zone shielded (the hook runs and finds the zone unshielded), a query for an
// existing name under a shielded zone, and a query for a missing one (the NXDOMAIN is built).
// 1,000 served zones; the shielded zone has 100,000 names. Each pass runs 65,536 distinct
// frames once (test_run_pass.h); the four passes run in turn, 5 rounds, and each figure is the
// median of its rounds (the machine's other load moves whole rounds). Beside them, the memory
// floor: XDP_DROP after one random 64-byte read in an array as large as the zone set, and in
// one as large as the name set (a query under a shielded zone makes one such read in each).
// Prints a markdown table; then a second one, the compute alone: the cases but the missing
// name with one frame run 20,000 times in a row (hot cache, one timer read per 20,000 runs).
// Then the load of a 1,000,000-name zone: its names (parsed from text, each with its empty
// non-terminals), the name set built and installed in the kernel, timed in steps (the
// transfer from named is not in it).
// Run: ./build/bench/shield_bench
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "packet_builder.h"
#include "shield_setup.h"
#include "test_run_pass.h"
#include "xdp_probe_floor_bpf.skel.h"

using namespace dnswash;
using namespace dnswash::test;
using namespace dnswash::bench;

namespace {

constexpr size_t kFrames = 65536, kNames = 100000;
constexpr int kHotRepeat = 20000;

Bytes query(const std::string &name, size_t i) {
  DnsSpec d;
  d.qname = name;
  d.trailer = edns_opt_record();  // as resolvers ask
  FrameSpec f;
  f.src = "198.51." + std::to_string(100 + (i >> 8) % 4) + "." + std::to_string(i & 255);
  f.sport = uint16_t(1024 + i % 60000);
  return frame(f, dns_message(d));
}

std::vector<Bytes> frames(const std::string &zone, const char *prefix) {
  std::vector<Bytes> out;
  for (size_t i = 0; i < kFrames; ++i)
    out.push_back(query(prefix + std::to_string((i * 2654435761u) % kNames) + "." + zone, i));
  return out;
}

// XDP_DROP after one random 64-byte read in an array of `lines` lines (a power of two), as in
// datapath_bench: the memory cost of one bucket probe, nothing else.
double probe_floor(uint32_t lines, const std::vector<Bytes> &fr) {
  xdp_probe_floor_bpf *s = xdp_probe_floor_bpf__open();
  if (!s) return 0;
  s->rodata->floor_mask = lines - 1;
  bpf_map__set_max_entries(s->maps.floor_table, lines);
  double ns = 0;
  if (xdp_probe_floor_bpf__load(s) == 0)
    ns = dnswash::bench::run_pass(bpf_program__fd(s->progs.xdp_probe_floor), fr);
  xdp_probe_floor_bpf__destroy(s);
  return ns;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main() {
  std::vector<std::string> owners;
  for (size_t i = 0; i < kNames; ++i)
    owners.push_back("h" + std::to_string(i) + "." + shield_zone_name(0));
  ShieldScene scene(owners);
  auto &skel = scene.skel;
  auto &zones = *scene.zones;
  auto &maps = *scene.maps;

  auto unshielded = frames(shield_zone_name(1), "h");
  auto existing = frames(shield_zone_name(0), "h");
  auto missing = frames(shield_zone_name(0), "x");
  // Compute only: 64 frames, each run kHotRepeat times in a row (its lines stay in cache, one
  // timer read per kHotRepeat runs). Not the missing name: its reply rewrites the frame.
  const std::vector<Bytes> hot_unshielded(unshielded.begin(), unshielded.begin() + 64),
      hot_existing(existing.begin(), existing.begin() + 64);
  int prog = skel->prog_fd();
  const uint32_t name_lines = uint32_t(maps.kernel_bytes() / sizeof(dw_names_bucket)) - 1;
  std::vector<double> base_r, hook_r, exist_r, miss_r, zfloor_r, nfloor_r, hbase_r, hhook_r,
      hexist_r;
  for (int round = 0; round < 5; ++round) {
    maps.set_flag(false);
    base_r.push_back(dnswash::bench::run_pass(prog, unshielded));
    maps.set_flag(true);
    hook_r.push_back(dnswash::bench::run_pass(prog, unshielded));
    exist_r.push_back(dnswash::bench::run_pass(prog, existing));
    miss_r.push_back(dnswash::bench::run_pass(prog, missing));
    zfloor_r.push_back(probe_floor(zone_buckets_for(kShieldZones), existing));
    nfloor_r.push_back(probe_floor(name_lines, existing));
    maps.set_flag(false);
    hbase_r.push_back(dnswash::bench::run_pass(prog, hot_unshielded, kHotRepeat));
    maps.set_flag(true);
    hhook_r.push_back(dnswash::bench::run_pass(prog, hot_unshielded, kHotRepeat));
    hexist_r.push_back(dnswash::bench::run_pass(prog, hot_existing, kHotRepeat));
  }
  double base = median(base_r), hook = median(hook_r), exist = median(exist_r),
         miss = median(miss_r), zfloor = median(zfloor_r), nfloor = median(nfloor_r);
  std::printf("| XDP, query (EDNS, 3 labels), 1,000 zones | ns | vs. unshielded zone |\n");
  std::printf("|---|---:|---:|\n");
  std::printf("| unshielded zone, no zone shielded (baseline) | %.0f | %.2fx |\n", base,
              base / base);
  std::printf("| unshielded zone, another zone shielded | %.0f | %.2fx |\n", hook, hook / base);
  std::printf("| shielded zone (100,000 names), name exists: passes | %.0f | %.2fx |\n", exist,
              exist / base);
  std::printf("| shielded zone, name missing: NXDOMAIN built in XDP | %.0f | %.2fx |\n", miss,
              miss / base);
  std::printf("| floor: XDP_DROP after 1 random read in %u lines (the zone set) | %.0f | %.2fx |\n",
              zone_buckets_for(kShieldZones), zfloor, zfloor / base);
  std::printf("| floor: XDP_DROP after 1 random read in %u lines (the name set) | %.0f | %.2fx |\n",
              name_lines, nfloor, nfloor / base);
  std::printf("rounds (baseline / other shielded / exists / missing / zone floor / name floor):");
  for (size_t i = 0; i < base_r.size(); ++i)
    std::printf(" %.0f/%.0f/%.0f/%.0f/%.0f/%.0f", base_r[i], hook_r[i], exist_r[i], miss_r[i],
                zfloor_r[i], nfloor_r[i]);
  std::printf("\n");
  std::printf("kernel bytes per name: %.1f\n", double(maps.kernel_bytes()) / double(kNames));
  double hbase = median(hbase_r), hhook = median(hhook_r), hexist = median(hexist_r);
  std::printf(
      "\n| compute only: one frame run 20,000 times in a row (hot cache) | ns | vs. unshielded "
      "zone |\n");
  std::printf("|---|---:|---:|\n");
  std::printf("| unshielded zone, no zone shielded (baseline) | %.1f | %.2fx |\n", hbase, 1.0);
  std::printf("| unshielded zone, another zone shielded | %.1f | %.2fx |\n", hhook, hhook / hbase);
  std::printf("| shielded zone, name exists: passes | %.1f | %.2fx |\n", hexist, hexist / hbase);
  std::printf("compute rounds (baseline / other shielded / exists):");
  for (size_t i = 0; i < hbase_r.size(); ++i)
    std::printf(" %.1f/%.1f/%.1f", hbase_r[i], hhook_r[i], hexist_r[i]);
  std::printf("\n\n");

  // A 1,000,000-name zone (two labels below the zone, so the builder also adds 1,000 empty
  // non-terminals), from its owner names to the set in the kernel.
  using clock = std::chrono::steady_clock;
  auto secs = [](clock::time_point a, clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
  };
  const std::string big = "big.bench.test";
  auto t0 = clock::now();
  shield::ZoneNamesBuilder bb(*parse_dns_name(big));
  for (size_t i = 0; i < 1000000; ++i)
    bb.add(*parse_dns_name("h" + std::to_string(i) + ".g" + std::to_string(i % 1000) + "." + big),
           1);
  auto entries = bb.finish();
  auto t1 = clock::now();
  auto img = shield::build_name_set(zones.key(), *parse_dns_name(big), entries);
  auto t2 = clock::now();
  maps.install(img);
  auto t3 = clock::now();
  std::printf(
      "load of a 1,000,000-name zone (%zu entries): names %.2f s, name set %.2f s, "
      "kernel install %.2f s, total %.2f s; kernel bytes per name %.1f\n",
      entries.size(), secs(t0, t1), secs(t1, t2), secs(t2, t3), secs(t0, t3),
      double(maps.kernel_bytes()) / double(entries.size()));
  return 0;
}
