#include "zone_table.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "dw_siphash.h"
#include "error.h"

namespace dnswash {

uint64_t zone_digest(const dw_hash_key &key, const DnsName &zone) {
  // Root-first, each label as its wire bytes zero-padded to a multiple of 8 (what
  // dw_sip_absorb_label reads). One stack buffer, no allocation: a million-zone sync hashes
  // every zone on every edit.
  uint8_t buf[1 + 63 + 8];
  dw_sip s;
  dw_sip_init(&s, key.k0, key.k1);
  for (auto it = zone.labels.rbegin(); it != zone.labels.rend(); ++it) {
    size_t len = std::min<size_t>(it->size(), 63);
    buf[0] = uint8_t(len);
    std::memcpy(buf + 1, it->data(), len);
    std::memset(buf + 1 + len, 0, 8);
    dw_sip_absorb_label(&s, buf);
  }
  return dw_sip_digest(&s);
}

DepthSummary depth_summary(const std::vector<DnsName> &zones) {
  DepthSummary d;
  for (const auto &z : zones) {
    uint32_t n = uint32_t(z.labels.size());
    if (n == 0) continue;
    d.max_depth = std::max(d.max_depth, n);
    d.mask |= n >= 64 ? (1ULL << 63) : (1ULL << (n - 1));
  }
  return d;
}

uint32_t zone_buckets_for(size_t n) {
  uint32_t b = 8;
  while (b < n / 2 && b < (1u << 30)) b <<= 1;
  return b;
}

namespace {

class KernelZoneOps : public ZoneMapOps {
 public:
  explicit KernelZoneOps(int outer) : outer_(outer) {}

  int create(uint32_t elements) override {
    LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_INNER_MAP);
    int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "dw_zone_set", sizeof(uint32_t),
                            sizeof(dw_zone_bucket), elements, &opts);
    if (fd < 0)
      throw Error(
          errno_text("creating a zone set of " + std::to_string(elements) + " buckets", errno));
    return fd;
  }
  void write(int set, uint32_t idx, const dw_zone_bucket &b) override {
    if (bpf_map_update_elem(set, &idx, &b, BPF_ANY) != 0)
      throw Error(errno_text("updating the zone set", errno));
  }
  void fill(int set, const std::vector<dw_zone_bucket> &elems) override {
    std::vector<uint32_t> keys(elems.size());
    for (uint32_t i = 0; i < keys.size(); ++i) keys[i] = i;
    LIBBPF_OPTS(bpf_map_batch_opts, bopts);
    uint32_t count = uint32_t(elems.size());
    if (bpf_map_update_batch(set, keys.data(), elems.data(), &count, &bopts) != 0)
      throw Error(errno_text("filling the zone set", errno));
  }
  void install(int set) override {
    uint32_t slot = 0;
    if (bpf_map_update_elem(outer_, &slot, &set, BPF_ANY) != 0)
      throw Error(errno_text("installing the zone set", errno));
  }
  void release(int set) override { close(set); }
  int open_live(std::vector<dw_zone_bucket> *elems) override {
    uint32_t slot = 0, id = 0;
    if (bpf_map_lookup_elem(outer_, &slot, &id) != 0) return -1;  // none installed
    int fd = bpf_map_get_fd_by_id(id);
    if (fd < 0) throw Error(errno_text("opening the live zone set", errno));
    bpf_map_info info{};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0 || info.value_size != sizeof(dw_zone_bucket) ||
        info.max_entries < 2) {
      close(fd);
      throw Error("the live zone set has another layout (another dnswash version?)");
    }
    elems->assign(info.max_entries, dw_zone_bucket{});
    for (uint32_t i = 0; i < info.max_entries; ++i) {
      if (bpf_map_lookup_elem(fd, &i, &(*elems)[i]) != 0) {
        close(fd);
        throw Error(errno_text("reading the live zone set", errno));
      }
    }
    return fd;
  }

 private:
  int outer_;
};

bool put_tag(dw_zone_bucket &b, uint64_t tag) {
  for (auto &t : b.tag)
    if (t == 0) {
      t = tag;
      return true;
    }
  return false;
}

// LSD radix sort of (tag, index) pairs by tag, 16 bits a pass: a million in a few tens of ms,
// several times faster than std::sort, and it runs on every sync.
template <typename T>
void radix_sort_by_tag(std::vector<T> &v) {
  if (v.size() < 4096) {
    std::sort(v.begin(), v.end(), [](const T &a, const T &b) { return a.tag < b.tag; });
    return;
  }
  std::vector<T> tmp(v.size());
  std::vector<uint32_t> count(65536);
  for (int shift = 0; shift < 64; shift += 16) {
    std::fill(count.begin(), count.end(), 0);
    for (const T &x : v) ++count[(x.tag >> shift) & 0xffff];
    uint32_t sum = 0;
    for (auto &c : count) {
      uint32_t n = c;
      c = sum;
      sum += n;
    }
    for (const T &x : v) tmp[count[(x.tag >> shift) & 0xffff]++] = x;
    v.swap(tmp);
  }
}

}  // namespace

std::unique_ptr<ZoneMapOps> kernel_zone_ops(int zones_outer_fd) {
  return std::make_unique<KernelZoneOps>(zones_outer_fd);
}

ZoneTable::ZoneTable(int zones_outer_fd, const dw_hash_key &key)
    : ZoneTable(kernel_zone_ops(zones_outer_fd), key) {}

ZoneTable::ZoneTable(std::unique_ptr<ZoneMapOps> ops, const dw_hash_key &key)
    : ops_(std::move(ops)), key_(key) {
  std::vector<dw_zone_bucket> elems;
  int live = ops_->open_live(&elems);
  if (live < 0) return;
  dw_zone_hdr h;
  std::memcpy(&h, &elems[0], sizeof h);
  if (h.magic != DW_ZONE_MAGIC || h.bucket_mask + 2 != elems.size()) {
    ops_->release(live);
    return;  // not a set this version wrote: the first apply() replaces it whole
  }
  live_ = live;
  key_ = h.key;  // the live set's tags were made with its key: keep using it
  elems_ = std::move(elems);
  tags_ = live_tags();  // names unknown until the first apply()
  names_.assign(tags_.size(), std::string());
}

ZoneTable::~ZoneTable() {
  if (live_ >= 0) ops_->release(live_);
}

std::vector<ZoneTable::Want> ZoneTable::want_of(const std::vector<DnsName> &zones) const {
  std::vector<Want> want;
  want.reserve(zones.size());
  for (uint32_t i = 0; i < zones.size(); ++i) {
    if (zones[i].is_root()) throw Error("refusing the root zone '.': it would allow every name");
    want.push_back({dw_zone_tag(zone_digest(key_, zones[i])), i});
  }
  radix_sort_by_tag(want);
  // Equal tags: the same name given twice (or, with odds of about n^2 / 2^64, two names with
  // one tag, which then share a slot: the price of 8-byte tags). Keep the first.
  want.erase(std::unique(want.begin(), want.end(),
                         [](const Want &a, const Want &b) { return a.tag == b.tag; }),
             want.end());
  return want;
}

dw_zone_hdr ZoneTable::header() const {
  dw_zone_hdr h;
  std::memcpy(&h, &elems_[0], sizeof h);
  return h;
}

void ZoneTable::write_header(const dw_zone_hdr &h) {
  std::memcpy(&elems_[0], &h, sizeof h);
  ops_->write(live_, 0, elems_[0]);
}

void ZoneTable::rebuild(const std::vector<Want> &want, const std::vector<DnsName> &zones,
                        const DepthSummary &sum) {
  uint32_t nb = zone_buckets_for(want.size());
  std::vector<dw_zone_bucket> elems;
  for (;;) {
    elems.assign(size_t(nb) + 1, dw_zone_bucket{});
    bool ok = true;
    for (const auto &w : want) {
      dw_zone_bucket &p = elems[dw_zone_primary(w.tag, nb - 1)];
      if (put_tag(p, w.tag)) continue;
      p.overflow = 1;
      if (!put_tag(elems[dw_zone_secondary(w.tag, nb - 1)], w.tag)) {
        ok = false;
        break;
      }
    }
    if (ok) break;
    nb <<= 1;  // a run of full buckets: astronomically rare at this load, but never fatal
  }
  dw_zone_hdr h{};
  h.magic = DW_ZONE_MAGIC;
  h.bucket_mask = nb - 1;
  h.max_depth = sum.max_depth;
  h.zones = uint32_t(want.size());
  h.depth_mask = sum.mask;
  h.key = key_;
  std::memcpy(&elems[0], &h, sizeof h);

  int set = ops_->create(nb + 1);
  try {
    ops_->fill(set, elems);
    ops_->install(set);
  } catch (...) {
    ops_->release(set);
    throw;
  }
  if (live_ >= 0) ops_->release(live_);
  live_ = set;
  elems_ = std::move(elems);
  // Names kept from the old set where the tag is the same (they are the same zone), so a
  // rebuild formats only the new ones.
  std::vector<uint64_t> tags;
  std::vector<std::string> names;
  tags.reserve(want.size());
  names.reserve(want.size());
  size_t j = 0;
  for (const auto &w : want) {
    while (j < tags_.size() && tags_[j] < w.tag) ++j;
    tags.push_back(w.tag);
    if (j < tags_.size() && tags_[j] == w.tag && !names_[j].empty())
      names.push_back(std::move(names_[j]));
    else
      names.push_back(zones[w.zone].to_text());
  }
  tags_ = std::move(tags);
  names_ = std::move(names);
  ++rebuilds_;
}

bool ZoneTable::insert_in_place(uint64_t tag) {
  uint32_t mask = buckets() - 1;
  uint32_t p = dw_zone_primary(tag, mask), s = dw_zone_secondary(tag, mask);
  if (put_tag(elems_[p], tag)) {
    ops_->write(live_, p, elems_[p]);
    return true;
  }
  dw_zone_bucket sec = elems_[s];
  if (!put_tag(sec, tag)) return false;
  if (!elems_[p].overflow) {  // mark first: a packet then looks in the secondary
    elems_[p].overflow = 1;
    ops_->write(live_, p, elems_[p]);
  }
  elems_[s] = sec;
  ops_->write(live_, s, elems_[s]);
  return true;
}

void ZoneTable::remove_in_place(uint64_t tag) {
  uint32_t mask = buckets() - 1;
  for (uint32_t idx : {dw_zone_primary(tag, mask), dw_zone_secondary(tag, mask)}) {
    for (auto &t : elems_[idx].tag)
      if (t == tag) {
        t = 0;  // the overflow mark stays until the next rebuild: over-marking is harmless
        ops_->write(live_, idx, elems_[idx]);
        return;
      }
  }
}

void ZoneTable::replace_all(const std::vector<DnsName> &zones) {
  auto want = want_of(zones);
  rebuild(want, zones, depth_summary(zones));
}

void ZoneTable::apply(const std::vector<DnsName> &zones) {
  auto want = want_of(zones);
  DepthSummary sum = depth_summary(zones);
  size_t n = want.size();
  uint32_t nb = buckets();
  if (dirty_ || live_ < 0 || n > size_t(nb) * 4 || (nb > 8 && n < nb / 2)) {
    rebuild(want, zones, sum);
    dirty_ = false;
    return;
  }
  try {
    apply_in_place(want, zones, sum);
  } catch (...) {
    dirty_ = true;
    throw;
  }
}

void ZoneTable::apply_in_place(const std::vector<Want> &want, const std::vector<DnsName> &zones,
                               const DepthSummary &sum) {
  size_t n = want.size();

  // Both sides are sorted by tag: one merge pass finds what to add and what to delete, and
  // builds the new (tag, name) lists, moving the names of kept zones instead of copying them.
  std::vector<const Want *> adds;
  std::vector<uint64_t> dels;
  std::vector<uint64_t> tags;
  std::vector<std::string> names;
  tags.reserve(n);
  names.reserve(n);
  size_t i = 0, j = 0;
  while (i < n || j < tags_.size()) {
    if (j == tags_.size() || (i < n && want[i].tag < tags_[j])) {
      adds.push_back(&want[i]);
      tags.push_back(want[i].tag);
      names.push_back(zones[want[i].zone].to_text());
      ++i;
    } else if (i == n || tags_[j] < want[i].tag) {
      dels.push_back(tags_[j]);
      ++j;
    } else {
      tags.push_back(tags_[j]);
      // A taken-over set learns its names here.
      names.push_back(names_[j].empty() ? zones[want[i].zone].to_text() : std::move(names_[j]));
      ++i;
      ++j;
    }
  }

  // Widen the depth summary to cover the old and the new set before anything moves.
  dw_zone_hdr h = header(), wide = h;
  wide.max_depth = std::max(h.max_depth, sum.max_depth);
  wide.depth_mask = h.depth_mask | sum.mask;
  if (std::memcmp(&wide, &h, sizeof h) != 0) write_header(wide);

  // From here the mirror's name lists are the new ones; a throw below marks the table dirty
  // and the next apply() rebuilds from scratch.
  tags_ = std::move(tags);
  names_ = std::move(names);
  for (const Want *w : adds) {
    if (!insert_in_place(w->tag)) {  // both buckets full: build a bigger set and swap
      rebuild(want, zones, sum);
      return;
    }
  }
  for (uint64_t tag : dels) remove_in_place(tag);

  dw_zone_hdr narrow = header();
  narrow.max_depth = sum.max_depth;
  narrow.depth_mask = sum.mask;
  narrow.zones = uint32_t(n);
  if (std::memcmp(&narrow, &elems_[0], sizeof narrow) != 0) write_header(narrow);
}

std::vector<std::string> ZoneTable::names() const {
  std::vector<std::string> out;
  out.reserve(names_.size());
  char buf[32];
  for (size_t i = 0; i < names_.size(); ++i) {
    if (!names_[i].empty()) {
      out.push_back(names_[i]);
    } else {
      snprintf(buf, sizeof buf, "<tag %016llx>", (unsigned long long)tags_[i]);
      out.push_back(buf);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<uint64_t> ZoneTable::live_tags() const {
  std::vector<uint64_t> out;
  for (size_t i = 1; i < elems_.size(); ++i)
    for (uint64_t t : elems_[i].tag)
      if (t) out.push_back(t);
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<dw_hash_key> live_zone_key(int zones_outer_fd) {
  uint32_t zero = 0, inner_id = 0;
  if (bpf_map_lookup_elem(zones_outer_fd, &zero, &inner_id) != 0) return std::nullopt;
  int inner = bpf_map_get_fd_by_id(inner_id);
  if (inner < 0) return std::nullopt;
  dw_zone_bucket b{};
  int rc = bpf_map_lookup_elem(inner, &zero, &b);
  close(inner);
  if (rc != 0) return std::nullopt;
  dw_zone_hdr h;
  std::memcpy(&h, &b, sizeof h);
  if (h.magic != DW_ZONE_MAGIC) return std::nullopt;
  return h.key;
}

}  // namespace dnswash
