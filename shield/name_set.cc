#include "name_set.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "dw_siphash.h"
#include "zone_table.h"

namespace dnswash::shield {

uint32_t name_buckets_for(size_t n) {
  uint32_t b = 8;
  while (b < (n + 9) / 10 && b < (1u << 30)) b <<= 1;
  return b;
}

namespace {

bool put(dw_names_bucket &b, uint32_t slot) {
  for (auto &f : b.fp) {
    if ((f & ~DW_NAMES_OPEN) == (slot & ~DW_NAMES_OPEN)) {  // the same name (or a collision)
      f |= slot;
      return true;
    }
    if (f == 0) {
      f = slot;
      return true;
    }
  }
  return false;
}

bool try_build(uint32_t buckets, const std::vector<uint64_t> &digests,
               const std::vector<uint8_t> &open, NameSetImage *img) {
  uint32_t mask = buckets - 1;
  img->elems.assign(size_t(buckets) + 1, dw_names_bucket{});
  for (size_t i = 0; i < digests.size(); ++i) {
    uint64_t d = digests[i];
    uint32_t slot = dw_names_fp(d) | (open[i] ? DW_NAMES_OPEN : 0);
    dw_names_bucket &p = img->elems[dw_names_primary(d, mask)];
    if (put(p, slot)) continue;
    p.overflow = 1;
    if (!put(img->elems[dw_names_secondary(d, mask)], slot)) return false;
  }
  return true;
}

uint64_t digest_of(const dw_hash_key &key, const DnsName &n) {
  return zone_digest(key, n);
}

uint64_t zone_tag_of(const dw_hash_key &key, const DnsName &zone) {
  return dw_zone_tag(zone_digest(key, zone));
}

// zone_digest() over a name_key(): its labels are already root-first, one pass, no allocation.
uint64_t digest_of_key(const dw_hash_key &key, const std::string &k) {
  uint8_t buf[1 + 63 + 8];
  dw_sip s;
  dw_sip_init(&s, key.k0, key.k1);
  for (size_t p = 0; p < k.size();) {
    size_t len = std::min<size_t>(uint8_t(k[p]), std::min<size_t>(63, k.size() - p - 1));
    buf[0] = uint8_t(len);
    std::memcpy(buf + 1, k.data() + p + 1, len);
    std::memset(buf + 1 + len, 0, 8);
    dw_sip_absorb_label(&s, buf);
    p += 1 + len;
  }
  return dw_sip_digest(&s);
}

size_t label_count(const std::string &k) {
  size_t n = 0;
  for (size_t p = 0; p < k.size(); p += 1 + uint8_t(k[p])) ++n;
  return n;
}

}  // namespace

NameSetImage build_name_set(const dw_hash_key &key, const DnsName &zone,
                            const std::vector<NameEntry> &names) {
  return build_name_set(key, std::vector<ZoneNameList>{{zone, &names}});
}

NameSetImage build_name_set(const dw_hash_key &key, const std::vector<ZoneNameList> &zones) {
  size_t n = 0;
  for (const auto &z : zones) n += z.names->size();
  std::vector<uint64_t> digests;
  std::vector<uint8_t> open;
  digests.reserve(n);
  open.reserve(n);
  NameSetImage img;
  uint64_t open_depths = 0;
  for (const auto &z : zones) {
    uint32_t bit = dw_names_zone_bit(zone_tag_of(key, z.zone));
    img.hdr.zone_bits[bit >> 6] |= 1ull << (bit & 63);
    for (const auto &e : *z.names) {
      digests.push_back(digest_of_key(key, e.key));
      open.push_back(e.open);
      if (e.open) {
        size_t d = label_count(e.key);
        open_depths |= d >= 64 ? (1ull << 63) : (1ull << (d - 1));
      }
    }
  }
  uint32_t buckets = name_buckets_for(n);
  while (!try_build(buckets, digests, open, &img)) {
    if (buckets >= (1u << 30)) throw std::runtime_error("name set: cannot place the names");
    buckets <<= 1;
  }
  img.hdr.magic = DW_NAMES_MAGIC;
  img.hdr.bucket_mask = buckets - 1;
  img.hdr.open_depths = open_depths;
  img.hdr.names = n;
  std::memcpy(&img.elems[0], &img.hdr, sizeof img.hdr);
  return img;
}

namespace {
bool probe(const NameSetImage &img, uint64_t digest, bool open_only) {
  uint32_t mask = img.hdr.bucket_mask, fp = dw_names_fp(digest);
  uint32_t want = open_only ? fp | DW_NAMES_OPEN : fp, ignore = open_only ? 0 : DW_NAMES_OPEN;
  auto has = [&](const dw_names_bucket &b) {
    for (uint32_t f : b.fp)
      if ((f & ~ignore) == want) return true;
    return false;
  };
  const dw_names_bucket &p = img.elems[dw_names_primary(digest, mask)];
  if (has(p)) return true;
  if (!p.overflow) return false;
  return has(img.elems[dw_names_secondary(digest, mask)]);
}
}  // namespace

bool name_set_allows(const NameSetImage &img, const dw_hash_key &key, const DnsName &zone,
                     const DnsName &qname) {
  size_t nl = qname.labels.size();
  if (!at_or_below(qname, zone)) return true;
  uint32_t bit = dw_names_zone_bit(zone_tag_of(key, zone));
  if (!((img.hdr.zone_bits[bit >> 6] >> (bit & 63)) & 1)) return true;  // not in the set
  if (nl == zone.labels.size()) return true;  // the apex
  DnsName suffix = zone;
  for (size_t d = zone.labels.size() + 1; d <= nl; ++d) {
    suffix.labels.insert(suffix.labels.begin(), qname.labels[nl - d]);
    uint64_t dg = digest_of(key, suffix);
    if (d == nl) return probe(img, dg, false);
    if (dw_depth_marked(img.hdr.open_depths, uint32_t(d)) && probe(img, dg, true)) return true;
  }
  return false;
}

}  // namespace dnswash::shield
