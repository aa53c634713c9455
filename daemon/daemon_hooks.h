// What a daemon feature (the rolling detector, the dropped-name sampler, the metrics listener,
// ...) may plug into dnswashd, so each lives in its own file and the core loop and request
// dispatch in daemon.cc stay untouched when one is added:
//   - control requests by name (admin ones are refused to peers that are not root or the
//     daemon's uid before the handler runs);
//   - fds to poll for POLLIN (and POLLOUT on request), with what to do when one is ready;
//   - replies to control requests a handler deferred (ControlServer::deferred());
//   - periodic work (the loop wakes for the earliest due one);
//   - a section of the `status` reply.
// Features are created in Daemon::start() after the program is loaded and the zones are in
// place, and destroyed before the filter is detached.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "control_server.h"

namespace dnswash {
class DnswashSkel;
struct SyncStatus;
}  // namespace dnswash
namespace dnswash::nfqueue {
class SampleQueue;
}

namespace dnswash::daemon {

struct Options;

class DaemonHooks {
 public:
  using Command = std::function<nlohmann::json(const nlohmann::json &request, const Peer &peer)>;
  virtual ~DaemonHooks() = default;

  virtual void add_command(const std::string &name, bool admin, Command fn) = 0;
  // fd must stay open until remove_fd() or the feature's destruction (features are destroyed
  // before the loop's last round ends).
  virtual void add_fd(int fd, std::function<void()> on_readable) = 0;
  virtual void remove_fd(int fd) = 0;
  // Also wake for POLLOUT on fd (a reply that did not fit the socket), or stop doing so.
  virtual void watch_write(int fd, bool on) = 0;
  // The reply to a request whose handler returned ControlServer::deferred(); nothing happens
  // if the client has gone meanwhile.
  virtual void reply(uint64_t conn, const nlohmann::json &reply) = 0;
  // True when the maps were taken over from a previous dnswashd (they hold its bans).
  virtual bool maps_taken_over() const = 0;
  virtual void every(std::chrono::milliseconds period, std::function<void()> fn) = 0;
  virtual void add_status(const std::string &key, std::function<nlohmann::json()> fn) = 0;

  // The `status` reply as the control command returns it (every feature's section included).
  virtual nlohmann::json status() const = 0;

  virtual DnswashSkel &skel() = 0;
  virtual const Options &options() const = 0;
  // The zone sync's state (applies counts good syncs that changed the set; protected_addresses
  // are the never-ban servers named.conf names) and the served zones (presentation form), for
  // features that follow the zone set by polling `applies`.
  virtual const SyncStatus &sync_status() const = 0;
  virtual std::vector<std::string> zone_names() = 0;
  virtual int ifindex() const = 0;
  // NFQUEUE mode: the queue threads' drop samples (nfqueue/sampler.h); null in XDP modes.
  virtual nfqueue::SampleQueue *nfqueue_samples() = 0;
};

// Base of every feature: the daemon owns them and destroys them (newest first) before the
// filter is detached; a feature's destructor undoes what it registered outside the daemon.
class DaemonFeature {
 public:
  virtual ~DaemonFeature() = default;
};

}  // namespace dnswash::daemon
