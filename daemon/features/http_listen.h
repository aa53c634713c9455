// A minimal HTTP/1.0 server for GET /metrics (--metrics-listen), run by the daemon's poll loop:
// a non-blocking listener and clients registered with DaemonHooks::add_fd, one request per
// connection, answered and closed. Why not a library: Debian 12's libmicrohttpd and
// prometheus-cpp (civetweb) each bring their own threads or select loop, while this endpoint
// serves one small document a few times a minute from the loop that already owns the state;
// the whole server is ~250 lines with bounded memory.
//
// No client can keep a scraper out (docs/dnswashd.md, "Limits"): each source address has a
// connection limit and all together another; a source at its limit, or a full server, gives
// up its oldest connection to the new one (so slow or idle connections, slowloris, lose to a
// scraper that sends its request at once); a request must arrive within a deadline, and a
// response that is not read is dropped after another; responses are written without blocking,
// from a per-client buffer, so no client holds the daemon's loop.
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

struct HttpLimits {
  size_t max_clients = 64;
  size_t per_source = 8;
  std::chrono::milliseconds request{3000};  // from accept to the end of the request's headers
  std::chrono::milliseconds write{5000};    // for the response to be read
};

struct HttpStats {
  size_t clients = 0;
  uint64_t served = 0, evicted = 0, timed_out = 0, oversized = 0;
};

class HttpListener {
 public:
  // body() is called per GET of `path`; its result is sent as text/plain (Prometheus 0.0.4).
  HttpListener(DaemonHooks &hooks, const std::string &spec, std::string path,
               std::function<std::string()> body, HttpLimits limits = {});
  ~HttpListener();
  HttpListener(const HttpListener &) = delete;
  HttpListener &operator=(const HttpListener &) = delete;
  uint16_t port() const { return port_; }  // the bound port (useful with port 0 in tests)
  HttpStats stats() const {
    HttpStats s = stats_;
    s.clients = clients_.size();
    return s;
  }
  const HttpLimits &limits() const { return limits_; }

 private:
  struct Client {
    UniqueFd fd;
    uint64_t id = 0;     // accept order: the oldest goes first when a slot is needed
    std::string source;  // the peer's address bytes
    std::string in, out;
    size_t out_off = 0;
    std::chrono::steady_clock::time_point deadline;
  };
  void accept_all();
  bool evict_from(const std::string &source);
  void on_client(int fd);
  void respond(Client &c);
  void write_to(Client &c);
  void drop(int fd);
  void expire();

  DaemonHooks &hooks_;
  UniqueFd listen_;
  uint16_t port_ = 0;
  std::string path_;
  std::function<std::string()> body_;
  HttpLimits limits_;
  HttpStats stats_;
  uint64_t next_id_ = 1;
  std::map<int, Client> clients_;
  std::map<std::string, size_t> per_source_;
};

}  // namespace dnswash::daemon
