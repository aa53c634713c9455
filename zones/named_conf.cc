#include "named_conf.h"

#include <algorithm>

#include "name_order.h"

namespace dnswash::zones {

std::string Location::to_text() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

ParseError::ParseError(Location where, const std::string &message)
    : std::runtime_error(where.to_text() + ": " + message),
      where_(std::move(where)),
      message_(message) {}

std::vector<DnsName> allowlist(const ParseResult &result) {
  if (result.zones.empty()) return result.allowed;  // parsed without zone_details
  // Sort (order key, index) pairs, not the names: see name_order.h.
  std::vector<std::pair<uint64_t, const DnsName *>> items;
  for (const auto &z : result.zones)
    if (z.allowed)
      items.emplace_back(z.name.is_root() ? 0 : label_order_key(z.name.labels[0]), &z.name);
  std::sort(items.begin(), items.end(), [](const auto &a, const auto &b) {
    return a.first != b.first ? a.first < b.first : *a.second < *b.second;
  });
  std::vector<DnsName> names;
  names.reserve(items.size());
  for (const auto &[key, name] : items)
    if (names.empty() || names.back() != *name) names.push_back(*name);
  return names;
}

}  // namespace dnswash::zones
