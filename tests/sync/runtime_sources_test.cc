// The running-server zone sources: named's /json/v1/zones, knotc zone-status and nsd-control
// zonestatus parsed as BIND 9.18, Knot 3.2 and NSD 4.6 print them (formats recorded from the
// Debian 12 packages), and the sync's rules for them with a scripted fake source: union with
// named.conf, a failed read keeps the set, a large drop applies only when read twice.
#include <gtest/gtest.h>

#include <deque>
#include <mutex>

#include "error.h"
#include "named_stats.h"
#include "sync_harness.h"
#include "zone_tools.h"

namespace dnswash::test {
namespace {

using namespace std::chrono_literals;

Names texts(const std::vector<DnsName> &names) {
  Names out;
  for (const auto &n : names) out.insert(n.to_text());
  return out;
}

// Recorded from named 9.18.49 (Debian 12) with a primary, an rndc-added secondary not loaded
// yet, a mirror, a view and the built-in CHAOS zones.
const char *kNamedStats = R"({
  "json-stats-version":"1.7", "version":"9.18.49-1~deb12u3-Debian",
  "views":{
    "_default":{"zones":[
      {"name":"a.example","class":"IN","serial":1,"type":"primary","loaded":"2026-12-06T14:43:35Z"},
      {"name":"c.example","class":"IN","type":"secondary","loaded":"1970-01-01T00:00:00Z"},
      {"name":".","class":"IN","type":"mirror","loaded":"1970-01-01T00:00:00Z"},
      {"name":".","class":"IN","serial":1,"type":"primary","loaded":"1970-01-01T00:00:00Z"},
      {"name":"Stub.Example","class":"IN","type":"stub"},
      {"name":"10.in-addr.arpa","class":"IN","serial":0,"type":"builtin"},
      {"name":"old.example","class":"IN","serial":3,"type":"master"},
      {"name":"esc\\.aped.example","class":"IN","serial":3,"type":"slave"}
    ]},
    "ext":{"zones":[
      {"name":"A.EXAMPLE","class":"IN","serial":1,"type":"primary"},
      {"name":"chaos.example","class":"CH","serial":1,"type":"primary"}
    ]},
    "_bind":{"zones":[
      {"name":"version.bind","class":"CH","serial":0,"type":"builtin"}
    ]}
  }
})";

TEST(NamedStats, TakesPrimaryAndSecondaryInZonesOfEveryView) {
  EXPECT_EQ(texts(parse_named_stats_zones(kNamedStats)),
            (Names{"a.example", "c.example", "old.example", "esc\\.aped.example"}));
}

TEST(NamedStats, AnIncompleteDocumentIsAnError) {
  std::string doc = kNamedStats;
  for (size_t cut : {size_t(0), size_t(1), doc.size() / 2, doc.size() - 2})
    EXPECT_THROW(parse_named_stats_zones(doc.substr(0, cut)), Error) << cut;
  EXPECT_THROW(parse_named_stats_zones(R"({"version":"9.18"})"), Error);  // another page
  EXPECT_THROW(parse_named_stats_zones(R"({"views":{"v":{}}})"), Error);
  EXPECT_THROW(parse_named_stats_zones(R"({"views":{"v":{"zones":[{"name":"x"}]}}})"), Error);
  EXPECT_TRUE(parse_named_stats_zones(R"({"views":{}})").empty());  // no views: complete
}

TEST(NamedStats, UrlOfTheChannelNamedConfDeclares) {
  EXPECT_EQ(stats_url_for("127.0.0.1", 8053), "http://127.0.0.1:8053");
  EXPECT_EQ(stats_url_for("*", 80), "http://127.0.0.1:80");
  EXPECT_EQ(stats_url_for("0.0.0.0", 8053), "http://127.0.0.1:8053");
  EXPECT_EQ(stats_url_for("::", 8053), "http://[::1]:8053");
  EXPECT_EQ(stats_url_for("2001:db8::1", 8053), "http://[2001:db8::1]:8053");
}

TEST(NamedStats, UnreachableChannelIsAnError) {
  // Port 1 on loopback: nothing listens there (refused at once).
  EXPECT_THROW(http_get("http://127.0.0.1:1/json/v1/zones", 2000ms, 1 << 20), Error);
}

TEST(KnotcZoneStatus, ListsEveryZone) {
  // knotc 3.2.6 zone-status, then a catalog member and a zone still loading.
  const char *out =
      "[k1.example.] role: master | serial: 1\n"
      "[K2.Example.] role: master | serial: 1\n"
      "[member.example.] role: slave | serial: none | catalog: cat.example.\n"
      "[.] role: master | serial: 1\n";
  EXPECT_EQ(texts(parse_knotc_zone_status(out)),
            (Names{"k1.example", "k2.example", "member.example"}));
  EXPECT_TRUE(parse_knotc_zone_status("").empty());
  EXPECT_THROW(parse_knotc_zone_status("error: failed to connect to socket\n"), Error);
  EXPECT_THROW(parse_knotc_zone_status("[x.example.] error: (no such zone)\n"), Error);
}

TEST(NsdZonestatus, ListsEveryZone) {
  // nsd-control 4.6.1 zonestatus.
  const char *out =
      "zone:\tn1.example\n\tstate: master\n"
      "zone:\tN2.example\n\tpattern: p\n\tstate: master\n"
      "zone:\tsec.example\n\tstate: refreshing\n\tserved-serial: none\n";
  EXPECT_EQ(texts(parse_nsd_zonestatus(out)), (Names{"n1.example", "n2.example", "sec.example"}));
  EXPECT_THROW(parse_nsd_zonestatus("error: could not connect\n"), Error);
}

TEST(RunTool, OutputExitCodeAndTimeout) {
  auto r = run_tool({"sh", "-c", "echo out; echo err >&2; exit 3"}, 5000ms);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  auto slow = run_tool({"sleep", "10"}, 200ms);
  EXPECT_EQ(slow.exit_code, -1);
  EXPECT_THROW(run_tool({"/nonexistent/tool"}, 1000ms), Error);
}

// A source whose reads are scripted by the test: each read takes the next entry (a set, or
// an error), repeating the last one when the script is used up.
class FakeSource : public RuntimeSource {
 public:
  struct Step {
    std::vector<std::string> zones;
    bool fail = false;
  };
  const std::string &name() const override { return name_; }
  std::string where() const override { return "fake"; }
  std::vector<DnsName> read() override {
    std::lock_guard lock(mu_);
    Step s = script_.size() > 1 ? script_.front() : script_.back();
    if (script_.size() > 1) script_.pop_front();
    ++reads_;
    if (s.fail) throw Error("fake read failed");
    std::vector<DnsName> out;
    for (const auto &z : s.zones) out.push_back(*parse_dns_name(z));
    normalize_runtime_zones(out);
    return out;
  }
  void script(std::deque<Step> s) {
    std::lock_guard lock(mu_);
    script_ = std::move(s);
  }
  int reads() {
    std::lock_guard lock(mu_);
    return reads_;
  }

 private:
  std::string name_ = "named-stats";
  std::mutex mu_;
  std::deque<Step> script_{{}};
  int reads_ = 0;
};

ZoneSources with_fake(const std::string &conf, std::shared_ptr<FakeSource> fake) {
  ZoneSources s;
  s.named_conf = conf;
  s.runtime.push_back(fake);
  s.runtime_interval = 100ms;
  s.max_drop_share = 0.25;
  s.drop_confirm = 300ms;
  return s;
}

std::vector<std::string> many(const std::string &prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i) + ".example");
  return out;
}

TEST(RuntimeSource, UnionWithNamedConfAndSourcesPerZone) {
  TempDir dir;
  auto fake = std::make_shared<FakeSource>();
  fake->script({{{"conf.example", "cat-member.example"}}});
  SyncHarness h(with_fake(dir.write("named.conf", zone_lines({"conf.example"})), fake));
  h.sync().initial_sync();
  EXPECT_EQ(h.current(), (Names{"conf.example", "cat-member.example"}));
  EXPECT_EQ(h.sync().sources_of(*parse_dns_name("conf.example")),
            (std::vector<std::string>{"named.conf", "named-stats"}));
  EXPECT_EQ(h.sync().sources_of(*parse_dns_name("cat-member.example")),
            (std::vector<std::string>{"named-stats"}));
  ASSERT_EQ(h.status().runtime.size(), 1u);
  EXPECT_EQ(h.status().runtime[0].zones, 2u);
}

TEST(RuntimeSource, AddedAndRemovedZonesFollowTheServer) {
  TempDir dir;
  auto fake = std::make_shared<FakeSource>();
  auto base = many("z", 10);
  fake->script({{base}});
  SyncHarness h(with_fake(dir.write("named.conf", zone_lines({"conf.example"})), fake));
  h.sync().initial_sync();
  auto more = base;
  more.push_back("added.example");
  fake->script({{more}});
  ASSERT_TRUE(h.wait_until([&] { return h.current().count("added.example") == 1; }, 2000ms));
  fake->script({{base}});
  ASSERT_TRUE(h.wait_until([&] { return h.current().count("added.example") == 0; }, 2000ms));
  EXPECT_EQ(h.current().size(), 11u);
}

TEST(RuntimeSource, FailedReadsNeverShrinkTheSet) {
  TempDir dir;
  auto fake = std::make_shared<FakeSource>();
  fake->script({{many("z", 10)}});
  SyncHarness h(with_fake(dir.write("named.conf", zone_lines({"conf.example"})), fake));
  h.sync().initial_sync();
  fake->script({{{}, true}});  // named stopped: every read fails
  int before = fake->reads();
  ASSERT_TRUE(h.wait_until([&] { return h.status().runtime[0].reads_failed >= 3; }, 3000ms));
  EXPECT_GE(fake->reads(), before + 3);
  EXPECT_TRUE(h.status().runtime[0].failing);
  EXPECT_EQ(h.current().size(), 11u);
  EXPECT_EQ(h.applied().size(), 1u);  // nothing was applied since the start
}

TEST(RuntimeSource, LargeDropAppliesOnlyWhenReadTwice) {
  TempDir dir;
  auto fake = std::make_shared<FakeSource>();
  auto all = many("z", 20);
  fake->script({{all}});
  SyncHarness h(with_fake(dir.write("named.conf", zone_lines({"conf.example"})), fake));
  h.sync().initial_sync();
  // named restarting: one read with half the zones, then all again.
  auto half = std::vector<std::string>(all.begin(), all.begin() + 10);
  fake->script({{half}, {all}});
  ASSERT_TRUE(h.wait_until([&] { return h.status().runtime[0].reads_ok >= 3; }, 3000ms));
  EXPECT_EQ(h.status().runtime[0].drops_held, 1u);
  EXPECT_EQ(h.applied().size(), 1u) << "a drop seen once was applied";
  // Two different large drops in a row are not "the same drop twice" either.
  auto third = std::vector<std::string>(all.begin(), all.begin() + 7);
  fake->script({{half}, {third}, {all}});
  uint64_t ok = h.status().runtime[0].reads_ok;
  ASSERT_TRUE(h.wait_until([&] { return h.status().runtime[0].reads_ok >= ok + 3; }, 3000ms));
  EXPECT_EQ(h.applied().size(), 1u);
  // The same drop read again, 300 ms (drop_confirm) after it was first seen, is real: applied.
  fake->script({{half}});
  auto held_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(h.wait_until([&] { return h.current().size() == 11u; }, 3000ms));
  EXPECT_GE(h.last_applied_at() - held_at, 300ms);
  EXPECT_EQ(h.current().count("z19.example"), 0u);
  EXPECT_EQ(h.current().count("conf.example"), 1u);  // named.conf's zones never depend on it
}

TEST(RuntimeSource, SmallDropAppliesAtOnce) {
  TempDir dir;
  auto fake = std::make_shared<FakeSource>();
  auto all = many("z", 20);
  fake->script({{all}});
  SyncHarness h(with_fake(dir.write("named.conf", ""), fake));
  h.sync().initial_sync();
  auto less = std::vector<std::string>(all.begin(), all.end() - 5);  // 25%: not more than
  fake->script({{less}});
  ASSERT_TRUE(h.wait_until([&] { return h.current().size() == 15u; }, 2000ms));
  EXPECT_EQ(h.status().runtime[0].drops_held, 0u);
  // One zone of very few is always a small drop.
  fake->script({{{"z0.example"}}, {{"z0.example"}}});
  ASSERT_TRUE(h.wait_until([&] { return h.current().size() == 1u; }, 3000ms));
}

TEST(RuntimeSource, OnlySourceUnreadableAtStartRefusesToStart) {
  auto fake = std::make_shared<FakeSource>();
  fake->script({{{}, true}});
  ZoneSources s;
  s.runtime.push_back(fake);
  SyncHarness h(s);
  EXPECT_THROW(h.sync().initial_sync(), Error);
}

TEST(RuntimeSource, UnreadableAtStartBesideNamedConfStartsAndCatchesUp) {
  TempDir dir;
  auto fake = std::make_shared<FakeSource>();
  fake->script({{{}, true}, {{"late.example"}}});
  SyncHarness h(with_fake(dir.write("named.conf", zone_lines({"conf.example"})), fake));
  h.sync().initial_sync();
  EXPECT_EQ(h.current(), Names{"conf.example"});
  ASSERT_TRUE(h.wait_until([&] { return h.current().count("late.example") == 1; }, 2000ms));
}

}  // namespace
}  // namespace dnswash::test
