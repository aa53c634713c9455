// How a dnswashctl command talks to the running filter: the --iface option (global, may be
// given before or after the command), resolving it to the one dnswashd of this network
// namespace, and one request/reply over the control socket (control/control_client.h).
// Failures are thrown as CtlError with one line for the operator; run() turns them into
// "dnswashctl: <line>" on stderr and exit code 1.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace dnswash::ctl {

struct CtlError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The value of the global -i/--iface option ("" = not given).
std::string &iface_option();

// The interface of the filter to talk to. Throws CtlError with the "not running" line (what to
// run to start one) when no dnswashd runs on it, or none at all in this namespace.
std::string resolve_iface();

// Sends `request` to the filter's daemon; returns the reply. Throws CtlError on a connection
// failure or a reply with "ok": false (its "error" as the message).
nlohmann::json request(const nlohmann::json &request);

// Runs a command body: exit code 0 if it returns, 1 (with its message on stderr) if it throws.
void run(const std::function<void()> &body);

}  // namespace dnswash::ctl
