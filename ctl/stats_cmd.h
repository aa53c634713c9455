// `dnswashctl stats [--watch SECS] [--count N] [--json]`: packets per verdict reason (summed
// over CPUs), mode, dry-run, zones, bans, sync errors, detector caps hit.
#pragma once

#include <CLI/CLI.hpp>

namespace dnswash::ctl::stats {
void registerCommand(CLI::App &app);
}
