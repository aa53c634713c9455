#include "zone_names.h"

#include <algorithm>

namespace dnswash::shield {

std::string name_key(const DnsName &name) {
  std::string k;
  k.reserve(name.wire_length());
  for (auto it = name.labels.rbegin(); it != name.labels.rend(); ++it) {
    k.push_back(char(uint8_t(it->size())));
    k += *it;
  }
  return k;
}

DnsName name_of_key(const std::string &key) {
  DnsName n;
  for (size_t p = 0; p < key.size();) {
    size_t len = uint8_t(key[p]);
    n.labels.insert(n.labels.begin(), key.substr(p + 1, len));
    p += 1 + len;
  }
  return n;
}

bool at_or_below(const DnsName &name, const DnsName &zone) {
  if (name.labels.size() < zone.labels.size()) return false;
  return std::equal(zone.labels.rbegin(), zone.labels.rend(), name.labels.rbegin());
}

ZoneNamesBuilder::ZoneNamesBuilder(const DnsName &apex) : apex_(apex), apex_key_(name_key(apex)) {
  raw_.push_back({apex_key_, false});
}

void ZoneNamesBuilder::add_key(std::string key, bool open) {
  // A transfer lists an owner's records together: one entry for the lot.
  if (raw_.size() > 1 && raw_.back().key == key) {
    raw_.back().open = raw_.back().open || open;
    return;
  }
  // Empty non-terminals: every name between the owner and the apex exists. Their keys are the
  // owner's key cut at each label boundary below the apex.
  std::vector<size_t> cuts;
  for (size_t p = apex_key_.size(); p < key.size(); p += 1 + uint8_t(key[p]))
    if (p > apex_key_.size()) cuts.push_back(p);
  for (auto it = cuts.rbegin(); it != cuts.rend(); ++it) {
    auto [pos, fresh] = ents_.insert(key.substr(0, *it));
    if (!fresh) break;  // it and everything above it are in already
    raw_.push_back({*pos, false});
  }
  raw_.push_back({std::move(key), open});
}

bool ZoneNamesBuilder::add(const DnsName &owner, uint16_t type) {
  if (!at_or_below(owner, apex_)) return false;
  bool below_apex = owner.labels.size() > apex_.labels.size();
  bool open = (type == kTypeNs && below_apex) || type == kTypeDname;
  std::string key = name_key(owner);
  if (below_apex && owner.labels.front() == "*") {
    // A wildcard: the parent's whole subtree may be answered (kept open: over-approximating
    // only lets a query through, it never drops one that has an answer).
    raw_.push_back({key.substr(0, key.size() - 2), true});
  }
  add_key(std::move(key), open);
  return true;
}

std::vector<NameEntry> merge_names(const std::vector<NameEntry> &a,
                                   const std::vector<NameEntry> &b) {
  std::vector<NameEntry> out;
  out.reserve(a.size() + b.size());
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && a[i].key < b[j].key)) {
      out.push_back(a[i++]);
    } else if (i == a.size() || b[j].key < a[i].key) {
      out.push_back(b[j++]);
    } else {
      out.push_back({a[i].key, a[i].open || b[j].open});
      ++i;
      ++j;
    }
  }
  return out;
}

std::vector<NameEntry> ZoneNamesBuilder::finish() {
  std::vector<NameEntry> out = std::move(raw_);
  raw_.clear();
  ents_.clear();
  std::sort(out.begin(), out.end(),
            [](const NameEntry &a, const NameEntry &b) { return a.key < b.key; });
  // Merged in place: equal keys are adjacent.
  size_t w = 0;
  for (size_t r = 0; r < out.size(); ++r) {
    if (w > 0 && out[w - 1].key == out[r].key) {
      out[w - 1].open = out[w - 1].open || out[r].open;
    } else {
      if (w != r) out[w] = std::move(out[r]);
      ++w;
    }
  }
  out.resize(w);
  return out;
}

}  // namespace dnswash::shield
