// --refuse through the real XDP program (BPF_PROG_TEST_RUN): a not-authoritative query from a
// source prefix that sent an allowed query gets a REFUSED built in place (XDP_TX), checked byte
// by byte here; unknown sources, other opcodes and the default stay silent; the reply rate per
// prefix is shared with the tc ban action's bucket.
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

class Refuse : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dp_ = new Datapath();
    dp_->set_zones({"example.com"});
  }
  static void TearDownTestSuite() {
    delete dp_;
    dp_ = nullptr;
  }
  void SetUp() override { set(DW_CFG_REFUSE, 1, 1000); }
  static void set(uint32_t flags, uint32_t per_s, uint32_t burst) {
    dw_config c = read_config(dp_->skel().config_fd());
    c.flags = flags;
    c.slip_per_s = per_s;
    c.slip_burst = burst;
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
  static Bytes query(const std::string &src, const std::string &qname, uint8_t opcode = 0) {
    FrameSpec fs;
    fs.family = src.find(':') == std::string::npos ? 4 : 6;
    fs.src = src;
    fs.dst = fs.family == 4 ? "192.0.2.53" : "2001:db8::53";
    fs.sport = 40123;
    DnsSpec ds;
    ds.qname = qname;
    ds.opcode = opcode;
    ds.id = 0x4242;
    ds.trailer = edns_opt_record(1232);
    return frame(fs, dns_message(ds));
  }
  static void expect_counted(const Out &o, int reason) {
    for (unsigned i = 0; i < DW_R_COUNT; ++i)
      EXPECT_EQ(o.delta[i], i == unsigned(reason) ? 1u : 0u) << counter_name(i);
  }
  static Datapath *dp_;
};
Datapath *Refuse::dp_ = nullptr;

// The REFUSED against the query: addresses and ports swapped, header flags, question echoed,
// OPT cut, checksums right.
void expect_refused_of(const Bytes &q, const Bytes &r, int family) {
  size_t l3 = 14, udp = l3 + (family == 4 ? 20 : 40), d = udp + 8;
  size_t p = d + 12;
  while (q.at(p) != 0) p += q[p] + 1;
  size_t msg = p + 1 + 4 - d;
  ASSERT_EQ(r.size(), d + msg) << "ends right after the question";
  EXPECT_TRUE(std::equal(&r[0], &r[6], &q[6]));
  if (family == 4) {
    EXPECT_TRUE(std::equal(&r[l3 + 12], &r[l3 + 16], &q[l3 + 16]));
    EXPECT_TRUE(std::equal(&r[l3 + 16], &r[l3 + 20], &q[l3 + 12]));
    EXPECT_EQ(fold(sum16(&r[l3], 20)), 0xffff) << "IPv4 header checksum";
  } else {
    EXPECT_TRUE(std::equal(&r[l3 + 8], &r[l3 + 24], &q[l3 + 24]));
    EXPECT_TRUE(std::equal(&r[l3 + 24], &r[l3 + 40], &q[l3 + 8]));
  }
  EXPECT_EQ(be16(r, udp), 53);
  EXPECT_EQ(be16(r, udp + 2), be16(q, udp));
  uint32_t s = family == 4 ? sum16(&r[l3 + 12], 8) : sum16(&r[l3 + 8], 32);
  s += 17 + be16(r, udp + 4);
  EXPECT_EQ(fold(sum16(&r[udp], be16(r, udp + 4), s)), 0xffff) << "UDP checksum";
  EXPECT_EQ(be16(r, d), 0x4242) << "ID";
  EXPECT_EQ(r[d + 2], 0x80 | (q[d + 2] & 0x79)) << "QR=1, opcode/RD kept, AA=0, TC=0";
  EXPECT_EQ(r[d + 3], (q[d + 3] & 0x10) | 5) << "RCODE=REFUSED";
  EXPECT_EQ(be16(r, d + 4), 1);
  EXPECT_EQ(be16(r, d + 10), 0) << "no OPT record";
  EXPECT_TRUE(std::equal(&r[d + 12], &r[d + msg], &q[d + 12])) << "question echoed";
}

TEST_F(Refuse, KnownSourceGetsRefusedUnknownGetsSilence) {
  // Unknown: silence.
  Out u = run(query("198.51.100.20", "junk.example"));
  EXPECT_EQ(action_name(u.action), "XDP_DROP");
  expect_counted(u, DW_R_NOT_AUTH);
  // An allowed query from another host of the same /24 makes the prefix known.
  Out a = run(query("198.51.100.21", "www.example.com"));
  EXPECT_EQ(action_name(a.action), "XDP_PASS");
  expect_counted(a, DW_R_ALLOWED);
  Bytes q = query("198.51.100.20", "junk.example");
  Out r = run(q);
  EXPECT_EQ(action_name(r.action), "XDP_TX");
  expect_counted(r, DW_R_REFUSED);
  expect_refused_of(q, r.frame, 4);
  // IPv6, /56.
  EXPECT_EQ(action_name(run(query("2001:db8:77::1", "junk.example")).action), "XDP_DROP");
  run(query("2001:db8:77:1::9", "example.com"));
  Bytes q6 = query("2001:db8:77::1", "junk.example");
  Out r6 = run(q6);
  EXPECT_EQ(action_name(r6.action), "XDP_TX");
  expect_refused_of(q6, r6.frame, 6);
  // Another /56 is not known.
  EXPECT_EQ(action_name(run(query("2001:db8:78::1", "junk.example")).action), "XDP_DROP");
}

TEST_F(Refuse, OnlyQueriesOnlyWithTheOption) {
  run(query("203.0.113.30", "www.example.com"));
  Out n = run(query("203.0.113.30", "junk.example", 4 /* NOTIFY */));
  EXPECT_EQ(action_name(n.action), "XDP_DROP") << "NOTIFY for a zone not served: silence";
  expect_counted(n, DW_R_NOT_AUTH);
  set(0, 1, 1000);
  Out off = run(query("203.0.113.30", "junk.example"));
  EXPECT_EQ(action_name(off.action), "XDP_DROP") << "--refuse off";
  expect_counted(off, DW_R_NOT_AUTH);
  set(DW_CFG_REFUSE | DW_CFG_DRY_RUN, 1, 1000);
  Out dry = run(query("203.0.113.30", "junk.example"));
  EXPECT_EQ(action_name(dry.action), "XDP_PASS") << "dry-run: counted, passed unchanged";
  EXPECT_EQ(dry.delta[DW_R_REFUSED], 1u);
  EXPECT_EQ(dry.delta[DW_C_DRYRUN_PASSED], 1u);
}

TEST_F(Refuse, AnySourceWithRefuseAny) {
  set(DW_CFG_REFUSE | DW_CFG_REFUSE_ANY, 1, 1000);
  Out r = run(query("192.0.2.77", "junk.example"));
  EXPECT_EQ(action_name(r.action), "XDP_TX");
  expect_counted(r, DW_R_REFUSED);
}

TEST_F(Refuse, RateLimitPerPrefixSharedWithSlips) {
  set(DW_CFG_REFUSE | DW_CFG_REFUSE_ANY, 1, 3);  // one token a second: none accrue here
  auto t0 = std::chrono::steady_clock::now();
  int tx = 0, limited = 0;
  for (int i = 0; i < 6; ++i) {
    // Hosts of one /56 no other test uses share a bucket.
    Out o = run(query("2001:db8:9900::" + std::to_string(100 + i), "junk.example"));
    tx += o.action == XDP_TX;
    limited += int(o.delta[DW_C_REFUSE_LIMITED]);
    if (o.action != XDP_TX) expect_counted(o, DW_R_NOT_AUTH);
  }
  ASSERT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(900))
      << "the machine is too slow for this test's timing (no token may accrue)";
  EXPECT_EQ(tx, 3);
  EXPECT_EQ(limited, 3);
  EXPECT_EQ(counter_name(DW_C_REFUSE_LIMITED), "refuse-limited");
  EXPECT_EQ(counter_name(DW_R_REFUSED), "refused");
}

}  // namespace
}  // namespace dnswash::test
