#include "name_set.h"

#include <algorithm>
#include <cstring>
#include <random>
#include <stdexcept>

#include "dw_siphash.h"
#include "zone_table.h"

namespace dnswash::shield {

uint32_t name_buckets_for(size_t n) {
  // 3/4 of 31 slots: 23.25 names a bucket.
  size_t b = (n * 4 + 92) / 93;
  return uint32_t(std::clamp<size_t>(b, 1, size_t(1) << 30));
}

namespace {

struct Item {
  uint64_t digest;
  bool open;
};

// Cuckoo placement of fingerprints with two choices a name, the builder keeping which name
// each slot holds (the kernel only sees fingerprints). A name in its secondary bucket marks
// its primary overflowed, so a lookup reads the secondary only behind such a mark.
class Placer {
 public:
  Placer(uint32_t buckets, const std::vector<Item> &items, NameSetImage *img)
      : n_(buckets), items_(items), img_(img), owner_((size_t(buckets) + 1) * DW_NAMES_SLOTS) {
    img_->elems.assign(size_t(buckets) + 1, dw_names_bucket{});
  }

  bool place_all() {
    for (uint32_t i = 0; i < items_.size(); ++i)
      if (!insert(i)) return false;
    return true;
  }

 private:
  uint32_t primary(uint32_t i) const { return dw_names_primary(items_[i].digest, n_); }
  uint32_t secondary(uint32_t i) const { return dw_names_secondary(items_[i].digest, n_); }
  uint16_t slot_of(uint32_t i) const {
    return uint16_t(dw_names_fp(items_[i].digest) | (items_[i].open ? DW_NAMES_OPEN : 0));
  }
  void put(uint32_t b, int slot, uint32_t i) {
    img_->elems[b].fp[slot] = slot_of(i);
    owner_[size_t(b) * DW_NAMES_SLOTS + size_t(slot)] = i;
    if (b != primary(i)) img_->elems[primary(i)].overflow = 1;
  }
  bool put_free(uint32_t b, uint32_t i) {
    for (int s = 0; s < DW_NAMES_SLOTS; ++s)
      if (img_->elems[b].fp[s] == 0) {
        put(b, s, i);
        return true;
      }
    return false;
  }
  bool insert(uint32_t i) {
    if (put_free(primary(i), i) || put_free(secondary(i), i)) return true;
    // Both full: move a random name of one of them to its other bucket, and so on.
    uint32_t b = (rng_() & 1) ? primary(i) : secondary(i);
    for (int kick = 0; kick < 1000; ++kick) {
      int s = int(rng_() % DW_NAMES_SLOTS);
      uint32_t victim = owner_[size_t(b) * DW_NAMES_SLOTS + size_t(s)];
      put(b, s, i);
      i = victim;
      b = b == primary(i) ? secondary(i) : primary(i);
      if (put_free(b, i)) return true;
    }
    return false;
  }

  uint32_t n_;
  const std::vector<Item> &items_;
  NameSetImage *img_;
  std::vector<uint32_t> owner_;
  std::minstd_rand rng_{1};  // a fixed seed: the same names give the same set
};

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
  std::vector<Item> items;
  items.reserve(n);
  NameSetImage img;
  uint64_t open_depths = 0;
  for (const auto &z : zones) {
    uint32_t bit = dw_names_zone_bit(zone_tag_of(key, z.zone));
    img.hdr.zone_bits[bit >> 6] |= 1ull << (bit & 63);
    for (const auto &e : *z.names) {
      items.push_back({digest_of_key(key, e.key), e.open});
      if (e.open) {
        size_t d = label_count(e.key);
        open_depths |= d >= 64 ? (1ull << 63) : (1ull << (d - 1));
      }
    }
  }
  // A name in two zones' lists (a delegation in the parent, the apex of the child) is one
  // entry, OPEN if either says so.
  std::sort(items.begin(), items.end(), [](const Item &a, const Item &b) {
    return a.digest < b.digest || (a.digest == b.digest && a.open > b.open);
  });
  items.erase(std::unique(items.begin(), items.end(),
                          [](const Item &a, const Item &b) { return a.digest == b.digest; }),
              items.end());
  uint32_t buckets = name_buckets_for(items.size());
  while (!Placer(buckets, items, &img).place_all()) {
    if (buckets >= (1u << 30)) throw std::runtime_error("name set: cannot place the names");
    buckets += buckets / 8 + 1;  // rare: 1/8 more room
  }
  img.hdr.magic = DW_NAMES_MAGIC;
  img.hdr.buckets = buckets;
  img.hdr.open_depths = open_depths;
  img.hdr.names = items.size();
  std::memcpy(&img.elems[0], &img.hdr, sizeof img.hdr);
  return img;
}

namespace {
bool probe(const NameSetImage &img, uint64_t digest, bool open_only) {
  uint32_t n = img.hdr.buckets, fp = dw_names_fp(digest);
  uint32_t want = open_only ? fp | DW_NAMES_OPEN : fp, ignore = open_only ? 0 : DW_NAMES_OPEN;
  const dw_names_bucket &p = img.elems[dw_names_primary(digest, n)];
  if (dw_names_bucket_has(&p, want, ignore)) return true;
  if (!p.overflow) return false;
  return dw_names_bucket_has(&img.elems[dw_names_secondary(digest, n)], want, ignore);
}
}  // namespace

bool name_set_allows(const NameSetImage &img, const dw_hash_key &key, const DnsName &zone,
                     const DnsName &qname) {
  size_t nl = qname.labels.size();
  if (!at_or_below(qname, zone)) return true;
  uint32_t bit = dw_names_zone_bit(zone_tag_of(key, zone));
  if (!((img.hdr.zone_bits[bit >> 6] >> (bit & 63)) & 1)) return true;  // not in the set
  if (nl == zone.labels.size()) return true;                            // the apex
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
