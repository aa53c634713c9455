// Property and whole-program tests of the datapath beyond the verdict table: every truncation,
// dry-run, zone-set replacement, multi-buffer frames, the verifier budget, and a randomized
// comparison of the matcher against a plain label-list reference.
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <random>
#include <set>

#include "datapath_harness.h"
#include "dw_siphash.h"
#include "reasons.h"
#include "zone_table.h"

namespace dnswash::test {
namespace {

TEST(ReasonTable, DropColumnMatchesAbiOrder) {
  for (unsigned r = 0; r < DW_R_COUNT; ++r)
    EXPECT_EQ(bool(dw_reason_is_drop(r)), reason_table_says_drop(r)) << counter_name(r);
}

TEST(Verifier, InstructionCountWithinBudget) {
  Datapath dp;
  bpf_prog_info info{};
  uint32_t len = sizeof info;
  ASSERT_EQ(bpf_obj_get_info_by_fd(dp.skel().prog_fd(), &info, &len), 0);
  ASSERT_GT(info.verified_insns, 0u);
  // Issue budget: well under the 1M limit so a compiler upgrade cannot push it over.
  EXPECT_LT(info.verified_insns, 200000u);
  std::printf("verified_insns=%u xlated_bytes=%u jited_bytes=%u\n", info.verified_insns,
              info.xlated_prog_len, info.jited_prog_len);
}

// Every cut of a valid query frame, lengths in the headers left as they were.
TEST(Truncation, EveryFrameCut) {
  Datapath dp;
  dp.set_zones({"example.com"});
  for (int family : {4, 6}) {
    Bytes full = query_frame("www.example.com", family);
    size_t udp_end = 14 + (family == 4 ? 20 : 40) + 8;
    ASSERT_EQ(dp.run(full).reason(), DW_R_ALLOWED);
    for (size_t len = 14; len < full.size(); ++len) {
      Bytes cut(full.begin(), full.begin() + long(len));
      RunResult r = dp.run(cut);
      // Until the UDP header is complete the frame cannot be told to be UDP/53.
      int want = len < udp_end ? DW_R_NOT_DNS : DW_R_MALFORMED;
      EXPECT_EQ(r.reason(), want) << "IPv" << family << " cut at " << len;
      EXPECT_EQ(r.action, want == DW_R_NOT_DNS ? XDP_PASS : XDP_DROP);
    }
  }
}

// Every cut of the DNS message itself, with IP and UDP lengths that agree with the cut.
TEST(Truncation, EveryMessageCut) {
  Datapath dp;
  dp.set_zones({"example.com"});
  DnsSpec d;
  d.qname = "www.example.com";
  Bytes msg = dns_message(d);
  size_t name_end = 12 + 17;  // 3www7example3com0
  for (int family : {4, 6}) {
    FrameSpec f;
    f.family = family;
    for (size_t k = 0; k < msg.size(); ++k) {
      Bytes part(msg.begin(), msg.begin() + long(k));
      int want = k < name_end ? DW_R_MALFORMED : DW_R_NO_QTYPE;
      EXPECT_EQ(dp.run(frame(f, part)).reason(), want)
          << "IPv" << family << " message cut at " << k;
    }
    EXPECT_EQ(dp.run(frame(f, msg)).reason(), DW_R_ALLOWED);
  }
}

TEST(DryRun, CountsVerdictButPasses) {
  Datapath dp;
  dp.set_zones({"example.com"});
  dp.set_flag(DW_CFG_DRY_RUN, true);
  RunResult junk = dp.run(query_frame("junk.example"));
  EXPECT_EQ(junk.action, XDP_PASS);
  EXPECT_EQ(junk.reason(), DW_R_NOT_AUTH);
  EXPECT_EQ(junk.delta[DW_C_DRYRUN_PASSED], 1u);
  RunResult good = dp.run(query_frame("www.example.com"));
  EXPECT_EQ(good.reason(), DW_R_ALLOWED);
  EXPECT_EQ(good.delta[DW_C_DRYRUN_PASSED], 0u);
  dp.set_flag(DW_CFG_DRY_RUN, false);  // runtime switch back to enforcing
  EXPECT_EQ(dp.run(query_frame("junk.example")).action, XDP_DROP);
}

TEST(ZoneSet, NoZonesDropsQueriesPassesOtherTraffic) {
  Datapath dp;
  EXPECT_EQ(dp.run(query_frame("example.com")).reason(), DW_R_NOT_AUTH);
  FrameSpec f;
  f.dport = 123;
  EXPECT_EQ(dp.run(frame(f, Bytes(48, 0))).reason(), DW_R_NOT_DNS);
}

TEST(ZoneSet, ReplaceSwapsWholeSet) {
  Datapath dp;
  dp.set_zones({"one.example", "a.b.c.d.e.two.example"});
  EXPECT_EQ(dp.run(query_frame("x.a.b.c.d.e.two.example")).reason(), DW_R_ALLOWED);
  dp.set_zones({"three.example"});
  EXPECT_EQ(dp.run(query_frame("x.one.example")).reason(), DW_R_NOT_AUTH);
  EXPECT_EQ(dp.run(query_frame("x.a.b.c.d.e.two.example")).reason(), DW_R_NOT_AUTH);
  EXPECT_EQ(dp.run(query_frame("x.three.example")).reason(), DW_R_ALLOWED);
  // A fresh table takes over the live set: read back from the kernel, it holds one zone and
  // its header was narrowed to depth 2 after the change.
  ZoneTable again(dp.skel().zones_fd(), dp.skel().key());
  EXPECT_EQ(again.live_tags().size(), 1u);
  std::vector<dw_zone_bucket> elems;
  int set = kernel_zone_ops(dp.skel().zones_fd())->open_live(&elems);
  ASSERT_GE(set, 0);
  close(set);
  dw_zone_hdr h;
  memcpy(&h, &elems[0], sizeof h);
  EXPECT_EQ(h.magic, DW_ZONE_MAGIC);
  EXPECT_EQ(h.max_depth, 2u);
  EXPECT_EQ(h.depth_mask, 2u);
  EXPECT_EQ(h.zones, 1u);
}

TEST(ZoneSet, RootZoneRefused) {
  Datapath dp;
  EXPECT_THROW(dp.set_zones({"."}), std::exception);
}

TEST(ZoneSet, ZoneOf127Labels) {
  Datapath dp;
  std::string deep = many_labels(127, "");
  dp.set_zones({deep});
  EXPECT_EQ(dp.run(query_frame(deep)).reason(), DW_R_ALLOWED);
  EXPECT_EQ(dp.run(query_frame(many_labels(126, "b"))).reason(), DW_R_NOT_AUTH);
}

// Multi-buffer: a frame larger than a page is split into fragments by BPF_PROG_TEST_RUN for an
// xdp.frags program, as a jumbo-MTU driver would.
TEST(MultiBuffer, JumboFrame) {
  Datapath dp;
  dp.set_zones({"example.com"});
  for (auto [name, want] :
       {std::pair{"www.example.com", DW_R_ALLOWED}, std::pair{"junk.example", DW_R_NOT_AUTH}}) {
    DnsSpec d;
    d.qname = name;
    d.trailer = Bytes(8000, 0xab);
    Bytes f = frame({}, dns_message(d));
    ASSERT_GT(f.size(), 4096u);
    EXPECT_EQ(dp.run(f).reason(), want) << name;
  }
}

// SipHash-1-3 over a byte string, straight from the paper, as an independent oracle for the
// incremental root-first hashing in dw_siphash.h.
uint64_t siphash_ref(uint64_t k0, uint64_t k1, const uint8_t *m, size_t n, int c, int d) {
  dw_sip s;
  dw_sip_init(&s, k0, k1);
  auto rounds = [&](int r) {
    for (int i = 0; i < r; ++i) DW_SIPROUND(&s);
  };
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, m + i, 8);
    s.v3 ^= w;
    rounds(c);
    s.v0 ^= w;
  }
  uint64_t b = uint64_t(n & 0xff) << 56;
  for (size_t j = 0; i + j < n; ++j) b |= uint64_t(m[i + j]) << (8 * j);
  s.v3 ^= b;
  rounds(c);
  s.v0 ^= b;
  s.v2 ^= 0xff;
  rounds(d);
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

TEST(Hash, ReferenceSipHash24Vector) {
  // SipHash paper, appendix A: key 00..0f, message 00..0e.
  uint8_t m[15];
  for (int i = 0; i < 15; ++i) m[i] = uint8_t(i);
  EXPECT_EQ(siphash_ref(0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL, m, 15, 2, 4),
            0xa129ca6149be45e5ULL);
}

TEST(Hash, ZoneKeyIsSipHash13OfRootFirstEncoding) {
  dw_hash_key key{0x1122334455667788ULL, 0x99aabbccddeeff00ULL};
  for (std::string z : std::vector<std::string>{"example.com", "A.b.C.d",
                                                std::string(63, 'z') + ".x", "l6aaaa.l7aaaaa"}) {
    auto name = *parse_dns_name(z);
    std::vector<uint8_t> enc;
    for (auto it = name.labels.rbegin(); it != name.labels.rend(); ++it) {
      size_t start = enc.size();
      enc.push_back(uint8_t(it->size()));
      enc.insert(enc.end(), it->begin(), it->end());
      while ((enc.size() - start) % 8) enc.push_back(0);
    }
    EXPECT_EQ(zone_digest(key, name), siphash_ref(key.k0, key.k1, enc.data(), enc.size(), 1, 3))
        << z;
  }
}

// Random zone sets and queries built to hit the traps (siblings, suffix strings, case, depth),
// each checked against a reference that compares label lists.
TEST(Matcher, RandomizedAgainstReference) {
  unsigned seed = std::random_device{}();
  std::printf("seed=%u (DNSWASH_SEED to replay)\n", seed);
  if (const char *s = getenv("DNSWASH_SEED")) seed = unsigned(strtoul(s, nullptr, 10));
  std::mt19937 rng(seed);
  auto pick = [&](size_t n) { return size_t(rng() % n); };
  const std::string alpha = "abcxyzABCXYZ019-_";
  auto label = [&] {
    std::string l;
    size_t n = 1 + pick(pick(4) == 0 ? 63 : 8);
    for (size_t i = 0; i < n; ++i) l += alpha[pick(alpha.size())];
    return l;
  };
  Datapath dp;
  std::vector<std::string> zones;
  std::set<std::vector<std::string>> ref;
  for (int i = 0; i < 300; ++i) {
    std::string z = label();
    for (size_t d = pick(4); d > 0; --d) z = label() + "." + z;
    zones.push_back(z);
    ref.insert(parse_dns_name(z)->labels);
  }
  dp.set_zones(zones);
  auto expect_allowed = [&](const DnsName &n) {
    for (size_t i = 0; i < n.labels.size(); ++i)
      if (ref.count(std::vector<std::string>(n.labels.begin() + long(i), n.labels.end())))
        return true;
    return false;
  };
  int allowed = 0, total = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string q = zones[pick(zones.size())];
    switch (pick(5)) {
      case 0:
        q = label() + "." + q;
        break;  // below a zone
      case 1:
        q = label() + q;
        break;  // glued onto the zone's first label
      case 2:
        q = q + "." + label();
        break;  // zone as a prefix
      case 3:
        q = q.substr(q.find('.') + 1);
        break;  // parent (maybe not served)
      default:
        break;  // apex
    }
    for (auto &ch : q)
      if (pick(2)) ch = char(toupper(uint8_t(ch)));
    auto n = parse_dns_name(q);
    if (!n || n->wire_length() > 255) continue;
    bool want = expect_allowed(*n);
    RunResult r = dp.run(query_frame(q));
    ++total;
    allowed += want;
    ASSERT_EQ(r.reason(), want ? DW_R_ALLOWED : DW_R_NOT_AUTH) << q << " seed=" << seed;
  }
  EXPECT_GT(allowed, total / 4);
  EXPECT_LT(allowed, total);
}

}  // namespace
}  // namespace dnswash::test
