#include "top_cmd.h"

#include <chrono>
#include <iostream>
#include <memory>

#include "client.h"
#include "output.h"

namespace dnswash::ctl::top {

namespace {

using nlohmann::json;

struct Args {
  std::string what;
  unsigned n = 10;
  std::string since = "10m";
  bool json = false;
};

void run_top(const Args &a) {
  json r = request(
      {{"cmd", "top"}, {"what", a.what}, {"n", a.n}, {"since_s", *parse_duration(a.since)}});
  r.erase("ok");
  if (a.json) {
    print_json(r);
    return;
  }
  const bool names = a.what == "names";
  const uint64_t samples = r.value("samples", uint64_t(0));
  const unsigned every = r.value("sample_every", 0u);
  std::cout << "most dropped " << (names ? "names" : "sources") << ", last "
            << fmt_duration(r.value("since_s", int64_t(0))) << ": " << fmt_count(samples)
            << " samples";
  if (every == 0)
    std::cout << " (sampling is off: start dnswashd with --sample-every N)";
  else
    std::cout << " (about 1 in " << every << " drops, at most "
              << fmt_count(r.value("sample_per_s", 0u)) << "/s per CPU)";
  std::cout << "\n";
  if (r["entries"].empty()) return;
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  Table t({{"#", Table::Align::kRight},
           {"samples", Table::Align::kRight},
           {"share", Table::Align::kRight},
           {"last seen", Table::Align::kRight},
           {"reason", Table::Align::kLeft},
           {names ? "name" : "source", Table::Align::kLeft}});
  unsigned rank = 0;
  for (const auto &e : r["entries"]) {
    const uint64_t c = e.value("count", uint64_t(0));
    const int64_t ago = (now - e.value("last_unix_ms", now)) / 1000;
    t.add_row({std::to_string(++rank), fmt_count(c),
               samples ? fmt_percent(double(c) / double(samples)) : "-", fmt_duration(ago) + " ago",
               e.value("reason", ""), e.value(names ? "name" : "source", "")});
  }
  t.print(std::cout);
}

}  // namespace

void registerCommand(CLI::App &app) {
  auto args = std::make_shared<Args>();
  auto *cmd = app.add_subcommand(
      "top", "Most-dropped names or sources (sampled; see dnswashd --sample-every)");
  cmd->add_option("what", args->what, "names or sources")
      ->required()
      ->check(CLI::IsMember({"names", "sources"}));
  cmd->add_option("-n,--n", args->n, "How many entries")
      ->check(CLI::Range(1u, 10000u))
      ->capture_default_str();
  cmd->add_option("--since", args->since,
                  "Window: 90, 90s, 10m, 1h (whole minutes; the daemon keeps the last hour)")
      ->check(duration_validator())
      ->capture_default_str();
  add_json_flag(*cmd, args->json);
  cmd->callback([args] { run([&] { run_top(*args); }); });
}

}  // namespace dnswash::ctl::top
