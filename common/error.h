// One exception type for the userspace side, carrying an operator-readable message.
#pragma once

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace dnswash {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Message for a failed libbpf/syscall call: "what: strerror(err)". libbpf returns -errno.
inline std::string errno_text(const std::string &what, int err) {
  if (err < 0) err = -err;
  return what + ": " + std::strerror(err);
}

}  // namespace dnswash
