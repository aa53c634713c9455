// The zone shield in the kernel, under BPF_PROG_TEST_RUN: the XDP walk (exists / missing /
// open subtrees / unshielded zones), the NXDOMAIN it builds (every byte that matters: flags,
// question, the zone's SOA, OPT, lengths, checksums), the TC and drop actions, the per-zone
// counts of the tc program and of XDP. (The verifier budget of the same object is checked by
// the detector tests: DetectorPrograms.VerifiedInstructionsStayFarBelowTheLimit.)
#include <bpf/bpf.h>
#include <gtest/gtest.h>

#include <cstring>

#include "axfr.h"
#include "config_map.h"
#include "detector_harness.h"
#include "inet_checksum.h"
#include "name_set.h"
#include "shield_maps.h"

namespace dnswash::test {
namespace {

using namespace dnswash::shield;

DnsName N(const std::string &s) {
  return *parse_dns_name(s);
}

struct Out {
  int action = -1;
  Bytes frame;
};

class Shield : public ::testing::Test {
 protected:
  void SetUp() override {
    d.set_zones({"shop.example", "other.example"});
    d.configure(3, 600, 50, 100);
    auto *s = d.skel().skel();
    maps = std::make_unique<ShieldMaps>(bpf_map__fd(s->maps.dw_shield_names),
                                        bpf_map__fd(s->maps.dw_shield_zones),
                                        bpf_map__fd(s->maps.dw_shield_stats), d.skel().config_fd());
    ZoneNamesBuilder b(N("shop.example"));
    b.add(N("www.shop.example"), 1);
    b.add(N("a.b.shop.example"), 1);
    b.add(N("sub.shop.example"), kTypeNs);
    b.add(N("*.wild.shop.example"), 1);
    maps->install(build_name_set(d.zones().key(), N("shop.example"), b.finish()));
    // SOA: ns.shop.example. h.shop.example. 7 3600 600 86400 30, TTL 30.
    soa = {0, 6, 0, 1, 0, 0, 0, 30, 0, 0};
    auto mn = N("ns.shop.example").to_wire(), rn = N("h.shop.example").to_wire();
    soa.insert(soa.end(), mn.begin(), mn.end());
    soa.insert(soa.end(), rn.begin(), rn.end());
    for (uint32_t v : {7u, 3600u, 600u, 86400u, 30u})
      for (int sh = 24; sh >= 0; sh -= 8) soa.push_back(uint8_t(v >> sh));
    soa[9] = uint8_t(soa.size() - 10);
    shield(DW_SHIELD_ACT_NXDOMAIN);
    maps->set_flag(true);
  }
  void shield(uint32_t action) {
    dw_shield_zone z{};
    z.action = action;
    z.soa_len = uint32_t(soa.size());
    std::memcpy(z.soa, soa.data(), soa.size());
    maps->set_zone(tag("shop.example"), z);
  }
  uint64_t tag(const std::string &zone) {
    return dw_zone_tag(zone_digest(d.zones().key(), N(zone)));
  }
  Out run(const Bytes &in) {
    Out o;
    o.frame.assign(in.size() + 512, 0);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = o.frame.data(),
                .data_size_in = uint32_t(in.size()), .data_size_out = uint32_t(o.frame.size()),
                .repeat = 1);
    if (bpf_prog_test_run_opts(d.skel().prog_fd(), &opts) != 0)
      throw std::runtime_error("test run");
    o.frame.resize(opts.data_size_out);
    o.action = int(opts.retval);
    return o;
  }
  static Bytes query(const std::string &name, int family = 4, bool edns = true, bool rd = false) {
    DnsSpec ds;
    ds.qname = name;
    if (edns) ds.trailer = edns_opt_record();
    Bytes msg = dns_message(ds);
    if (rd) msg[2] |= 1;
    FrameSpec fs;
    fs.family = family;
    fs.src = family == 4 ? "198.51.100.7" : "2001:db8::7";
    fs.dst = family == 4 ? "192.0.2.53" : "2001:db8::53";
    fs.sport = 40123;
    return frame(fs, msg);
  }
  Detector d;
  std::unique_ptr<ShieldMaps> maps;
  std::vector<uint8_t> soa;
};

TEST_F(Shield, ExistingNamesPassMissingOnesAreAnsweredInXdp) {
  for (const char *ok : {"www.shop.example", "WwW.sHoP.eXaMpLe", "shop.example", "b.shop.example",
                         "a.b.shop.example", "sub.shop.example", "deep.er.sub.shop.example",
                         "x.wild.shop.example", "x.y.wild.shop.example"})
    EXPECT_EQ(d.run(query(ok)).reason(), int(DW_R_ALLOWED)) << ok;
  for (const char *missing : {"k3j9q2mdt0ab.shop.example", "_dmarc.shop.example",
                              "x.www.shop.example", "c.b.shop.example"})
    EXPECT_EQ(d.run(query(missing)).reason(), int(DW_R_SHIELD)) << missing;
  // An unshielded zone is not touched, whatever the name.
  EXPECT_EQ(d.run(query("k3j9q2mdt0ab.other.example")).reason(), int(DW_R_ALLOWED));
  // The per-zone count of what the shield stopped.
  auto st = maps->read_stats();
  EXPECT_EQ(st[tag("shop.example")].blocked, 4u);
}

// The name set's header marks the zones whose names it holds; dw_shield_zones says which are
// shielded. Only both together stop a missing name.
TEST_F(Shield, NamesWithoutTheShieldOrTheShieldWithoutNamesPass) {
  maps->clear_zone(tag("shop.example"));  // names loaded, not shielded
  EXPECT_EQ(d.run(query("k3j9q2mdt0ab.shop.example")).reason(), int(DW_R_ALLOWED));
  EXPECT_EQ(d.run(query("www.shop.example")).reason(), int(DW_R_ALLOWED));
  dw_shield_zone z{};
  z.action = DW_SHIELD_ACT_DROP;
  maps->set_zone(tag("other.example"), z);  // shielded, no names in the set
  EXPECT_EQ(d.run(query("k3j9q2mdt0ab.other.example")).reason(), int(DW_R_ALLOWED));
  EXPECT_EQ(maps->read_stats()[tag("shop.example")].blocked, 0u);
  shield(DW_SHIELD_ACT_NXDOMAIN);
  EXPECT_EQ(d.run(query("k3j9q2mdt0ab.shop.example")).reason(), int(DW_R_SHIELD));
}

TEST_F(Shield, TheNxdomainIsAWellFormedAnswerWithTheSoa) {
  for (int family : {4, 6})
    for (bool edns : {true, false}) {
      Bytes q = query("k3j9q2mdt0ab.shop.example", family, edns, true);
      Out o = run(q);
      ASSERT_EQ(o.action, 3 /* XDP_TX */) << family << edns;
      const Bytes &r = o.frame;
      // Ethernet and IP addresses swapped.
      EXPECT_TRUE(std::equal(r.begin(), r.begin() + 6, q.begin() + 6));
      size_t l3 = 14, udp = l3 + (family == 4 ? 20 : 40), dns = udp + 8;
      if (family == 4) {
        EXPECT_TRUE(std::equal(r.begin() + 26, r.begin() + 30, q.begin() + 30));
        EXPECT_EQ(be16(r, l3 + 2), r.size() - l3);
        EXPECT_EQ(fold(sum16(&r[l3], 20)), 0xffff);
      } else {
        EXPECT_EQ(be16(r, l3 + 4), r.size() - udp);
      }
      EXPECT_EQ(be16(r, udp), 53);
      EXPECT_EQ(be16(r, udp + 2), 40123);
      EXPECT_EQ(be16(r, udp + 4), r.size() - udp);
      uint32_t s = family == 4 ? sum16(&r[l3 + 12], 8) : sum16(&r[l3 + 8], 32);
      s += 17 + be16(r, udp + 4);
      EXPECT_EQ(fold(sum16(&r[udp], r.size() - udp, s)), 0xffff) << "UDP checksum";
      // DNS: ID kept, QR AA RD, RCODE 3, 1 question, 0 answers, 1 authority (SOA), OPT if asked.
      EXPECT_EQ(be16(r, dns), 0x1234);
      EXPECT_EQ(r[dns + 2], 0x80 | 0x04 | 0x01);
      EXPECT_EQ(r[dns + 3], 3);
      EXPECT_EQ(be16(r, dns + 4), 1);
      EXPECT_EQ(be16(r, dns + 6), 0);
      EXPECT_EQ(be16(r, dns + 8), 1);
      EXPECT_EQ(be16(r, dns + 10), edns ? 1 : 0);
      size_t qend = dns + 12 + N("k3j9q2mdt0ab.shop.example").wire_length() + 4;
      EXPECT_TRUE(std::equal(r.begin() + long(dns + 12), r.begin() + long(qend),
                             q.begin() + long(dns + 12)));
      // The SOA's owner points at "shop.example" inside the question (offset 12 + 13).
      EXPECT_EQ(be16(r, qend), 0xC000 | (12 + 13));
      EXPECT_TRUE(std::equal(soa.begin(), soa.end(), r.begin() + long(qend + 2)));
      size_t end = qend + 2 + soa.size();
      if (edns) {
        ASSERT_EQ(r.size(), end + 11);
        EXPECT_EQ(r[end], 0);
        EXPECT_EQ(be16(r, end + 1), 41);
        EXPECT_EQ(be16(r, end + 3), 1232);
      } else {
        EXPECT_EQ(r.size(), end);
      }
    }
}

TEST_F(Shield, ADnsCookieIsEchoedWithAServerCookie) {
  DnsSpec ds;
  ds.qname = "nope.shop.example";
  ds.trailer = {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 12, 0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8};
  FrameSpec fs;
  fs.sport = 40123;
  Out o = run(frame(fs, dns_message(ds)));
  ASSERT_EQ(o.action, 3);
  const Bytes &r = o.frame;
  ASSERT_GE(r.size(), 31u);
  size_t opt = r.size() - 31;
  EXPECT_EQ(be16(r, opt + 1), 41);
  EXPECT_EQ(be16(r, opt + 9), 20);   // RDLENGTH
  EXPECT_EQ(be16(r, opt + 11), 10);  // COOKIE
  EXPECT_EQ(be16(r, opt + 13), 16);
  EXPECT_EQ(Bytes(r.begin() + long(opt + 15), r.begin() + long(opt + 23)),
            (Bytes{1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST_F(Shield, TcAndDropActionsAndDryRun) {
  shield(DW_SHIELD_ACT_TC);
  for (int family : {4, 6}) {
    // The truncated reply: QR TC, RD kept, RCODE 0, the question echoed and nothing after it
    // (the query's OPT cut), lengths and UDP checksum right.
    Out o = run(query("zz.shop.example", family, true, true));
    ASSERT_EQ(o.action, 3) << family;
    const Bytes &r = o.frame;
    size_t udp = 14 + (family == 4 ? 20 : 40), dns = udp + 8;
    EXPECT_EQ(r[dns + 2], 0x80 | 0x02 | 0x01) << family;
    EXPECT_EQ(r[dns + 3], 0);
    EXPECT_EQ(be16(r, dns + 4), 1);
    EXPECT_EQ(be16(r, dns + 6) | be16(r, dns + 8) | be16(r, dns + 10), 0);
    EXPECT_EQ(r.size(), dns + 12 + N("zz.shop.example").wire_length() + 4);
    EXPECT_EQ(be16(r, udp + 4), r.size() - udp);
    uint32_t s = family == 4 ? sum16(&r[14 + 12], 8) : sum16(&r[14 + 8], 32);
    s += 17 + be16(r, udp + 4);
    EXPECT_EQ(fold(sum16(&r[udp], r.size() - udp, s)), 0xffff) << "UDP checksum";
  }
  shield(DW_SHIELD_ACT_DROP);
  EXPECT_EQ(run(query("zz.shop.example")).action, 1 /* XDP_DROP */);
  shield(DW_SHIELD_ACT_NXDOMAIN);
  set_config_flag(d.skel().config_fd(), DW_CFG_DRY_RUN, true);
  EXPECT_EQ(run(query("zz.shop.example")).action, 2 /* XDP_PASS */);
  set_config_flag(d.skel().config_fd(), DW_CFG_DRY_RUN, false);
  // Flag off: nothing is looked at.
  maps->set_flag(false);
  EXPECT_EQ(d.run(query("zz.shop.example")).reason(), int(DW_R_ALLOWED));
  // Zone entry gone: nothing either.
  maps->set_flag(true);
  maps->clear_zone(tag("shop.example"));
  EXPECT_EQ(d.run(query("zz.shop.example")).reason(), int(DW_R_ALLOWED));
}

TEST_F(Shield, TheTcProgramCountsEveryAnswerPerZone) {
  for (int i = 0; i < 5; ++i) {
    Response r{"n" + std::to_string(i) + ".other.example"};
    r.edns = true;  // resolvers too: never banned, but counted for the shield
    d.answer(r);
  }
  d.answer({"www.other.example", 0});
  auto st = maps->read_stats();
  EXPECT_EQ(st[tag("other.example")].answers, 6u);
  EXPECT_EQ(st[tag("other.example")].nx, 5u);
  EXPECT_FALSE(d.banned("198.51.100.7"));
}

}  // namespace
}  // namespace dnswash::test
