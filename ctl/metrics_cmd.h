// `dnswashctl metrics [--json]`: the Prometheus text exposition the daemon serves on
// --metrics-listen, through the control socket.
#pragma once

#include <CLI/CLI.hpp>

namespace dnswash::ctl::metrics {
void registerCommand(CLI::App &app);
}
