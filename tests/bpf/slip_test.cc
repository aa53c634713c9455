// Ban action tc through the real XDP program (BPF_PROG_TEST_RUN): the truncated reply a banned
// query gets, byte by byte, checked by an independent parser and checksum code here; which
// banned queries get one; the per-prefix rate limit; dry-run and the default drop action.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <chrono>
#include <string>

#include "config_map.h"
#include "counters.h"
#include "datapath_harness.h"
#include "error.h"
#include "inet_checksum.h"
#include "reasons.h"

namespace dnswash::test {
namespace {

struct Out {
  int action = -1;
  Bytes frame;
  Counters delta{};
};

void put_be16(Bytes &b, size_t off, uint16_t v) {
  b[off] = uint8_t(v >> 8);
  b[off + 1] = uint8_t(v);
}

// Where the layers of a (possibly VLAN-tagged) IPv4/IPv6 UDP frame start.
struct Layout {
  size_t l3 = 0, udp = 0, dns = 0;
  int family = 0;
};
Layout layout(const Bytes &f) {
  Layout l;
  size_t p = 12;
  uint16_t et = be16(f, p);
  while (et == 0x8100 || et == 0x88a8) {
    p += 4;
    et = be16(f, p);
  }
  l.l3 = p + 2;
  l.family = et == 0x0800 ? 4 : 6;
  l.udp = l.l3 + (l.family == 4 ? size_t(f[l.l3] & 0x0f) * 4 : 40);
  l.dns = l.udp + 8;
  return l;
}

// The DNS header plus question of the message at off: its length.
size_t question_end(const Bytes &f, size_t dns) {
  size_t p = dns + 12;
  while (f.at(p) != 0) p += f[p] + 1;
  return p + 1 + 4 - dns;
}

// UDP checksum of the frame as it is: 0xffff when the checksum field is right.
uint16_t udp_sum(const Bytes &f, const Layout &l) {
  uint16_t ulen = be16(f, l.udp + 4);
  uint32_t s = 0;
  if (l.family == 4) {
    s = sum16(&f[l.l3 + 12], 8);
  } else {
    s = sum16(&f[l.l3 + 8], 32);
  }
  s += 17 + ulen;
  s = sum16(&f[l.udp], ulen, s);
  return fold(s);
}

void set_ttl(Bytes &f, uint8_t ttl) {
  Layout l = layout(f);
  if (l.family == 4) {
    f[l.l3 + 8] = ttl;
    put_be16(f, l.l3 + 10, 0);
    put_be16(f, l.l3 + 10, uint16_t(~fold(sum16(&f[l.l3], 20))));
  } else {
    f[l.l3 + 7] = ttl;
  }
}

class Slip : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dp_ = new Datapath();
    dp_->set_zones({"example.com"});
  }
  static void TearDownTestSuite() {
    delete dp_;
    dp_ = nullptr;
  }
  void SetUp() override {
    dw_config c = read_config(dp_->skel().config_fd());
    c.flags = DW_CFG_BAN_ACTION_TC;
    c.slip_per_s = 1;
    c.slip_burst = 1000;  // each test that counts on the limit sets it itself
    c.slip_v4_prefix = 0;
    c.slip_v6_prefix = 0;
    write_config(dp_->skel().config_fd(), c);
  }
  void set_slip(uint32_t per_s, uint32_t burst, uint32_t v4 = 0, uint32_t v6 = 0) {
    dw_config c = read_config(dp_->skel().config_fd());
    c.slip_per_s = per_s;
    c.slip_burst = burst;
    c.slip_v4_prefix = v4;
    c.slip_v6_prefix = v6;
    write_config(dp_->skel().config_fd(), c);
  }

  static Out run(const Bytes &in) {
    Out o;
    Counters before = read_counters(dp_->skel().counters_fd());
    o.frame.assign(in.size() + 256, 0);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = o.frame.data(),
                .data_size_in = uint32_t(in.size()), .data_size_out = uint32_t(o.frame.size()),
                .repeat = 1);
    if (bpf_prog_test_run_opts(dp_->skel().prog_fd(), &opts) != 0)
      throw Error(errno_text("BPF_PROG_TEST_RUN", errno));
    o.frame.resize(opts.data_size_out);
    o.action = int(opts.retval);
    Counters after = read_counters(dp_->skel().counters_fd());
    for (size_t i = 0; i < after.size(); ++i) o.delta[i] = after[i] - before[i];
    return o;
  }

  // A frame from src (a fresh address per test keeps the rate limit of one test away from
  // the others) to the server, banned.
  static Bytes query(const std::string &src, int family, DnsSpec ds = {},
                     std::vector<std::pair<uint16_t, uint16_t>> vlans = {}) {
    FrameSpec fs;
    fs.family = family;
    fs.src = src;
    fs.dst = family == 4 ? "192.0.2.53" : "2001:db8::53";
    fs.vlans = std::move(vlans);
    fs.sport = 40123;
    return frame(fs, dns_message(ds));
  }

  // The only verdict counter that moved must be `reason`, by one.
  static void expect_counted(const Out &o, int reason) {
    for (unsigned i = 0; i < DW_R_COUNT; ++i)
      EXPECT_EQ(o.delta[i], i == unsigned(reason) ? 1u : 0u) << counter_name(i);
  }

  static Datapath *dp_;
};
Datapath *Slip::dp_ = nullptr;

// Every field of the reply against the query it answers.
void expect_slip_of(const Bytes &q, const Bytes &r) {
  Layout lq = layout(q), lr = layout(r);
  ASSERT_EQ(lq.l3, lr.l3) << "VLAN tags changed";
  ASSERT_EQ(lq.family, lr.family);
  size_t msg = question_end(q, lq.dns);
  ASSERT_EQ(r.size(), lq.dns + msg) << "the reply must end right after the question";
  EXPECT_LE(r.size(), q.size());
  // Ethernet: MACs swapped, tags and EtherType kept.
  EXPECT_TRUE(std::equal(&r[0], &r[6], &q[6])) << "destination MAC = query's source";
  EXPECT_TRUE(std::equal(&r[6], &r[12], &q[0])) << "source MAC = query's destination";
  EXPECT_TRUE(std::equal(&r[12], &r[lr.l3], &q[12])) << "VLAN tags / EtherType";
  size_t l3 = lr.l3;
  if (lr.family == 4) {
    EXPECT_EQ(r[l3], 0x45);
    EXPECT_EQ(r[l3 + 1], q[l3 + 1]) << "TOS";
    EXPECT_EQ(be16(r, l3 + 2), 20 + 8 + msg) << "IPv4 total length";
    EXPECT_EQ(be16(r, l3 + 4), be16(q, l3 + 4)) << "IPv4 ID";
    EXPECT_EQ(r[l3 + 8], 64) << "TTL";
    EXPECT_EQ(r[l3 + 9], 17);
    EXPECT_TRUE(std::equal(&r[l3 + 12], &r[l3 + 16], &q[l3 + 16])) << "source = query's dest";
    EXPECT_TRUE(std::equal(&r[l3 + 16], &r[l3 + 20], &q[l3 + 12])) << "dest = query's source";
    EXPECT_EQ(fold(sum16(&r[l3], 20)), 0xffff) << "IPv4 header checksum";
  } else {
    EXPECT_TRUE(std::equal(&r[l3], &r[l3 + 4], &q[l3])) << "version, traffic class, flow";
    EXPECT_EQ(be16(r, l3 + 4), 8 + msg) << "IPv6 payload length";
    EXPECT_EQ(r[l3 + 6], 17);
    EXPECT_EQ(r[l3 + 7], 64) << "hop limit";
    EXPECT_TRUE(std::equal(&r[l3 + 8], &r[l3 + 24], &q[l3 + 24]));
    EXPECT_TRUE(std::equal(&r[l3 + 24], &r[l3 + 40], &q[l3 + 8]));
  }
  size_t u = lr.udp;
  EXPECT_EQ(be16(r, u), be16(q, u + 2)) << "source port = query's destination port";
  EXPECT_EQ(be16(r, u + 2), be16(q, u)) << "destination port = query's source port";
  EXPECT_EQ(be16(r, u + 4), 8 + msg) << "UDP length";
  EXPECT_NE(be16(r, u + 6), 0) << "a real UDP checksum, never 'none'";
  EXPECT_EQ(udp_sum(r, lr), 0xffff) << "UDP checksum";
  size_t d = lr.dns;
  EXPECT_EQ(be16(r, d), be16(q, d)) << "ID";
  EXPECT_EQ(r[d + 2], 0x80 | (q[d + 2] & 0x79) | 0x02) << "QR=1, opcode/RD kept, AA=0, TC=1";
  EXPECT_EQ(r[d + 3], q[d + 3] & 0x10) << "CD kept, RA/Z/AD/RCODE 0";
  EXPECT_EQ(be16(r, d + 4), 1);
  EXPECT_EQ(be16(r, d + 6), 0);
  EXPECT_EQ(be16(r, d + 8), 0);
  EXPECT_EQ(be16(r, d + 10), 0);
  EXPECT_TRUE(std::equal(&r[d + 12], &r[d + msg], &q[d + 12])) << "question echoed";
}

struct Shape {
  std::string name;
  int family;
  std::vector<std::pair<uint16_t, uint16_t>> vlans;
  bool edns;
  std::string qname;
};

TEST_F(Slip, ReplyShapes) {
  const std::vector<Shape> shapes = {
      {"v4", 4, {}, false, "www.example.com"},
      {"v4 one VLAN", 4, {{0x8100, 11}}, false, "www.example.com"},
      {"v4 two VLANs", 4, {{0x88a8, 100}, {0x8100, 11}}, false, "www.example.com"},
      {"v4 EDNS", 4, {}, true, "www.example.com"},
      {"v4 two VLANs EDNS", 4, {{0x88a8, 100}, {0x8100, 11}}, true, "a.example.com"},
      {"v4 junk name", 4, {}, true, "junk.example"},
      {"v4 root name", 4, {}, false, "."},
      {"v4 long name", 4, {}, true, many_labels(120, "example.com")},
      {"v6", 6, {}, false, "www.example.com"},
      {"v6 one VLAN", 6, {{0x8100, 11}}, false, "www.example.com"},
      {"v6 two VLANs", 6, {{0x88a8, 100}, {0x8100, 11}}, false, "www.example.com"},
      {"v6 EDNS", 6, {}, true, "www.example.com"},
      {"v6 two VLANs EDNS", 6, {{0x88a8, 100}, {0x8100, 11}}, true, "x.example.com"},
      {"v6 odd-length question", 6, {}, true, "abcd.example.com"},
  };
  int i = 0;
  for (const Shape &s : shapes) {
    SCOPED_TRACE(s.name);
    std::string src = s.family == 4 ? "198.51.100." + std::to_string(10 + i)
                                    : "2001:db8:0:" + std::to_string(10 + i) + "::7";
    ++i;
    dp_->ban(src);
    DnsSpec ds;
    ds.qname = s.qname;
    ds.id = uint16_t(0xbeef + i);
    if (s.edns) ds.trailer = edns_opt_record(1232);
    Bytes q = query(src, s.family, ds, s.vlans);
    set_ttl(q, 7);
    // RD and CD set, a garbage UDP checksum (a veth/generic-mode partial seed looks like that).
    Layout l = layout(q);
    q[l.dns + 2] |= 0x01;
    q[l.dns + 3] |= 0x10;
    put_be16(q, l.udp + 6, 0x1234);
    Out o = run(q);
    EXPECT_EQ(action_name(o.action), "XDP_TX");
    expect_counted(o, DW_R_BANNED_TC);
    expect_slip_of(q, o.frame);
    if (s.edns) {
      EXPECT_LT(o.frame.size(), q.size()) << "the OPT record is cut";
    }
  }
}

TEST_F(Slip, EthernetPaddingIsCut) {
  dp_->ban("198.51.100.60");
  FrameSpec fs;
  fs.src = "198.51.100.60";
  fs.eth_padding = 30;
  DnsSpec ds;
  ds.qname = "a.b";
  Bytes q = frame(fs, dns_message(ds));
  Out o = run(q);
  ASSERT_EQ(action_name(o.action), "XDP_TX");
  Bytes unpadded(q.begin(), q.end() - 30);
  expect_slip_of(unpadded, o.frame);
}

// Big queries (EDNS padding): the reply is header + question only.
TEST_F(Slip, NoAmplification) {
  dp_->ban("2001:db8:77::/48");
  for (size_t pad : {0, 100, 400, 1200}) {
    DnsSpec ds;
    ds.qname = "www.example.com";
    ds.trailer = edns_opt_record();
    if (pad) {  // OPT RDLENGTH, then option 12 (Padding)
      put_be16(ds.trailer, 9, uint16_t(4 + pad));
      ds.trailer.insert(ds.trailer.end(), {0, 12, uint8_t(pad >> 8), uint8_t(pad)});
      ds.trailer.insert(ds.trailer.end(), pad, 0);
    }
    Bytes q = query("2001:db8:77::" + std::to_string(pad + 1), 6, ds);
    Out o = run(q);
    ASSERT_EQ(action_name(o.action), "XDP_TX") << pad;
    EXPECT_EQ(o.frame.size(), 14 + 40 + 8 + 12 + 17 + 4) << pad;
    expect_slip_of(q, o.frame);
  }
}

TEST_F(Slip, NotSlippedButDropped) {
  struct NoSlip {
    std::string name;
    std::function<Bytes()> make;
  };
  const std::string src = "203.0.113.77";
  dp_->ban(src);
  auto spec = [](auto f) {
    DnsSpec d;
    d.qname = "www.example.com";
    f(d);
    return d;
  };
  const std::vector<NoSlip> cases = {
      {"response (QR=1)", [&] { return query(src, 4, spec([](DnsSpec &d) { d.qr = true; })); }},
      {"NOTIFY", [&] { return query(src, 4, spec([](DnsSpec &d) { d.opcode = 4; })); }},
      {"QDCOUNT 2", [&] { return query(src, 4, spec([](DnsSpec &d) { d.qdcount = 2; })); }},
      {"no QTYPE",
       [&] { return query(src, 4, spec([](DnsSpec &d) { d.omit_type_class = true; })); }},
      {"compression pointer",
       [&] {
         return query(src, 4,
                      spec([](DnsSpec &d) { d.raw_qname = Bytes{3, 'w', 'w', 'w', 0xc0, 12}; }));
       }},
      {"name past the end",
       [&] {
         return query(src, 4, spec([](DnsSpec &d) {
                        d.raw_qname = Bytes{9, 'w'};
                        d.omit_type_class = true;
                      }));
       }},
      {"short message",
       [&] {
         FrameSpec fs;
         fs.src = src;
         return frame(fs, Bytes{1, 2, 3, 4});
       }},
      {"source port 0",
       [&] {
         FrameSpec fs;
         fs.src = src;
         fs.sport = 0;
         return frame(fs, dns_message(spec([](DnsSpec &) {})));
       }},
      {"source port 19 (chargen)",
       [&] {
         FrameSpec fs;
         fs.src = src;
         fs.sport = 19;
         return frame(fs, dns_message(spec([](DnsSpec &) {})));
       }},
      {"IPv4 options",
       [&] {
         FrameSpec fs;
         fs.src = src;
         fs.ipv4_options = {1, 1, 1, 0};
         return frame(fs, dns_message(spec([](DnsSpec &) {})));
       }},
      {"first fragment",
       [&] {
         FrameSpec fs;
         fs.src = src;
         fs.more_fragments = true;
         return frame(fs, dns_message(spec([](DnsSpec &) {})));
       }},
      {"multicast destination",
       [&] {
         FrameSpec fs;
         fs.src = src;
         fs.dst = "224.0.0.251";
         return frame(fs, dns_message(spec([](DnsSpec &) {})));
       }},
      {"group destination MAC",
       [&] {
         Bytes f = query(src, 4, spec([](DnsSpec &) {}));
         f[0] = 0x01;
         return f;
       }},
      {"UDP length disagrees",
       [&] {
         FrameSpec fs;
         fs.src = src;
         fs.udp_len_delta = -2;
         return frame(fs, dns_message(spec([](DnsSpec &) {})));
       }},
  };
  for (const auto &c : cases) {
    SCOPED_TRACE(c.name);
    Bytes q = c.make();
    Out o = run(q);
    EXPECT_EQ(action_name(o.action), "XDP_DROP");
    expect_counted(o, DW_R_BANNED);
    EXPECT_EQ(o.delta[DW_C_SLIP_LIMITED], 0u);
    EXPECT_EQ(o.frame, q) << "the frame must not be touched";
  }
  // IPv6 with a destination options header: no slip.
  dp_->ban("2001:db8:99::1");
  FrameSpec fs;
  fs.family = 6;
  fs.src = "2001:db8:99::1";
  fs.v6ext = {{60, Bytes(6, 0)}};
  Bytes q = frame(fs, dns_message(spec([](DnsSpec &) {})));
  Out o = run(q);
  EXPECT_EQ(action_name(o.action), "XDP_DROP");
  expect_counted(o, DW_R_BANNED);
}

TEST_F(Slip, OnlyBannedSourcesAreAffected) {
  Out ok = run(query("198.51.100.200", 4, DnsSpec{}));
  EXPECT_EQ(action_name(ok.action), "XDP_PASS");
  expect_counted(ok, DW_R_ALLOWED);
  DnsSpec junk;
  junk.qname = "junk.example";
  Out j = run(query("198.51.100.200", 4, junk));
  EXPECT_EQ(action_name(j.action), "XDP_DROP");
  expect_counted(j, DW_R_NOT_AUTH);
  // An expired ban is no ban.
  dp_->ban("198.51.100.201", 1);
  Out e = run(query("198.51.100.201", 4, DnsSpec{}));
  EXPECT_EQ(action_name(e.action), "XDP_PASS");
}

// Burst, then limited; the limit is per prefix (IPv4 /24, IPv6 /56 by default).
TEST_F(Slip, RateLimitPerPrefix) {
  set_slip(1, 4);  // one token a second: the test's few milliseconds earn none
  dp_->ban("192.0.2.0/24");
  dp_->ban("2001:db8:5500::/40");
  auto t0 = std::chrono::steady_clock::now();
  std::vector<int> got;
  for (int i = 0; i < 7; ++i) {
    // Different hosts of one /24 share the bucket.
    Out o = run(query("192.0.2." + std::to_string(100 + i), 4));
    got.push_back(o.action);
    if (o.action == XDP_TX) {
      expect_counted(o, DW_R_BANNED_TC);
      EXPECT_EQ(o.delta[DW_C_SLIP_LIMITED], 0u);
    } else {
      EXPECT_EQ(action_name(o.action), "XDP_DROP");
      expect_counted(o, DW_R_BANNED);
      EXPECT_EQ(o.delta[DW_C_SLIP_LIMITED], 1u);
    }
  }
  // Another /24 has its own bucket.
  Out other = run(query("192.0.3.1", 4));
  bool fast = std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(900);
  ASSERT_TRUE(fast) << "the machine is too slow for this test's timing (no token may accrue)";
  EXPECT_EQ(got, (std::vector<int>{XDP_TX, XDP_TX, XDP_TX, XDP_TX, XDP_DROP, XDP_DROP, XDP_DROP}));
  EXPECT_EQ(action_name(other.action), "XDP_PASS") << "192.0.3.1 is not banned";
  dp_->ban("192.0.3.0/24");
  EXPECT_EQ(action_name(run(query("192.0.3.1", 4)).action), "XDP_TX");

  // IPv6: the same /56 shares, the neighbouring /56 does not.
  int tx = 0;
  for (int i = 0; i < 6; ++i)
    tx += run(query("2001:db8:5500:" + std::to_string(i) + "::1", 6)).action == XDP_TX;
  EXPECT_EQ(tx, 4);
  EXPECT_EQ(action_name(run(query("2001:db8:5500:100::1", 6)).action), "XDP_TX");

  // A /32 bucket per IPv4 host when configured so.
  set_slip(1, 1, 32, 128);
  dp_->ban("192.0.4.0/24");
  EXPECT_EQ(action_name(run(query("192.0.4.1", 4)).action), "XDP_TX");
  EXPECT_EQ(action_name(run(query("192.0.4.1", 4)).action), "XDP_DROP");
  EXPECT_EQ(action_name(run(query("192.0.4.2", 4)).action), "XDP_TX");
}

// The bucket refills at slip_per_s.
TEST_F(Slip, RateLimitRefills) {
  // A prefix no other test uses: a bucket keeps its state across config changes.
  set_slip(50, 1);  // a token every 20 ms
  const std::string src = "2001:db8:aaaa::1";
  dp_->ban(src);
  EXPECT_EQ(action_name(run(query(src, 6)).action), "XDP_TX");
  EXPECT_EQ(action_name(run(query(src, 6)).action), "XDP_DROP");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  int action = XDP_DROP;
  while (action != XDP_TX && std::chrono::steady_clock::now() < deadline)
    action = run(query(src, 6)).action;
  EXPECT_EQ(action_name(action), "XDP_TX") << "no token within 2 s at 50/s";
}

TEST_F(Slip, DryRunPassesUnchanged) {
  dp_->set_flag(DW_CFG_DRY_RUN, true);
  dp_->ban("198.51.100.90");
  Bytes q = query("198.51.100.90", 4);
  Out o = run(q);
  dp_->set_flag(DW_CFG_DRY_RUN, false);
  EXPECT_EQ(action_name(o.action), "XDP_PASS");
  expect_counted(o, DW_R_BANNED_TC);  // what enforcing would do
  EXPECT_EQ(o.delta[DW_C_DRYRUN_PASSED], 1u);
  EXPECT_EQ(o.frame, q);
}

TEST_F(Slip, DefaultActionDropIsUnchanged) {
  dp_->set_flag(DW_CFG_BAN_ACTION_TC, false);
  dp_->ban("198.51.100.91");
  Bytes q = query("198.51.100.91", 4);
  Out o = run(q);
  EXPECT_EQ(action_name(o.action), "XDP_DROP");
  expect_counted(o, DW_R_BANNED);
  EXPECT_EQ(o.frame, q);
  Out v6 = run(query("2001:db8:5500::1", 6));  // banned in RateLimitPerPrefix or not: no TX
  EXPECT_NE(action_name(v6.action), "XDP_TX");
}

TEST(SlipAbi, ReasonAndCounterNames) {
  EXPECT_EQ(counter_name(DW_R_BANNED_TC), "banned-tc");
  EXPECT_TRUE(dw_reason_is_drop(DW_R_BANNED_TC));
  EXPECT_TRUE(reason_table_says_drop(DW_R_BANNED_TC));
  EXPECT_EQ(counter_name(DW_C_SLIP_LIMITED), "slip-limited");
  EXPECT_EQ(counter_name(DW_C_DRYRUN_PASSED), "dry-run-passed");
}

}  // namespace
}  // namespace dnswash::test
