#include "sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace dnswash::daemon {

bool sd_notify(const std::string &state) {
  const char *path = getenv("NOTIFY_SOCKET");
  if (!path || !*path) return false;
  size_t plen = strlen(path);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if ((path[0] != '/' && path[0] != '@') || plen >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, path, plen);
  if (path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  socklen_t len = socklen_t(offsetof(sockaddr_un, sun_path) + plen);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ssize_t n = sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                     reinterpret_cast<sockaddr *>(&addr), len);
  close(fd);
  return n == ssize_t(state.size());
}

}  // namespace dnswash::daemon
