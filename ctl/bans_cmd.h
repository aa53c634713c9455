// `dnswashctl bans list|add|del|flush`: the ban list of a running dnswashd (operator bans and
// the rolling-subdomain detector's), over the control socket (docs/control-protocol.md).
#pragma once

#include <CLI/CLI.hpp>

namespace dnswash::ctl::bans {

void registerCommand(CLI::App &app);

}  // namespace dnswash::ctl::bans
