// The daemon's control socket: an abstract unix stream socket "@dnswash/<iface>" (scoped to
// the network namespace, gone with the process, so it doubles as the single-instance lock).
// Protocol: one JSON object per line each way (docs/control-protocol.md).
//
// No client can hold the daemon's loop or lock others out (docs/control-protocol.md,
// "Limits"): sockets are non-blocking and each client has its own output buffer; a client is
// served one request per round, and not again before its reply has left; connections have
// idle, request and write deadlines; each uid that is not an admin (root or the daemon's uid)
// has a connection limit, all of them together another, and admins have a reserve of their
// own beyond it. A uid at its limit (or all of them at theirs) loses its oldest connection to
// the new one, so the newest client always gets in.
#pragma once

#include <poll.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "unique_fd.h"

namespace dnswash::daemon {

struct Peer {
  pid_t pid = 0;
  uid_t uid = 0;
  uint64_t conn = 0;  // this connection, for ControlServer::reply()
};

struct ControlLimits {
  size_t max_clients = 64;    // connections of peers that are not admins, all uids together
  size_t per_uid = 8;         // connections of one uid that is not an admin
  size_t admin_reserve = 16;  // connections for admins beyond max_clients
  std::chrono::milliseconds idle{30000};    // connected, no request under way
  std::chrono::milliseconds request{5000};  // from a request's first byte to its newline
  std::chrono::milliseconds write{5000};    // a reply that the client does not read
};

struct ControlStats {
  size_t clients = 0, admins = 0;
  uint64_t accepted = 0, evicted = 0, refused = 0, timed_out = 0, oversized = 0;
};

class ControlServer {
 public:
  // A handler's reply; a handler that answers later (a ban waiting for the disk) returns
  // deferred() and passes the reply to reply(peer.conn, ...) when it has it. The client gets
  // nothing else meanwhile (its next request waits).
  using Handler = std::function<nlohmann::json(const nlohmann::json &request, const Peer &peer)>;
  static nlohmann::json deferred() { return nlohmann::json(nlohmann::json::value_t::discarded); }

  // Binds and listens. Throws Error; when the name is taken, the message says another
  // dnswashd runs on this interface.
  ControlServer(const std::string &iface, Handler handler, ControlLimits limits = {});
  ~ControlServer();
  ControlServer(const ControlServer &) = delete;
  ControlServer &operator=(const ControlServer &) = delete;

  // The loop's part: poll the fds with the events given, pass each result to on_ready(),
  // then call serve(). A poll timeout no longer than timeout_ms() keeps the deadlines (0 when
  // requests are waiting to be served).
  std::vector<pollfd> poll_fds() const;
  void on_ready(int fd, short revents);
  void serve();
  int timeout_ms() const;

  void reply(uint64_t conn, const nlohmann::json &reply);
  const std::string &name() const { return name_; }  // "@dnswash/<iface>"
  ControlStats stats() const;
  const ControlLimits &limits() const { return limits_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Client {
    UniqueFd fd;
    int fdnum = -1;  // fd's number, also after fd is closed
    Peer peer;
    bool admin = false;
    std::string in, out;
    size_t out_off = 0;
    bool waiting = false;  // a deferred reply is due
    Clock::time_point since, deadline;
  };
  void accept_all();
  void admit(UniqueFd fd);
  void read_from(Client &c);
  void write_to(Client &c);
  void serve_one(Client &c);
  void send_reply(Client &c, const nlohmann::json &reply);
  void set_deadline(Client &c);
  bool has_line(const Client &c) const;
  void drop(uint64_t conn);
  void expire();
  bool evict_one(uid_t uid, bool any_uid);

  UniqueFd listen_;
  std::string name_;
  Handler handler_;
  ControlLimits limits_;
  uid_t euid_;
  uint64_t next_conn_ = 1;
  std::map<uint64_t, Client> clients_;  // by connection number: oldest first
  std::map<int, uint64_t> by_fd_;
  std::map<uid_t, size_t> per_uid_;
  size_t non_admin_ = 0, admin_ = 0;
  ControlStats stats_;
};

}  // namespace dnswash::daemon
