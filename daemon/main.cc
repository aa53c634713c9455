// dnswashd: attaches the dnswash XDP filter to one interface and keeps its zone allowlist in
// sync with BIND's named.conf. See docs/dnswashd.md.
#include "daemon.h"
#include "logging.h"
#include "options.h"

int main(int argc, char **argv) {
  auto parsed = dnswash::daemon::parse_options(argc, argv);
  if (parsed.exit_now) return *parsed.exit_now;
  dnswash::daemon::setup_logging(parsed.opt.verbose);
  return dnswash::daemon::run_daemon(parsed.opt);
}
