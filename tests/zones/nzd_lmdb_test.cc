// NZD files on disk: an LMDB database written the way BIND 9.18 writes it (server.c
// nzd_save: one file opened with MDB_NOSUBDIR, unnamed database, key = zone name, value = the
// zone's options as one-line text "{ type primary; file \"...\"; }"), read back through
// DiskFileSystem, also under a chroot.
#include <gtest/gtest.h>
#include <lmdb.h>

#include <filesystem>

#include "named_conf.h"
#include "test_util.h"

using namespace dnswash::zones;
using namespace dnswash::zones::testing;

namespace {

void write_nzd(const std::string &path, const NzdEntries &entries) {
  MDB_env *env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  ASSERT_EQ(mdb_env_open(env, path.c_str(), MDB_NOSUBDIR, 0600), 0);
  MDB_txn *txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  MDB_dbi dbi;
  ASSERT_EQ(mdb_dbi_open(txn, nullptr, 0, &dbi), 0);
  for (const auto &[k, v] : entries) {
    MDB_val key{k.size(), const_cast<char *>(k.data())};
    MDB_val val{v.size(), const_cast<char *>(v.data())};
    ASSERT_EQ(mdb_put(txn, dbi, &key, &val, 0), 0);
  }
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

TEST(Nzd, ReadsZonesWrittenLikeNamed) {
  TempDir dir;
  dir.write("etc/named.conf",
            "options { directory \"/var/cache/bind\"; allow-new-zones yes; };\n"
            "zone \"static.example\" { type primary; file \"s.db\"; };\n");
  dir.write("var/cache/bind/keep", "");
  write_nzd(dir.path() + "/var/cache/bind/_default.nzd",
            {{"added.example", "{ type primary; file \"added.example.db\"; }"},
             {"Second.Example", "{ type secondary; primaries { 192.0.2.53; }; file \"x\"; }"}});
  ParseOptions opt;
  opt.chroot = dir.path();
  opt.path = "/etc/named.conf";
  auto r = parse_named_conf(opt);
  std::vector<std::string> names;
  for (const auto &n : allowlist(r)) names.push_back(n.to_text());
  EXPECT_EQ(names, (std::vector<std::string>{"added.example", "second.example", "static.example"}));
  EXPECT_EQ(r.protected_addresses, (std::vector<std::string>{"192.0.2.53/32"}));
  bool watched = false;
  for (const auto &p : r.watched_paths) watched |= p == dir.path() + "/var/cache/bind/_default.nzd";
  EXPECT_TRUE(watched);
}

// NZD files a real named 9.18 wrote (fixtures/nzd-from-named/make-nzd.sh), copied because
// reading creates LMDB's "-lock" file beside them.
TEST(Nzd, ReadsFilesWrittenByNamed) {
  TempDir dir;
  std::filesystem::copy(DNSWASH_ZONES_FIXTURES "/nzd-from-named", dir.path(),
                        std::filesystem::copy_options::recursive);
  ParseOptions opt;
  opt.chroot = dir.path();
  opt.path = "/named.conf";
  auto r = parse_named_conf(opt);
  std::vector<std::string> got;
  for (const auto &z : r.zones) got.push_back(z.name.to_text() + " " + z.view + " " + z.type);
  EXPECT_EQ(got,
            (std::vector<std::string>{"added.example int primary", "second.example int secondary",
                                      "upper-view.example Ext primary"}));
  EXPECT_EQ(r.protected_addresses, (std::vector<std::string>{"192.0.2.53/32"}));
}

TEST(Nzd, UnreadableDatabaseIsAWarning) {
  TempDir dir;
  dir.write("named.conf", "options { allow-new-zones yes; };");
  dir.write("_default.nzd", "not an lmdb file");
  ParseOptions opt;
  opt.cwd = dir.path();
  opt.path = "named.conf";
  auto r = parse_named_conf(opt);
  EXPECT_TRUE(allowlist(r).empty());
  ASSERT_EQ(r.warnings.size(), 1u);
}

}  // namespace
