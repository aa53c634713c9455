#include "client.h"

#include <algorithm>
#include <iostream>

#include "command.h"
#include "control_client.h"
#include "error.h"

namespace dnswash::ctl {

std::string &iface_option() {
  static std::string iface;
  return iface;
}

namespace {
std::string start_hint(const std::string &iface) {
  return "start it with `systemctl start dnswashd` (iface = \"" + iface +
         "\" in /etc/dnswash/dnswashd.conf) or `dnswashd --iface " + iface + "`";
}
}  // namespace

std::string resolve_iface() {
  std::vector<std::string> running;
  try {
    running = list_filters();
  } catch (const Error &e) {
    throw CtlError(e.what());
  }
  const std::string &want = iface_option();
  if (!want.empty()) {
    if (std::find(running.begin(), running.end(), want) == running.end())
      throw CtlError("no dnswash filter is running on " + want + " in this network namespace; " +
                     start_hint(want));
    return want;
  }
  if (running.size() == 1) return running[0];
  if (running.empty())
    throw CtlError(
        "no dnswash filter is running in this network namespace; " + start_hint("IFACE") +
        ", or run dnswashctl in the filter's namespace (ip netns exec NS dnswashctl ...)");
  std::string names;
  for (const auto &n : running) names += (names.empty() ? "" : ", ") + n;
  throw CtlError("dnswash filters run on several interfaces here (" + names +
                 "): choose one with --iface");
}

nlohmann::json request(const nlohmann::json &req) {
  const std::string iface = resolve_iface();
  nlohmann::json reply;
  try {
    reply = control_request(iface, req);
  } catch (const Error &e) {
    throw CtlError(e.what());
  }
  if (!reply.value("ok", false))
    throw CtlError(reply.value("error", std::string("dnswashd refused the request")));
  reply["iface"] = iface;
  return reply;
}

void run(const std::function<void()> &body) {
  try {
    body();
    set_exit_code(kExitOk);
  } catch (const std::exception &e) {
    std::cout.flush();
    std::cerr << "dnswashctl: " << e.what() << "\n";
    set_exit_code(kExitFailure);
  }
}

}  // namespace dnswash::ctl
