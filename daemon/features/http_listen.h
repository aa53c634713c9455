// A minimal HTTP/1.0 server for GET /metrics (--metrics-listen), run by the daemon's poll loop:
// a non-blocking listener and clients registered with DaemonHooks::add_fd, one request per
// connection, answered and closed. Why not a library: Debian 12's libmicrohttpd and
// prometheus-cpp (civetweb) each bring their own threads or select loop, while this endpoint
// serves one small document a few times a minute from the loop that already owns the state;
// the whole server is ~150 lines with bounded memory and a 5 s deadline per client.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>

#include "daemon_hooks.h"
#include "unique_fd.h"

namespace dnswash::daemon {

// "" if `spec` is ADDR:PORT (IPv4) or [ADDR]:PORT (IPv6) with a numeric address and a port
// 1..65535, else what is wrong (the CLI11 validator convention).
std::string check_listen_address(const std::string &spec);
// The socket address of a valid spec; throws Error otherwise.
socklen_t parse_listen_address(const std::string &spec, sockaddr_storage &out);

class HttpListener {
 public:
  // body() is called per GET of `path`; its result is sent as text/plain (Prometheus 0.0.4).
  HttpListener(DaemonHooks &hooks, const std::string &spec, std::string path,
               std::function<std::string()> body);
  ~HttpListener();
  HttpListener(const HttpListener &) = delete;
  HttpListener &operator=(const HttpListener &) = delete;
  uint16_t port() const { return port_; }  // the bound port (useful with port 0 in tests)

 private:
  struct Client {
    UniqueFd fd;
    std::string in;
    std::chrono::steady_clock::time_point deadline;
  };
  void accept_all();
  void on_client(int fd);
  void drop(int fd);
  void expire();

  DaemonHooks &hooks_;
  UniqueFd listen_;
  uint16_t port_ = 0;
  std::string path_;
  std::function<std::string()> body_;
  std::map<int, Client> clients_;
};

}  // namespace dnswash::daemon
