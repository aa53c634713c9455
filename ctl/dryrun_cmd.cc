#include "dryrun_cmd.h"

#include <iostream>
#include <memory>

#include "client.h"
#include "output.h"

namespace dnswash::ctl::dryrun {

void registerCommand(CLI::App &app) {
  struct Args {
    std::string state;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  auto *cmd = app.add_subcommand(
      "dry-run", "Switch dry-run on (count drop verdicts, pass everything) or off (enforce)");
  cmd->add_option("state", args->state, "on or off")
      ->required()
      ->check(CLI::IsMember({"on", "off"}));
  add_json_flag(*cmd, args->json);
  cmd->callback([args] {
    run([&] {
      const bool on = args->state == "on";
      nlohmann::json r = request({{"cmd", "set-flag"}, {"flag", "dry-run"}, {"value", on}});
      if (args->json) {
        print_json({{"iface", r["iface"]}, {"dry_run", r.value("value", on)}});
      } else {
        std::cout << "dry-run " << (on ? "on" : "off") << " on " << r["iface"].get<std::string>()
                  << (on ? ": drop verdicts are counted (dry-run-passed) and pass\n"
                         : ": drop verdicts are enforced\n");
      }
    });
  });
}

}  // namespace dnswash::ctl::dryrun
