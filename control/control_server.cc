#include "control_server.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>

#include <spdlog/spdlog.h>

#include "control_client.h"
#include "error.h"

namespace dnswash::daemon {

namespace {
constexpr size_t kMaxRequest = 64 * 1024;  // a request is one short JSON line
constexpr int kAcceptsPerRound = 64;       // the rest wait for the next round
}  // namespace

ControlServer::ControlServer(const std::string &iface, Handler handler, ControlLimits limits)
    : name_("@" + control_socket_name(iface)),
      handler_(std::move(handler)),
      limits_(limits),
      euid_(geteuid()) {
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
  // A deep backlog: a burst of connections waits in the kernel for the next round, where the
  // limits sort them out, instead of blocking an admin's connect().
  if (listen(listen_.get(), 512) != 0) throw Error(errno_text("listen on " + name_, errno));
}

ControlServer::~ControlServer() = default;

bool ControlServer::has_line(const Client &c) const {
  return c.in.find('\n') != std::string::npos;
}

std::vector<pollfd> ControlServer::poll_fds() const {
  std::vector<pollfd> out{{listen_.get(), POLLIN, 0}};
  for (const auto &[id, c] : clients_) {
    short ev = 0;
    if (c.out_off < c.out.size())
      ev = POLLOUT;
    else if (!c.waiting && !has_line(c))
      ev = POLLIN;  // a client is read only when it has nothing else under way
    out.push_back({c.fd.get(), ev, 0});
  }
  return out;
}

int ControlServer::timeout_ms() const {
  if (clients_.empty()) return -1;
  auto now = Clock::now();
  auto first = Clock::time_point::max();
  for (const auto &[id, c] : clients_) {
    if (!c.waiting && c.out_off >= c.out.size() && has_line(c)) return 0;
    if (!c.waiting) first = std::min(first, c.deadline);
  }
  if (first == Clock::time_point::max()) return -1;
  if (first <= now) return 0;
  return int(std::chrono::ceil<std::chrono::milliseconds>(first - now).count());
}

void ControlServer::set_deadline(Client &c) {
  auto now = Clock::now();
  if (c.out_off < c.out.size())
    c.deadline = now + limits_.write;
  else if (!c.in.empty())
    c.deadline = c.since + limits_.request;
  else
    c.deadline = now + limits_.idle;
}

void ControlServer::on_ready(int fd, short revents) {
  if (fd == listen_.get()) {
    accept_all();
    return;
  }
  auto f = by_fd_.find(fd);
  if (f == by_fd_.end()) return;
  uint64_t id = f->second;
  Client &c = clients_.at(id);
  if (revents & POLLOUT) write_to(c);
  if (clients_.count(id) && (revents & (POLLIN | POLLHUP | POLLERR)) && c.fd.valid()) read_from(c);
  if (clients_.count(id) && !c.fd.valid()) drop(id);
}

void ControlServer::accept_all() {
  for (int i = 0; i < kAcceptsPerRound; ++i) {
    int fd = accept4(listen_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a client gone before we got to it
    admit(UniqueFd(fd));
  }
}

bool ControlServer::evict_one(uid_t uid, bool any_uid) {
  if (any_uid) {
    // The uid that holds the most connections gives one up.
    auto most = std::max_element(per_uid_.begin(), per_uid_.end(),
                                 [](const auto &a, const auto &b) { return a.second < b.second; });
    if (most == per_uid_.end() || most->second == 0) return false;
    uid = most->first;
  }
  for (auto &[id, c] : clients_) {
    if (c.admin || c.peer.uid != uid || c.waiting) continue;
    spdlog::debug("control: closing the oldest connection of uid {} (pid {}) for a new one", uid,
                  c.peer.pid);
    ++stats_.evicted;
    drop(id);
    return true;
  }
  return false;
}

void ControlServer::admit(UniqueFd fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return;
  const bool admin = cred.uid == 0 || cred.uid == euid_;
  if (admin) {
    if (admin_ >= limits_.admin_reserve &&
        admin_ + non_admin_ >= limits_.max_clients + limits_.admin_reserve) {
      ++stats_.refused;
      return;  // closes it: the client sees EOF
    }
  } else {
    size_t &mine = per_uid_[cred.uid];
    if (mine >= limits_.per_uid && !evict_one(cred.uid, false)) {
      ++stats_.refused;
      return;
    }
    if (non_admin_ >= limits_.max_clients && !evict_one(cred.uid, true)) {
      ++stats_.refused;
      return;
    }
  }
  uint64_t id = next_conn_++;
  Client &c = clients_[id];
  c.fd = std::move(fd);
  c.fdnum = c.fd.get();
  c.peer = Peer{cred.pid, cred.uid, id};
  c.admin = admin;
  c.since = Clock::now();
  set_deadline(c);
  by_fd_[c.fd.get()] = id;
  if (admin)
    ++admin_;
  else
    ++non_admin_, ++per_uid_[cred.uid];
  ++stats_.accepted;
}

void ControlServer::drop(uint64_t id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  Client &c = it->second;
  if (c.admin) {
    --admin_;
  } else {
    --non_admin_;
    if (--per_uid_[c.peer.uid] == 0) per_uid_.erase(c.peer.uid);
  }
  by_fd_.erase(c.fdnum);
  clients_.erase(it);
}

void ControlServer::read_from(Client &c) {
  char buf[16384];
  while (!has_line(c)) {
    ssize_t n = recv(c.fd.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      // The peer is gone (or shut its sending side): what it sent in full is still served.
      if (!has_line(c) || n < 0) c.fd.reset();
      return;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (c.in.empty()) c.since = Clock::now();
    c.in.append(buf, size_t(n));
    if (c.in.size() > kMaxRequest && c.in.find('\n') > kMaxRequest) {
      spdlog::warn("control: dropping client pid {} uid {}: request over {} bytes", c.peer.pid,
                   c.peer.uid, kMaxRequest);
      ++stats_.oversized;
      c.fd.reset();
      return;
    }
  }
  set_deadline(c);
}

void ControlServer::write_to(Client &c) {
  while (c.out_off < c.out.size()) {
    ssize_t n = send(c.fd.get(), c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;  // POLLOUT will tell
    if (n <= 0) {
      spdlog::debug("control: client pid {} went away", c.peer.pid);
      c.fd.reset();
      return;
    }
    c.out_off += size_t(n);
  }
  c.out.clear();
  c.out_off = 0;
  if (!c.in.empty()) c.since = Clock::now();  // the next pipelined request starts now
  set_deadline(c);
}

void ControlServer::send_reply(Client &c, const nlohmann::json &reply) {
  c.out = reply.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  c.out_off = 0;
  c.waiting = false;
  set_deadline(c);
  write_to(c);
}

void ControlServer::reply(uint64_t conn, const nlohmann::json &r) {
  auto it = clients_.find(conn);
  if (it == clients_.end() || !it->second.waiting) return;  // the client has gone
  send_reply(it->second, r);  // a client gone meanwhile is dropped by the next serve()
}

void ControlServer::serve_one(Client &c) {
  size_t nl = c.in.find('\n');
  std::string line = c.in.substr(0, nl);
  c.in.erase(0, nl + 1);
  if (line.empty() || line == "\r") {
    set_deadline(c);
    return;
  }
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
  if (reply.is_discarded()) {
    c.waiting = true;
    return;
  }
  send_reply(c, reply);
}

void ControlServer::serve() {
  expire();
  // One request per client per round, in connection order: a client that pipelines gets its
  // next answer only after everyone else waiting got one.
  std::vector<uint64_t> gone;
  for (auto &[id, c] : clients_) {
    if (c.fd.valid() && !c.waiting && c.out_off >= c.out.size() && has_line(c)) serve_one(c);
    if (!c.fd.valid()) gone.push_back(id);
  }
  for (uint64_t id : gone) drop(id);
}

void ControlServer::expire() {
  auto now = Clock::now();
  std::vector<uint64_t> late;
  for (auto &[id, c] : clients_)
    if (!c.waiting && c.deadline <= now) late.push_back(id);
  for (uint64_t id : late) {
    const Client &c = clients_.at(id);
    spdlog::debug("control: closing client pid {} uid {}: {}", c.peer.pid, c.peer.uid,
                  c.out_off < c.out.size() ? "it does not read its reply"
                  : c.in.empty()           ? "idle"
                                           : "request not finished in time");
    ++stats_.timed_out;
    drop(id);
  }
}

ControlStats ControlServer::stats() const {
  ControlStats s = stats_;
  s.clients = clients_.size();
  s.admins = admin_;
  return s;
}

}  // namespace dnswash::daemon
