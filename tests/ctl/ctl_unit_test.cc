// Unit tests of the pieces behind dnswashctl's stats/top/check/metrics that need no kernel:
// output helpers and durations (ctl/output.h), the top-K table (daemon/features/top_table.h),
// the Prometheus text (checked for format here; tests/ctl/metrics_parse.py checks it with the
// real parser), query types, the check frame and --metrics-listen addresses.
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "check_feature.h"
#include "dns_types.h"
#include "http_listen.h"
#include "metrics_text.h"
#include "output.h"
#include "reasons.h"
#include "top_table.h"

namespace dnswash {
namespace {

using ctl::fmt_count;
using ctl::fmt_duration;
using ctl::fmt_si;
using ctl::parse_duration;

TEST(Output, Counts) {
  EXPECT_EQ(fmt_count(0), "0");
  EXPECT_EQ(fmt_count(999), "999");
  EXPECT_EQ(fmt_count(1000), "1,000");
  EXPECT_EQ(fmt_count(1234567), "1,234,567");
}

TEST(Output, SiAndRates) {
  EXPECT_EQ(fmt_si(0), "0");
  EXPECT_EQ(fmt_si(12), "12");
  EXPECT_EQ(fmt_si(0.5), "0.50");
  EXPECT_EQ(fmt_si(1234.5), "1.23k");
  EXPECT_EQ(fmt_si(2500000), "2.50M");
  EXPECT_EQ(fmt_si(999.7), "1.00k");
  EXPECT_EQ(ctl::fmt_rate(1500, "pkt"), "1.50k pkt/s");
}

TEST(Output, Durations) {
  EXPECT_EQ(fmt_duration(0), "0s");
  EXPECT_EQ(fmt_duration(45), "45s");
  EXPECT_EQ(fmt_duration(600), "10m");
  EXPECT_EQ(fmt_duration(5400), "1h30m");
  EXPECT_EQ(fmt_duration(3605), "1h");
  EXPECT_EQ(fmt_duration(90000), "1d1h");
  EXPECT_EQ(parse_duration("90"), 90);
  EXPECT_EQ(parse_duration("90s"), 90);
  EXPECT_EQ(parse_duration("10m"), 600);
  EXPECT_EQ(parse_duration("2h"), 7200);
  EXPECT_EQ(parse_duration("1d"), 86400);
  EXPECT_EQ(parse_duration("1h30m"), 5400);
  for (const char *bad :
       {"", "0", "0s", "-5", "5x", "m", "1h30", "10 m", "1.5h", "99999999999", "36500d1s"})
    EXPECT_FALSE(parse_duration(bad)) << bad;
}

TEST(Output, TableAligns) {
  ctl::Table t({{"name", ctl::Table::Align::kLeft}, {"n", ctl::Table::Align::kRight}});
  t.add_row({"a", "1"});
  t.add_row({"longer", "1,000"});
  std::ostringstream out;
  t.print(out);
  EXPECT_EQ(out.str(), "name        n\na           1\nlonger  1,000\n");
}

TEST(TopTable, CountsAndOrders) {
  daemon::TopTable t(8, 60);
  const int64_t now = 10 * 60000 + 5000;
  for (int i = 0; i < 5; ++i) t.add("a", now, DW_R_NOT_AUTH);
  for (int i = 0; i < 3; ++i) t.add("b", now);
  t.add("c", now);
  auto top = t.top(2, 600000, now);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].key, "a");
  EXPECT_EQ(top[0].count, 5u);
  EXPECT_EQ(top[0].reason, DW_R_NOT_AUTH);
  EXPECT_EQ(top[1].key, "b");
  EXPECT_EQ(t.total(600000, now), 9u);
}

TEST(TopTable, WindowIsWholeMinutes) {
  daemon::TopTable t(8, 60);
  const int64_t m = 60000;
  t.add("old", 1 * m + 10);
  t.add("new", 20 * m + 10);
  EXPECT_EQ(t.top(10, 60000, 20 * m + 500).size(), 1u);  // the last minute only
  EXPECT_EQ(t.top(10, 20 * m, 20 * m + 500).size(), 2u);
  // Buckets older than the kept hour are dropped.
  t.add("later", 90 * m);
  EXPECT_EQ(t.top(10, 3600 * 1000, 90 * m).size(), 1u);
  EXPECT_EQ(t.keys(), 1u);
}

TEST(TopTable, MemoryIsBoundedAndHeavyHittersSurvive) {
  daemon::TopTable t(16, 60);
  const int64_t now = 5 * 60000;
  for (int i = 0; i < 10000; ++i) {
    t.add("noise" + std::to_string(i), now);
    if (i % 4 == 0) t.add("heavy", now);
  }
  EXPECT_LE(t.keys(), 16u);
  auto top = t.top(1, 60000, now);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].key, "heavy");
  EXPECT_GE(top[0].count, 2500u);  // space-saving never undercounts
  EXPECT_LE(top[0].count - top[0].error, 2500u);
}

TEST(MetricsText, HasEveryReasonAndTheGauges) {
  Counters c{};
  c[DW_R_ALLOWED] = 7;
  c[DW_R_NOT_AUTH] = 3;
  c[DW_C_SAMPLES_LOST] = 2;
  nlohmann::json status = {{"zones", 3},
                           {"dry_run", true},
                           {"attached", true},
                           {"mode", "native"},
                           {"version", "0.1.0"},
                           {"sync", {{"failed", 1}, {"failing", false}}},
                           {"ban_map", {{"entries", 4}}}};
  std::string t = daemon::prometheus_text(status, c);
  EXPECT_NE(t.find("dnswash_packets_total{reason=\"allowed\"} 7\n"), std::string::npos) << t;
  EXPECT_NE(t.find("dnswash_packets_total{reason=\"not-authoritative\"} 3\n"), std::string::npos);
  EXPECT_NE(t.find("dnswash_samples_lost_total 2\n"), std::string::npos);
  EXPECT_NE(t.find("dnswash_bans 4\n"), std::string::npos);
  EXPECT_NE(t.find("dnswash_zones 3\n"), std::string::npos);
  EXPECT_NE(t.find("dnswash_sync_errors_total 1\n"), std::string::npos);
  EXPECT_NE(t.find("dnswash_dry_run 1\n"), std::string::npos);
  for (unsigned i = 0; i < DW_R_COUNT; ++i)
    EXPECT_NE(t.find("reason=\"" + std::string(counter_name(i)) + "\""), std::string::npos);
  // The detector's count wins over the map walk when the daemon has one.
  status["detector"] = {{"bans", 9}, {"caps_hit", {{"rate", 1}, {"total", 2}}}, {"events_lost", 0}};
  t = daemon::prometheus_text(status, c);
  EXPECT_NE(t.find("dnswash_bans 9\n"), std::string::npos);
  EXPECT_NE(t.find("dnswash_detector_caps_hit_total{cap=\"total\"} 2\n"), std::string::npos);
  // Every family once (a parser rejects a repeated one), whatever sections the status has.
  std::map<std::string, int> types;
  std::istringstream lines(t);
  for (std::string l; std::getline(lines, l);)
    if (l.rfind("# TYPE ", 0) == 0) ++types[l.substr(7, l.find(' ', 7) - 7)];
  for (const auto &[name, n] : types) EXPECT_EQ(n, 1) << name;
}

TEST(QueryTypes, ParseAndName) {
  EXPECT_EQ(parse_qtype("A"), 1);
  EXPECT_EQ(parse_qtype("aaaa"), 28);
  EXPECT_EQ(parse_qtype("HTTPS"), 65);
  EXPECT_EQ(parse_qtype("TYPE65"), 65);
  EXPECT_EQ(parse_qtype("65535"), 65535);
  for (const char *bad : {"", "AAAAA", "TYPE", "TYPE65536", "65536", "-1", "A A", "TYPEx"})
    EXPECT_FALSE(parse_qtype(bad)) << bad;
  EXPECT_EQ(qtype_name(28), "AAAA");
  EXPECT_EQ(qtype_name(4242), "TYPE4242");
}

TEST(CheckFrame, Layout) {
  std::vector<uint8_t> name = {3, 'w', 'w', 'w', 0};
  auto f4 = daemon::build_query_frame("192.0.2.9", name, 28);
  ASSERT_EQ(f4.size(), 14u + 20 + 8 + 12 + 5 + 4);
  EXPECT_EQ(f4[12], 0x08);
  EXPECT_EQ(f4[14 + 9], 17);
  EXPECT_EQ(f4[14 + 12], 192);
  EXPECT_EQ(f4[14 + 20 + 3], 53);
  EXPECT_EQ(f4[f4.size() - 3], 28);
  auto f6 = daemon::build_query_frame("2001:db8::7", name, 1);
  ASSERT_EQ(f6.size(), 14u + 40 + 8 + 12 + 5 + 4);
  EXPECT_EQ(f6[12], 0x86);
  EXPECT_THROW(daemon::build_query_frame("300.1.1.1", name, 1), std::exception);
}

TEST(MetricsListen, Addresses) {
  EXPECT_EQ(daemon::check_listen_address("127.0.0.1:9553"), "");
  EXPECT_EQ(daemon::check_listen_address("[::1]:9553"), "");
  EXPECT_EQ(daemon::check_listen_address("0.0.0.0:0"), "");
  for (const char *bad : {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "localhost:9553",
                          "::1:9553", "[::1]9553", "1.2.3.4:x"})
    EXPECT_NE(daemon::check_listen_address(bad), "") << bad;
}

}  // namespace
}  // namespace dnswash
