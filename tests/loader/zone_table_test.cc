// ZoneTable's promise that an edit never opens a window: every map operation of a diff or a
// rebuild is recorded on a model of the kernel map, and after each single operation the
// datapath's own matcher (bpf/dw_verdict.h, compiled here) must still find every zone that is
// in both the old and the new set. Then the same against the kernel.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <random>
#include <set>

#include "datapath_harness.h"
#include "zone_table.h"

namespace {

// The model of dw_zones: sets by handle, and which one is live.
struct Model {
  std::map<int, std::vector<dw_zone_bucket>> sets;
  int live = -1;
};

}  // namespace

struct dw_env {
  Model *m;
};
static inline __u32 dw_env_frame_len(dw_env *) {
  return 0;
}
static inline long dw_env_load(dw_env *, __u32, void *, __u32) {
  return -1;
}
static inline const dw_ban_val *dw_env_ban_lookup(dw_env *, const dw_ban_key *) {
  return nullptr;
}
static inline __u64 dw_env_now(dw_env *) {
  return 0;
}
static inline void *dw_env_zone_set(dw_env *e) {
  return e->m->live < 0 ? nullptr : &e->m->sets[e->m->live];
}
static inline const dw_zone_bucket *dw_env_zone_bucket(dw_env *, void *set, __u32 idx) {
  auto *v = static_cast<std::vector<dw_zone_bucket> *>(set);
  return idx < v->size() ? &(*v)[idx] : nullptr;
}
static inline dw_slip_val *dw_env_odd_bucket(dw_env *, const dw_slip_key *) {
  return nullptr;
}
#include "dw_verdict.h"

using namespace dnswash;

namespace {

// Would a query for exactly this name be allowed by the live model set?
bool model_allows(Model &m, const DnsName &name) {
  dw_scratch sc;
  std::memset(&sc, 0, sizeof sc);
  auto wire = name.to_wire();
  std::memcpy(sc.buf + DW_DNS_HDR_LEN, wire.data(), wire.size());
  uint32_t nl = 0;
  for (size_t off = 0; wire[off] != 0; off += 1 + wire[off]) sc.label_off[nl++] = uint8_t(off);
  dw_env env{&m};
  return dw_match_zones(&env, &sc, nl) == nl;
}

// Records every operation and checks the invariant after each one a packet could observe.
class CheckingOps : public ZoneMapOps {
 public:
  CheckingOps(Model &m, std::vector<DnsName> &must) : m_(m), must_(must) {}
  int create(uint32_t n) override {
    int h = next_++;
    m_.sets[h].assign(n, dw_zone_bucket{});
    ++ops;
    return h;
  }
  void write(int set, uint32_t idx, const dw_zone_bucket &b) override {
    ASSERT_LT(idx, m_.sets[set].size());
    m_.sets[set][idx] = b;
    ++ops;
    ++writes;
    if (set == m_.live) check();
  }
  void fill(int set, const std::vector<dw_zone_bucket> &elems) override {
    ASSERT_NE(set, m_.live) << "a live set must never be filled wholesale";
    m_.sets[set] = elems;
    ++ops;
  }
  void install(int set) override {
    m_.live = set;
    ++ops;
    ++installs;
    check();
  }
  void release(int set) override {
    if (set != m_.live) m_.sets.erase(set);
  }
  int open_live(std::vector<dw_zone_bucket> *elems) override {
    if (m_.live < 0) return -1;
    *elems = m_.sets[m_.live];
    return m_.live;
  }
  void check() {
    ++checks;
    for (const auto &z : must_)
      ASSERT_TRUE(model_allows(m_, z)) << "zone " << z.to_text() << " missing after op " << ops;
  }
  int ops = 0, writes = 0, installs = 0, checks = 0;

 private:
  Model &m_;
  std::vector<DnsName> &must_;
  int next_ = 100;
};

DnsName name(const std::string &s) {
  return *parse_dns_name(s);
}

std::vector<DnsName> zone_list(const std::string &prefix, int from, int to) {
  std::vector<DnsName> out;
  for (int i = from; i < to; ++i) {
    // Depths 2..5, so the header's depth summary has to widen and narrow.
    std::string n = prefix + std::to_string(i) + ".example";
    for (int d = 0; d < i % 4; ++d) n = "l" + std::to_string(d) + "." + n;
    out.push_back(name(n));
  }
  return out;
}

std::vector<DnsName> both(const std::vector<DnsName> &a, const std::vector<DnsName> &b) {
  std::set<DnsName> sa(a.begin(), a.end());
  std::vector<DnsName> out;
  for (const auto &z : b)
    if (sa.count(z)) out.push_back(z);
  return out;
}

const dw_hash_key kKey = {0x1111, 0x2222};

TEST(ZoneTableDiff, NoUnchangedZoneIsEverAbsent) {
  Model m;
  std::vector<DnsName> must;
  auto ops = std::make_unique<CheckingOps>(m, must);
  CheckingOps *rec = ops.get();
  ZoneTable t(std::move(ops), kKey);

  auto a = zone_list("z", 0, 300);
  t.apply(a);  // first load: a rebuild
  EXPECT_EQ(rec->installs, 1);

  // Remove 60, add 60 (some deeper than any before), in place.
  auto b = zone_list("z", 60, 300);
  auto more = zone_list("new", 0, 60);
  more.push_back(name("a.b.c.d.e.f.g.deep.example"));
  b.insert(b.end(), more.begin(), more.end());
  must = both(a, b);
  int installs = rec->installs;
  t.apply(b);
  EXPECT_EQ(rec->installs, installs) << "a same-size edit must be applied in place";
  EXPECT_GT(rec->writes, 100);
  EXPECT_GT(rec->checks, 100);
  for (const auto &z : b) EXPECT_TRUE(model_allows(m, z)) << z.to_text();
  for (const auto &z : zone_list("z", 0, 60)) EXPECT_FALSE(model_allows(m, z)) << z.to_text();
  dw_zone_hdr h;
  std::memcpy(&h, &m.sets[m.live][0], sizeof h);
  EXPECT_EQ(h.max_depth, 9u);  // the deep zone
  EXPECT_EQ(h.zones, uint32_t(b.size()));

  // Growth past the table's room: a rebuild swapped in with one update, checked at install.
  auto c = zone_list("z", 60, 300);
  auto big = zone_list("grow", 0, 2000);
  c.insert(c.end(), big.begin(), big.end());
  must = both(b, c);
  installs = rec->installs;
  t.apply(c);
  EXPECT_EQ(rec->installs, installs + 1);
  for (const auto &z : c) EXPECT_TRUE(model_allows(m, z)) << z.to_text();
  EXPECT_FALSE(model_allows(m, name("a.b.c.d.e.f.g.deep.example")));
  std::memcpy(&h, &m.sets[m.live][0], sizeof h);
  EXPECT_EQ(h.max_depth, 5u);  // narrowed with the deep zone gone

  // Shrink: back to a small set, rebuilt smaller (memory per zone stays bounded).
  auto d = zone_list("z", 100, 120);
  must = both(c, d);
  t.apply(d);
  EXPECT_LE(t.buckets(), 64u);
  for (const auto &z : d) EXPECT_TRUE(model_allows(m, z)) << z.to_text();
  EXPECT_EQ(m.sets.size(), 1u) << "old sets are released";
}

// Zones crowded into one primary bucket spill into their secondary: the overflow mark is set
// before the spilled zone is written, and every zone stays reachable through later edits.
TEST(ZoneTableDiff, OverflowIntoSecondaryBucket) {
  Model m;
  std::vector<DnsName> must;
  auto ops = std::make_unique<CheckingOps>(m, must);
  ZoneTable t(std::move(ops), kKey);
  t.apply({name("seed.example")});
  ASSERT_EQ(t.buckets(), 8u);
  // Find 10 names whose primary bucket is the same, in a table of 8 buckets.
  std::vector<DnsName> crowd;
  for (int i = 0; crowd.size() < 10; ++i) {
    DnsName n = name("c" + std::to_string(i) + ".example");
    uint64_t tag = dw_zone_tag(zone_digest(kKey, n));
    if (dw_zone_primary(tag, 7) == 3 && dw_zone_secondary(tag, 7) != 3) crowd.push_back(n);
  }
  std::vector<DnsName> want = {name("seed.example")};
  want.insert(want.end(), crowd.begin(), crowd.end());
  must = {name("seed.example")};
  t.apply(want);
  ASSERT_EQ(t.buckets(), 8u) << "still in place";
  EXPECT_EQ(m.sets[m.live][3].overflow, 1u);
  for (const auto &z : want) EXPECT_TRUE(model_allows(m, z)) << z.to_text();
  // Remove the first three of the crowd: the spilled ones must stay.
  std::vector<DnsName> fewer(want.begin(), want.end());
  fewer.erase(fewer.begin() + 1, fewer.begin() + 4);
  must = fewer;
  t.apply(fewer);
  for (const auto &z : fewer) EXPECT_TRUE(model_allows(m, z)) << z.to_text();
}

// Against the kernel: a second table over the same maps (a restarted daemon) takes over the
// live set with its key, and its first edit is a diff, not a rebuild.
TEST(ZoneTableKernel, TakeoverKeepsSetAndKey) {
  test::Datapath dp;
  dp.set_zones({"example.com", "example.net"});
  dw_hash_key other{0xdead, 0xbeef};
  ZoneTable again(dp.skel().zones_fd(), other);
  EXPECT_EQ(again.key().k0, dp.zones().key().k0);
  EXPECT_EQ(again.size(), 2u);
  again.apply({*parse_dns_name("example.com"), *parse_dns_name("example.org")});
  EXPECT_EQ(again.rebuilds(), 0u);
  EXPECT_EQ(dp.run(test::query_frame("www.example.com")).reason(), DW_R_ALLOWED);
  EXPECT_EQ(dp.run(test::query_frame("www.example.org")).reason(), DW_R_ALLOWED);
  EXPECT_EQ(dp.run(test::query_frame("www.example.net")).reason(), DW_R_NOT_AUTH);
}

}  // namespace
