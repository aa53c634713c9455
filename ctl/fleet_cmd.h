// `dnswashctl fleet [--json]`: the fleet's state (docs/fleet.md): the NATS connection, each
// stream's last sequence and this node's lag, the peers heard from, messages applied and
// rejected, the outgoing queue.
#pragma once

#include <CLI/CLI.hpp>

namespace dnswash::ctl::fleet {
void registerCommand(CLI::App &app);
}
