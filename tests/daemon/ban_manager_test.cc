// BanManager: the offense policy, the state file (atomic, restored with the remaining time,
// a corrupt one moved aside), and expiry, against a real LPM ban map.
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "ban_manager.h"
#include "ban_table.h"
#include "duration.h"
#include "error.h"
#include "wall_clock.h"

namespace dnswash::daemon {
namespace {

namespace fs = std::filesystem;

struct BanMap {
  BanMap() {
    LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
    fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "test_bans", sizeof(dw_ban_key), sizeof(dw_ban_val),
                        1024, &o);
    if (fd < 0) throw Error(errno_text("bpf_map_create", errno));
  }
  ~BanMap() { close(fd); }
  bool get(const std::string &p, dw_ban_val *v) {
    auto k = parse_ban_prefix(p, nullptr);
    return bpf_map_lookup_elem(fd, &*k, v) == 0;
  }
  int fd;
};

class BanManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("dw-bans-" + std::to_string(getpid()));
    fs::create_directories(dir);
    path = (dir / "bans-test.json").string();
  }
  void TearDown() override { fs::remove_all(dir); }
  dw_ban_key key(const std::string &p) { return *parse_ban_prefix(p, nullptr); }
  fs::path dir;
  std::string path;
  BanMap map;
};

TEST_F(BanManagerTest, FirstOffenseKeepsTheKernelBanThenRepeatIsPermanent) {
  BanManager m(map.fd, path, {7200, 0});
  m.load();
  // A kernel ban that ends almost at once (as if its time had run out).
  uint64_t exp = boottime_ns() + 1000;
  ban_put(map.fd, key("192.0.2.9"), {exp, DW_BAN_ORIGIN_DETECTOR, 0});
  const BanRecord &r = m.on_detector_ban(key("192.0.2.9"), exp, "example.com", {"a.example.com"});
  EXPECT_EQ(r.offenses, 1u);
  EXPECT_FALSE(r.permanent);
  EXPECT_EQ(r.expires_boot_ns, exp);
  while (boottime_ns() <= exp) {
  }
  m.sweep();  // expired: out of the map, the history stays
  dw_ban_val v{};
  EXPECT_FALSE(map.get("192.0.2.9", &v));
  EXPECT_EQ(m.active(), 0u);
  // Second offense: permanent.
  uint64_t exp2 = boottime_ns() + 7200ull * 1000000000ull;
  ban_put(map.fd, key("192.0.2.9"), {exp2, DW_BAN_ORIGIN_DETECTOR, 0});
  const BanRecord &r2 = m.on_detector_ban(key("192.0.2.9"), exp2, "example.com", {});
  EXPECT_EQ(r2.offenses, 2u);
  EXPECT_TRUE(r2.permanent);
  ASSERT_TRUE(map.get("192.0.2.9", &v));
  EXPECT_EQ(v.expires_ns, 0u);
}

TEST_F(BanManagerTest, RepeatCanBeADuration) {
  BanManager m(map.fd, "", {60, 3600});
  m.load();
  uint64_t exp = boottime_ns() + 60ull * 1000000000ull;
  m.on_detector_ban(key("192.0.2.9"), exp, "", {});
  m.on_detector_ban(key("192.0.2.9"), exp, "", {});
  dw_ban_val v{};
  ASSERT_TRUE(map.get("192.0.2.9", &v));
  // began = exp - 60 s; repeat = 1 h from then.
  EXPECT_EQ(v.expires_ns, exp - 60ull * 1000000000ull + 3600ull * 1000000000ull);
}

TEST_F(BanManagerTest, StateSurvivesARestartWithItsRemainingTime) {
  {
    BanManager m(map.fd, path, {7200, 0});
    m.load();
    m.add_operator(key("198.51.100.0/24"), 3600);
    m.add_operator(key("2001:db8::/32"), std::nullopt);
  }
  ASSERT_TRUE(fs::exists(path));
  BanMap fresh;  // as after a reboot: an empty map
  BanManager m(fresh.fd, path, {7200, 0});
  m.load();
  EXPECT_EQ(m.active(), 2u);
  dw_ban_val v{};
  ASSERT_TRUE(fresh.get("198.51.100.0/24", &v));
  uint64_t now = boottime_ns();
  EXPECT_GT(v.expires_ns, now + 3590ull * 1000000000ull);
  EXPECT_LE(v.expires_ns, now + 3600ull * 1000000000ull);
  ASSERT_TRUE(fresh.get("2001:db8::/32", &v));
  EXPECT_EQ(v.expires_ns, 0u);
}

TEST_F(BanManagerTest, AfterARebootAClockSteppedBackNeverLengthensABan) {
  {
    BanManager m(map.fd, path, {7200, 0});
    m.load();
    m.add_operator(key("192.0.2.1"), 600);
  }
  // Another boot, and a wall clock that says the ban has 10 h left.
  nlohmann::json j;
  std::ifstream(path) >> j;
  j["boot_id"] = "another-boot";
  j["bans"][0]["expires_unix_ms"] = j["bans"][0]["expires_unix_ms"].get<int64_t>() + 36000000;
  std::ofstream(path) << j.dump();
  BanMap fresh;
  BanManager m(fresh.fd, path, {7200, 0});
  m.load();
  dw_ban_val v{};
  ASSERT_TRUE(fresh.get("192.0.2.1", &v));
  EXPECT_LE(v.expires_ns, boottime_ns() + 600ull * 1000000000ull);
}

TEST_F(BanManagerTest, ExpiredWhileDownIsNotRestored) {
  {
    BanManager m(map.fd, path, {7200, 0});
    m.load();
    m.add_operator(key("192.0.2.1"), 600);
  }
  nlohmann::json j;
  std::ifstream(path) >> j;
  j["boot_id"] = "another-boot";
  j["bans"][0]["expires_unix_ms"] = 1000;
  std::ofstream(path) << j.dump();
  BanMap fresh;
  BanManager m(fresh.fd, path, {7200, 0});
  m.load();
  EXPECT_EQ(m.active(), 0u);
  dw_ban_val v{};
  EXPECT_FALSE(fresh.get("192.0.2.1", &v));
}

TEST_F(BanManagerTest, ACorruptStateFileIsMovedAsideNotFatal) {
  std::ofstream(path) << "{\"version\":1,\"bans\":[{\"prefix\":\"not-an-address\"";
  BanManager m(map.fd, path, {7200, 0});
  EXPECT_NO_THROW(m.load());
  EXPECT_EQ(m.active(), 0u);
  bool aside = false;
  for (const auto &e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind("bans-test.json.corrupt-", 0) == 0) aside = true;
  EXPECT_TRUE(aside);
}

TEST_F(BanManagerTest, OperatorBansAreListedDeletedAndFlushed) {
  BanManager m(map.fd, path, {7200, 0});
  m.load();
  m.add_operator(key("192.0.2.1"), 60);
  uint64_t exp = boottime_ns() + 7200ull * 1000000000ull;
  ban_put(map.fd, key("192.0.2.2"), {exp, DW_BAN_ORIGIN_DETECTOR, 0});
  m.on_detector_ban(key("192.0.2.2"), exp, "example.com", {"x.example.com"});
  size_t total = 0;
  auto list = m.list(0, 10, &total);
  ASSERT_EQ(total, 2u);
  EXPECT_EQ(list[0]["prefix"], "192.0.2.1");
  EXPECT_EQ(list[0]["origin"], "operator");
  EXPECT_EQ(list[1]["origin"], "detector");
  EXPECT_EQ(list[1]["zone"], "example.com");
  EXPECT_EQ(list[1]["names"][0], "x.example.com");
  EXPECT_EQ(m.flush(true), 1u);
  EXPECT_EQ(m.active(), 1u);
  EXPECT_TRUE(m.del(key("192.0.2.1")));
  EXPECT_FALSE(m.del(key("192.0.2.1")));
  EXPECT_EQ(m.active(), 0u);
}

TEST_F(BanManagerTest, KernelBansWithoutAnEventAreAdopted) {
  BanManager m(map.fd, path, {7200, 0});
  m.load();
  ban_put(map.fd, key("203.0.113.5"),
          {boottime_ns() + 100ull * 1000000000ull, DW_BAN_ORIGIN_DETECTOR, 0});
  m.sweep();
  EXPECT_EQ(m.active(DW_BAN_ORIGIN_DETECTOR), 1u);
}

// A state file of detector histories (bans no longer in force), last offense at since_ms[i],
// source 198.51.100.<i+1>, plus one permanent ban in force on 203.0.113.9.
static void write_histories(const std::string &path, const std::vector<int64_t> &since_ms) {
  nlohmann::json bans = nlohmann::json::array();
  for (size_t i = 0; i < since_ms.size(); ++i)
    bans.push_back({{"prefix", "198.51.100." + std::to_string(i + 1)},
                    {"origin", "detector"},
                    {"since_unix_ms", since_ms[i]},
                    {"permanent", false},
                    {"offenses", 1},
                    {"zone", "a.test"},
                    {"names", {"www1.a.test"}},
                    {"active", false}});
  bans.push_back({{"prefix", "203.0.113.9"},
                  {"origin", "detector"},
                  {"since_unix_ms", 1},
                  {"permanent", true},
                  {"offenses", 2},
                  {"zone", "a.test"},
                  {"names", {"www2.a.test"}},
                  {"active", true}});
  std::ofstream(path) << nlohmann::json{{"version", 1}, {"boot_id", ""}, {"bans", bans}}.dump();
}

static std::vector<std::string> file_prefixes(const std::string &path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  nlohmann::json j = nlohmann::json::parse(in);
  for (const auto &b : j["bans"]) out.push_back(b["prefix"]);
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(BanManagerTest, HistoryBeyondTheCapIsForgottenOldestFirstBansInForceNever) {
  int64_t now = now_unix_ms();
  // 198.51.100.1..5, oldest to newest except .4 (the oldest of all).
  write_histories(path, {now - 5000, now - 4000, now - 3000, now - 9000, now - 1000});
  BanPolicy p;
  p.history_max = 2;
  BanManager m(map.fd, path, p);
  m.load();
  EXPECT_EQ(m.history(), 2u);
  EXPECT_EQ(m.forgotten(), 3u);
  EXPECT_EQ(m.active(), 1u);  // the permanent ban, never forgotten
  EXPECT_EQ(file_prefixes(path),
            (std::vector<std::string>{"198.51.100.3", "198.51.100.5", "203.0.113.9"}));
  // A kept history still escalates; a forgotten one is a first offense again.
  uint64_t exp = boottime_ns() + 7200ull * 1000000000ull;
  EXPECT_TRUE(m.on_detector_ban(key("198.51.100.5"), exp, "a.test", {}).permanent);
  const BanRecord &r = m.on_detector_ban(key("198.51.100.4"), exp, "a.test", {});
  EXPECT_FALSE(r.permanent);
  EXPECT_EQ(r.offenses, 1u);
}

TEST_F(BanManagerTest, HistoryOlderThanForgetIsForgotten) {
  int64_t now = now_unix_ms();
  write_histories(path, {now - 10 * 86400000ll, now - 86400000ll});
  BanPolicy p;
  p.forget_s = 7 * 86400;
  BanManager m(map.fd, path, p);
  m.load();
  EXPECT_EQ(m.history(), 1u);
  EXPECT_EQ(file_prefixes(path), (std::vector<std::string>{"198.51.100.2", "203.0.113.9"}));
  uint64_t exp = boottime_ns() + 7200ull * 1000000000ull;
  EXPECT_FALSE(m.on_detector_ban(key("198.51.100.1"), exp, "a.test", {}).permanent);
  EXPECT_TRUE(m.on_detector_ban(key("198.51.100.2"), exp, "a.test", {}).permanent);
}

TEST_F(BanManagerTest, TheSweepAppliesTheCapAsBansEnd) {
  BanPolicy p;
  p.history_max = 1;
  BanManager m(map.fd, path, p);
  m.load();
  uint64_t ended = boottime_ns() - 1;
  m.on_detector_ban(key("192.0.2.7"), ended, "a.test", {});
  m.on_detector_ban(key("192.0.2.8"), ended, "a.test", {});
  uint64_t exp = boottime_ns() + 7200ull * 1000000000ull;
  ban_put(map.fd, key("192.0.2.9"), {exp, DW_BAN_ORIGIN_DETECTOR, 0});
  m.on_detector_ban(key("192.0.2.9"), exp, "a.test", {});
  m.sweep();
  EXPECT_EQ(m.active(), 1u);  // the ban in force is kept whatever the cap
  EXPECT_EQ(m.history(), 1u);
  EXPECT_EQ(m.forgotten(), 1u);
}

TEST_F(BanManagerTest, AnEndedBanKeepsItsHistoryButNotItsNames) {
  BanPolicy p;
  p.history_max = 100;
  BanManager m(map.fd, path, p);
  m.load();
  uint64_t ended = boottime_ns() - 1;  // the kernel's ban is over already
  m.on_detector_ban(key("192.0.2.7"), ended, "a.test", {"www9.a.test"});
  m.sweep();
  EXPECT_EQ(m.active(), 0u);
  EXPECT_EQ(m.history(), 1u);
  std::ifstream in(path);
  auto j = nlohmann::json::parse(in);
  ASSERT_EQ(j["bans"].size(), 1u);
  EXPECT_EQ(j["bans"][0]["offenses"], 1);
  EXPECT_TRUE(j["bans"][0]["names"].empty());
}

TEST(Duration, ParsesWhatOperatorsType) {
  EXPECT_EQ(parse_duration("90"), 90u);
  EXPECT_EQ(parse_duration("30s"), 30u);
  EXPECT_EQ(parse_duration("10m"), 600u);
  EXPECT_EQ(parse_duration("2h"), 7200u);
  EXPECT_EQ(parse_duration("7d"), 604800u);
  EXPECT_EQ(parse_duration("1h30m"), 5400u);
  for (const char *bad :
       {"", "0", "0s", "5x", "h", "1h30", "-5m", "1.5h", "99999999999999999999"}) {
    std::string err;
    EXPECT_FALSE(parse_duration(bad, &err)) << bad;
    EXPECT_FALSE(err.empty()) << bad;
  }
  EXPECT_EQ(duration_text(5400), "1h30m");
  EXPECT_EQ(duration_text(7200), "2h");
  EXPECT_EQ(duration_text(3), "3s");
}

}  // namespace
}  // namespace dnswash::daemon
