// Table-driven verdict tests: each case is a crafted frame, the XDP action it must get and
// the one counter that must move (all others stay still).
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <functional>

#include "ban_table.h"
#include "datapath_harness.h"
#include "reasons.h"

namespace dnswash::test {
namespace {

const std::vector<std::string> kZones = {
    "example.com",
    "Example.NET.",
    "deep.a.example.org",
    "x[y.test",
    "a.z",
    "l6aaaa.l7aaaaa.l8aaaaaa.l15aaaaaaaaaaaa.l16aaaaaaaaaaaaa." + std::string(63, 'q') + ".t",
};

struct Case {
  std::string name;
  std::function<Bytes()> make;
  int action;
  int reason;
  std::function<void(Datapath &)> setup = nullptr;
};

Bytes q4(const std::string &n) {
  return query_frame(n, 4);
}
Bytes q6(const std::string &n) {
  return query_frame(n, 6);
}
Bytes with(FrameSpec fs, DnsSpec ds) {
  return frame(fs, dns_message(ds));
}
DnsSpec qn(const std::string &n) {
  DnsSpec d;
  d.qname = n;
  return d;
}
FrameSpec v6() {
  FrameSpec f;
  f.family = 6;
  return f;
}

std::vector<Case> cases() {
  std::vector<Case> c;
  auto pass = [&](std::string n, std::function<Bytes()> m, int r) {
    c.push_back({std::move(n), std::move(m), XDP_PASS, r});
  };
  auto drop = [&](std::string n, std::function<Bytes()> m, int r) {
    c.push_back({std::move(n), std::move(m), XDP_DROP, r});
  };
  // Names: label-aware, case-insensitive suffix match.
  pass(
      "apex", [] { return q4("example.com"); }, DW_R_ALLOWED);
  pass(
      "subdomain", [] { return q4("www.example.com"); }, DW_R_ALLOWED);
  pass(
      "mixed case query", [] { return q4("WwW.ExAmPlE.CoM"); }, DW_R_ALLOWED);
  pass(
      "mixed case zone", [] { return q4("ns1.example.net"); }, DW_R_ALLOWED);
  pass(
      "trailing bytes (EDNS OPT)",
      [] {
        DnsSpec d = qn("www.example.com");
        d.trailer = edns_opt_record();
        return with({}, d);
      },
      DW_R_ALLOWED);
  pass(
      "deep subdomain", [] { return q4("a.b.c.d.e.f.g.h.example.com"); }, DW_R_ALLOWED);
  pass(
      "deep zone apex", [] { return q4("DEEP.a.example.org"); }, DW_R_ALLOWED);
  pass(
      "below deep zone", [] { return q4("x.deep.a.example.org"); }, DW_R_ALLOWED);
  drop(
      "parent of deep zone", [] { return q4("a.example.org"); }, DW_R_NOT_AUTH);
  drop(
      "sibling with zone as substring", [] { return q4("notexample.com"); }, DW_R_NOT_AUTH);
  drop(
      "zone as left part", [] { return q4("example.com.evil.net"); }, DW_R_NOT_AUTH);
  drop(
      "TLD of a zone", [] { return q4("com"); }, DW_R_NOT_AUTH);
  drop(
      "root query", [] { return q4("."); }, DW_R_NOT_AUTH);
  drop(
      "junk", [] { return q4("ddosasia.victim.example"); }, DW_R_NOT_AUTH);
  drop(
      "label with zone's bytes but longer", [] { return q4("example.comm"); }, DW_R_NOT_AUTH);
  // ASCII-only case folding: '[' must not fold to '{'.
  pass(
      "punctuation zone", [] { return q4("host.X[Y.TEST"); }, DW_R_ALLOWED);
  drop(
      "punctuation folded wrongly", [] { return q4("host.x{y.test"); }, DW_R_NOT_AUTH);
  drop(
      "high bytes are not letters", [] { return q4("www.example.c\\207m"); }, DW_R_NOT_AUTH);
  // Label lengths around the 8-byte hashing words.
  pass(
      "labels of 6,7,8,15,16,63 bytes",
      [] {
        return q4("WWW.L6AAAA.l7aaaaa.l8AAAAAA.l15aaaaaaaaaaaa.l16aaaaaaaaaaaaa." +
                  std::string(63, 'Q') + ".t");
      },
      DW_R_ALLOWED);
  drop(
      "one byte off in a 63-byte label",
      [] {
        return q4("l6aaaa.l7aaaaa.l8aaaaaa.l15aaaaaaaaaaaa.l16aaaaaaaaaaaaa." +
                  std::string(62, 'q') + "r.t");
      },
      DW_R_NOT_AUTH);
  pass(
      "63-byte label", [] { return q4(std::string(63, 'x') + ".example.com"); }, DW_R_ALLOWED);
  drop(
      "64-byte label",
      [] {
        DnsSpec d;
        Bytes raw{64};
        raw.insert(raw.end(), 64, 'x');
        for (const char *l : {"example", "com"}) {
          raw.push_back(uint8_t(strlen(l)));
          raw.insert(raw.end(), l, l + strlen(l));
        }
        raw.push_back(0);
        d.raw_qname = raw;
        return with({}, d);
      },
      DW_R_MALFORMED);
  // Name length limits: 255 bytes is the maximum, 127 labels the most labels.
  pass(
      "255-byte name",
      [] {
        std::string n = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                        std::string(63, 'c') + "." + std::string(49, 'd') + ".example.com";
        return q4(n);
      },
      DW_R_ALLOWED);
  drop(
      "127-label junk name", [] { return q4(many_labels(126, "y")); }, DW_R_NOT_AUTH);
  pass(
      "127-label name below a.z", [] { return q4(many_labels(125, "a.z")); }, DW_R_ALLOWED);
  drop(
      "256-byte name",
      [] {
        DnsSpec d;
        Bytes raw;
        for (int i = 0; i < 4; ++i) {
          raw.push_back(63);
          raw.insert(raw.end(), 63, 'a');
        }
        raw.push_back(0);  // 4*64 + 1 = 257 bytes
        d.raw_qname = raw;
        return with({}, d);
      },
      DW_R_MALFORMED);
  drop(
      "128 labels",
      [] {
        DnsSpec d;
        Bytes raw;
        for (int i = 0; i < 128; ++i) raw.insert(raw.end(), {1, 'a'});
        raw.push_back(0);
        d.raw_qname = raw;
        return with({}, d);
      },
      DW_R_MALFORMED);
  drop(
      "compression pointer",
      [] {
        DnsSpec d;
        d.raw_qname = Bytes{3, 'w', 'w', 'w', 0xc0, 0x0c};
        return with({}, d);
      },
      DW_R_MALFORMED);
  drop(
      "extended label type 0x40",
      [] {
        DnsSpec d;
        d.raw_qname = Bytes{0x41, 'x', 0};
        return with({}, d);
      },
      DW_R_MALFORMED);
  drop(
      "name runs past the packet",
      [] {
        DnsSpec d;
        d.raw_qname = Bytes{7, 'e', 'x', 'a'};
        d.omit_type_class = true;
        return with({}, d);
      },
      DW_R_MALFORMED);
  drop(
      "no QTYPE/QCLASS",
      [] {
        DnsSpec d = qn("www.example.com");
        d.omit_type_class = true;
        return with({}, d);
      },
      DW_R_NO_QTYPE);
  drop(
      "QTYPE but no QCLASS",
      [] {
        DnsSpec d = qn("www.example.com");
        d.omit_type_class = true;
        d.trailer = {0, 1};
        return with({}, d);
      },
      DW_R_NO_QTYPE);
  // Header checks. Odd queries pass to named under the odd-query limit (a fresh map here: the
  // first of each passes; tests/nfqueue's OddLimitAgrees covers the limit).
  pass(
      "QDCOUNT 0 (cookie-only)",
      [] {
        DnsSpec d = qn("example.com");
        d.qdcount = 0;
        return with({}, d);
      },
      DW_R_QDCOUNT_PASSED);
  pass(
      "QDCOUNT 2",
      [] {
        DnsSpec d = qn("example.com");
        d.qdcount = 2;
        return with({}, d);
      },
      DW_R_QDCOUNT_PASSED);
  pass(
      "header only, opcode 15 (genreport opcode)",
      [] {
        Bytes m(12, 0);
        m[2] = 15 << 3;
        return frame({}, m);
      },
      DW_R_OPCODE_PASSED);
  drop(
      "response, flag off",
      [] {
        DnsSpec d = qn("example.com");
        d.qr = true;
        return with({}, d);
      },
      DW_R_RESPONSE);
  c.push_back({"response, flag on",
               [] {
                 DnsSpec d = qn("anything.invalid");
                 d.qr = true;
                 return with({}, d);
               },
               XDP_PASS, DW_R_RESPONSE_ALLOWED,
               [](Datapath &dp) { dp.set_flag(DW_CFG_ALLOW_RESPONSES, true); }});
  for (uint8_t op = 0; op < 16; ++op) {
    bool ok = op == 0 || op == 4 || op == 5;
    c.push_back({"opcode " + std::to_string(op),
                 [op] {
                   DnsSpec d = qn("example.com");
                   d.opcode = op;
                   return with({}, d);
                 },
                 XDP_PASS, ok ? DW_R_ALLOWED : DW_R_OPCODE_PASSED});
  }
  drop(
      "CHAOS version.bind",
      [] {
        DnsSpec d = qn("version.bind");
        d.qtype = 16;
        d.qclass = 3;
        return with({}, d);
      },
      DW_R_CHAOS);
  for (std::string id : {"id.server", "HOSTNAME.bind"}) {
    auto make = [id] {
      DnsSpec d = qn(id);
      d.qtype = 16;
      d.qclass = 3;
      return with({}, d);
    };
    c.push_back({"CHAOS " + id + " with chaos-id", make, XDP_PASS, DW_R_CHAOS_ID_PASSED,
                 [](Datapath &dp) { dp.set_flag(DW_CFG_CHAOS_ID, true); }});
    c.push_back({"CHAOS " + id + " without chaos-id", make, XDP_DROP, DW_R_CHAOS});
  }
  for (auto [name, qtype] :
       {std::pair<std::string, uint16_t>{"version.bind", 16}, {"id.server", 1}}) {
    c.push_back({"CHAOS " + name + " type " + std::to_string(qtype) + " with chaos-id",
                 [name, qtype] {
                   DnsSpec d = qn(name);
                   d.qtype = qtype;
                   d.qclass = 3;
                   return with({}, d);
                 },
                 XDP_DROP, DW_R_CHAOS, [](Datapath &dp) { dp.set_flag(DW_CFG_CHAOS_ID, true); }});
  }
  c.push_back({"CHAOS with allow-chaos",
               [] {
                 DnsSpec d = qn("id.server");
                 d.qtype = 16;
                 d.qclass = 3;
                 return with({}, d);
               },
               XDP_PASS, DW_R_CHAOS_ALLOWED,
               [](Datapath &dp) { dp.set_flag(DW_CFG_ALLOW_CHAOS, true); }});
  for (uint16_t cl : {255, 254, 4}) {
    pass(
        "class " + std::to_string(cl),
        [cl] {
          DnsSpec d = qn("example.com");
          d.qclass = cl;
          return with({}, d);
        },
        DW_R_QCLASS_PASSED);
  }
  // Encapsulations.
  pass(
      "IPv6", [] { return q6("www.example.com"); }, DW_R_ALLOWED);
  drop(
      "IPv6 junk", [] { return q6("www.example.co"); }, DW_R_NOT_AUTH);
  pass(
      "802.1Q tag",
      [] {
        FrameSpec f;
        f.vlans = {{0x8100, 11}};
        return with(f, qn("www.example.com"));
      },
      DW_R_ALLOWED);
  drop(
      "802.1Q tag, junk",
      [] {
        FrameSpec f;
        f.vlans = {{0x8100, 11}};
        return with(f, qn("www.example.co"));
      },
      DW_R_NOT_AUTH);
  pass(
      "QinQ (802.1ad + 802.1Q), IPv6",
      [] {
        FrameSpec f = v6();
        f.vlans = {{0x88a8, 100}, {0x8100, 11}};
        return with(f, qn("www.example.com"));
      },
      DW_R_ALLOWED);
  drop(
      "QinQ junk",
      [] {
        FrameSpec f;
        f.vlans = {{0x88a8, 100}, {0x8100, 11}};
        return with(f, qn("junk.example"));
      },
      DW_R_NOT_AUTH);
  for (size_t words = 1; words <= 10; ++words) {
    c.push_back({"IPv4 options, IHL " + std::to_string(5 + words),
                 [words] {
                   FrameSpec f;
                   f.ipv4_options = Bytes(words * 4, 1);  // NOPs
                   return with(f, qn("www.example.com"));
                 },
                 XDP_PASS, DW_R_ALLOWED});
  }
  drop(
      "IPv4 options, junk",
      [] {
        FrameSpec f;
        f.ipv4_options = Bytes(40, 1);
        return with(f, qn("evil.example"));
      },
      DW_R_NOT_AUTH);
  pass(
      "IPv6 hop-by-hop + routing + destination options",
      [] {
        FrameSpec f = v6();
        f.v6ext = {{0, Bytes(6, 0)}, {43, Bytes(14, 0)}, {60, Bytes(6, 0)}};
        return with(f, qn("www.example.com"));
      },
      DW_R_ALLOWED);
  drop(
      "IPv6 ext headers, junk",
      [] {
        FrameSpec f = v6();
        f.v6ext = {{0, Bytes(6, 0)}, {60, Bytes(22, 0)}};
        return with(f, qn("evil.example"));
      },
      DW_R_NOT_AUTH);
  pass(
      "IPv6 chain of exactly the bound",
      [] {
        FrameSpec f = v6();
        for (int i = 0; i < DW_MAX_IPV6_EXTHDRS; ++i) f.v6ext.push_back({60, Bytes(6, 0)});
        return with(f, qn("www.example.com"));
      },
      DW_R_ALLOWED);
  drop(
      "IPv6 chain longer than the bound",
      [] {
        FrameSpec f = v6();
        for (int i = 0; i <= DW_MAX_IPV6_EXTHDRS; ++i) f.v6ext.push_back({60, Bytes(6, 0)});
        return with(f, qn("www.example.com"));
      },
      DW_R_MALFORMED);
  // Lengths.
  pass(
      "Ethernet padding",
      [] {
        FrameSpec f;
        f.eth_padding = 18;
        return with(f, qn("www.example.com"));
      },
      DW_R_ALLOWED);
  drop(
      "Ethernet padding does not hide junk",
      [] {
        FrameSpec f;
        f.eth_padding = 18;
        return with(f, qn("evil.example"));
      },
      DW_R_NOT_AUTH);
  drop(
      "UDP length longer than IP",
      [] {
        FrameSpec f;
        f.udp_len_delta = 2;
        return with(f, qn("www.example.com"));
      },
      DW_R_MALFORMED);
  drop(
      "UDP length shorter than IP",
      [] {
        FrameSpec f;
        f.udp_len_delta = -2;
        return with(f, qn("www.example.com"));
      },
      DW_R_MALFORMED);
  drop(
      "IP length beyond frame",
      [] {
        FrameSpec f;
        f.ip_len_delta = 4;
        f.udp_len_delta = 4;
        return with(f, qn("www.example.com"));
      },
      DW_R_MALFORMED);
  drop(
      "IPv6 UDP length mismatch",
      [] {
        FrameSpec f = v6();
        f.udp_len_delta = -1;
        return with(f, qn("www.example.com"));
      },
      DW_R_MALFORMED);
  drop(
      "UDP length below header",
      [] {
        FrameSpec f;
        f.udp_len_delta = -int(8 + dns_message(qn("www.example.com")).size()) + 4;
        f.ip_len_delta = f.udp_len_delta;
        return with(f, qn("www.example.com"));
      },
      DW_R_MALFORMED);
  // Fragments.
  pass(
      "IPv4 first fragment to UDP/53",
      [] {
        FrameSpec f;
        f.more_fragments = true;
        return with(f, qn("www.example.com"));
      },
      DW_R_FRAGMENT_PASSED);
  pass(
      "IPv4 later fragment",
      [] {
        FrameSpec f;
        f.frag_offset = 185;
        return with(f, qn("www.example.com"));
      },
      DW_R_NOT_DNS);
  pass(
      "IPv6 first fragment to UDP/53",
      [] {
        FrameSpec f = v6();
        f.v6_fragment_header = true;
        f.more_fragments = true;
        return with(f, qn("www.example.com"));
      },
      DW_R_FRAGMENT_PASSED);
  pass(
      "IPv6 later fragment",
      [] {
        FrameSpec f = v6();
        f.v6_fragment_header = true;
        f.frag_offset = 185;
        return with(f, qn("www.example.com"));
      },
      DW_R_NOT_DNS);
  pass(
      "IPv4 first fragment, not port 53",
      [] {
        FrameSpec f;
        f.more_fragments = true;
        f.dport = 5353;
        return with(f, qn("www.example.com"));
      },
      DW_R_NOT_DNS);
  // Everything else passes untouched.
  pass(
      "UDP to another port",
      [] {
        FrameSpec f;
        f.dport = 123;
        return with(f, qn("evil.example"));
      },
      DW_R_NOT_DNS);
  pass(
      "UDP from port 53 (an answer to named)",
      [] {
        FrameSpec f;
        f.sport = 53;
        f.dport = 33333;
        DnsSpec d = qn("evil.example");
        d.qr = true;
        return with(f, d);
      },
      DW_R_NOT_DNS);
  pass(
      "TCP/53",
      [] {
        FrameSpec f;
        f.l4 = 6;
        return frame(f, Bytes(20, 0));
      },
      DW_R_NOT_DNS);
  pass(
      "ICMP",
      [] {
        FrameSpec f;
        f.l4 = 1;
        return frame(f, Bytes(56, 0));
      },
      DW_R_NOT_DNS);
  pass(
      "ICMPv6",
      [] {
        FrameSpec f = v6();
        f.l4 = 58;
        return frame(f, Bytes(56, 0));
      },
      DW_R_NOT_DNS);
  pass(
      "ARP",
      [] {
        FrameSpec f;
        f.ethertype_override = 0x0806;
        return frame(f, {});
      },
      DW_R_NOT_DNS);
  // Bans: UDP/53 only, checked before the name.
  auto ban = [](std::string p, uint64_t exp = 0) {
    return [p, exp](Datapath &dp) { dp.ban(p, exp); };
  };
  c.push_back({"banned IPv4 source", [] { return q4("www.example.com"); }, XDP_DROP, DW_R_BANNED,
               ban("198.51.100.7")});
  c.push_back({"banned IPv4 /24", [] { return q4("www.example.com"); }, XDP_DROP, DW_R_BANNED,
               ban("198.51.100.0/24")});
  c.push_back({"banned IPv6 source", [] { return q6("www.example.com"); }, XDP_DROP, DW_R_BANNED,
               ban("2001:db8::7")});
  c.push_back({"banned IPv6 /48", [] { return q6("junk.example"); }, XDP_DROP, DW_R_BANNED,
               ban("2001:db8::/48")});
  c.push_back({"banned source before malformed name",
               [] {
                 DnsSpec d;
                 d.raw_qname = Bytes{0xc0, 0x0c};
                 return with({}, d);
               },
               XDP_DROP, DW_R_BANNED, ban("198.51.100.7")});
  c.push_back({"banned source on TCP/53",
               [] {
                 FrameSpec f;
                 f.l4 = 6;
                 return frame(f, Bytes(20, 0));
               },
               XDP_PASS, DW_R_NOT_DNS, ban("198.51.100.7")});
  c.push_back({"banned source, other UDP",
               [] {
                 FrameSpec f;
                 f.dport = 123;
                 return frame(f, Bytes(48, 0));
               },
               XDP_PASS, DW_R_NOT_DNS, ban("198.51.100.0/24")});
  c.push_back({"other source not banned", [] { return q4("www.example.com"); }, XDP_PASS,
               DW_R_ALLOWED, ban("198.51.100.8")});
  c.push_back({"expired ban", [] { return q4("www.example.com"); }, XDP_PASS, DW_R_ALLOWED,
               [](Datapath &dp) { dp.ban("198.51.100.7", boottime_ns() - 1000000000ULL); }});
  c.push_back({"ban expiring later", [] { return q4("www.example.com"); }, XDP_DROP, DW_R_BANNED,
               [](Datapath &dp) { dp.ban("198.51.100.7", boottime_ns() + 3600000000000ULL); }});
  c.push_back({"IPv4 ban does not hit IPv6", [] { return q6("www.example.com"); }, XDP_PASS,
               DW_R_ALLOWED, ban("0.0.0.0/0")});
  return c;
}

class VerdictTable : public ::testing::TestWithParam<Case> {};

TEST_P(VerdictTable, ActionAndCounter) {
  const Case &tc = GetParam();
  Datapath dp;
  dp.set_zones(kZones);
  if (tc.setup) tc.setup(dp);
  RunResult r = dp.run(tc.make());
  EXPECT_EQ(action_name(r.action), action_name(tc.action));
  EXPECT_EQ(r.reason(), tc.reason) << "expected counter " << counter_name(unsigned(tc.reason));
  EXPECT_EQ(r.delta[DW_C_DRYRUN_PASSED], 0u);
}

INSTANTIATE_TEST_SUITE_P(Datapath, VerdictTable, ::testing::ValuesIn(cases()),
                         [](const auto &info) {
                           std::string n;
                           for (char ch : info.param.name) n += isalnum(uint8_t(ch)) ? ch : '_';
                           return n + "_" + std::to_string(info.index);
                         });

}  // namespace
}  // namespace dnswash::test
