// The dropped-name sampler in the real XDP program (bpf/dw_sample.h): what a sample holds, that
// only drop verdicts are sampled and only when switched on, the per-CPU rate limit, and that a
// full ring counts samples-lost and never changes a verdict.
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <linux/bpf.h>

#include <cstring>
#include <vector>

#include "config_map.h"
#include "datapath_harness.h"
#include "dns_name.h"

namespace dnswash::test {
namespace {

class Sampler : public ::testing::Test {
 protected:
  void SetUp() override {
    // BPF_PROG_TEST_RUN runs on the calling CPU: stay on one so the per-CPU limit is one limit.
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(sched_getcpu(), &set);
    ASSERT_EQ(sched_setaffinity(0, sizeof set, &set), 0);
    dp_.set_zones({"example.com"});
    rb_ =
        ring_buffer__new(bpf_map__fd(dp_.skel().skel()->maps.dw_samples), on_event, this, nullptr);
    ASSERT_NE(rb_, nullptr);
  }
  void TearDown() override { ring_buffer__free(rb_); }
  void sampling(uint32_t every, uint32_t per_s) {
    dw_config c = read_config(dp_.skel().config_fd());
    c.sample_every = every;
    c.sample_per_s = per_s;
    write_config(dp_.skel().config_fd(), c);
  }
  std::vector<dw_sample_event> drain() {
    events_.clear();
    ring_buffer__consume(rb_);
    return events_;
  }
  static int on_event(void *ctx, void *data, size_t size) {
    auto *self = static_cast<Sampler *>(ctx);
    EXPECT_EQ(size, sizeof(dw_sample_event));
    dw_sample_event e;
    std::memcpy(&e, data, sizeof e);
    self->events_.push_back(e);
    return 0;
  }
  static std::string name_of(const dw_sample_event &e) {
    auto n = parse_wire_name(e.qname, e.qname_len);
    return n ? n->to_text() : "<bad>";
  }

  Datapath dp_;
  ring_buffer *rb_ = nullptr;
  std::vector<dw_sample_event> events_;
};

TEST_F(Sampler, OffByDefault) {
  EXPECT_EQ(dp_.run(query_frame("junk.example.org")).action, XDP_DROP);
  EXPECT_TRUE(drain().empty());
}

TEST_F(Sampler, DropSampleHoldsNameSourceReasonType) {
  sampling(1, 1000);
  DnsSpec d;
  d.qname = "Junk.Example.ORG";
  d.qtype = 28;
  FrameSpec f;
  f.src = "198.51.100.9";
  EXPECT_EQ(dp_.run(frame(f, dns_message(d))).action, XDP_DROP);
  auto ev = drain();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].reason, DW_R_NOT_AUTH);
  EXPECT_EQ(ev[0].family, 4);
  EXPECT_EQ(ev[0].qtype, 28);
  EXPECT_EQ(ev[0].qname_len, 18);
  EXPECT_EQ(name_of(ev[0]), "junk.example.org");  // the daemon folds; the wire keeps case
  const uint8_t want[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 9};
  EXPECT_EQ(std::memcmp(ev[0].src, want, 16), 0);

  FrameSpec f6;
  f6.family = 6;
  f6.src = "2001:db8::9";
  DnsSpec root;
  root.qname = ".";
  EXPECT_EQ(dp_.run(frame(f6, dns_message(root))).action, XDP_DROP);
  ev = drain();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].family, 6);
  EXPECT_EQ(ev[0].qname_len, 1);
  EXPECT_EQ(ev[0].src[0], 0x20);
}

TEST_F(Sampler, PassesAreNotSampledAndEarlyDropsHaveNoName) {
  sampling(1, 1000);
  EXPECT_EQ(dp_.run(query_frame("www.example.com")).action, XDP_PASS);
  EXPECT_TRUE(drain().empty());
  // A junk query first leaves its name in the scratch; a banned packet must not report it.
  EXPECT_EQ(dp_.run(query_frame("junk.example.org")).action, XDP_DROP);
  dp_.ban("198.51.100.7/32");
  EXPECT_EQ(dp_.run(query_frame("www.example.com")).action, XDP_DROP);
  auto ev = drain();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1].reason, DW_R_BANNED);
  EXPECT_EQ(ev[1].qname_len, 0);
}

TEST_F(Sampler, DryRunIsSampledToo) {
  sampling(1, 1000);
  dp_.set_flag(DW_CFG_DRY_RUN, true);
  EXPECT_EQ(dp_.run(query_frame("junk.example.org")).action, XDP_PASS);
  EXPECT_EQ(drain().size(), 1u);
}

TEST_F(Sampler, RateLimitPerCpu) {
  sampling(1, 3);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(dp_.run(query_frame("junk.example.org")).action, XDP_DROP);
  EXPECT_EQ(drain().size(), 3u);
}

TEST_F(Sampler, OneInEvery) {
  sampling(4, 100000);
  for (int i = 0; i < 400; ++i) dp_.run(query_frame("junk.example.org"));
  size_t n = drain().size();
  EXPECT_GT(n, 40u);  // binomial(400, 1/4): mean 100, sd 8.7
  EXPECT_LT(n, 160u);
}

TEST_F(Sampler, FullRingCountsLostAndNeverChangesTheVerdict) {
  sampling(1, 1000000);
  const size_t fits = DW_SAMPLES_RING_BYTES / (sizeof(dw_sample_event) + 8);
  uint64_t lost = 0;
  for (size_t i = 0; i < fits + 50; ++i) {
    RunResult r = dp_.run(query_frame("junk.example.org"));
    ASSERT_EQ(r.action, XDP_DROP);
    ASSERT_EQ(r.delta[DW_R_NOT_AUTH], 1u);
    lost += r.delta[DW_C_SAMPLES_LOST];
  }
  EXPECT_GE(lost, 50u);
  EXPECT_EQ(drain().size() + lost, fits + 50);
}

}  // namespace
}  // namespace dnswash::test
