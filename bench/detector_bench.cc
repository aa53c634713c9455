// Cost of the rolling-subdomain detector (docs/detector.md) under BPF_PROG_TEST_RUN:
//  - the tc egress program per response frame, by traffic class, beside a trivial tc program
//    (return TC_ACT_OK) measured in the same run;
//  - the XDP program per allowed query with the queries signal on and off;
//  - attacker queries that pass XDP before the ban (XDP query -> tc NXDOMAIN answer -> next).
//
// Each measured pass runs 65,536 distinct frames, one BPF_PROG_TEST_RUN each (repeat=1), and
// takes the mean of the kernel-reported run times, as bench/datapath_bench.cc does.
// Run: ./build/bench/detector_bench
#include <benchmark/benchmark.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "test_run_pass.h"
#include "ban_table.h"
#include "config_map.h"
#include "dnswash_skel.h"
#include "packet_builder.h"
#include "zone_table.h"

using namespace dnswash;
using namespace dnswash::test;

namespace {

constexpr size_t kFrames = 65536;
constexpr size_t kZones = 1000;
const dw_hash_key kKey = {0x0123456789abcdefULL, 0xfedcba9876543210ULL};

std::string zone_name(size_t i) {
  return "z" + std::to_string(i) + ".bench.test";
}
std::string v4(size_t i) {
  return "198.51." + std::to_string(100 + (i >> 8) % 4) + "." + std::to_string(i & 255);
}

Bytes response(const std::string &qname, const std::string &client, uint8_t rcode) {
  DnsSpec d;
  d.qname = qname;
  d.qr = true;
  Bytes msg = dns_message(d);
  msg[3] = uint8_t((msg[3] & 0xF0) | rcode);
  FrameSpec f;
  f.src = "192.0.2.53";
  f.dst = client;
  f.sport = 53;
  f.dport = 40000;
  return frame(f, msg);
}

enum Class { kNoerror, kNxNew, kNxCounted, kNotDns };
const char *kClassName[] = {"NOERROR answer (no entry)", "NXDOMAIN, new entry",
                            "NXDOMAIN, entry counted", "egress not from port 53"};

struct Setup {
  std::unique_ptr<DnswashSkel> skel;
  std::unique_ptr<ZoneTable> zones;
  int trivial_tc = -1;
  Setup() {
    skel = DnswashSkel::load(&kKey);
    zones = std::make_unique<ZoneTable>(skel->zones_fd(), skel->key());
    std::vector<DnsName> names;
    for (size_t i = 0; i < kZones; ++i) names.push_back(*parse_dns_name(zone_name(i)));
    zones->apply(names);
    // The baseline: `r0 = TC_ACT_OK; exit`.
    bpf_insn insns[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, TC_ACT_OK},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    trivial_tc = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "tc_ok", "GPL", insns, 2, nullptr);
    if (trivial_tc < 0) {
      perror("loading the trivial tc program");
      std::exit(1);
    }
  }
  void detector(uint32_t flags, uint32_t threshold) {
    dw_config c = read_config(skel->config_fd());
    c.flags = (c.flags & ~(DW_CFG_DETECTOR | DW_CFG_DETECTOR_QUERIES)) | flags;
    c.det_threshold = threshold;
    c.det_bans_budget = 1u << 30;
    write_config(skel->config_fd(), c);
  }
  void clear_det() {
    int fd = bpf_map__fd(skel->skel()->maps.dw_det);
    dw_det_key k{};
    while (bpf_map_get_next_key(fd, nullptr, &k) == 0) bpf_map_delete_elem(fd, &k);
  }
  int tc_fd() { return bpf_program__fd(skel->skel()->progs.dnswash_det_tc); }
};

Setup &setup() {
  static Setup s;
  return s;
}

using dnswash::bench::run_pass;

std::vector<Bytes> frames_for(Class c) {
  std::vector<Bytes> out;
  out.reserve(kFrames);
  for (size_t i = 0; i < kFrames; ++i) {
    size_t z = (i * 2654435761u) % kZones;
    std::string name = "h" + std::to_string(i) + "." + zone_name(z);
    switch (c) {
      case kNoerror:
        out.push_back(response(name, v4(i % 1024), 0));
        break;
      case kNxNew:
        out.push_back(response(name, v4(i % 1024), 3));
        break;
      case kNxCounted:
        out.push_back(response(name, v4(i % 64), 3));
        break;
      case kNotDns: {
        FrameSpec f;
        f.src = "192.0.2.53";
        f.dst = v4(i % 1024);
        f.sport = 443;
        f.dport = uint16_t(1024 + i % 60000);
        out.push_back(frame(f, Bytes(64, uint8_t(i))));
        break;
      }
    }
  }
  return out;
}

void BM_TcDetector(benchmark::State &state) {
  Setup &s = setup();
  auto c = Class(state.range(0));
  auto frames = frames_for(c);
  // Threshold high: measure counting, not banning (a ban would stop the counting).
  s.detector(DW_CFG_DETECTOR, DW_DET_MAX_THRESHOLD);
  double det = 0, base = 0;
  for (auto _ : state) {
    s.clear_det();
    if (c == kNxCounted) run_pass(s.tc_fd(), frames);  // entries exist before the timed pass
    if (c == kNxNew) s.clear_det();
    det = run_pass(s.tc_fd(), frames);
    base = run_pass(s.trivial_tc, frames);
    state.SetIterationTime(det * 1e-9);
  }
  state.SetLabel(kClassName[c]);
  state.counters["det_ns"] = det;
  state.counters["trivial_tc_ns"] = base;
  state.counters["extra_ns"] = det - base;
}
BENCHMARK(BM_TcDetector)
    ->DenseRange(0, 3)
    ->UseManualTime()
    ->Iterations(3)
    ->Unit(benchmark::kNanosecond);

void BM_XdpQueriesSignal(benchmark::State &state) {
  Setup &s = setup();
  bool on = state.range(0) != 0;
  std::vector<Bytes> frames;
  for (size_t i = 0; i < kFrames; ++i) {
    FrameSpec f;
    f.src = v4(i % 1024);
    DnsSpec d;
    d.qname = "h" + std::to_string(i) + "." + zone_name((i * 2654435761u) % kZones);
    frames.push_back(frame(f, dns_message(d)));
  }
  s.detector(on ? DW_CFG_DETECTOR | DW_CFG_DETECTOR_QUERIES : 0, DW_DET_MAX_THRESHOLD);
  double ns = 0;
  for (auto _ : state) {
    s.clear_det();
    ns = run_pass(s.skel->prog_fd(), frames);
    state.SetIterationTime(ns * 1e-9);
  }
  state.SetLabel(on ? "allowed query, queries signal on" : "allowed query, detector off");
  state.counters["xdp_ns"] = ns;
}
BENCHMARK(BM_XdpQueriesSignal)->Arg(0)->Arg(1)->UseManualTime()->Iterations(3);

// A roller through both programs: its query passes XDP (allowed), named would answer NXDOMAIN
// (the tc program sees that answer), and so on until XDP drops the query. Counts the queries
// that got through. The answers signal with the default threshold: the goal is <= 3.
void BM_RollerQueriesBeforeBan(benchmark::State &state) {
  Setup &s = setup();
  s.detector(DW_CFG_DETECTOR, 3);
  int passed = 0;
  for (auto _ : state) {
    s.clear_det();
    ban_del(s.skel->bans_fd(), *parse_ban_prefix("203.0.113.66", nullptr));
    passed = 0;
    for (int i = 999; i > 900; --i) {
      std::string name = "www" + std::to_string(i) + "." + zone_name(7);
      FrameSpec f;
      f.src = "203.0.113.66";
      DnsSpec d;
      d.qname = name;
      Bytes q = frame(f, dns_message(d));
      LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = q.data(), .data_size_in = uint32_t(q.size()),
                  .repeat = 1);
      bpf_prog_test_run_opts(s.skel->prog_fd(), &o);
      if (o.retval != XDP_PASS) break;
      ++passed;
      Bytes a = response(name, "203.0.113.66", 3);
      LIBBPF_OPTS(bpf_test_run_opts, o2, .data_in = a.data(), .data_size_in = uint32_t(a.size()),
                  .repeat = 1);
      bpf_prog_test_run_opts(s.tc_fd(), &o2);
    }
  }
  state.counters["queries_before_ban"] = passed;
}
BENCHMARK(BM_RollerQueriesBeforeBan)->Iterations(1);

void PrintVerified() {
  Setup &s = setup();
  for (auto [name, fd] :
       {std::pair{"dnswash_xdp", s.skel->prog_fd()}, std::pair{"dnswash_det_tc", s.tc_fd()}}) {
    bpf_prog_info info{};
    uint32_t len = sizeof info;
    bpf_obj_get_info_by_fd(fd, &info, &len);
    std::printf("verified_insns %s=%u xlated_bytes=%u jited_bytes=%u\n", name, info.verified_insns,
                info.xlated_prog_len, info.jited_prog_len);
  }
}

}  // namespace

int main(int argc, char **argv) {
  benchmark::Initialize(&argc, argv);
  PrintVerified();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
