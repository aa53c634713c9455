// What every dnswashctl command group shares. main.cc builds one CLI::App and calls each
// group's registerCommand(); a group adds its subcommands with callbacks that do the work and
// report their outcome through set_exit_code(). Adding a group: a new <group>_cmd.{h,cc} with
// registerCommand(CLI::App&), one line in main.cc, one source in CMakeLists.txt.
#pragma once

namespace dnswash::ctl {

// Exit codes of dnswashctl.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the command ran and failed; the reason is on stderr
inline constexpr int kExitUsage = 2;    // bad command line (CLI11 parse error)

void set_exit_code(int code);
int exit_code();

}  // namespace dnswash::ctl
