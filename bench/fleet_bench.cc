// The fleet's propagation latency and apply rate over a real nats-server with JetStream, in
// the benchmark's own network namespace (docs/fleet.md; bench/RESULTS.md "Fleet"). Node B
// applies as dnswashd does: FleetFeature::record_of() into a BanManager over a BPF LPM map
// shaped like dw_bans and an LMDB ban store (banstore/) in a temporary directory, acking a
// message once the store has committed it.
//   latency: node A reports 1,000 bans one after the other; each is timed from A's
//            on_local_ban() to the ban in node B's map. Baseline of the same run: a core
//            NATS publish to a plain subscriber, the transport alone.
//   apply rate: 10,000 bans wait in the stream for node B; B's replay through its durable
//            consumer until caught up and every ban durable in its store, in bans per
//            second. Baseline: the same messages handed to B's checks, map and store
//            directly (no NATS).
// Usage: fleet_bench [--bans N] [--replay N] [--markdown FILE]. Needs root and nats-server.
#include <bpf/bpf.h>
#include <nats/nats.h>
#include <poll.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "ban_manager.h"
#include "fleet.h"
#include "fleet_feature.h"
#include "nats_server.h"
#include "prefix_text.h"
#include "subjects.h"
#include "wall_clock.h"

using namespace dnswash;
using namespace dnswash::fleet;
using Clock = std::chrono::steady_clock;

namespace {

int lpm_map() {
  LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
  int fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "fleet_bench", sizeof(dw_ban_key),
                          sizeof(dw_ban_val), 1 << 20, &o);
  if (fd < 0) throw std::runtime_error("bpf_map_create (needs root)");
  return fd;
}

// Node A: its own bans are not applied back to it; nothing to store.
struct NullTarget : FleetTarget {
  bool never_ban(const dw_ban_key &) override { return false; }
  void apply_ban(const dw_ban_key &, const Decision &) override {}
  void remove_ban(const dw_ban_key &) override {}
  bool has_ban(const dw_ban_key &) override { return true; }
  bool apply_shield(const std::string &, bool) override { return true; }
  std::vector<dw_ban_key> fleet_bans() override { return {}; }
};

// Node B: as dnswashd's FleetFeature, through a BanManager with a map and a ban store.
struct StoreTarget : FleetTarget {
  int fd;
  std::string dir;
  std::unique_ptr<daemon::BanManager> bans;
  size_t applied = 0;
  explicit StoreTarget(const std::string &name) : fd(lpm_map()) {
    char tmpl[] = "/tmp/fleet-bench-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
    dir = tmpl;
    bans = std::make_unique<daemon::BanManager>(fd, dir + "/" + name + ".mdb", daemon::BanPolicy{});
    bans->load(false);
  }
  ~StoreTarget() override {
    bans.reset();
    close(fd);
    std::filesystem::remove_all(dir);
  }
  bool never_ban(const dw_ban_key &) override { return false; }
  void apply_ban(const dw_ban_key &k, const Decision &d) override {
    if (auto r = daemon::FleetFeature::record_of(k, d, now_unix_ms())) {
      bans->apply(std::move(*r));
      ++applied;
    }
  }
  void remove_ban(const dw_ban_key &k) override { bans->del(k); }
  bool has_ban(const dw_ban_key &k) override {
    dw_ban_val v;
    return bpf_map_lookup_elem(fd, &k, &v) == 0;
  }
  bool apply_shield(const std::string &, bool) override { return true; }
  std::vector<dw_ban_key> fleet_bans() override { return {}; }
  void when_durable(std::function<void()> done) override {
    bans->when_saved(bans->last_seq(),
                     [done = std::move(done)](bool, const std::string &) { done(); });
  }
  // The store's completions, as the daemon's loop takes them.
  void pump() { bans->on_writer_ready(); }
};

std::unique_ptr<Fleet> node(const std::string &id, const std::string &url, FleetTarget &t) {
  FleetOptions o;
  o.link.node = id;
  o.link.servers = {url};
  o.link.bans_max_age_ms = 3600000;
  o.link.queue_max = 1 << 20;
  return std::make_unique<Fleet>(o, t);
}

dw_ban_key key_n(uint32_t n) {
  // 10.0.0.0/8 would be out of range for the fleet; 198.18.0.0/15 (benchmarking) is fine.
  dw_ban_key k{};
  k.prefixlen = 128;
  k.addr[10] = k.addr[11] = 0xff;
  k.addr[12] = 198;
  k.addr[13] = uint8_t(18 + ((n >> 16) & 1));
  k.addr[14] = uint8_t(n >> 8);
  k.addr[15] = uint8_t(n);
  return k;
}

LocalBan ban_n(uint32_t n) {
  LocalBan b;
  b.key = key_n(n);
  b.start_ms = now_unix_ms();
  b.expires_ms = b.start_ms + 600000;
  b.offenses = 1;
  return b;
}

double pct(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(p * double(v.size())))];
}

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

}  // namespace

int main(int argc, char **argv) {
  size_t bans = 1000, replay = 10000;
  std::string markdown;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--bans" && i + 1 < argc)
      bans = std::stoul(argv[++i]);
    else if (a == "--replay" && i + 1 < argc)
      replay = std::stoul(argv[++i]);
    else if (a == "--markdown" && i + 1 < argc)
      markdown = argv[++i];
    else {
      fprintf(stderr, "usage: %s [--bans N] [--replay N] [--markdown FILE]\n", argv[0]);
      return 2;
    }
  }
  spdlog::set_level(spdlog::level::warn);
  if (unshare(CLONE_NEWNET) != 0 || system("ip link set lo up") != 0) {
    perror("unshare(CLONE_NEWNET) (needs root)");
    return 1;
  }
  test::NatsServer server;
  if (!server.start()) {
    fprintf(stderr, "nats-server did not start\n");
    return 1;
  }

  // Baseline: core NATS, publish to a plain subscriber, one message at a time.
  std::vector<double> core;
  {
    natsConnection *pc = nullptr, *sc = nullptr;
    natsSubscription *sub = nullptr;
    natsConnection_ConnectTo(&pc, server.url().c_str());
    natsConnection_ConnectTo(&sc, server.url().c_str());
    natsConnection_SubscribeSync(&sub, sc, "bench.core");
    natsConnection_Flush(sc);
    for (size_t i = 0; i < bans; ++i) {
      auto t = Clock::now();
      natsConnection_PublishString(pc, "bench.core", "x");
      natsConnection_Flush(pc);
      natsMsg *m = nullptr;
      if (natsSubscription_NextMsg(&m, sub, 5000) != NATS_OK) return 1;
      core.push_back(ms_since(t));
      natsMsg_Destroy(m);
    }
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(pc);
    natsConnection_Destroy(sc);
  }

  NullTarget ta;
  StoreTarget tb("b");
  auto a = node("benchA", server.url(), ta);
  auto b = node("benchB", server.url(), tb);
  if (!a->replay(std::chrono::seconds(10)) || !b->replay(std::chrono::seconds(10))) {
    fprintf(stderr, "fleet did not come up\n");
    return 1;
  }
  std::vector<double> lat;
  for (uint32_t i = 0; i < bans; ++i) {
    auto t = Clock::now();
    a->on_local_ban(ban_n(i));
    dw_ban_key k = key_n(i);
    while (!tb.has_ban(k)) {
      pollfd p{b->wake_fd(), POLLIN, 0};
      ::poll(&p, 1, 100);
      b->poll();
      tb.pump();
      if (ms_since(t) > 10000) {
        fprintf(stderr, "ban %u never arrived\n", i);
        return 1;
      }
    }
    lat.push_back(ms_since(t));
  }

  // Apply rate: B is away while A reports `replay` more bans; then B replays them.
  b.reset();
  for (uint32_t i = 0; i < replay; ++i) a->on_local_ban(ban_n(uint32_t(bans) + i));
  auto pub_start = Clock::now();
  while (a->status()["queue"]["queued"].get<size_t>() > 0) {
    pollfd p{a->wake_fd(), POLLIN, 0};
    ::poll(&p, 1, 50);
    if (ms_since(pub_start) > 120000) return 1;
  }
  StoreTarget tr("r");
  auto r = node("benchB", server.url(), tr);
  auto t0 = Clock::now();
  if (!r->replay(std::chrono::seconds(120))) {
    fprintf(stderr, "replay did not finish: %s\n", r->status().dump().c_str());
    return 1;
  }
  tr.bans->flush_saves();  // every ban durable (and acked)
  double replay_ms = ms_since(t0);
  size_t got = tr.applied;

  // Baseline: the same messages checked and applied with no NATS in between.
  StoreTarget td("d");
  FleetOptions off;
  off.link.node = "benchC";
  off.link.bans_max_age_ms = 3600000;
  Fleet direct(off, td);
  std::vector<std::pair<std::string, std::string>> msgs;
  for (uint32_t i = 0; i < replay; ++i) {
    Message m;
    m.kind = Kind::kBan;
    m.node = "benchA";
    m.seq = i + 1;
    m.at_ms = now_unix_ms();
    m.key = key_n(uint32_t(bans) + i);
    m.start_ms = m.at_ms;
    m.expires_ms = m.at_ms + 600000;
    m.offenses = 1;
    msgs.emplace_back(ban_subject("benchA", m.key, false), encode(m));
  }
  auto d0 = Clock::now();
  int64_t now = now_unix_ms();
  for (const auto &[s, d] : msgs) direct.receive(s, d, now);
  td.bans->flush_saves();
  double direct_ms = ms_since(d0);

  double p50 = pct(lat, 0.5), p99 = pct(lat, 0.99), c50 = pct(core, 0.5), c99 = pct(core, 0.99);
  double rate = double(got) / (replay_ms / 1000), drate = double(td.applied) / (direct_ms / 1000);
  char buf[2048];
  snprintf(buf, sizeof buf,
           "| measure | fleet | baseline | ratio |\n|---|---:|---:|---:|\n"
           "| propagation p50, %zu bans (ms) | %.2f | %.2f (core NATS pub/sub) | %.1fx |\n"
           "| propagation p99 (ms) | %.2f | %.2f | %.1fx |\n"
           "| apply rate, replay of %zu bans (bans/s) | %.0f (%zu applied) | %.0f (checks, map, "
           "store; no NATS) | %.2fx |\n",
           bans, p50, c50, p50 / c50, p99, c99, p99 / c99, replay, rate, got, drate, rate / drate);
  printf("%s", buf);
  if (!markdown.empty()) std::ofstream(markdown) << buf;
  // The replay starts at the head of the streams: the latency run's bans come again too.
  return got >= replay ? 0 : 1;
}
