// Which names exist in a zone, as a resolver may legitimately ask for them: the zone shield
// (docs/detector.md) lets through only these. From the zone's records (owner name and type,
// as a zone transfer gives them): every owner name, every empty non-terminal between an owner
// and the apex, the apex, and OPEN names whose whole subtree exists: a delegation (NS below
// the apex: referrals for everything at and below it), a DNAME owner, and the parent of a
// wildcard (`*.x`: any name below x may be synthesised).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include "dns_name.h"

namespace dnswash::shield {

constexpr uint16_t kTypeNs = 2;
constexpr uint16_t kTypeSoa = 6;
constexpr uint16_t kTypeDname = 39;
constexpr uint16_t kTypeDnskey = 48;

// A name as the shield keys it: its labels root-first, each a length byte then its (case
// folded) bytes. The order the kernel hashes a name in (so a digest is one pass over it), and
// a parent's key is a prefix of its children's (so empty non-terminals are prefixes, not new
// label vectors). One string per name: a million-name zone is a million small strings, not
// four million (a DnsName is a vector of label strings).
std::string name_key(const DnsName &name);
DnsName name_of_key(const std::string &key);

struct NameEntry {
  std::string key;    // name_key()
  bool open = false;  // the name and every name below it exist
  DnsName name() const { return name_of_key(key); }
  bool operator==(const NameEntry &) const = default;
};

class ZoneNamesBuilder {
 public:
  explicit ZoneNamesBuilder(const DnsName &apex);
  // One record of the zone. Owners outside the zone are ignored (returns false).
  bool add(const DnsName &owner, uint16_t type);
  // The entries, sorted by key, one per name (open if any record made it open). Once: the
  // builder is empty afterwards.
  std::vector<NameEntry> finish();
  const DnsName &apex() const { return apex_; }

 private:
  void add_key(std::string key, bool open);
  DnsName apex_;
  std::string apex_key_;
  std::vector<NameEntry> raw_;
  // Empty non-terminals already added (with all their ancestors): a million owners under a
  // thousand parents walk up one step each, not to the apex.
  std::unordered_set<std::string> ents_;
};

// The union of two finish() results (sorted by key, one entry per name; open if either is):
// a zone's names with those an IXFR added.
std::vector<NameEntry> merge_names(const std::vector<NameEntry> &a,
                                   const std::vector<NameEntry> &b);

// True if `name` is at or below `zone` (label-wise, case already folded).
bool at_or_below(const DnsName &name, const DnsName &zone);

}  // namespace dnswash::shield
