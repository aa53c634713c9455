#include "named_conf.h"

#include <algorithm>

namespace dnswash::zones {

std::string Location::to_text() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

ParseError::ParseError(Location where, const std::string &message)
    : std::runtime_error(where.to_text() + ": " + message),
      where_(std::move(where)),
      message_(message) {}

std::vector<DnsName> allowlist(const ParseResult &result) {
  std::vector<DnsName> names;
  for (const auto &z : result.zones)
    if (z.allowed) names.push_back(z.name);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

}  // namespace dnswash::zones
