// What an operator needs when the kernel refuses a BPF program: which program, which kernel, and
// the verifier's last lines (libbpf reloads a refused program with the verifier log on and
// prints the log; LoadLogCapture keeps a copy of what libbpf prints while a load runs).
#pragma once

#include <string>

namespace dnswash {

// Collects libbpf's messages (warnings and info) while it lives, and still passes each one on
// to the print function that was set before (the daemon's log). One at a time; not nested.
class LoadLogCapture {
 public:
  LoadLogCapture();
  ~LoadLogCapture();
  LoadLogCapture(const LoadLogCapture &) = delete;
  LoadLogCapture &operator=(const LoadLogCapture &) = delete;
  const std::string &text() const;
};

// The running kernel's release (uname -r).
std::string kernel_release();

// "program P on kernel R: <err>; the verifier's last lines: ..." from libbpf's messages. P is the
// program libbpf names as failed (or `fallback`), the lines are the last `lines` of the
// verifier's log (or of libbpf's messages if it printed no log).
std::string load_failure_text(const std::string &libbpf_log, int err, const std::string &fallback,
                              size_t lines = 12);

}  // namespace dnswash
