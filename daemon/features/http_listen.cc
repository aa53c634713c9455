#include "http_listen.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include <spdlog/spdlog.h>

#include "error.h"

namespace dnswash::daemon {

namespace {

constexpr size_t kMaxRequest = 8192;
// The kernel caps it at net.core.somaxconn (4096 by default since 5.4). A deep queue holds a
// scraper's connection while slowloris clients reconnect as fast as they are evicted; the
// queue is emptied every round (accept_all), so its depth costs no latency.
constexpr int kBacklog = 4096;

std::string source_of(const sockaddr_storage &a) {
  if (a.ss_family == AF_INET6) {
    const auto *s6 = reinterpret_cast<const sockaddr_in6 *>(&a);
    return std::string(reinterpret_cast<const char *>(&s6->sin6_addr), 16);
  }
  const auto *s4 = reinterpret_cast<const sockaddr_in *>(&a);
  return std::string(reinterpret_cast<const char *>(&s4->sin_addr), 4);
}

bool split(const std::string &spec, std::string &host, std::string &port, bool &v6) {
  if (!spec.empty() && spec[0] == '[') {
    auto close = spec.find("]:");
    if (close == std::string::npos) return false;
    host = spec.substr(1, close - 1);
    port = spec.substr(close + 2);
    v6 = true;
    return true;
  }
  auto colon = spec.rfind(':');
  if (colon == std::string::npos || spec.find(':') != colon) return false;
  host = spec.substr(0, colon);
  port = spec.substr(colon + 1);
  v6 = false;
  return true;
}

}  // namespace

std::string check_listen_address(const std::string &spec) {
  std::string host, port;
  bool v6 = false;
  if (!split(spec, host, port, v6))
    return "'" + spec + "' is not ADDR:PORT or [IPV6]:PORT (e.g. 127.0.0.1:9553)";
  unsigned p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || end != port.data() + port.size() || p > 65535 || port.empty())
    return "'" + port + "' in '" + spec + "' is not a port (0..65535)";
  uint8_t buf[16];
  if (inet_pton(v6 ? AF_INET6 : AF_INET, host.c_str(), buf) != 1)
    return "'" + host + "' in '" + spec + "' is not a numeric IPv" + (v6 ? "6" : "4") + " address";
  return "";
}

socklen_t parse_listen_address(const std::string &spec, sockaddr_storage &out) {
  std::string err = check_listen_address(spec);
  if (!err.empty()) throw Error("--metrics-listen: " + err);
  std::string host, port;
  bool v6 = false;
  split(spec, host, port, v6);
  out = {};
  const uint16_t p = uint16_t(std::stoul(port));
  if (v6) {
    auto *a = reinterpret_cast<sockaddr_in6 *>(&out);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(p);
    inet_pton(AF_INET6, host.c_str(), &a->sin6_addr);
    return sizeof *a;
  }
  auto *a = reinterpret_cast<sockaddr_in *>(&out);
  a->sin_family = AF_INET;
  a->sin_port = htons(p);
  inet_pton(AF_INET, host.c_str(), &a->sin_addr);
  return sizeof *a;
}

HttpListener::HttpListener(DaemonHooks &hooks, const std::string &spec, std::string path,
                           std::function<std::string()> body, HttpLimits limits)
    : hooks_(hooks), path_(std::move(path)), body_(std::move(body)), limits_(limits) {
  sockaddr_storage addr;
  socklen_t len = parse_listen_address(spec, addr);
  listen_.reset(socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!listen_.valid()) throw Error(errno_text("--metrics-listen " + spec + ": socket", errno));
  int one = 1;
  setsockopt(listen_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(listen_.get(), reinterpret_cast<sockaddr *>(&addr), len) != 0)
    throw Error(errno_text("--metrics-listen " + spec +
                               ": cannot bind (is the address on this "
                               "host and the port free?)",
                           errno));
  if (listen(listen_.get(), kBacklog) != 0)
    throw Error(errno_text("--metrics-listen " + spec + ": listen", errno));
  sockaddr_storage bound;
  socklen_t blen = sizeof bound;
  getsockname(listen_.get(), reinterpret_cast<sockaddr *>(&bound), &blen);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6 *>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in *>(&bound)->sin_port);
  hooks_.add_fd(listen_.get(), [this] { accept_all(); });
  hooks_.every(std::chrono::milliseconds(250), [this] { expire(); });
  spdlog::info("metrics: http://{}{}", spec, path_);
}

HttpListener::~HttpListener() {
  for (auto &[fd, c] : clients_) hooks_.remove_fd(fd);
  clients_.clear();
  hooks_.remove_fd(listen_.get());
}

void HttpListener::accept_all() {
  // Until the queue is empty: one accept per round (or a few) lets reconnecting slowloris
  // clients fill the queue, and a scraper's SYN is then dropped and retried a second later.
  // Each accepted connection past a limit evicts an older one. At most a queue's worth per
  // round, so a connection flood cannot keep the loop from its other work.
  for (int i = 0; i < kBacklog; ++i) {
    sockaddr_storage peer{};
    socklen_t plen = sizeof peer;
    int fd = accept4(listen_.get(), reinterpret_cast<sockaddr *>(&peer), &plen,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == ECONNABORTED || errno == EINTR) continue;  // a client gone before we got to it
      return;                                                 // EAGAIN: the queue is empty
    }
    UniqueFd cfd(fd);
    std::string src = source_of(peer);
    // A source at its limit gives up its oldest connection; a full server takes one from the
    // source that holds the most.
    auto ps = per_source_.find(src);
    if (ps != per_source_.end() && ps->second >= limits_.per_source && !evict_from(src)) continue;
    if (clients_.size() >= limits_.max_clients) {
      auto most =
          std::max_element(per_source_.begin(), per_source_.end(),
                           [](const auto &a, const auto &b) { return a.second < b.second; });
      if (most == per_source_.end() || !evict_from(std::string(most->first))) continue;
    }
    Client &c = clients_[fd];
    c.fd = std::move(cfd);
    c.id = next_id_++;
    c.source = src;
    c.deadline = std::chrono::steady_clock::now() + limits_.request;
    ++per_source_[src];
    hooks_.add_fd(fd, [this, fd] { on_client(fd); });
  }
}

bool HttpListener::evict_from(const std::string &source) {
  // The oldest that has not sent its request yet; one being answered only if none has.
  const Client *oldest = nullptr;
  for (const auto &[fd, c] : clients_) {
    if (c.source != source) continue;
    bool better = !oldest || (c.out.empty() && !oldest->out.empty()) ||
                  (c.out.empty() == oldest->out.empty() && c.id < oldest->id);
    if (better) oldest = &c;
  }
  if (!oldest) return false;
  ++stats_.evicted;
  drop(oldest->fd.get());
  return true;
}

void HttpListener::drop(int fd) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  auto ps = per_source_.find(it->second.source);
  if (ps != per_source_.end() && --ps->second == 0) per_source_.erase(ps);
  hooks_.remove_fd(fd);
  clients_.erase(it);
}

void HttpListener::expire() {
  auto now = std::chrono::steady_clock::now();
  std::vector<int> old;
  for (auto &[fd, c] : clients_)
    if (c.deadline < now) old.push_back(fd);
  stats_.timed_out += old.size();
  for (int fd : old) drop(fd);
}

void HttpListener::on_client(int fd) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  Client &c = it->second;
  if (c.out_off < c.out.size()) return write_to(c);
  if (!c.out.empty()) return drop(fd);
  char buf[2048];
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return drop(fd);
  if (n > 0) c.in.append(buf, size_t(n));
  if (c.in.size() > kMaxRequest) {
    ++stats_.oversized;
    return drop(fd);
  }
  // The request line is all we need; wait for the end of the header block.
  if (c.in.find("\r\n\r\n") == std::string::npos && c.in.find("\n\n") == std::string::npos) return;
  respond(c);
}

void HttpListener::respond(Client &c) {
  std::string line = c.in.substr(0, c.in.find_first_of("\r\n"));
  std::string status = "200 OK", type = "text/plain; version=0.0.4; charset=utf-8", body;
  const bool head = line.rfind("HEAD ", 0) == 0;
  if (line.rfind("GET ", 0) != 0 && !head) {
    status = "405 Method Not Allowed";
    type = "text/plain";
    body = "GET " + path_ + " only\n";
  } else {
    std::string target = line.substr(line.find(' ') + 1);
    target = target.substr(0, target.find(' '));
    if (target != path_ && target.rfind(path_ + "?", 0) != 0) {
      status = "404 Not Found";
      type = "text/plain";
      body = "not found: try " + path_ + "\n";
    } else {
      body = body_();
    }
  }
  c.out = "HTTP/1.0 " + status + "\r\nContent-Type: " + type +
          "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
          (head ? "" : body);
  c.out_off = 0;
  c.in.clear();
  c.deadline = std::chrono::steady_clock::now() + limits_.write;
  ++stats_.served;
  write_to(c);
}

void HttpListener::write_to(Client &c) {
  const int fd = c.fd.get();
  while (c.out_off < c.out.size()) {
    ssize_t n =
        send(fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      hooks_.watch_write(fd, true);  // the rest when the client reads
      return;
    }
    if (n <= 0) return drop(fd);
    c.out_off += size_t(n);
  }
  drop(fd);  // HTTP/1.0, Connection: close
}

}  // namespace dnswash::daemon
