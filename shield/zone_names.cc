#include "zone_names.h"

#include <algorithm>

namespace dnswash::shield {

bool at_or_below(const DnsName &name, const DnsName &zone) {
  if (name.labels.size() < zone.labels.size()) return false;
  return std::equal(zone.labels.rbegin(), zone.labels.rend(), name.labels.rbegin());
}

ZoneNamesBuilder::ZoneNamesBuilder(DnsName apex) : apex_(std::move(apex)) {
  raw_.push_back({apex_, false});
}

bool ZoneNamesBuilder::add(const DnsName &owner, uint16_t type) {
  if (!at_or_below(owner, apex_)) return false;
  bool below_apex = owner.labels.size() > apex_.labels.size();
  bool open = (type == kTypeNs && below_apex) || type == kTypeDname;
  if (below_apex && owner.labels.front() == "*") {
    // A wildcard: the parent's whole subtree may be answered (kept open: over-approximating
    // only lets a query through, it never drops one that has an answer).
    DnsName parent = owner;
    parent.labels.erase(parent.labels.begin());
    raw_.push_back({parent, true});
  }
  // A transfer lists an owner's records together: one entry for the lot.
  if (raw_.size() > 1 && raw_.back().name == owner) {
    raw_.back().open = raw_.back().open || open;
    return true;
  }
  raw_.push_back({owner, open});
  // Empty non-terminals: every name between the owner and the apex exists.
  DnsName up = owner;
  while (up.labels.size() > apex_.labels.size() + 1) {
    up.labels.erase(up.labels.begin());
    raw_.push_back({up, false});
  }
  return true;
}

std::vector<NameEntry> ZoneNamesBuilder::finish() {
  // Sorted in place and moved out, not copied: a million-name zone has two to three million
  // raw entries (owners and empty non-terminals), each a vector of strings.
  std::vector<NameEntry> out = std::move(raw_);
  raw_.clear();
  std::sort(out.begin(), out.end(),
            [](const NameEntry &a, const NameEntry &b) { return a.name.labels < b.name.labels; });
  std::vector<NameEntry> merged;
  merged.reserve(out.size());
  for (auto &e : out) {
    if (!merged.empty() && merged.back().name == e.name) {
      merged.back().open = merged.back().open || e.open;
    } else {
      merged.push_back(std::move(e));
    }
  }
  return merged;
}

}  // namespace dnswash::shield
