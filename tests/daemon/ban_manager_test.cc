// BanManager: the offense policy, the ban store (restored with the remaining time, every
// valid record kept, each bad one named), the legacy JSON state file (imported, a corrupt one
// moved aside), durability reporting on a full filesystem, and expiry, against a real LPM ban
// map.
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include <lmdb.h>
#include <poll.h>
#include <sched.h>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sstream>

#include "ban_manager.h"
#include "ban_store.h"
#include "ban_table.h"
#include "prefix_text.h"
#include "duration.h"
#include "error.h"
#include "wall_clock.h"

namespace dnswash::daemon {
namespace {

// The log while it lives: the default logger writes to a string as well.
struct LogCapture {
  std::ostringstream text;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink =
      std::make_shared<spdlog::sinks::ostream_sink_mt>(text);
  LogCapture() { spdlog::default_logger()->sinks().push_back(sink); }
  ~LogCapture() {
    auto &sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink), sinks.end());
  }
};

namespace fs = std::filesystem;

struct BanMap {
  BanMap() {
    LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
    fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "test_bans", sizeof(dw_ban_key), sizeof(dw_ban_val),
                        4096, &o);
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
    path = (dir / "bans-test.lmdb").string();
    legacy = (dir / "bans-test.json").string();
  }
  void TearDown() override { fs::remove_all(dir); }
  dw_ban_key key(const std::string &p) { return *parse_ban_prefix(p, nullptr); }
  fs::path dir;
  std::string path, legacy;
  BanMap map;
};

// Writes a record straight into the store's table, past every check: a hand edit.
static int raw_put(const std::string &path, const dw_ban_key &k) {
  MDB_env *env = nullptr;
  mdb_env_create(&env);
  mdb_env_set_maxdbs(env, 4);
  int rc = mdb_env_open(env, path.c_str(), MDB_NOSUBDIR | MDB_NOLOCK, 0600);
  MDB_txn *t = nullptr;
  MDB_dbi d = 0;
  if (!rc) rc = mdb_txn_begin(env, nullptr, 0, &t);
  if (!rc) rc = mdb_dbi_open(t, "bans", 0, &d);
  banstore::BanEntry e;
  e.key = k;
  e.active = true;
  e.since_unix_ms = now_unix_ms();
  e.length_ms = 1000;
  e.expires_unix_ms = now_unix_ms() + 1000;
  e.expires_boot_ns = UINT64_MAX;  // "2^64-1": shown as expired while in force, before
  std::string v = banstore::encode_entry(e);
  MDB_val kv{sizeof k, const_cast<dw_ban_key *>(&k)}, vv{v.size(), v.data()};
  if (!rc) rc = mdb_put(t, d, &kv, &vv, 0);
  if (!rc) rc = mdb_txn_commit(t);
  mdb_env_close(env);
  return rc;
}

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

// A fleet ban (docs/fleet.md) goes through the same store: after a restart it is in force
// again with origin fleet and its source, counted apart; the detector's offense on the same
// prefix starts a history of this node's own (the fleet record is not one).
TEST_F(BanManagerTest, AFleetBanIsStoredLikeAnyOther) {
  int64_t now = now_unix_ms();
  {
    BanManager m(map.fd, path, {7200, 0});
    m.load();
    std::vector<BanChange> seen;
    m.on_change([&](const BanChange &c) { seen.push_back(c); });
    BanRecord r;
    r.key = key("198.51.100.7");
    r.origin = DW_BAN_ORIGIN_FLEET;
    r.active = true;
    r.since_unix_ms = now;
    r.expires_unix_ms = now + 600000;
    r.length_ms = 600000;
    r.offenses = 0;
    r.source = "node1,node2";
    m.apply(r);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].record.origin, uint32_t(DW_BAN_ORIGIN_FLEET));
    EXPECT_EQ(m.active(DW_BAN_ORIGIN_FLEET), 1u);
    EXPECT_EQ(m.active(DW_BAN_ORIGIN_OPERATOR), 0u);
    r.key = key("198.51.100.8");
    r.expires_unix_ms = now - 1;  // ended: refused, nothing changes
    EXPECT_THROW(m.apply(r), Error);
    EXPECT_EQ(seen.size(), 1u);
    m.flush_saves();
  }
  BanMap fresh;
  BanManager m(fresh.fd, path, {7200, 0});
  m.load();
  dw_ban_val v{};
  ASSERT_TRUE(fresh.get("198.51.100.7", &v));
  EXPECT_EQ(v.origin, uint32_t(DW_BAN_ORIGIN_FLEET));
  EXPECT_GT(v.expires_ns, boottime_ns() + 590ull * 1000000000ull);
  const BanRecord *r = m.find(key("198.51.100.7"));
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->source, "node1,node2");
  EXPECT_EQ(m.active(DW_BAN_ORIGIN_FLEET), 1u);
  auto keys = m.active_keys(DW_BAN_ORIGIN_FLEET);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(ban_prefix_text(keys[0]), "198.51.100.7");
  size_t total = 0;
  EXPECT_EQ(m.list(0, 10, &total)[0]["origin"], "fleet");
  const BanRecord &d =
      m.on_detector_ban(key("198.51.100.7"), boottime_ns() + 7200000000000ull, "a.test", {});
  EXPECT_EQ(d.origin, uint32_t(DW_BAN_ORIGIN_DETECTOR));
  EXPECT_EQ(d.offenses, 1u);  // a first offense here: 2 h, not the repeat's permanent ban
  EXPECT_FALSE(d.permanent);
  EXPECT_TRUE(d.source.empty());
  EXPECT_EQ(m.active(DW_BAN_ORIGIN_FLEET), 0u);
}

// A state file of the JSON format earlier versions wrote: one timed operator ban.
static void write_legacy_ban(const std::string &path, const std::string &boot_id,
                             int64_t expires_unix_ms, int64_t length_ms) {
  int64_t now = now_unix_ms();
  nlohmann::json b = {{"prefix", "192.0.2.1"},
                      {"origin", "operator"},
                      {"since_unix_ms", now},
                      {"permanent", false},
                      {"offenses", 0},
                      {"zone", nullptr},
                      {"names", nlohmann::json::array()},
                      {"active", true},
                      {"expires_boot_ns", 1},
                      {"expires_unix_ms", expires_unix_ms},
                      {"length_ms", length_ms}};
  std::ofstream(path) << nlohmann::json{{"version", 1}, {"boot_id", boot_id}, {"bans", {b}}}.dump();
}

TEST_F(BanManagerTest, AfterARebootAClockSteppedBackNeverLengthensABan) {
  // Another boot, and a wall clock that says the 10 min ban has 10 h left.
  write_legacy_ban(legacy, "another-boot", now_unix_ms() + 36000000, 600000);
  BanManager m(map.fd, path, {7200, 0}, legacy);
  m.load();
  dw_ban_val v{};
  ASSERT_TRUE(map.get("192.0.2.1", &v));
  EXPECT_LE(v.expires_ns, boottime_ns() + 600ull * 1000000000ull);
  EXPECT_GT(v.expires_ns, boottime_ns() + 590ull * 1000000000ull);
  EXPECT_TRUE(fs::exists(legacy + ".imported"));
}

TEST_F(BanManagerTest, ExpiredWhileDownIsNotRestored) {
  write_legacy_ban(legacy, "another-boot", 1000, 600000);
  BanManager m(map.fd, path, {7200, 0}, legacy);
  m.load();
  EXPECT_EQ(m.active(), 0u);
  dw_ban_val v{};
  EXPECT_FALSE(map.get("192.0.2.1", &v));
}

TEST_F(BanManagerTest, ACorruptStateFileIsMovedAsideNotFatal) {
  std::ofstream(legacy) << "{\"version\":1,\"bans\":[{\"prefix\":\"not-an-address\"";
  BanManager m(map.fd, path, {7200, 0}, legacy);
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
  m.sweep();  // the sweep does not walk the map (the detector asks when events were lost)
  EXPECT_EQ(m.active(DW_BAN_ORIGIN_DETECTOR), 0u);
  m.adopt_unknown();
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

// What the store holds (read once its BanManager is gone).
static std::vector<banstore::BanEntry> stored(const std::string &path) {
  banstore::BanStore s(path);
  std::vector<banstore::BanStore::Skipped> skipped;
  auto out = s.load(&skipped);
  EXPECT_TRUE(skipped.empty());
  return out;
}
static std::vector<std::string> store_prefixes(const std::string &path) {
  std::vector<std::string> out;
  for (const auto &e : stored(path)) out.push_back(ban_prefix_text(e.key));
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(BanManagerTest, HistoryBeyondTheCapIsForgottenOldestFirstBansInForceNever) {
  int64_t now = now_unix_ms();
  // 198.51.100.1..5, oldest to newest except .4 (the oldest of all).
  write_histories(legacy, {now - 5000, now - 4000, now - 3000, now - 9000, now - 1000});
  BanPolicy p;
  p.history_max = 2;
  {
    BanManager m(map.fd, path, p, legacy);
    m.load();
    EXPECT_EQ(m.history(), 2u);
    EXPECT_EQ(m.forgotten(), 3u);
    EXPECT_EQ(m.active(), 1u);  // the permanent ban, never forgotten
  }
  EXPECT_EQ(store_prefixes(path),
            (std::vector<std::string>{"198.51.100.3", "198.51.100.5", "203.0.113.9"}));
  BanManager m(map.fd, path, p);
  m.load();
  // A kept history still escalates; a forgotten one is a first offense again.
  uint64_t exp = boottime_ns() + 7200ull * 1000000000ull;
  EXPECT_TRUE(m.on_detector_ban(key("198.51.100.5"), exp, "a.test", {}).permanent);
  const BanRecord &r = m.on_detector_ban(key("198.51.100.4"), exp, "a.test", {});
  EXPECT_FALSE(r.permanent);
  EXPECT_EQ(r.offenses, 1u);
}

TEST_F(BanManagerTest, HistoryOlderThanForgetIsForgotten) {
  int64_t now = now_unix_ms();
  write_histories(legacy, {now - 10 * 86400000ll, now - 86400000ll});
  BanPolicy p;
  p.forget_s = 7 * 86400;
  {
    BanManager m(map.fd, path, p, legacy);
    m.load();
    EXPECT_EQ(m.history(), 1u);
  }
  EXPECT_EQ(store_prefixes(path), (std::vector<std::string>{"198.51.100.2", "203.0.113.9"}));
  BanManager m(map.fd, path, p);
  m.load();
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
  {
    BanManager m(map.fd, path, p);
    m.load();
    uint64_t ended = boottime_ns() - 1;  // the kernel's ban is over already
    m.on_detector_ban(key("192.0.2.7"), ended, "a.test", {"www9.a.test"});
    m.sweep();
    EXPECT_EQ(m.active(), 0u);
    EXPECT_EQ(m.history(), 1u);
  }
  auto s = stored(path);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].offenses, 1u);
  EXPECT_FALSE(s[0].active);
  EXPECT_TRUE(s[0].names.empty());
}

// The legacy file: one bad entry among 1,000 good ones costs that one only, named.
TEST_F(BanManagerTest, OneBadEntryInTheStateFileIsSkippedTheRestKept) {
  nlohmann::json bans = nlohmann::json::array();
  for (int i = 0; i <= 1000; ++i)
    bans.push_back(
        {{"prefix", i == 500 ? std::string("10.9.9.9")
                             : "10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256)},
         {"origin", "operator"},
         {"since_unix_ms", now_unix_ms()},
         {"permanent", true},
         {"offenses", i == 500 ? -1 : 0},
         {"zone", nullptr},
         {"active", true}});
  std::ofstream(legacy) << nlohmann::json{{"version", 1}, {"boot_id", ""}, {"bans", bans}}.dump();
  LogCapture log;
  BanManager m(map.fd, path, {7200, 0}, legacy);
  m.load();
  EXPECT_EQ(m.active(), 1000u);
  EXPECT_NE(log.text.str().find("skipping the ban on 10.9.9.9"), std::string::npos)
      << log.text.str();
  auto st = m.store_status();
  ASSERT_EQ(st["skipped_at_load"].size(), 1u);
  EXPECT_NE(st["skipped_at_load"][0].get<std::string>().find("10.9.9.9"), std::string::npos)
      << st.dump();
}

// The store: a record that fails its range checks is set aside and named; the rest load.
TEST_F(BanManagerTest, OneBadRecordInTheStoreIsSkippedTheRestKept) {
  {
    BanManager m(map.fd, path, {7200, 0});
    m.load();
    for (int i = 0; i < 1000; ++i)
      m.add_operator(key("10.2." + std::to_string(i / 256) + "." + std::to_string(i % 256)),
                     std::nullopt);
  }
  ASSERT_EQ(raw_put(path, key("10.9.9.9")), 0);
  BanMap fresh;
  LogCapture log;
  BanManager m(fresh.fd, path, {7200, 0});
  m.load();
  EXPECT_EQ(m.active(), 1000u);
  EXPECT_NE(log.text.str().find("skipped the ban on 10.9.9.9"), std::string::npos)
      << log.text.str();
  auto st = m.store_status();
  ASSERT_EQ(st["skipped_at_load"].size(), 1u) << st.dump();
  EXPECT_NE(st["skipped_at_load"][0].get<std::string>().find("10.9.9.9"), std::string::npos);
  dw_ban_val v{};
  EXPECT_FALSE(fresh.get("10.9.9.9", &v));
}

TEST_F(BanManagerTest, AnAckMeansSavedAndExpiryFollowsTime) {
  BanManager m(map.fd, path, {7200, 0});
  m.load();
  ASSERT_GE(m.writer_fd(), 0);
  for (int i = 0; i < 200; ++i)
    m.add_operator(key("10.3.0." + std::to_string(i)), i < 10 ? 1 : 3600);
  bool called = false, saved = false;
  m.when_saved(m.last_seq(), [&](bool ok, const std::string &) { called = true, saved = ok; });
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!called && std::chrono::steady_clock::now() < end) {
    pollfd p{m.writer_fd(), POLLIN, 0};
    poll(&p, 1, 100);
    m.on_writer_ready();
  }
  EXPECT_TRUE(called);
  EXPECT_TRUE(saved);
  EXPECT_EQ(m.store_status()["unsaved"], 0);
  // The ten 1 s bans end; the 190 others stay.
  end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (m.active() > 190 && std::chrono::steady_clock::now() < end) {
    pollfd p{m.writer_fd(), POLLIN, 0};
    poll(&p, 1, 100);
    m.sweep();
  }
  EXPECT_EQ(m.active(), 190u);
  dw_ban_val v{};
  EXPECT_FALSE(map.get("10.3.0.0", &v));
  EXPECT_TRUE(map.get("10.3.0.10", &v));
}

// A full state filesystem: a ban-add that could not be saved says so (and status does), and
// after a restart every ban that was acknowledged as saved is back.
TEST_F(BanManagerTest, AFullFilesystemIsReportedAndNoAcknowledgedBanIsLost) {
  ASSERT_EQ(unshare(CLONE_NEWNS), 0) << "needs root for a private tmpfs";
  ASSERT_EQ(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0);
  fs::path small = dir / "small";
  fs::create_directories(small);
  ASSERT_EQ(mount("tmpfs", small.c_str(), "tmpfs", 0, "size=256k"), 0);
  std::string spath = (small / "bans.lmdb").string();
  std::vector<std::string> acked;
  size_t failed = 0;
  {
    BanManager m(map.fd, spath, {7200, 0});
    m.load();
    for (int i = 0; i < 3000 && failed < 20; ++i) {
      std::string p = "10.4." + std::to_string(i / 256) + "." + std::to_string(i % 256);
      m.add_operator(key(p), std::nullopt);
      bool done = false, ok = false;
      m.when_saved(m.last_seq(), [&](bool s, const std::string &) { done = true, ok = s; });
      while (!done) {
        pollfd pf{m.writer_fd(), POLLIN, 0};
        poll(&pf, 1, 1000);
        m.on_writer_ready();
      }
      if (ok)
        acked.push_back(p);
      else
        ++failed;
    }
    EXPECT_EQ(failed, 20u) << "the filesystem never filled";
    auto st = m.store_status();
    EXPECT_EQ(st["ok"], false);
    EXPECT_GT(st["failures"].get<uint64_t>(), 0u);
    EXPECT_GT(st["unsaved"].get<uint64_t>(), 0u);
    EXPECT_NE(st["last_error"].get<std::string>().find("free"), std::string::npos) << st.dump();
  }
  {
    BanMap fresh;
    BanManager m(fresh.fd, spath, {7200, 0});
    m.load();
    for (const auto &p : acked) {
      dw_ban_val v{};
      EXPECT_TRUE(fresh.get(p, &v)) << p << " was acknowledged as saved and is gone";
    }
    EXPECT_GE(m.active(), acked.size());
  }
  EXPECT_EQ(umount(small.c_str()), 0);
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
