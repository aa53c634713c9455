// dnswashd's life: checks, single-instance lock, load (or take over), first zone sync,
// attach, the poll loop (signals, control socket, zone sync) and the stop.
#pragma once

#include "options.h"

namespace dnswash::daemon {

// Exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;      // could not start, or failed while running
inline constexpr int kExitUsage = 2;      // bad command line or config file
inline constexpr int kExitHandover = 75;  // SIGUSR2: left the filter attached for a successor

int run_daemon(const Options &opt);

}  // namespace dnswash::daemon
