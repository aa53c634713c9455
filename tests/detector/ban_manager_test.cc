// BanManager: the offense policy, the state file (atomic, restored with the remaining time,
// a corrupt one moved aside), and expiry, against a real LPM ban map.
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "ban_manager.h"
#include "ban_table.h"
#include "duration.h"
#include "error.h"

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

TEST(Duration, ParsesWhatOperatorsType) {
  EXPECT_EQ(parse_duration("90"), 90u);
  EXPECT_EQ(parse_duration("30s"), 30u);
  EXPECT_EQ(parse_duration("10m"), 600u);
  EXPECT_EQ(parse_duration("2h"), 7200u);
  EXPECT_EQ(parse_duration("7d"), 604800u);
  EXPECT_EQ(parse_duration("1h30m"), 5400u);
  for (const char *bad : {"", "0", "0s", "5x", "h", "1h30", "-5m", "1.5h", "99999999999999999999"}) {
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
