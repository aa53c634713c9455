// End to end through the real XDP program: ZoneSync feeds a ZoneTable over a loaded
// DnswashSkel, named.conf is edited, and BPF_PROG_TEST_RUN shows the removed zone dropped and
// the added one passed, within a second of the edit.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include "datapath_harness.h"
#include "sync_harness.h"
#include "zone_table.h"

namespace dnswash::test {
namespace {

using namespace std::chrono_literals;

TEST(ZoneSyncXdp, EditOfNamedConfReachesTheDatapath) {
  Datapath dp;  // loads the program; fails (never skips) without BPF
  TempDir dir;
  std::string conf = dir.write(
      "named.conf", zone_lines({"keep.example", "gone.example"}) +
                        "zone \"stub.example\" { type stub; primaries { 192.0.2.1; }; };\n");
  ZoneSources s;
  s.named_conf = conf;
  SyncHarness h(s, [&](const std::vector<DnsName> &zones) { dp.zones().apply(zones); });
  h.sync().initial_sync();

  EXPECT_EQ(dp.run(query_frame("www.keep.example")).action, XDP_PASS);
  EXPECT_EQ(dp.run(query_frame("www.gone.example")).action, XDP_PASS);
  EXPECT_EQ(dp.run(query_frame("www.new.example")).action, XDP_DROP);
  EXPECT_EQ(dp.run(query_frame("www.stub.example")).action, XDP_DROP);  // not authoritative

  auto edited = std::chrono::steady_clock::now();
  dir.replace("named.conf", zone_lines({"keep.example", "new.example"}));
  // Poll the datapath itself, not the callback: the verdict is what must change.
  ASSERT_TRUE(h.wait_until(
      [&] { return dp.run(query_frame("www.gone.example", 6)).action == XDP_DROP; }, 1000ms));
  EXPECT_LT(std::chrono::steady_clock::now() - edited, 1s);
  EXPECT_EQ(dp.run(query_frame("www.gone.example")).action, XDP_DROP);
  EXPECT_EQ(dp.run(query_frame("www.new.example")).action, XDP_PASS);
  EXPECT_EQ(dp.run(query_frame("www.keep.example")).action, XDP_PASS);
  EXPECT_EQ(dp.run(query_frame("keep.example", 6)).action, XDP_PASS);

  // A broken edit leaves the datapath as it was.
  dir.replace("named.conf", zone_lines({"keep.example"}) + "zone \"x\" {");
  ASSERT_TRUE(h.wait_until([&] { return h.status().syncs_failed == 1; }));
  EXPECT_EQ(dp.run(query_frame("www.new.example")).action, XDP_PASS);
  EXPECT_EQ(dp.zones().size(), 2u);
}

}  // namespace
}  // namespace dnswash::test
