// What the dropped-name sampler (bpf/dw_sample.h) costs the datapath: junk-name drops (the
// traffic it samples) and allowed queries (never sampled) under BPF_PROG_TEST_RUN, with
// sampling off, at the default 1 in 64 / 1000 per CPU per second, and with every drop sampled.
// Modes are interleaved over several rounds so the machine's load hits all alike; the ring is
// drained between passes (as dnswashd would). A plain timed program: sampler_bench [ROUNDS].
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sched.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "test_run_pass.h"
#include "config_map.h"
#include "dnswash_skel.h"
#include "packet_builder.h"
#include "zone_table.h"

using namespace dnswash;
using namespace dnswash::test;

namespace {

constexpr size_t kFrames = 16384;

using dnswash::bench::run_pass;

int count_event(void *ctx, void *, size_t) {
  ++*static_cast<uint64_t *>(ctx);
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 5;
  cpu_set_t set;  // one CPU: one rate-limit row, as one RX queue would see
  CPU_ZERO(&set);
  CPU_SET(sched_getcpu(), &set);
  sched_setaffinity(0, sizeof set, &set);

  static const dw_hash_key kKey = {1, 2};
  auto skel = DnswashSkel::load(&kKey);
  ZoneTable zt(skel->zones_fd(), skel->key());
  std::vector<DnsName> zones;
  for (int i = 0; i < 1000; ++i)
    zones.push_back(*parse_dns_name("z" + std::to_string(i) + ".test"));
  zt.apply(zones);

  std::vector<Bytes> junk, allowed;
  for (size_t i = 0; i < kFrames; ++i) {
    junk.push_back(
        query_frame("j" + std::to_string(i) + ".nowhere" + std::to_string(i % 1000) + ".invalid"));
    allowed.push_back(query_frame("www.z" + std::to_string(i % 1000) + ".test"));
  }
  uint64_t events = 0;
  ring_buffer *rb =
      ring_buffer__new(bpf_map__fd(skel->skel()->maps.dw_samples), count_event, &events, nullptr);
  struct Mode {
    const char *name;
    uint32_t every, per_s;
  };
  const Mode modes[] = {{"off", 0, 0}, {"1/64, 1000/s", 64, 1000}, {"every drop", 1, 100000000}};
  std::map<std::pair<int, int>, std::vector<double>> ns;  // (mode, traffic) -> per round
  std::map<int, uint64_t> sampled;
  for (int r = 0; r < rounds; ++r)
    for (int m = 0; m < 3; ++m) {
      dw_config c = read_config(skel->config_fd());
      c.sample_every = modes[m].every;
      c.sample_per_s = modes[m].per_s;
      write_config(skel->config_fd(), c);
      for (int t = 0; t < 2; ++t) {
        // Drain in chunks so the ring never fills (a full ring is cheaper than a sample).
        double sum = 0;
        const auto &frames = t == 0 ? junk : allowed;
        for (size_t off = 0; off < frames.size(); off += 512) {
          std::vector<Bytes> chunk(frames.begin() + long(off),
                                   frames.begin() + long(std::min(frames.size(), off + 512)));
          sum += run_pass(skel->prog_fd(), chunk) * double(chunk.size());
          events = 0;
          ring_buffer__consume(rb);
          sampled[m] += events;
        }
        ns[{m, t}].push_back(sum / double(frames.size()));
      }
    }
  printf("| sampling | junk (dropped) ns/pkt | allowed ns/pkt | samples per junk pass |\n");
  printf("|---|---:|---:|---:|\n");
  for (int m = 0; m < 3; ++m) {
    auto med = [&](int t) {
      auto v = ns[{m, t}];
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    printf("| %s | %.1f | %.1f | %.0f |\n", modes[m].name, med(0), med(1),
           double(sampled[m]) / rounds);
  }
  ring_buffer__free(rb);
  return 0;
}
