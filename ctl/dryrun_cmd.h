// `dnswashctl dry-run on|off [--json]`: flips enforcement at run time (not persisted).
#pragma once

#include <CLI/CLI.hpp>

namespace dnswash::ctl::dryrun {
void registerCommand(CLI::App &app);
}
