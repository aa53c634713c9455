// dnswashctl: command-line tool for dnswash. Each command group registers itself here, in the
// style of openbmc's pldmtool, so groups can be added without touching each other.
#include <CLI/CLI.hpp>

#include <iostream>

#include "check_cmd.h"
#include "client.h"
#include "command.h"
#include "dryrun_cmd.h"
#include "fleet_cmd.h"
#include "metrics_cmd.h"
#include "stats_cmd.h"
#include "top_cmd.h"
#include "zones_cmd.h"
#include "bans_cmd.h"

namespace dnswash::ctl {

namespace {
int g_exit_code = kExitOk;
}

void set_exit_code(int code) {
  g_exit_code = code;
}
int exit_code() {
  return g_exit_code;
}

}  // namespace dnswash::ctl

int main(int argc, char **argv) {
  CLI::App app{"dnswashctl: inspect and control the dnswash DNS filter"};
  app.require_subcommand(1);
  // Global: before or after the command (fallthrough), e.g. `dnswashctl stats --iface eth0`.
  app.add_option("-i,--iface", dnswash::ctl::iface_option(),
                 "The filtered interface (may be omitted when one dnswashd runs in this network "
                 "namespace)");
  app.fallthrough();
  app.set_version_flag("--version", "dnswashctl 0.1.0");

  dnswash::ctl::stats::registerCommand(app);
  dnswash::ctl::zones::registerCommand(app);
  dnswash::ctl::bans::registerCommand(app);
  dnswash::ctl::check::registerCommand(app);
  dnswash::ctl::top::registerCommand(app);
  dnswash::ctl::dryrun::registerCommand(app);
  dnswash::ctl::metrics::registerCommand(app);
  dnswash::ctl::fleet::registerCommand(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    // --help and --version are "errors" with exit code 0; everything else is a usage error.
    int rc = app.exit(e);
    return rc == 0 ? dnswash::ctl::kExitOk : dnswash::ctl::kExitUsage;
  } catch (const std::exception &e) {
    std::cerr << "dnswashctl: " << e.what() << "\n";
    return dnswash::ctl::kExitFailure;
  }
  return dnswash::ctl::exit_code();
}
