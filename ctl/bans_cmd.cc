#include "bans_cmd.h"

#include <chrono>
#include <ctime>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ban_table.h"
#include "command.h"
#include "control_client.h"
#include "duration.h"

namespace dnswash::ctl::bans {

namespace {

using nlohmann::json;

struct Common {
  std::string iface;
  bool json = false;
};

// Sends one request; prints the error and sets the exit code on failure. nullopt = failed.
std::optional<json> request(const Common &c, const json &req) {
  json reply;
  try {
    reply = control_request(resolve_filter(c.iface), req);
  } catch (const std::exception &e) {
    std::cerr << "dnswashctl: " << e.what() << "\n";
    set_exit_code(kExitFailure);
    return std::nullopt;
  }
  if (c.json) std::cout << reply.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
  if (!reply.value("ok", false)) {
    std::cerr << "dnswashctl: " << reply.value("error", std::string("the daemon refused")) << "\n";
    set_exit_code(kExitFailure);
    return std::nullopt;
  }
  set_exit_code(kExitOk);
  return reply;
}

bool usage_error(const std::string &msg) {
  std::cerr << "dnswashctl: " << msg << "\n";
  set_exit_code(kExitUsage);
  return false;
}

bool check_prefix(const std::string &p) {
  std::string err;
  if (!parse_ban_prefix(p, &err)) return usage_error("bad address or CIDR: " + err);
  return true;
}

std::string utc_text(int64_t unix_ms) {
  std::time_t t = std::time_t(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string expires_text(const json &b) {
  if (b.value("permanent", false) || b["expires_unix_ms"].is_null()) return "permanent";
  int64_t e = b["expires_unix_ms"].get<int64_t>();
  int64_t left = (e - now_ms() + 999) / 1000;
  return utc_text(e) + " (" + (left > 0 ? duration_text(uint64_t(left)) : "0s") + " left)";
}

void print_table(const std::vector<std::vector<std::string>> &rows) {
  std::vector<size_t> w;
  for (const auto &r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (w.size() <= i) w.push_back(0);
      w[i] = std::max(w[i], r[i].size());
    }
  for (const auto &r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(w[i] - r[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

void add_common(CLI::App *cmd, const std::shared_ptr<Common> &c) {
  cmd->add_option("-i,--iface", c->iface,
                  "Interface of the dnswashd to ask (default: the only one running)");
  cmd->add_flag("--json", c->json, "Print the daemon's JSON reply as is");
}

void register_list(CLI::App &group) {
  auto c = std::make_shared<Common>();
  auto *cmd = group.add_subcommand("list", "Bans in force (operator and detector)");
  add_common(cmd, c);
  cmd->callback([c] {
    json all = json::array();
    size_t total = 0, offset = 0;
    json reply;
    do {  // page through (the daemon caps a page at 1000 by default)
      Common quiet = *c;
      quiet.json = false;
      auto r = request(quiet, {{"cmd", "bans"}, {"offset", offset}, {"limit", 1000}});
      if (!r) return;
      reply = *r;
      total = reply.value("total", size_t(0));
      for (auto &b : reply["bans"]) all.push_back(b);
      if (reply["bans"].empty()) break;
      offset = all.size();
    } while (all.size() < total);
    if (c->json) {
      std::cout << json{{"ok", true}, {"total", total}, {"bans", all}}.dump(
                       2, ' ', false, json::error_handler_t::replace)
                << "\n";
      return;
    }
    if (all.empty()) {
      std::cout << "no bans\n";
      return;
    }
    std::vector<std::vector<std::string>> rows = {
        {"PREFIX", "ORIGIN", "SINCE (UTC)", "EXPIRES (UTC)", "OFFENSES", "ZONE", "NAMES"}};
    for (const auto &b : all) {
      std::string names;
      for (const auto &n : b.value("names", json::array()))
        names += (names.empty() ? "" : ",") + n.get<std::string>();
      rows.push_back({b.value("prefix", ""), b.value("origin", ""),
                      utc_text(b.value("since_unix_ms", int64_t(0))), expires_text(b),
                      std::to_string(b.value("offenses", 0)),
                      b["zone"].is_string() ? b["zone"].get<std::string>() : "-",
                      names.empty() ? "-" : names});
    }
    print_table(rows);
  });
}

void register_add(CLI::App &group) {
  struct Args {
    std::string prefix, dur;
    bool permanent = false;
  };
  auto c = std::make_shared<Common>();
  auto a = std::make_shared<Args>();
  auto *cmd = group.add_subcommand("add",
                                   "Ban an address or CIDR (an operator ban: the "
                                   "detector never lifts it)");
  cmd->add_option("prefix", a->prefix, "Address or CIDR, e.g. 198.51.100.0/24")->required();
  auto *f = cmd->add_option("--for", a->dur, "Ban length (e.g. 30m, 2h, 7d)");
  auto *p = cmd->add_flag("--permanent", a->permanent, "Ban until removed");
  f->excludes(p);
  add_common(cmd, c);
  cmd->callback([c, a] {
    if (!check_prefix(a->prefix)) return;
    json req = {{"cmd", "ban-add"}, {"prefix", a->prefix}};
    if (a->permanent) {
      req["permanent"] = true;
    } else {
      if (a->dur.empty()) {
        usage_error("say how long: --for DURATION or --permanent");
        return;
      }
      std::string err;
      auto s = parse_duration(a->dur, &err);
      if (!s) {
        usage_error("--for: " + err);
        return;
      }
      req["seconds"] = *s;
    }
    auto r = request(*c, req);
    if (!r || c->json) return;
    std::cout << "banned " << r->value("prefix", a->prefix) << " "
              << ((*r)["expires_unix_ms"].is_null()
                      ? std::string("permanently")
                      : "until " + utc_text((*r)["expires_unix_ms"].get<int64_t>()))
              << "\n";
  });
}

void register_del(CLI::App &group) {
  auto c = std::make_shared<Common>();
  auto prefix = std::make_shared<std::string>();
  auto *cmd = group.add_subcommand("del",
                                   "Lift the ban on exactly this prefix (and forget "
                                   "its offense history)");
  cmd->add_option("prefix", *prefix, "Address or CIDR, as listed")->required();
  add_common(cmd, c);
  cmd->callback([c, prefix] {
    if (!check_prefix(*prefix)) return;
    auto r = request(*c, {{"cmd", "ban-del"}, {"prefix", *prefix}});
    if (r && !c->json) std::cout << "unbanned " << r->value("prefix", *prefix) << "\n";
  });
}

void register_flush(CLI::App &group) {
  auto c = std::make_shared<Common>();
  auto det = std::make_shared<bool>(false);
  auto *cmd = group.add_subcommand("flush", "Lift every ban (and forget the offense history)");
  cmd->add_flag("--detector-only", *det, "Only the detector's bans; operator bans stay");
  add_common(cmd, c);
  cmd->callback([c, det] {
    auto r = request(*c, {{"cmd", "ban-flush"}, {"detector_only", *det}});
    if (r && !c->json) std::cout << "removed " << r->value("removed", 0) << " ban(s)\n";
  });
}

}  // namespace

void registerCommand(CLI::App &app) {
  auto *group = app.add_subcommand("bans", "Source bans of a running dnswashd");
  group->require_subcommand(1);
  register_list(*group);
  register_add(*group);
  register_del(*group);
  register_flush(*group);
}

}  // namespace dnswash::ctl::bans
