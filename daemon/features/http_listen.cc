#include "http_listen.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>

#include <spdlog/spdlog.h>

#include "error.h"

namespace dnswash::daemon {

namespace {

constexpr size_t kMaxRequest = 8192;
constexpr auto kClientTimeout = std::chrono::seconds(5);
constexpr size_t kMaxClients = 64;

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
                           std::function<std::string()> body)
    : hooks_(hooks), path_(std::move(path)), body_(std::move(body)) {
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
  if (listen(listen_.get(), 16) != 0)
    throw Error(errno_text("--metrics-listen " + spec + ": listen", errno));
  sockaddr_storage bound;
  socklen_t blen = sizeof bound;
  getsockname(listen_.get(), reinterpret_cast<sockaddr *>(&bound), &blen);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6 *>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in *>(&bound)->sin_port);
  hooks_.add_fd(listen_.get(), [this] { accept_all(); });
  hooks_.every(std::chrono::seconds(1), [this] { expire(); });
  spdlog::info("metrics: http://{}{}", spec, path_);
}

HttpListener::~HttpListener() {
  for (auto &[fd, c] : clients_) hooks_.remove_fd(fd);
  clients_.clear();
  hooks_.remove_fd(listen_.get());
}

void HttpListener::accept_all() {
  while (true) {
    int fd = accept4(listen_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a client gone before we got to it
    if (clients_.size() >= kMaxClients) {
      close(fd);  // overload: the scraper retries
      continue;
    }
    clients_[fd] = Client{UniqueFd(fd), {}, std::chrono::steady_clock::now() + kClientTimeout};
    hooks_.add_fd(fd, [this, fd] { on_client(fd); });
  }
}

void HttpListener::drop(int fd) {
  hooks_.remove_fd(fd);
  clients_.erase(fd);
}

void HttpListener::expire() {
  auto now = std::chrono::steady_clock::now();
  std::vector<int> old;
  for (auto &[fd, c] : clients_)
    if (c.deadline < now) old.push_back(fd);
  for (int fd : old) drop(fd);
}

void HttpListener::on_client(int fd) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  Client &c = it->second;
  char buf[2048];
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return drop(fd);
  if (n > 0) c.in.append(buf, size_t(n));
  if (c.in.size() > kMaxRequest) return drop(fd);
  // The request line is all we need; wait for the end of the header block.
  if (c.in.find("\r\n\r\n") == std::string::npos && c.in.find("\n\n") == std::string::npos) return;
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
  std::string resp = "HTTP/1.0 " + status + "\r\nContent-Type: " + type +
                     "\r\nContent-Length: " + std::to_string(body.size()) +
                     "\r\nConnection: close\r\n\r\n" + (head ? "" : body);
  // The document is a few KiB and the socket buffer empty: one non-blocking send suffices; a
  // short write (a client that reads nothing) just ends the connection.
  if (send(fd, resp.data(), resp.size(), MSG_NOSIGNAL | MSG_DONTWAIT) != ssize_t(resp.size()))
    spdlog::debug("metrics: short write to a client");
  drop(fd);
}

}  // namespace dnswash::daemon
