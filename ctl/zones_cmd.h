// `dnswashctl zones ...`: what the named.conf reader makes of the configuration.
#pragma once

#include <CLI/CLI.hpp>

namespace dnswash::ctl::zones {

void registerCommand(CLI::App &app);

}  // namespace dnswash::ctl::zones
