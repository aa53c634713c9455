// A small stand-in for dnswashd's NFQUEUE mode, for the lab test and the benchmark: loads the
// XDP program (not attached), fills its zone and ban maps, runs nfqueue::Filter on an interface
// until SIGTERM/SIGINT, then writes the counters and queue stats as JSON.
//
//   nfq-lab-driver --iface veth0 --zone example.com --zone example.net [--queues 2]
//                  [--fail-closed] [--queue-maxlen N] [--ban 192.0.2.9] [--dry-run]
//                  --ready-file FILE --out FILE
//   nfq-lab-driver --remove-stale IFACE     removes a crashed instance's rules, prints how many
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "ban_table.h"
#include "config_map.h"
#include "counters.h"
#include "dns_name.h"
#include "dnswash_skel.h"
#include "error.h"
#include "nfqueue/filter.h"
#include "nfqueue/rules.h"
#include "reasons.h"
#include "zone_table.h"

using namespace dnswash;

int main(int argc, char **argv) {
  CLI::App app{"nfqueue::Filter lab driver"};
  nfqueue::Options opt;
  std::vector<std::string> zones, bans;
  std::string zones_file, ready_file, out_file, stale_iface;
  bool dry_run = false;
  app.add_option("--iface", opt.iface);
  app.add_option("--zone", zones);
  app.add_option("--zones-file", zones_file, "one zone per line");
  app.add_option("--ban", bans);
  app.add_option("--queues", opt.queues);
  app.add_option("--queue-base", opt.queue_base);
  app.add_option("--queue-maxlen", opt.queue_maxlen);
  app.add_flag("--fail-closed", opt.fail_closed);
  app.add_flag("--dry-run", dry_run);
  app.add_option("--ready-file", ready_file);
  app.add_option("--out", out_file);
  app.add_option("--remove-stale", stale_iface);
  CLI11_PARSE(app, argc, argv);

  try {
    if (!stale_iface.empty()) {
      std::printf("%d\n", nfqueue::Rules::remove_stale(stale_iface));
      return 0;
    }
    if (opt.iface.empty()) throw Error("--iface is required");
    // Threads inherit the mask: only sigwait below sees SIGTERM/SIGINT.
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

    auto skel = DnswashSkel::load();
    std::vector<DnsName> names;
    if (!zones_file.empty()) {
      std::ifstream in(zones_file);
      if (!in) throw Error(zones_file + ": cannot open");
      std::string z;
      while (std::getline(in, z))
        if (!z.empty()) zones.push_back(z);
    }
    for (const auto &z : zones) {
      std::string err;
      auto n = parse_dns_name(z, &err);
      if (!n) throw Error("zone " + z + ": " + err);
      names.push_back(*n);
    }
    ZoneTable(skel->zones_fd(), skel->key()).apply(names);
    for (const auto &b : bans) {
      std::string err;
      auto k = parse_ban_prefix(b, &err);
      if (!k) throw Error("ban " + b + ": " + err);
      ban_put(skel->bans_fd(), *k, dw_ban_val{0, DW_BAN_ORIGIN_OPERATOR, 0});
    }
    if (dry_run) set_config_flag(skel->config_fd(), DW_CFG_DRY_RUN, true);

    LiveMaps maps;
    maps.zones_fd = skel->zones_fd();
    maps.bans_fd = skel->bans_fd();
    maps.config_fd = skel->config_fd();
    nlohmann::json result;
    {
      nfqueue::Filter filter(opt, maps, skel->counters_fd());
      std::fprintf(stderr, "nfq-lab-driver: %s, %u queue(s) from %u, %s\n",
                   filter.backend().c_str(), opt.queues, opt.queue_base,
                   opt.fail_closed ? "fail-closed" : "fail-open");
      if (!ready_file.empty()) std::ofstream(ready_file) << filter.backend() << "\n";
      int sig = 0;
      sigwait(&sigs, &sig);
      result["backend"] = filter.backend();
      filter.stop();  // rules out, queue drained, counters flushed
      for (const auto &q : filter.stats())
        result["queues"].push_back({{"queue", q.queue},
                                    {"packets", q.packets},
                                    {"accepted", q.accepted},
                                    {"dropped", q.dropped},
                                    {"requeued", q.requeued},
                                    {"verdict_msgs", q.verdict_msgs},
                                    {"errors", q.errors}});
    }
    Counters c = read_counters(skel->counters_fd());
    for (unsigned i = 0; i < DW_C_COUNT; ++i)
      result["counters"][std::string(counter_name(i))] = c[i];
    if (!out_file.empty()) std::ofstream(out_file) << result.dump(2) << "\n";
    std::printf("%s\n", result.dump().c_str());
    return 0;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "nfq-lab-driver: %s\n", e.what());
    return 1;
  }
}
