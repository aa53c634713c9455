// `dnswashctl check NAME [--src IP] [--type TYPE] [--json]`: the verdict and reason the
// running filter would give a query, and the zone that allowed it. Changes nothing.
#pragma once

#include <CLI/CLI.hpp>

namespace dnswash::ctl::check {
void registerCommand(CLI::App &app);
}
