#include "stats_cmd.h"

#include <chrono>
#include <iostream>
#include <memory>
#include <thread>

#include "client.h"
#include "command.h"
#include "output.h"
#include "reasons.h"

namespace dnswash::ctl::stats {

namespace {

using nlohmann::json;

struct Args {
  double watch = 0;
  unsigned count = 0;
  bool json = false;
};

// The stats document (docs/dnswashctl.md) from a status and a counters reply.
json snapshot(const json &status, const json &counters_reply) {
  const json &c = counters_reply.at("counters");
  json packets = json::object(), other = json::object();
  uint64_t passed = 0, dropped = 0;
  for (unsigned i = 0; i < DW_R_COUNT; ++i) {
    const std::string name(counter_name(i));
    uint64_t v = c.value(name, uint64_t(0));
    packets[name] = v;
    (reason_table_says_drop(i) ? dropped : passed) += v;
  }
  for (const auto &[name, v] : c.items())
    if (!packets.contains(name)) other[name] = v;
  json detector = status.contains("detector") ? status["detector"] : json(nullptr);
  json bans = nullptr;
  if (detector.is_object() && detector.contains("bans"))
    bans = detector["bans"];
  else if (status.contains("ban_map"))
    bans = status["ban_map"].value("entries", json(nullptr));
  json caps =
      detector.is_object() && detector.contains("caps_hit") ? detector["caps_hit"] : json(nullptr);
  const json sync = status.value("sync", json::object());
  return {{"iface", status.value("iface", "")},
          {"mode", status.value("mode", "")},
          {"attached", status.value("attached", false)},
          {"dry_run", status.value("dry_run", false)},
          {"zones", status.value("zones", 0)},
          {"bans", bans},
          {"sync_errors", sync.value("failed", 0)},
          {"sync_failing", sync.value("failing", false)},
          {"detector", detector},
          {"ban_store", status.value("ban_store", json(nullptr))},
          {"caps_hit", caps},
          {"fleet", status.value("fleet", json(nullptr))},
          {"packets", packets},
          {"passed", passed},
          {"dropped", dropped},
          {"counters", other}};
}

json fetch() {
  json status = request({{"cmd", "status"}});
  json counters = request({{"cmd", "counters"}});
  return snapshot(status, counters);
}

std::string dash_or(const json &j, const std::function<std::string(const json &)> &f) {
  return j.is_null() ? "-" : f(j);
}

std::string mode_text(const std::string &mode) {
  if (mode == "native" || mode == "generic") return mode + " XDP";
  if (mode == "nfqueue") return "NFQUEUE";
  return mode;
}

void print_human(const json &s, const json *rates, double interval) {
  Table head({{"", Table::Align::kLeft}, {"", Table::Align::kLeft}});
  head.add_row(
      {"filter", s["iface"].get<std::string>() + ", " + mode_text(s["mode"]) +
                     (s["attached"].get<bool>() ? "" : " (NOT attached: restart dnswashd)")});
  head.add_row({"dry-run", s["dry_run"].get<bool>() ? "on (drop verdicts pass)" : "off"});
  head.add_row({"zones", fmt_count(s["zones"].get<uint64_t>())});
  head.add_row(
      {"bans", dash_or(s["bans"], [](const json &j) { return fmt_count(j.get<uint64_t>()); })});
  head.add_row({"sync errors", fmt_count(s["sync_errors"].get<uint64_t>()) +
                                   (s["sync_failing"].get<bool>() ? " (failing now)" : "")});
  head.add_row({"ban store", dash_or(s.value("ban_store", json(nullptr)), [](const json &j) {
                  if (j.value("ok", false)) return std::string("ok");
                  std::string out = "NOT SAVING: " + j.value("error", std::string()) +
                                    (j.contains("last_error") && j["last_error"].is_string()
                                         ? j["last_error"].get<std::string>()
                                         : std::string());
                  if (j.contains("unsaved"))
                    out += " (" + fmt_count(j["unsaved"].get<uint64_t>()) + " change(s) unsaved)";
                  return out;
                })});
  head.add_row({"detector caps hit", dash_or(s["caps_hit"], [](const json &j) {
                  std::string out;
                  for (const auto &[k, v] : j.items())
                    out += (out.empty() ? "" : ", ") + k + " " +
                           (v.is_number() ? fmt_count(v.get<uint64_t>()) : v.dump());
                  return out.empty() ? std::string("0") : out;
                })});
  for (const auto &[k, v] : s["counters"].items())
    if (v.is_number()) head.add_row({k, fmt_count(v.get<uint64_t>())});
  // The two-column block has empty headers: skip its header line.
  std::ostringstream block;
  head.print(block);
  std::string text = block.str();
  std::cout << text.substr(text.find('\n') + 1) << "\n";

  std::vector<Table::Column> cols = {{"reason", Table::Align::kLeft},
                                     {"verdict", Table::Align::kLeft},
                                     {"packets", Table::Align::kRight},
                                     {"share", Table::Align::kRight}};
  if (rates) cols.push_back({"rate", Table::Align::kRight});
  Table t(cols);
  const uint64_t total = s["passed"].get<uint64_t>() + s["dropped"].get<uint64_t>();
  for (unsigned i = 0; i < DW_R_COUNT; ++i) {
    const std::string name(counter_name(i));
    const uint64_t v = s["packets"][name].get<uint64_t>();
    std::vector<std::string> row = {name, reason_table_says_drop(i) ? "drop" : "pass", fmt_count(v),
                                    total ? fmt_percent(double(v) / double(total)) : "-"};
    if (rates) row.push_back(fmt_rate((*rates)[name].get<double>(), "pkt"));
    t.add_row(row);
  }
  t.print(std::cout);
  if (rates) std::cout << "\nrates over the last " << fmt_si(interval) << " s; Ctrl-C ends\n";
}

void run_stats(const Args &a) {
  json prev = fetch();
  if (a.watch <= 0) {
    if (a.json)
      print_json(prev);
    else
      print_human(prev, nullptr, 0);
    return;
  }
  auto t_prev = std::chrono::steady_clock::now();
  const bool tty = !a.json && stdout_is_tty();
  for (unsigned n = 0; a.count == 0 || n < a.count; ++n) {
    std::this_thread::sleep_for(std::chrono::duration<double>(a.watch));
    json cur = fetch();
    auto t_cur = std::chrono::steady_clock::now();
    const double dt = std::chrono::duration<double>(t_cur - t_prev).count();
    json rates = json::object();
    for (const auto &[name, v] : cur["packets"].items()) {
      const uint64_t before = prev["packets"].value(name, uint64_t(0)), now = v.get<uint64_t>();
      // A counter going back (maps recreated by a restart) shows as 0, not a huge rate.
      rates[name] = now >= before && dt > 0 ? double(now - before) / dt : 0.0;
    }
    if (a.json) {
      cur["interval_s"] = dt;
      cur["rates"] = rates;
      std::cout << cur.dump(-1, ' ', false, json::error_handler_t::replace) << std::endl;
    } else {
      if (tty) std::cout << "\033[H\033[2J";  // refresh in place
      print_human(cur, &rates, dt);
      if (!tty) std::cout << "\n";
      std::cout.flush();
    }
    prev = std::move(cur);
    t_prev = t_cur;
  }
}

}  // namespace

void registerCommand(CLI::App &app) {
  auto args = std::make_shared<Args>();
  auto *cmd = app.add_subcommand(
      "stats", "Packets per verdict reason, mode, dry-run, zones, bans, sync errors");
  cmd->add_option("--watch", args->watch,
                  "Refresh every SECS seconds with per-second rates (in place on a terminal)")
      ->check(CLI::Range(0.1, 86400.0));
  cmd->add_option("--count", args->count, "With --watch: stop after N refreshes (0 = never)")
      ->check(CLI::Range(0u, 1000000u));
  add_json_flag(*cmd, args->json);
  cmd->callback([args] { run([&] { run_stats(*args); }); });
}

}  // namespace dnswash::ctl::stats
