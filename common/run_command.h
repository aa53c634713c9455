// Running a tool without a shell (the NFQUEUE fallback's nft and iptables, the daemon's
// checks): argv as given, stdin /dev/null, stdout and stderr captured together.
#pragma once

#include <string>
#include <vector>

namespace dnswash {

// The output of one command run without a shell.
struct CommandResult {
  int status = -1;     // exit status, -1 if it could not run or died by a signal
  std::string output;  // stdout and stderr together
};
// argv[0] is looked up in PATH, then /usr/sbin and /sbin; stdin is /dev/null.
CommandResult run_command(const std::vector<std::string> &argv);

// Finds a tool in PATH and then in the sbin directories a daemon started with a minimal PATH
// may lack; empty if it is nowhere.
std::string find_binary(const std::string &name);

}  // namespace dnswash
