// A running DNS server as a zone source: named's statistics channel, knotc, nsd-control. Each
// read returns the authoritative IN zones the server serves now (never the root), sorted and
// unique, or throws dnswash::Error when the read failed or came back incomplete: the sync
// then keeps what it had (docs/zone-sources.md).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dns_name.h"

namespace dnswash {

class RuntimeSource {
 public:
  virtual ~RuntimeSource() = default;
  // "named-stats", "knot", "nsd": the source's name in logs, status and `zones list --json`.
  virtual const std::string &name() const = 0;
  // Where it reads from (URL, socket, config), for the log line at start.
  virtual std::string where() const = 0;
  virtual std::vector<DnsName> read() = 0;
};

// Sorts, de-duplicates and drops the root: what every source returns.
void normalize_runtime_zones(std::vector<DnsName> &zones);

}  // namespace dnswash
