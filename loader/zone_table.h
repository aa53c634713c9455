// The kernel's zone set: tags of keyed hashes of the served zone names in a bucketized array
// map (struct dw_zone_hdr + struct dw_zone_bucket, see bpf/dnswash_abi.h) that sits in the one
// slot of dw_zones (an array of maps). ZoneTable keeps a mirror of the live set and changes it
// in place as a diff, or rebuilds it off to the side and swaps it in when it must grow or
// shrink.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dns_name.h"
#include "dnswash_abi.h"

namespace dnswash {

// SipHash-1-3 of a zone's root-first label encoding (bpf/dw_siphash.h), computed by the same
// code the datapath runs. The map stores dw_zone_tag() of it.
uint64_t zone_digest(const dw_hash_key &key, const DnsName &zone);

struct DepthSummary {
  uint32_t max_depth = 0;
  uint64_t mask = 0;
};
DepthSummary depth_summary(const std::vector<DnsName> &zones);

// Buckets for n zones: a power of two near n/2 (two zones per 7-slot bucket on average, so an
// overflow into the secondary bucket is rare), at least 8. 64 bytes per bucket: at most
// 64 bytes of kernel memory per zone right after a (re)build, 128 before the table shrinks.
uint32_t zone_buckets_for(size_t n);

// Every map operation the table performs goes through this, so a test can record the exact
// sequence and check what a packet would see after each single operation.
class ZoneMapOps {
 public:
  virtual ~ZoneMapOps() = default;
  // A new set of `elements` zeroed elements, not yet live. Returns a handle.
  virtual int create(uint32_t elements) = 0;
  // One element update (what a packet may observe between two calls).
  virtual void write(int set, uint32_t idx, const dw_zone_bucket &b) = 0;
  // Fills a new, not yet live set in one go (elements 0..n-1).
  virtual void fill(int set, const std::vector<dw_zone_bucket> &elems) = 0;
  // Makes `set` the live set (one update of dw_zones' slot).
  virtual void install(int set) = 0;
  virtual void release(int set) = 0;
  // The live set's elements, if a set is installed (a restarted daemon takes it over); returns
  // its handle, or -1 if none is live.
  virtual int open_live(std::vector<dw_zone_bucket> *elems) = 0;
};

// The kernel implementation over dw_zones' fd.
std::unique_ptr<ZoneMapOps> kernel_zone_ops(int zones_outer_fd);

// The SipHash key of the zone set live in the kernel (its header holds it; a taken-over set
// keeps its own), for the detector and the shield, which hash names with it; none if no valid
// set is installed.
std::optional<dw_hash_key> live_zone_key(int zones_outer_fd);

class ZoneTable {
 public:
  // Takes over the live set if one is installed (its zones and its key stay until the first
  // apply(); the key then stays for good). `key` is for a set built from scratch.
  ZoneTable(int zones_outer_fd, const dw_hash_key &key);
  ZoneTable(std::unique_ptr<ZoneMapOps> ops, const dw_hash_key &key);
  ~ZoneTable();
  ZoneTable(const ZoneTable &) = delete;
  ZoneTable &operator=(const ZoneTable &) = delete;

  // Makes the live set equal to `zones`. In place when the table has room: the depth summary
  // is widened first, new zones are added, gone zones removed, then the summary is narrowed,
  // so a zone present before and after is never absent, not even for one packet. When the
  // set must grow or shrink, a new set is built off to the side and swapped in with one
  // update (each packet sees the old or the new set, never a mix). The root zone is rejected:
  // it would allow every name. Throws Error; on failure the live set is a superset of the
  // zones present both before and after.
  void apply(const std::vector<DnsName> &zones);
  // Always rebuilds and swaps (used at first load).
  void replace_all(const std::vector<DnsName> &zones);

  size_t size() const { return names_.size(); }
  uint32_t buckets() const { return elems_.empty() ? 0 : uint32_t(elems_.size() - 1); }
  uint64_t rebuilds() const { return rebuilds_; }
  const dw_hash_key &key() const { return key_; }
  // The zones in the live set, sorted (names known from the last apply; a taken-over set's
  // zones show as their tags until then).
  std::vector<std::string> names() const;
  // Tags held by the live set, read back from the mirror (for tests).
  std::vector<uint64_t> live_tags() const;

 private:
  struct Want {
    uint64_t tag;
    uint32_t zone;  // index into the zones given to apply()
  };
  // Tags of `zones`, sorted, one entry per tag.
  std::vector<Want> want_of(const std::vector<DnsName> &zones) const;
  void rebuild(const std::vector<Want> &want, const std::vector<DnsName> &zones,
               const DepthSummary &sum);
  void apply_in_place(const std::vector<Want> &want, const std::vector<DnsName> &zones,
                      const DepthSummary &sum);
  bool insert_in_place(uint64_t tag);  // false: both buckets full
  void remove_in_place(uint64_t tag);
  dw_zone_hdr header() const;
  void write_header(const dw_zone_hdr &h);

  std::unique_ptr<ZoneMapOps> ops_;
  dw_hash_key key_;
  int live_ = -1;
  std::vector<dw_zone_bucket> elems_;  // mirror of the live set
  // The zones of the live set as sorted tags and, at the same index, their presentation
  // names ("" for a taken-over set's zones until the first apply()). Sorted vectors rather
  // than a hash map: an edit of a million-zone set is then one merge pass with no per-zone
  // allocation, instead of a million hash-node lookups and inserts.
  std::vector<uint64_t> tags_;
  std::vector<std::string> names_;
  uint64_t rebuilds_ = 0;
  bool dirty_ = false;  // a map update failed mid-diff: the mirror may be off, rebuild next
};

}  // namespace dnswash
