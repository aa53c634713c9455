#include "zone_table.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "dw_siphash.h"
#include "error.h"

namespace dnswash {

uint64_t zone_digest(const dw_hash_key &key, const DnsName &zone) {
  std::vector<uint8_t> wire = zone.to_wire();
  wire.resize(wire.size() + 8, 0);  // dw_sip_absorb_label reads up to 7 bytes past a label
  std::vector<size_t> offs;
  for (size_t off = 0; wire[off] != 0; off += 1 + wire[off]) offs.push_back(off);
  dw_sip s;
  dw_sip_init(&s, key.k0, key.k1);
  for (auto it = offs.rbegin(); it != offs.rend(); ++it) dw_sip_absorb_label(&s, &wire[*it]);
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
    if (fd < 0) throw Error(errno_text("creating a zone set of " + std::to_string(elements) +
                                           " buckets",
                                       errno));
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
  for (size_t i = 1; i < elems_.size(); ++i)
    for (uint64_t t : elems_[i].tag)
      if (t) names_.emplace(t, std::string());
}

ZoneTable::~ZoneTable() {
  if (live_ >= 0) ops_->release(live_);
}

std::vector<ZoneTable::Want> ZoneTable::want_of(const std::vector<DnsName> &zones) const {
  std::vector<Want> want;
  want.reserve(zones.size());
  std::unordered_set<uint64_t> seen;
  seen.reserve(zones.size());
  for (const auto &z : zones) {
    if (z.is_root()) throw Error("refusing the root zone '.': it would allow every name");
    uint64_t tag = dw_zone_tag(zone_digest(key_, z));
    if (seen.insert(tag).second) want.push_back({tag, &z});
  }
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

void ZoneTable::rebuild(const std::vector<Want> &want, const DepthSummary &sum) {
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
  names_.clear();
  names_.reserve(want.size());
  for (const auto &w : want) names_.emplace(w.tag, w.name->to_text());
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
  rebuild(want, depth_summary(zones));
}

void ZoneTable::apply(const std::vector<DnsName> &zones) {
  auto want = want_of(zones);
  DepthSummary sum = depth_summary(zones);
  size_t n = want.size();
  uint32_t nb = buckets();
  if (dirty_ || live_ < 0 || n > size_t(nb) * 4 || (nb > 8 && n < nb / 2)) {
    rebuild(want, sum);
    dirty_ = false;
    return;
  }
  try {
    apply_in_place(want, sum);
  } catch (...) {
    dirty_ = true;
    throw;
  }
}

void ZoneTable::apply_in_place(const std::vector<Want> &want, const DepthSummary &sum) {
  size_t n = want.size();

  std::unordered_set<uint64_t> want_tags;
  want_tags.reserve(n);
  for (const auto &w : want) want_tags.insert(w.tag);
  std::vector<const Want *> adds;
  for (const auto &w : want)
    if (!names_.count(w.tag)) adds.push_back(&w);
  std::vector<uint64_t> dels;
  for (const auto &[tag, name] : names_)
    if (!want_tags.count(tag)) dels.push_back(tag);

  // Widen the depth summary to cover the old and the new set before anything moves.
  dw_zone_hdr h = header(), wide = h;
  wide.max_depth = std::max(h.max_depth, sum.max_depth);
  wide.depth_mask = h.depth_mask | sum.mask;
  if (std::memcmp(&wide, &h, sizeof h) != 0) write_header(wide);

  for (const Want *w : adds) {
    if (!insert_in_place(w->tag)) {  // both buckets full: build a bigger set and swap
      rebuild(want, sum);
      return;
    }
    names_.emplace(w->tag, w->name->to_text());
  }
  for (uint64_t tag : dels) {
    remove_in_place(tag);
    names_.erase(tag);
  }
  for (const auto &w : want) {
    auto &name = names_[w.tag];
    if (name.empty()) name = w.name->to_text();  // a taken-over set learns its names
  }

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
  for (const auto &[tag, name] : names_) {
    if (!name.empty()) {
      out.push_back(name);
    } else {
      snprintf(buf, sizeof buf, "<tag %016llx>", (unsigned long long)tag);
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

}  // namespace dnswash
