// `dnswashctl top names|sources [--n N] [--since DURATION] [--json]`: the most-dropped names
// and sources, from the daemon's sampled drop events.
#pragma once

#include <CLI/CLI.hpp>

namespace dnswash::ctl::top {
void registerCommand(CLI::App &app);
}
