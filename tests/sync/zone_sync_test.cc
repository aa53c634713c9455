// ZoneSync against real files in a temporary directory and a fake apply callback: every
// change a server operator makes (edit, rename-replace, broken edit and its fix, new include,
// new file for an include glob, --zones-file edit, rndc addzone's NZF/NZD, SIGHUP) ends in the
// right set, and a removed zone is gone from it well within a second.
#include <gtest/gtest.h>
#include <lmdb.h>

#include "error.h"
#include "sync_harness.h"

namespace dnswash::test {
namespace {

using namespace std::chrono_literals;

ZoneSources conf_only(const std::string &named_conf) {
  ZoneSources s;
  s.named_conf = named_conf;
  return s;
}

TEST(ZoneSync, InitialLoadIsTheUnionOfAllSources) {
  TempDir dir;
  std::string conf = dir.write("named.conf", "options { query-source port 53; };\n" +
                                                 zone_lines({"A.example.", "b.example"}) +
                                                 "zone \"fwd.example\" { type forward; };\n");
  std::string list = dir.write("zones.txt", "# extra zones\nc.example   # hidden primary\n\n");
  ZoneSources s = conf_only(conf);
  s.zones = {"d.example."};
  s.zones_files = {list};
  SyncHarness h(s);
  h.sync().initial_sync();
  ASSERT_EQ(h.applied().size(), 1u);
  EXPECT_EQ(h.current(), (Names{"a.example", "b.example", "c.example", "d.example"}));
  EXPECT_EQ(h.flags(), std::vector<bool>{true});
  EXPECT_EQ(h.status().zones, 4u);
  EXPECT_EQ(h.status().syncs_ok, 1u);
  EXPECT_FALSE(h.status().failing);
  EXPECT_NE(h.status().last_ok_unix_ms, 0);
  EXPECT_FALSE(h.status().watched.empty());
}

TEST(ZoneSync, InitialLoadRefusesABrokenConfig) {
  TempDir dir;
  std::string conf = dir.write("named.conf", "zone \"a.example\" { type primary; };\nzone {\n");
  SyncHarness h(conf_only(conf));
  try {
    h.sync().initial_sync();
    FAIL() << "no error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("named.conf:2:"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(h.applied().empty());
  EXPECT_EQ(h.status().syncs_failed, 1u);
}

TEST(ZoneSync, AddAndRemoveAZoneByEditingInPlace) {
  TempDir dir;
  std::string conf = dir.write("named.conf", zone_lines({"a.example", "b.example"}));
  SyncHarness h(conf_only(conf));
  h.sync().initial_sync();

  dir.write("named.conf", zone_lines({"a.example", "b.example", "new.example"}));
  ASSERT_TRUE(h.wait_until([&] { return h.current().count("new.example"); }));
  EXPECT_EQ(h.current(), (Names{"a.example", "b.example", "new.example"}));

  dir.write("named.conf", zone_lines({"a.example", "new.example"}));
  ASSERT_TRUE(h.wait_until([&] { return !h.current().count("b.example"); }));
  EXPECT_EQ(h.current(), (Names{"a.example", "new.example"}));
  EXPECT_EQ(h.flags().size(), h.status().syncs_ok);  // on_flags after every good sync
}

TEST(ZoneSync, RemovedZoneStopsWithinOneSecond) {
  TempDir dir;
  std::string conf = dir.write("named.conf", zone_lines({"keep.example", "gone.example"}));
  SyncHarness h(conf_only(conf));
  h.sync().initial_sync();
  auto edited = std::chrono::steady_clock::now();
  dir.replace("named.conf", zone_lines({"keep.example"}));
  ASSERT_TRUE(h.wait_until([&] { return !h.current().count("gone.example"); }, 1000ms));
  auto latency = h.last_applied_at() - edited;
  EXPECT_LT(latency, 1s);
  RecordProperty("removal_latency_ms",
                 int(std::chrono::duration_cast<std::chrono::milliseconds>(latency).count()));
  EXPECT_EQ(h.current(), Names{"keep.example"});
}

TEST(ZoneSync, RenameReplaceIsSeen) {
  TempDir dir;
  std::string conf = dir.write("named.conf", zone_lines({"a.example"}));
  SyncHarness h(conf_only(conf));
  h.sync().initial_sync();
  for (int round = 0; round < 3; ++round) {  // the watch must survive each replacement
    std::string name = "r" + std::to_string(round) + ".example";
    dir.replace("named.conf", zone_lines({"a.example", name}));
    ASSERT_TRUE(h.wait_until([&] { return h.current().count(name); })) << round;
  }
  EXPECT_EQ(h.current(), (Names{"a.example", "r2.example"}));
}

TEST(ZoneSync, BrokenEditKeepsTheSetAndCountsTheErrorThenTheFixApplies) {
  TempDir dir;
  std::string conf = dir.write("named.conf", zone_lines({"a.example", "b.example"}));
  SyncHarness h(conf_only(conf));
  h.sync().initial_sync();
  size_t applies = h.applied().size();

  dir.replace("named.conf", zone_lines({"a.example"}) + "zone \"c.example\" { type primary\n};\n");
  ASSERT_TRUE(h.wait_until([&] { return h.status().syncs_failed == 1; }));
  EXPECT_EQ(h.applied().size(), applies);  // nothing applied: the kernel set is untouched
  EXPECT_EQ(h.current(), (Names{"a.example", "b.example"}));
  EXPECT_TRUE(h.status().failing);
  const std::string &err = h.status().last_error;
  EXPECT_EQ(err.rfind(conf + ":3:1: ", 0), 0u) << err;  // file:line:column of the '}'
  EXPECT_EQ(h.status().zones, 2u);

  dir.replace("named.conf", zone_lines({"a.example", "c.example"}));
  ASSERT_TRUE(h.wait_until([&] { return h.current().count("c.example"); }));
  EXPECT_EQ(h.current(), (Names{"a.example", "c.example"}));
  EXPECT_FALSE(h.status().failing);
  EXPECT_EQ(h.status().syncs_failed, 1u);
}

TEST(ZoneSync, IncludeAddedInAnotherDirectoryAndThenEdited) {
  TempDir dir;
  std::string conf = dir.write("etc/named.conf", zone_lines({"a.example"}));
  dir.write("other/extra.conf", zone_lines({"x.example"}));
  SyncHarness h(conf_only(conf));
  h.sync().initial_sync();

  dir.replace("etc/named.conf",
              zone_lines({"a.example"}) + "include \"" + (dir / "other/extra.conf") + "\";\n");
  ASSERT_TRUE(h.wait_until([&] { return h.current().count("x.example"); }));
  // The included file's directory is watched now: editing it is seen.
  dir.replace("other/extra.conf", zone_lines({"y.example"}));
  ASSERT_TRUE(h.wait_until([&] { return h.current().count("y.example"); }));
  EXPECT_EQ(h.current(), (Names{"a.example", "y.example"}));
}

TEST(ZoneSync, IncludeOfAMissingFileFailsUntilTheFileIsCreated) {
  TempDir dir;
  std::string conf = dir.write("named.conf", zone_lines({"a.example"}));
  SyncHarness h(conf_only(conf));
  h.sync().initial_sync();
  dir.replace("named.conf",
              zone_lines({"a.example"}) + "include \"" + (dir / "sub/later.conf") + "\";\n");
  ASSERT_TRUE(h.wait_until([&] { return h.status().syncs_failed == 1; }));
  EXPECT_NE(h.status().last_error.find("later.conf"), std::string::npos);
  // The directory does not exist yet either: creating both is seen.
  dir.write("sub/later.conf", zone_lines({"later.example"}));
  ASSERT_TRUE(h.wait_until([&] { return h.current().count("later.example"); }));
  EXPECT_FALSE(h.status().failing);
}

TEST(ZoneSync, MissingIncludeInANewDirectoryIsOneErrorNotTwo) {
  TempDir dir;
  std::string conf = dir.write("named.conf", zone_lines({"a.example"}));
  std::filesystem::create_directories(dir / "other");
  SyncHarness h(conf_only(conf));
  h.sync().initial_sync();
  dir.replace("named.conf",
              zone_lines({"a.example"}) + "include \"" + (dir / "other/z.conf") + "\";\n");
  // The failed read adds a watch on other/, so the sync reads once more (a change there
  // before the watch existed would be missed otherwise); the same error is not counted again.
  ASSERT_TRUE(h.wait_until([&] { return h.status().rereads == 1; }));
  EXPECT_EQ(h.status().syncs_failed, 1u);
  dir.write("other/z.conf", zone_lines({"z.example"}));
  ASSERT_TRUE(h.wait_until([&] { return h.current().count("z.example"); }));
}

TEST(ZoneSync, NewFileMatchingAnIncludeGlob) {
  TempDir dir;
  dir.write("zones.d/1.conf", zone_lines({"one.example"}));
  std::string conf = dir.write("named.conf", "include \"" + (dir / "zones.d/*.conf") + "\";\n");
  SyncHarness h(conf_only(conf));
  h.sync().initial_sync();
  EXPECT_EQ(h.current(), Names{"one.example"});
  dir.write("zones.d/2.conf", zone_lines({"two.example"}));
  ASSERT_TRUE(h.wait_until([&] { return h.current().count("two.example"); }));
  std::filesystem::remove(dir / "zones.d/1.conf");
  ASSERT_TRUE(h.wait_until([&] { return !h.current().count("one.example"); }));
  EXPECT_EQ(h.current(), Names{"two.example"});
}

TEST(ZoneSync, ZonesFileEditAndItsErrorsNameFileAndLine) {
  TempDir dir;
  std::string list = dir.write("zones.txt", "a.example\n");
  ZoneSources s;
  s.zones_files = {list};
  SyncHarness h(s);
  h.sync().initial_sync();
  EXPECT_EQ(h.current(), Names{"a.example"});
  dir.replace("zones.txt", "a.example\nb.example.\n");
  ASSERT_TRUE(h.wait_until([&] { return h.current().count("b.example"); }));
  dir.write("zones.txt", "a.example\n\n  bad..name\n");
  ASSERT_TRUE(h.wait_until([&] { return h.status().syncs_failed == 1; }));
  EXPECT_EQ(h.status().last_error.rfind(list + ":3:3: invalid zone name 'bad..name'", 0), 0u)
      << h.status().last_error;
  EXPECT_EQ(h.current(), (Names{"a.example", "b.example"}));
  dir.write("zones.txt", "b.example\n");
  ASSERT_TRUE(h.wait_until([&] { return !h.current().count("a.example"); }));
  EXPECT_EQ(h.current(), Names{"b.example"});
}

TEST(ZoneSync, ResyncAppliesEvenWhenUnchanged) {
  TempDir dir;
  std::string conf = dir.write("named.conf", zone_lines({"a.example"}));
  SyncHarness h(conf_only(conf));
  h.sync().initial_sync();
  EXPECT_TRUE(h.sync().resync("SIGHUP"));
  EXPECT_EQ(h.applied().size(), 2u);
  EXPECT_EQ(h.status().syncs_ok, 2u);
  // A broken file on SIGHUP: counted, nothing applied, no throw.
  dir.write("named.conf", "zone");
  EXPECT_FALSE(h.sync().resync("SIGHUP"));
  EXPECT_EQ(h.applied().size(), 2u);
  EXPECT_EQ(h.status().syncs_failed, 1u);
  EXPECT_EQ(h.status().last_error.rfind(conf + ":1:", 0), 0u) << h.status().last_error;
}

TEST(ZoneSync, UnchangedContentIsReadButNotApplied) {
  TempDir dir;
  std::string conf = dir.write("named.conf", zone_lines({"a.example"}));
  SyncHarness h(conf_only(conf));
  h.sync().initial_sync();
  dir.replace("named.conf", "# only a comment changed\n" + zone_lines({"a.example"}));
  ASSERT_TRUE(h.wait_until([&] { return h.status().syncs_ok == 2; }));
  EXPECT_EQ(h.applied().size(), 1u);
}

TEST(ZoneSync, DiffCountsOnALargeSet) {
  TempDir dir;
  auto list = [](size_t from, size_t to) {
    std::string text;
    for (size_t i = from; i < to; ++i) text += "z" + std::to_string(i) + ".example\n";
    return text;
  };
  std::string path = dir.write("zones.txt", list(0, 20000));
  ZoneSources s;
  s.zones_files = {path};
  SyncHarness h(s);
  h.sync().initial_sync();
  EXPECT_EQ(h.status().last_added, 20000u);
  dir.replace("zones.txt", list(3, 20002));  // 3 gone, 2 new
  ASSERT_TRUE(h.wait_until([&] { return h.applied().size() == 2; }));
  EXPECT_EQ(h.current().size(), 19999u);
  EXPECT_EQ(h.status().last_added, 2u);
  EXPECT_EQ(h.status().last_removed, 3u);
  // The same set in another order and with comments: read, found unchanged, not applied.
  dir.replace("zones.txt", "# reordered\n" + list(10000, 20002) + list(3, 10000));
  ASSERT_TRUE(h.wait_until([&] { return h.status().syncs_ok == 3; }));
  EXPECT_EQ(h.applied().size(), 2u);
}

TEST(ZoneSync, BurstOfEventsGivesOneSync) {
  TempDir dir;
  std::string conf = dir.write("named.conf", zone_lines({"a.example"}));
  SyncHarness h(conf_only(conf));
  h.sync().initial_sync();
  // Every write is queued before the loop runs: one debounce, one read, one apply.
  for (int i = 0; i < 20; ++i)
    dir.write("named.conf", zone_lines({"a.example", "n" + std::to_string(i) + ".example"}));
  ASSERT_TRUE(h.wait_until([&] { return h.current().count("n19.example"); }));
  EXPECT_EQ(h.status().syncs_ok, 2u);
  EXPECT_EQ(h.applied().size(), 2u);
}

TEST(ZoneSync, FailedApplyIsCountedAndRetriedOnTheNextChange) {
  TempDir dir;
  std::string conf = dir.write("named.conf", zone_lines({"a.example"}));
  SyncHarness h(conf_only(conf));
  h.sync().initial_sync();
  h.fail_next_apply();
  dir.replace("named.conf", zone_lines({"b.example"}));
  ASSERT_TRUE(h.wait_until([&] { return h.status().syncs_failed == 1; }));
  EXPECT_NE(h.status().last_error.find("injected apply failure"), std::string::npos);
  EXPECT_EQ(h.current(), Names{"a.example"});
  // Same content again: the set was never applied, so it is applied now.
  dir.replace("named.conf", "#\n" + zone_lines({"b.example"}));
  ASSERT_TRUE(h.wait_until([&] { return h.current().count("b.example"); }));
}

std::string nz_conf(const TempDir &dir) {
  return "options { directory \"" + dir.path() + "/cache\"; allow-new-zones yes; };\n" +
         zone_lines({"a.example"});
}

TEST(ZoneSync, RndcAddzoneNzfFile) {
  TempDir dir;
  std::filesystem::create_directories(dir / "cache");
  std::string conf = dir.write("named.conf", nz_conf(dir));
  SyncHarness h(conf_only(conf));
  h.sync().initial_sync();
  EXPECT_EQ(h.current(), Names{"a.example"});
  // named writes <view>.nzf in its working directory (BIND without LMDB).
  dir.replace("cache/_default.nzf", "zone \"added.example\" { type primary; file \"x\"; };\n");
  ASSERT_TRUE(h.wait_until([&] { return h.current().count("added.example"); }));
  std::filesystem::remove(dir / "cache/_default.nzf");  // rndc delzone of the last one
  ASSERT_TRUE(h.wait_until([&] { return !h.current().count("added.example"); }));
}

// Writes (or updates) an NZD the way named does: an LMDB file without subdirectory, key = zone
// name, value = the zone's options block.
void nzd_put(const std::string &path, const std::string &zone, const std::string &config) {
  MDB_env *env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  ASSERT_EQ(mdb_env_open(env, path.c_str(), MDB_NOSUBDIR, 0600), 0);
  MDB_txn *txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  MDB_dbi dbi;
  ASSERT_EQ(mdb_dbi_open(txn, nullptr, 0, &dbi), 0);
  MDB_val k{zone.size(), const_cast<char *>(zone.data())};
  MDB_val v{config.size(), const_cast<char *>(config.data())};
  ASSERT_EQ(mdb_put(txn, dbi, &k, &v, 0), 0);
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

TEST(ZoneSync, RndcAddzoneNzdDatabase) {
  TempDir dir;
  std::filesystem::create_directories(dir / "cache");
  std::string conf = dir.write("named.conf", nz_conf(dir));
  SyncHarness h(conf_only(conf));
  h.sync().initial_sync();
  nzd_put(dir / "cache/_default.nzd", "nzd1.example", "{ type primary; file \"x\"; };");
  ASSERT_TRUE(h.wait_until([&] { return h.current().count("nzd1.example"); }));
  // A second rndc addzone updates the open database in place.
  nzd_put(dir / "cache/_default.nzd", "nzd2.example",
          "{ type secondary; primaries { 192.0.2.1; }; };");
  ASSERT_TRUE(h.wait_until([&] { return h.current().count("nzd2.example"); }));
  EXPECT_EQ(h.current(), (Names{"a.example", "nzd1.example", "nzd2.example"}));
  EXPECT_EQ(h.status().protected_addresses, std::vector<std::string>{"192.0.2.1/32"});
}

TEST(ZoneSync, ChangesElsewhereInTheDirectoryAreIgnored) {
  TempDir dir;
  std::string conf = dir.write("named.conf", zone_lines({"a.example"}));
  SyncHarness h(conf_only(conf));
  h.sync().initial_sync();
  // Unrelated files next to named.conf (zone files, editor swap files) trigger nothing, for
  // longer than the longest debounce delay (500 ms).
  dir.write("db.a.example", "$TTL 1\n");
  dir.write(".named.conf.swp", "x");
  EXPECT_FALSE(h.any_sync_within(700ms));
  dir.write("named.conf", zone_lines({"a.example", "b.example"}));
  ASSERT_TRUE(h.wait_until([&] { return h.current().count("b.example"); }));
  EXPECT_EQ(h.status().syncs_ok, 2u);
}

TEST(ZoneSync, ChrootedNamedConf) {
  TempDir dir;
  dir.write("etc/bind/named.conf", "include \"/etc/bind/local.conf\";\n");
  dir.write("etc/bind/local.conf", zone_lines({"a.example"}));
  ZoneSources s;
  s.named_conf = "/etc/bind/named.conf";
  s.chroot = dir.path();
  SyncHarness h(s);
  h.sync().initial_sync();
  EXPECT_EQ(h.current(), Names{"a.example"});
  dir.replace("etc/bind/local.conf", zone_lines({"b.example"}));
  ASSERT_TRUE(h.wait_until([&] { return h.current().count("b.example"); }));
}

}  // namespace
}  // namespace dnswash::test
