// The zone shield's userspace parts: which names exist, the name set (and a lookup that
// mirrors the kernel's walk), the automatic on/off policy, name decompression.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

#include "axfr.h"
#include "name_set.h"
#include "shield_policy.h"
#include "zone_names.h"
#include "zone_table.h"

namespace dnswash::shield {
namespace {

DnsName N(const std::string &s) {
  return *parse_dns_name(s);
}

std::vector<NameEntry> shop() {
  ZoneNamesBuilder b(N("shop.example"));
  b.add(N("shop.example"), kTypeSoa);
  b.add(N("shop.example"), kTypeNs);
  b.add(N("www.shop.example"), 1);
  b.add(N("a.b.c.shop.example"), 1);      // b.c and c are empty non-terminals
  b.add(N("sub.shop.example"), kTypeNs);  // a delegation
  b.add(N("ns.sub.shop.example"), 1);     // glue
  b.add(N("*.wild.shop.example"), 1);     // a wildcard: wild's subtree is open
  b.add(N("old.shop.example"), kTypeDname);
  b.add(N("www.other.example"), 1);  // not in the zone: ignored
  return b.finish();
}

TEST(ZoneNames, OwnersEmptyNonTerminalsAndOpenSubtrees) {
  auto e = shop();
  auto has = [&](const std::string &n, bool open) {
    for (const auto &x : e)
      if (x.name() == N(n)) return x.open == open;
    return false;
  };
  EXPECT_TRUE(has("shop.example", false));  // the apex NS is not a delegation
  EXPECT_TRUE(has("www.shop.example", false));
  EXPECT_TRUE(has("a.b.c.shop.example", false));
  EXPECT_TRUE(has("b.c.shop.example", false));
  EXPECT_TRUE(has("c.shop.example", false));
  EXPECT_TRUE(has("sub.shop.example", true));
  EXPECT_TRUE(has("wild.shop.example", true));
  EXPECT_TRUE(has("*.wild.shop.example", false));
  EXPECT_TRUE(has("old.shop.example", true));
  for (const auto &x : e) EXPECT_NE(x.name(), N("www.other.example"));
}

TEST(ZoneNames, EachNameOnceWhateverTheOrderOfItsRecords) {
  // Owners under shared parents, a parent that is also an owner (after and before its
  // children), an owner's records apart: every name once, in key order, keys round-trip.
  ZoneNamesBuilder b(N("z.example"));
  for (const char *n : {"a.p.z.example", "b.p.z.example", "p.z.example", "a.p.z.example",
                        "x.y.q.z.example", "q.z.example", "c.p.z.example"})
    b.add(N(n), 1);
  b.add(N("p.z.example"), kTypeNs);  // p: a delegation, its records apart
  auto e = b.finish();
  std::vector<std::string> names;
  for (const auto &x : e) {
    EXPECT_EQ(name_key(x.name()), x.key);
    names.push_back(x.name().to_text() + (x.open ? "+" : ""));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"z.example", "p.z.example+", "a.p.z.example",
                                             "b.p.z.example", "c.p.z.example", "q.z.example",
                                             "y.q.z.example", "x.y.q.z.example"}));
}

TEST(ZoneNames, AnIxfrsNamesMergeIntoTheZonesOpenWinning) {
  // What an IXFR added (a new host under a new empty non-terminal, a new delegation over an
  // existing name) merged into the zone's names: one entry a name, in key order, open if
  // either side is, nothing lost.
  ZoneNamesBuilder a(N("z.example")), b(N("z.example"));
  for (const char *n : {"www.z.example", "p.z.example", "mail.z.example"}) a.add(N(n), 1);
  b.add(N("h.new.z.example"), 1);
  b.add(N("p.z.example"), kTypeNs);
  auto merged = merge_names(a.finish(), b.finish());
  std::vector<std::string> names;
  for (const auto &x : merged) names.push_back(x.name().to_text() + (x.open ? "+" : ""));
  // Key order: each label's length byte first (name_key), so "p" < "new" < "www" < "mail".
  EXPECT_EQ(names,
            (std::vector<std::string>{"z.example", "p.z.example+", "new.z.example",
                                      "h.new.z.example", "www.z.example", "mail.z.example"}));
  EXPECT_EQ(merge_names({}, merged), merged);
  EXPECT_EQ(merge_names(merged, {}), merged);
}

TEST(NameSet, ExistingNamesPassMissingOnesDoNot) {
  dw_hash_key key{0x0123456789abcdefull, 0xfedcba9876543210ull};
  auto img = build_name_set(key, N("shop.example"), shop());
  DnsName z = N("shop.example");
  for (const char *ok :
       {"shop.example", "www.shop.example", "WWW.Shop.Example", "c.shop.example",
        "b.c.shop.example", "a.b.c.shop.example", "sub.shop.example", "x.y.sub.shop.example",
        "ns.sub.shop.example", "wild.shop.example", "anything.wild.shop.example",
        "a.b.wild.shop.example", "x.old.shop.example"})
    EXPECT_TRUE(name_set_allows(img, key, z, N(ok))) << ok;
  for (const char *missing :
       {"k3j9q2mdt0ab.shop.example", "x.www.shop.example", "_dmarc.shop.example",
        "d.c.shop.example", "x.a.b.c.shop.example", "ww.shop.example"})
    EXPECT_FALSE(name_set_allows(img, key, z, N(missing))) << missing;
}

TEST(NameSet, AZoneTheSetDoesNotMarkIsNeverJudged) {
  dw_hash_key key{0x0123456789abcdefull, 0xfedcba9876543210ull};
  auto img = build_name_set(key, N("shop.example"), shop());
  EXPECT_FALSE(name_set_allows(img, key, N("shop.example"), N("nohost.shop.example")));
  // Entries of shop.example under another zone's name: that zone is not marked.
  auto other = build_name_set(key, std::vector<ZoneNameList>{});
  EXPECT_TRUE(name_set_allows(other, key, N("shop.example"), N("nohost.shop.example")));
  uint32_t bit = dw_names_zone_bit(dw_zone_tag(zone_digest(key, N("shop.example"))));
  EXPECT_TRUE((img.hdr.zone_bits[bit >> 6] >> (bit & 63)) & 1);
  std::memcpy(&other.hdr, &img.elems[0], sizeof other.hdr);  // elems[0] is the header too
  EXPECT_EQ(other.hdr.zone_bits[bit >> 6], img.hdr.zone_bits[bit >> 6]);
}

TEST(NameSet, AMillionNamesFitIn32BytesEachAndRandomNamesMiss) {
  dw_hash_key key{1, 2};
  std::vector<NameEntry> names;
  names.reserve(1000000);
  for (int i = 0; i < 1000000; ++i)
    names.push_back({name_key(N("h" + std::to_string(i) + ".big.example")), false});
  auto img = build_name_set(key, N("big.example"), names);
  size_t bytes = img.elems.size() * sizeof(dw_names_bucket);
  EXPECT_LE(bytes, 32u * names.size());
  EXPECT_EQ(img.hdr.names, names.size());
  DnsName z = N("big.example");
  for (int i = 0; i < 1000000; i += 997)
    EXPECT_TRUE(name_set_allows(img, key, z, names[size_t(i)].name()));
  std::mt19937 rng(7);
  int passed = 0;
  for (int i = 0; i < 100000; ++i) {
    std::string l;
    for (int c = 0; c < 12; ++c) l += char('a' + rng() % 26);
    passed += name_set_allows(img, key, z, N(l + ".big.example"));
  }
  // ~23 15-bit fingerprints in one bucket (rarely two): about 1 in 1,400 passes.
  EXPECT_LE(passed, 150);
  EXPECT_LE(bytes, 3 * names.size());  // 2.75 bytes a name, sized to the names
}

TEST(Policy, ABusyZonesNormalNxdomainShareNeverTurnsItOn) {
  ZonePolicy p({});
  uint64_t a = 0, nx = 0;
  for (int t = 0; t <= 60000; t += 100) {
    a += 1000;  // 10,000 answers/s, 5% NXDOMAIN: 500/s, far over the rate but not the share
    nx += 50;
    EXPECT_FALSE(p.update(t, a, nx, 0)) << t;
  }
}

TEST(Policy, AnAttackTurnsItOnWithinTwoSecondsAndAQuietPeriodOff) {
  PolicyParams pp;
  pp.quiet_ms = 3000;
  ZonePolicy p(pp);
  uint64_t a = 0, nx = 0, blocked = 0;
  int64_t t = 0, on_at = -1, off_at = -1;
  for (; t < 10000; t += 100) {  // 100 answers/s, 3 NXDOMAIN/s
    a += 10;
    nx += t % 1000 == 0 ? 3 : 0;
    EXPECT_FALSE(p.update(t, a, nx, blocked));
  }
  for (; t < 20000; t += 100) {  // the attack: 1,500 missing names/s
    a += 10;
    if (p.on()) {
      blocked += 150;  // the shield answers them now: named no longer does
    } else {
      a += 150;
      nx += 150;
    }
    if (p.update(t, a, nx, blocked) && on_at < 0) on_at = t;
  }
  ASSERT_GE(on_at, 0);
  EXPECT_LE(on_at - 10000, 2000);
  for (; t < 30000; t += 100) {  // over
    a += 10;
    if (!p.update(t, a, nx, blocked) && off_at < 0) off_at = t;
  }
  ASSERT_GE(off_at, 0);
  EXPECT_GE(off_at - 20000, 3000);
  EXPECT_LE(off_at - 20000, 4500);
}

TEST(Policy, OperatorModesWin) {
  ZonePolicy p({});
  p.set_mode(Mode::kOn, 5);
  EXPECT_TRUE(p.update(10, 0, 0, 0));
  EXPECT_EQ(p.since_ms(), 5);
  p.set_mode(Mode::kOff, 20);
  EXPECT_FALSE(p.update(30, 100000, 100000, 0));
}

TEST(Wire, NamesDecompressAndLoopsAreRefused) {
  // "www" + pointer to offset 6 ("shop.example"), then a pointer loop at 20.
  std::vector<uint8_t> m = {3, 'w', 'w', 'w', 0xC0, 6,   4,   'S', 'h', 'o',  'p',
                            7, 'e', 'x', 'a', 'm',  'p', 'l', 'e', 0,   0xC0, 20};
  size_t off = 0;
  auto n = read_name(m.data(), m.size(), &off);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->to_text(), "www.shop.example");
  EXPECT_EQ(off, 6u);
  off = 20;
  EXPECT_FALSE(read_name(m.data(), m.size(), &off));
}

}  // namespace
}  // namespace dnswash::shield
