// Talking to a running dnswashd over its control socket, the abstract unix socket
// "@dnswash/<iface>" (see docs/control-protocol.md). Abstract sockets belong to the network
// namespace, so this finds the daemon of the namespace it runs in, with no file system path
// involved (`ip netns exec` remounts /sys, but not the namespace's sockets).
#pragma once

#include <sys/un.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dnswash {

// "dnswash/<iface>": the abstract name, without the leading NUL (shown as "@dnswash/<iface>").
std::string control_socket_name(const std::string &iface);
// Fills addr with an abstract address for `name`; returns the address length to pass to
// bind/connect (abstract names are not NUL-terminated). Throws Error if too long.
socklen_t abstract_address(const std::string &name, sockaddr_un &addr);

// Interfaces that have a dnswashd in this network namespace, from /proc/net/unix. Sorted.
std::vector<std::string> list_filters();

// The interface to talk to: `iface` if not empty, else the single running filter. Throws
// Error naming the candidates when there are none or several.
std::string resolve_filter(const std::string &iface);

// Sends one request and returns the reply. Throws Error when no daemon listens on that
// interface, on a timeout, or on a reply that is not JSON. A reply with "ok": false is
// returned as is (the caller prints its "error").
nlohmann::json control_request(const std::string &iface, const nlohmann::json &request,
                               int timeout_ms = 5000);

}  // namespace dnswash
