#include "bans_cmd.h"

#include <chrono>
#include <ctime>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "prefix_text.h"
#include "client.h"
#include "error.h"
#include "duration.h"
#include "output.h"

namespace dnswash::ctl::bans {

namespace {

using nlohmann::json;

// Bad input is a usage error (exit 2) caught by CLI11 while parsing, before any request: the
// daemon's bans cannot change on it.
CLI::Validator prefix_validator() {
  return CLI::Validator(
      [](std::string &v) {
        std::string err;
        return parse_ban_prefix(v, &err) ? std::string() : "bad address or CIDR: " + err;
      },
      "CIDR");
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

void register_list(CLI::App &group) {
  auto as_json = std::make_shared<bool>(false);
  auto *cmd = group.add_subcommand("list", "Bans in force (operator and detector)");
  add_json_flag(*cmd, *as_json);
  cmd->callback([as_json] {
    run([&] {
      json all = json::array();
      size_t total = 0, offset = 0;
      do {  // page through (the daemon caps a page at 1000 by default)
        json reply = request({{"cmd", "bans"}, {"offset", offset}, {"limit", 1000}});
        total = reply.value("total", size_t(0));
        for (auto &b : reply["bans"]) all.push_back(b);
        if (reply["bans"].empty()) break;
        offset = all.size();
      } while (all.size() < total);
      if (*as_json) {
        print_json({{"ok", true}, {"total", total}, {"bans", all}});
        return;
      }
      if (all.empty()) {
        std::cout << "no bans\n";
        return;
      }
      Table t({{"PREFIX"},
               {"ORIGIN"},
               {"SINCE (UTC)"},
               {"EXPIRES (UTC)"},
               {"OFFENSES", Table::Align::kRight},
               {"ZONE"},
               {"NAMES"}});
      for (const auto &b : all) {
        std::string names;
        for (const auto &n : b.value("names", json::array()))
          names += (names.empty() ? "" : ",") + n.get<std::string>();
        t.add_row({b.value("prefix", ""), b.value("origin", ""),
                   utc_text(b.value("since_unix_ms", int64_t(0))), expires_text(b),
                   std::to_string(b.value("offenses", 0)),
                   b["zone"].is_string() ? b["zone"].get<std::string>() : "-",
                   names.empty() ? "-" : names});
      }
      t.print(std::cout);
    });
  });
}

// The change is in force; when the daemon could not make it durable, say so and exit 1.
void check_saved(const json &r) {
  if (r.value("saved", true)) return;
  throw dnswash::Error(r.value("error", std::string("not saved")) +
                       " (see `dnswashctl stats`: ban store; it is retried)");
}

void register_add(CLI::App &group) {
  struct Args {
    std::string prefix, dur;
    bool permanent = false;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  auto *cmd = group.add_subcommand("add",
                                   "Ban an address or CIDR (an operator ban: the "
                                   "detector never lifts it)");
  cmd->add_option("prefix", a->prefix, "Address or CIDR, e.g. 198.51.100.0/24")
      ->required()
      ->check(prefix_validator());
  auto *f = cmd->add_option("--for", a->dur, "Ban length (e.g. 30m, 2h, 7d)")
                ->check(duration_validator());
  auto *p = cmd->add_flag("--permanent", a->permanent, "Ban until removed");
  f->excludes(p);
  add_json_flag(*cmd, a->json);
  cmd->callback([a] {
    if (!a->permanent && a->dur.empty())
      throw CLI::ValidationError("bans add", "say how long: --for DURATION or --permanent");
    run([&] {
      json req = {{"cmd", "ban-add"}, {"prefix", a->prefix}};
      if (a->permanent)
        req["permanent"] = true;
      else
        req["seconds"] = *parse_duration(a->dur);  // checked by the validator
      json r = request(req);
      if (a->json) {
        print_json(r);
      } else {
        std::cout << "banned " << r.value("prefix", a->prefix) << " "
                  << (r["expires_unix_ms"].is_null()
                          ? std::string("permanently")
                          : "until " + utc_text(r["expires_unix_ms"].get<int64_t>()))
                  << "\n";
      }
      check_saved(r);
    });
  });
}

void register_del(CLI::App &group) {
  struct Args {
    std::string prefix;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  auto *cmd = group.add_subcommand("del",
                                   "Lift the ban on exactly this prefix (and forget "
                                   "its offense history)");
  cmd->add_option("prefix", a->prefix, "Address or CIDR, as listed")
      ->required()
      ->check(prefix_validator());
  add_json_flag(*cmd, a->json);
  cmd->callback([a] {
    run([&] {
      json r = request({{"cmd", "ban-del"}, {"prefix", a->prefix}});
      if (a->json)
        print_json(r);
      else
        std::cout << "unbanned " << r.value("prefix", a->prefix) << "\n";
      check_saved(r);
    });
  });
}

void register_flush(CLI::App &group) {
  struct Args {
    bool detector_only = false;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  auto *cmd = group.add_subcommand("flush", "Lift every ban (and forget the offense history)");
  cmd->add_flag("--detector-only", a->detector_only,
                "Only the detector's bans; operator bans stay");
  add_json_flag(*cmd, a->json);
  cmd->callback([a] {
    run([&] {
      json r = request({{"cmd", "ban-flush"}, {"detector_only", a->detector_only}});
      if (a->json)
        print_json(r);
      else
        std::cout << "removed " << r.value("removed", 0) << " ban(s)\n";
      check_saved(r);
    });
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
