// Logging for dnswashd: spdlog to stderr (journald adds time and unit under systemd), and
// libbpf's own messages (verifier log, the kernel's extack text) routed into the same log.
#pragma once

#include <string>

namespace dnswash::daemon {

// verbosity: 0 = info, 1 = debug (includes libbpf's debug output), 2+ = trace.
void setup_logging(int verbosity);

// While alive, records the kernel error messages (netlink extack) that libbpf reports, so an
// attach failure can quote them verbatim. One at a time; not thread-safe (the daemon attaches
// from its main thread only).
class KernelMessageCapture {
 public:
  KernelMessageCapture();
  ~KernelMessageCapture();
  KernelMessageCapture(const KernelMessageCapture &) = delete;
  KernelMessageCapture &operator=(const KernelMessageCapture &) = delete;
  // The last extack message libbpf printed since construction, or "".
  const std::string &text() const;
};

}  // namespace dnswash::daemon
