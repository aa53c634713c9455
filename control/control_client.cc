#include "control_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include "error.h"

namespace dnswash {

namespace {
constexpr const char *kPrefix = "dnswash/";
}

std::string control_socket_name(const std::string &iface) {
  return kPrefix + iface;
}

socklen_t abstract_address(const std::string &name, sockaddr_un &addr) {
  addr = {};
  addr.sun_family = AF_UNIX;
  if (name.size() + 1 > sizeof addr.sun_path) throw Error("control socket name too long: @" + name);
  addr.sun_path[0] = '\0';
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  return socklen_t(offsetof(sockaddr_un, sun_path) + 1 + name.size());
}

std::vector<std::string> list_filters() {
  // /proc/net/unix: "Num RefCount Protocol Flags Type St Inode Path"; abstract names are shown
  // with a leading '@'. A listening socket has the __SO_ACCEPTCON flag (0x10000) set.
  std::ifstream in("/proc/net/unix");
  if (!in) throw Error(errno_text("reading /proc/net/unix", errno));
  std::vector<std::string> out;
  std::string line;
  std::getline(in, line);  // header
  const std::string want = std::string("@") + kPrefix;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string num, ref, proto, flags, type, st, inode, path;
    if (!(f >> num >> ref >> proto >> flags >> type >> st >> inode >> path)) continue;
    if (path.rfind(want, 0) != 0) continue;
    if ((std::stoul(flags, nullptr, 16) & 0x10000) == 0) continue;
    out.push_back(path.substr(want.size()));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string resolve_filter(const std::string &iface) {
  if (!iface.empty()) return iface;
  auto all = list_filters();
  if (all.size() == 1) return all[0];
  if (all.empty())
    throw Error(
        "no dnswashd runs in this network namespace (no @dnswash/* control socket); "
        "start one, or run this inside the daemon's namespace (ip netns exec NS ...)");
  std::string names;
  for (const auto &n : all) names += (names.empty() ? "" : ", ") + n;
  throw Error("several dnswashd run in this network namespace (" + names +
              "): choose one with --iface");
}

nlohmann::json control_request(const std::string &iface, const nlohmann::json &request,
                               int timeout_ms) {
  const std::string name = control_socket_name(iface);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw Error(errno_text("socket", errno));
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  sockaddr_un addr;
  socklen_t len = abstract_address(name, addr);
  if (connect(fd, reinterpret_cast<sockaddr *>(&addr), len) != 0) {
    if (errno == ECONNREFUSED || errno == ENOENT)
      throw Error("no dnswashd on " + iface + " in this network namespace (nothing listens on @" +
                  name + ")");
    throw Error(errno_text("connecting to @" + name, errno));
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto remaining = [&] {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    return int(std::max<long>(0, left));
  };
  std::string out = request.dump() + "\n";
  size_t off = 0;
  while (off < out.size()) {
    pollfd p{fd, POLLOUT, 0};
    if (poll(&p, 1, remaining()) <= 0) throw Error("timed out sending to @" + name);
    ssize_t n = send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) throw Error(errno_text("sending to @" + name, errno));
    off += size_t(n);
  }
  std::string in;
  char buf[65536];
  while (in.find('\n') == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, remaining());
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) throw Error("timed out waiting for dnswashd on " + iface);
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) throw Error(errno_text("reading from @" + name, errno));
    if (n == 0) throw Error("dnswashd on " + iface + " closed the connection without a reply");
    in.append(buf, size_t(n));
  }
  try {
    return nlohmann::json::parse(in.substr(0, in.find('\n')));
  } catch (const nlohmann::json::exception &e) {
    throw Error(std::string("dnswashd sent a reply that is not JSON: ") + e.what());
  }
}

}  // namespace dnswash
