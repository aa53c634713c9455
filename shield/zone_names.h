// Which names exist in a zone, as a resolver may legitimately ask for them: the zone shield
// (docs/detector.md) lets through only these. From the zone's records (owner name and type,
// as a zone transfer gives them): every owner name, every empty non-terminal between an owner
// and the apex, the apex, and OPEN names whose whole subtree exists: a delegation (NS below
// the apex: referrals for everything at and below it), a DNAME owner, and the parent of a
// wildcard (`*.x`: any name below x may be synthesised).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dns_name.h"

namespace dnswash::shield {

constexpr uint16_t kTypeNs = 2;
constexpr uint16_t kTypeSoa = 6;
constexpr uint16_t kTypeDname = 39;

struct NameEntry {
  DnsName name;
  bool open = false;  // the name and every name below it exist
  bool operator==(const NameEntry &) const = default;
};

class ZoneNamesBuilder {
 public:
  explicit ZoneNamesBuilder(DnsName apex);
  // One record of the zone. Owners outside the zone are ignored (returns false).
  bool add(const DnsName &owner, uint16_t type);
  // The entries, sorted by name, one per name (open if any record made it open). Once: the
  // builder is empty afterwards.
  std::vector<NameEntry> finish();
  const DnsName &apex() const { return apex_; }

 private:
  DnsName apex_;
  // name -> open; a sorted vector built at finish() would do too, but zones are edited by
  // UPDATE one name at a time and a map keeps add() cheap either way.
  std::vector<NameEntry> raw_;
};

// True if `name` is at or below `zone` (label-wise, case already folded).
bool at_or_below(const DnsName &name, const DnsName &zone);

}  // namespace dnswash::shield
