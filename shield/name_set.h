// The kernel's name set (bpf/dnswash_abi.h, struct dw_names_hdr / dw_names_bucket): the names
// of the zones it marks as 16-bit fingerprints of their keyed digests in one-cache-line
// buckets, 31 per bucket, two choices (cuckoo placement) with an overflow mark. Built whole in
// userspace and swapped in with one update (ShieldMaps::install); this file is the pure part,
// shared with the tests, including a lookup that mirrors bpf/dw_shield.h's walk.
#pragma once

#include <cstdint>
#include <vector>

#include "dnswash_abi.h"
#include "zone_names.h"

namespace dnswash::shield {

// Element 0 (the header, as a bucket-sized element) then the buckets.
struct NameSetImage {
  dw_names_hdr hdr{};
  std::vector<dw_names_bucket> elems;  // elems[0] holds hdr's bytes
};

// Buckets for n names: 3/4 of their 31 slots filled (2.75 bytes of kernel memory per name),
// at least 1. The builder adds 1/8 more if the names cannot be placed (not seen at 3/4).
uint32_t name_buckets_for(size_t n);

// One zone's entries for the set, read where they are (a million-name zone is not copied).
struct ZoneNameList {
  DnsName zone;
  const std::vector<NameEntry> *names;
};

// Builds the image for these zones' names under the zone set's key, each zone marked in the
// header (dw_names_hdr.zone_bits): the kernel looks names up only under a marked zone.
NameSetImage build_name_set(const dw_hash_key &key, const std::vector<ZoneNameList> &zones);
// The same for one zone.
NameSetImage build_name_set(const dw_hash_key &key, const DnsName &zone,
                            const std::vector<NameEntry> &names);

// What the kernel decides for `qname` under served zone `zone` (qname at or below it), with
// the zone shielded: true if the set does not mark the zone, or if the name exists in it
// (itself, or at or below an OPEN name strictly between).
bool name_set_allows(const NameSetImage &img, const dw_hash_key &key, const DnsName &zone,
                     const DnsName &qname);

}  // namespace dnswash::shield
