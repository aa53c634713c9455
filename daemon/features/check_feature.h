// The `check` control command (`dnswashctl check NAME [--src IP] [--type TYPE]`): the verdict
// the running filter would give a query, computed by the datapath's own verdict code
// (loader/verdict_user.h) on a crafted frame against the live maps. Nothing is sent and
// nothing is counted: no counter, no detector state changes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "daemon_hooks.h"

namespace dnswash::daemon {

// An untagged Ethernet frame carrying a UDP/53 query for the wire name `qname` (QTYPE qtype,
// class IN) from `src` (IPv4 or IPv6 text) to an unspecified destination. Throws Error on a
// bad address.
std::vector<uint8_t> build_query_frame(const std::string &src, const std::vector<uint8_t> &qname,
                                       uint16_t qtype);

// Does the `check` request: {"name","src","qtype"} -> the reply (see docs/control-protocol.md).
nlohmann::json check_query(const nlohmann::json &req, int zones_fd, int bans_fd, int config_fd);

class CheckFeature final : public DaemonFeature {
 public:
  explicit CheckFeature(DaemonHooks &hooks);
};

}  // namespace dnswash::daemon
