// The daemon's control socket: an abstract unix stream socket "@dnswash/<iface>" (scoped to
// the network namespace, gone with the process, so it doubles as the single-instance lock).
// Protocol: one JSON object per line each way (docs/control-protocol.md).
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "unique_fd.h"

namespace dnswash::daemon {

struct Peer {
  pid_t pid = 0;
  uid_t uid = 0;
};

class ControlServer {
 public:
  using Handler = std::function<nlohmann::json(const nlohmann::json &request, const Peer &peer)>;

  // Binds and listens. Throws Error; when the name is taken, the message says another
  // dnswashd runs on this interface.
  ControlServer(const std::string &iface, Handler handler);
  ~ControlServer();
  ControlServer(const ControlServer &) = delete;
  ControlServer &operator=(const ControlServer &) = delete;

  // Every fd to poll for POLLIN (the listener and the clients), and what to do when one is
  // readable. The daemon's loop rebuilds its poll set from fds() each round.
  std::vector<int> fds() const;
  void on_readable(int fd);
  const std::string &name() const { return name_; }  // "@dnswash/<iface>"

 private:
  struct Client {
    UniqueFd fd;
    Peer peer;
    std::string in;
  };
  void accept_one();
  void serve(Client &c);
  UniqueFd listen_;
  std::string name_;
  Handler handler_;
  std::map<int, Client> clients_;
};

}  // namespace dnswash::daemon
