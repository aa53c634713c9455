// dnswashctl: command-line tool for dnswash. Each command group registers itself here, in the
// style of openbmc's pldmtool, so groups can be added without touching each other.
#include <CLI/CLI.hpp>

#include "command.h"
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

  dnswash::ctl::zones::registerCommand(app);
  dnswash::ctl::bans::registerCommand(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    // --help and --version are "errors" with exit code 0; everything else is a usage error.
    int rc = app.exit(e);
    return rc == 0 ? dnswash::ctl::kExitOk : dnswash::ctl::kExitUsage;
  }
  return dnswash::ctl::exit_code();
}
