#include "control_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <spdlog/spdlog.h>

#include "control_client.h"
#include "error.h"

namespace dnswash::daemon {

namespace {
constexpr size_t kMaxRequest = 64 * 1024;  // a request is one short JSON line
constexpr int kMaxClients = 64;
}  // namespace

ControlServer::ControlServer(const std::string &iface, Handler handler)
    : name_("@" + control_socket_name(iface)), handler_(std::move(handler)) {
  listen_.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!listen_.valid()) throw Error(errno_text("creating the control socket", errno));
  sockaddr_un addr{};
  socklen_t len = abstract_address(control_socket_name(iface), addr);
  if (bind(listen_.get(), reinterpret_cast<sockaddr *>(&addr), len) != 0) {
    if (errno == EADDRINUSE)
      throw Error("another dnswashd is already running on " + iface +
                  " in this network namespace (its control socket " + name_ +
                  " exists); stop it first, or use `dnswashctl status --iface " + iface + "`");
    throw Error(errno_text("binding the control socket " + name_, errno));
  }
  if (listen(listen_.get(), 16) != 0) throw Error(errno_text("listen on " + name_, errno));
}

ControlServer::~ControlServer() = default;

std::vector<int> ControlServer::fds() const {
  std::vector<int> out{listen_.get()};
  for (const auto &[fd, c] : clients_) out.push_back(fd);
  return out;
}

void ControlServer::on_readable(int fd) {
  if (fd == listen_.get()) {
    accept_one();
    return;
  }
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  char buf[4096];
  ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    clients_.erase(it);
    return;
  }
  if (n < 0) return;
  it->second.in.append(buf, size_t(n));
  serve(it->second);
  if (it->second.in.size() > kMaxRequest) {
    spdlog::warn("control: dropping client pid {}: request over {} bytes", it->second.peer.pid,
                 kMaxRequest);
    clients_.erase(it);
  } else if (!it->second.fd.valid()) {
    clients_.erase(it);
  }
}

void ControlServer::accept_one() {
  int fd = accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return;
  UniqueFd cfd(fd);
  if (clients_.size() >= size_t(kMaxClients)) return;  // closes it: the client sees EOF
  ucred cred{};
  socklen_t len = sizeof cred;
  getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
  // Replies are written with a blocking send and a timeout, so a reader that stalls cannot
  // stall the daemon for longer than that.
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  Client c;
  c.fd = std::move(cfd);
  c.peer = Peer{cred.pid, cred.uid};
  clients_.emplace(fd, std::move(c));
}

void ControlServer::serve(Client &c) {
  size_t nl;
  while (c.fd.valid() && (nl = c.in.find('\n')) != std::string::npos) {
    std::string line = c.in.substr(0, nl);
    c.in.erase(0, nl + 1);
    if (line.empty()) continue;
    nlohmann::json reply;
    try {
      nlohmann::json req = nlohmann::json::parse(line);
      if (!req.is_object() || !req.contains("cmd") || !req["cmd"].is_string())
        throw Error("a request is a JSON object with a string \"cmd\"");
      reply = handler_(req, c.peer);
    } catch (const nlohmann::json::exception &e) {
      reply = {{"ok", false}, {"error", std::string("bad request: ") + e.what()}};
    } catch (const std::exception &e) {
      reply = {{"ok", false}, {"error", e.what()}};
    }
    std::string out = reply.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    size_t off = 0;
    while (off < out.size()) {
      ssize_t n = send(c.fd.get(), out.data() + off, out.size() - off, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        spdlog::debug("control: client pid {} went away or stalled", c.peer.pid);
        c.fd.reset();
        break;
      }
      off += size_t(n);
    }
  }
}

}  // namespace dnswash::daemon
