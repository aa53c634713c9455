#include "zones_cmd.h"

#include <algorithm>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "client.h"
#include "command.h"
#include "named_conf.h"
#include "output.h"

namespace dnswash::ctl::zones {

namespace {

using dnswash::zones::ParseResult;
using dnswash::zones::Zone;
using dnswash::zones::ZoneOrigin;

const char *origin_name(ZoneOrigin o) {
  switch (o) {
    case ZoneOrigin::kNzf:
      return "nzf";
    case ZoneOrigin::kNzd:
      return "nzd";
    default:
      return "config";
  }
}

// The allowed zones, one entry per (name, view), sorted by name then view.
std::vector<const Zone *> allowed_zones(const ParseResult &r) {
  std::vector<const Zone *> out;
  for (const auto &z : r.zones)
    if (z.allowed) out.push_back(&z);
  std::stable_sort(out.begin(), out.end(), [](const Zone *a, const Zone *b) {
    return a->name != b->name ? a->name < b->name : a->view < b->view;
  });
  return out;
}

void print_json(const ParseResult &r) {
  nlohmann::json zones = nlohmann::json::array();
  for (const Zone *z : allowed_zones(r)) {
    zones.push_back({{"name", z->name.to_text()},
                     {"view", z->view},
                     {"type", z->type},
                     {"class", z->zone_class},
                     {"file", z->file},
                     {"source", z->where.file},
                     {"line", z->where.line},
                     {"origin", origin_name(z->origin)}});
  }
  nlohmann::json warnings = nlohmann::json::array();
  for (const auto &w : r.warnings) warnings.push_back(w.to_text());
  nlohmann::json out = {{"zones", zones},
                        {"uses_source_port_53", r.uses_source_port_53},
                        {"protected_addresses", r.protected_addresses},
                        {"watched_paths", r.watched_paths},
                        {"warnings", warnings}};
  // Paths and view names may hold any bytes; never let them abort the output.
  std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

void register_parse(CLI::App &group) {
  struct Args {
    std::string named_conf = "/etc/bind/named.conf";
    std::string chroot;
    std::string cwd;
    bool json = false;
    bool no_new_zones = false;
  };
  auto args = std::make_shared<Args>();
  auto *cmd = group.add_subcommand(
      "parse", "Print the zones named serves authoritatively (the allowlist), one per line");
  cmd->add_option("--named-conf", args->named_conf, "named.conf to read")->capture_default_str();
  cmd->add_option("--chroot", args->chroot,
                  "Resolve every path under this directory, as named -t does");
  cmd->add_option("--cwd", args->cwd,
                  "named's starting directory for relative paths (default: current directory, "
                  "or / with --chroot)");
  cmd->add_flag("--json", args->json,
                "JSON with view, type, class, zone file and declaring line of each zone, plus "
                "source-port-53 use, protected addresses and watched paths");
  cmd->add_flag("--no-new-zones", args->no_new_zones,
                "Ignore zones added with rndc addzone (NZF/NZD files)");
  cmd->callback([args] {
    dnswash::zones::ParseOptions opt;
    opt.path = args->named_conf;
    opt.chroot = args->chroot;
    opt.cwd = args->cwd;
    opt.read_new_zones = !args->no_new_zones;
    ParseResult r;
    try {
      r = dnswash::zones::parse_named_conf(opt);
    } catch (const dnswash::zones::ParseError &e) {
      std::cerr << "dnswashctl: " << e.what() << "\n";
      set_exit_code(kExitFailure);
      return;
    }
    for (const auto &w : r.warnings) std::cerr << "warning: " << w.to_text() << "\n";
    if (args->json) {
      print_json(r);
    } else {
      for (const auto &name : dnswash::zones::allowlist(r)) std::cout << name.to_text() << "\n";
    }
    set_exit_code(kExitOk);
  });
}

// `zones list`: what the kernel's zone set holds now, paged from the daemon's `zones` command.
void register_list(CLI::App &group) {
  struct Args {
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  auto *cmd = group.add_subcommand(
      "list", "The zones in the running filter's kernel map, sorted, one per line");
  add_json_flag(*cmd, args->json);
  cmd->callback([args] {
    run([&] {
      nlohmann::json names = nlohmann::json::array();
      nlohmann::json sources = nlohmann::json::object();
      std::string iface;
      size_t total = 0;
      constexpr size_t kPage = 10000;
      do {
        // With --json, also which source lists each zone (named.conf, named-stats, ...).
        nlohmann::json r = request({{"cmd", "zones"},
                                    {"offset", names.size()},
                                    {"limit", kPage},
                                    {"sources", args->json}});
        iface = r["iface"];
        total = r.value("total", size_t(0));
        const auto &page = r["zones"];
        if (page.empty()) break;  // the set shrank while we paged
        for (const auto &z : page) names.push_back(z);
        if (r.contains("sources")) sources.update(r["sources"]);
      } while (names.size() < total);
      if (args->json) {
        ctl::print_json(
            {{"iface", iface}, {"total", names.size()}, {"zones", names}, {"sources", sources}});
      } else {
        for (const auto &z : names) std::cout << z.get<std::string>() << "\n";
      }
    });
  });
}

// `zones shield [ZONE on|off|auto]`: the zone shield's state (the daemon's `shield` status
// section), or the operator's mode for one zone (`zones-shield`, docs/detector.md).
void register_shield(CLI::App &group) {
  struct Args {
    std::vector<std::string> zone_mode;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  auto *cmd = group.add_subcommand(
      "shield", "The zone shield per zone, or set a zone's mode: ZONE on|off|auto (--detector)");
  cmd->add_option("zone_mode", args->zone_mode, "ZONE and on, off or auto")->expected(0, 2);
  add_json_flag(*cmd, args->json);
  cmd->callback([args] {
    run([&] {
      if (args->zone_mode.size() == 1)
        throw CtlError("zones shield: give ZONE and a mode (on, off or auto), or neither");
      if (args->zone_mode.size() == 2) {
        nlohmann::json r = request(
            {{"cmd", "zones-shield"}, {"zone", args->zone_mode[0]}, {"mode", args->zone_mode[1]}});
        if (args->json) {
          ctl::print_json(r);
        } else {
          std::cout << r.value("zone", "") << ": mode " << r.value("mode", "") << ", "
                    << (r.value("shielded", false) ? "shielded" : "open") << "\n";
        }
        return;
      }
      nlohmann::json st = request({{"cmd", "status"}}).value("shield", nlohmann::json::object());
      if (args->json) {
        ctl::print_json(st);
        return;
      }
      if (!st.value("enabled", false)) {
        std::cout << "zone shield: off (dnswashd runs without --detector)\n";
        return;
      }
      Table t({{"zone", Table::Align::kLeft},
               {"state", Table::Align::kLeft},
               {"mode", Table::Align::kLeft},
               {"fleet", Table::Align::kLeft},
               {"answer", Table::Align::kLeft},
               {"names", Table::Align::kRight},
               {"drops", Table::Align::kRight},
               {"missing/s", Table::Align::kRight}});
      for (const auto &z : st.value("zones", nlohmann::json::array()))
        t.add_row({z.value("zone", ""), z.value("shielded", false) ? "SHIELDED" : "open",
                   z.value("mode", ""),
                   z.value("fleet", false) ? "on" : (z.value("for_fleet", false) ? "held" : "-"),
                   z.value("answer", ""), fmt_count(z.value("names", uint64_t(0))),
                   fmt_count(z.value("drops", uint64_t(0))),
                   fmt_count(z.value("missing_per_s", uint64_t(0)))});
      t.print(std::cout);
    });
  });
}

}  // namespace

void registerCommand(CLI::App &app) {
  auto *group = app.add_subcommand(
      "zones",
      "Zones: what named.conf serves (parse), what the kernel map holds (list), the shield");
  group->require_subcommand(1);
  register_parse(*group);
  register_list(*group);
  register_shield(*group);
}

}  // namespace dnswash::ctl::zones
