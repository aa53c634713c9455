// The allowlist must equal what BIND itself says: for every valid configuration (the shared
// real-world ones and our fixtures) the authoritative IN zones that `named-checkconf -l` lists
// are exactly the zones we allow; for every bad one both named-checkconf and we refuse it, and
// our error names file:line:column. named-checkconf runs with -t (chroot) on a copy of the tree,
// under `unshare -r` when we are not root.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include "named_conf.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace dnswash::zones;
using namespace dnswash::zones::testing;

namespace {

const std::string kShared = DNSWASH_SHARED_CONTEXT "/named-conf";
const std::string kFixtures = DNSWASH_ZONES_FIXTURES;

std::string checkconf_command(const std::string &root, const std::string &path, bool list) {
  std::string cmd = geteuid() == 0 ? "" : "unshare -r ";
  return cmd + "named-checkconf -t " + shell_quote(root) + (list ? " -l " : " ") +
         shell_quote(path) + " 2>&1";
}

std::set<std::string> names_of(const std::vector<dnswash::DnsName> &names) {
  std::set<std::string> out;
  for (const auto &n : names) out.insert(n.to_text());
  return out;
}

// The authoritative IN zones in `named-checkconf -l` output ("name class view type"), minus
// the root (which we exclude on purpose). View names may hold spaces, so read the class from
// the second field and the type from the last; in-view lines repeat a zone listed with its type.
std::set<std::string> authoritative_in(const std::string &listing) {
  std::set<std::string> out;
  std::istringstream in(listing);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string w; fields >> w;) f.push_back(w);
    if (f.size() < 3) continue;  // 3: a view whose name is empty (cut at a NUL byte)
    std::string cls = f[1], type = f.back();
    for (auto &c : cls) c = dnswash::ascii_lower(c);
    for (auto &c : type) c = dnswash::ascii_lower(c);  // printed as written: "MASTER"
    bool in_class = cls == "in" || cls == "class1";
    if (!in_class ||
        !(type == "primary" || type == "master" || type == "secondary" || type == "slave"))
      continue;
    auto name = dnswash::parse_dns_name(f[0]);
    if (name && !name->is_root()) out.insert(name->to_text());
  }
  return out;
}

ParseResult parse_under(const std::string &root, const std::string &path) {
  ParseOptions opt;
  opt.chroot = root;
  opt.path = path;
  return parse_named_conf(opt);
}

// Copies `src` to a writable temporary root (shared/ is read-only) and creates `dirs` in it.
void copy_tree(const std::string &src, const TempDir &dst, const std::vector<std::string> &dirs,
               const std::vector<std::string> &empty_files = {}) {
  fs::copy(src, dst.path(), fs::copy_options::recursive);
  for (auto &p : fs::recursive_directory_iterator(dst.path()))
    fs::permissions(p.path(), fs::perms::owner_write, fs::perm_options::add);
  for (const auto &d : dirs) fs::create_directories(dst.path() + d);
  for (const auto &f : empty_files) dst.write(f, "");
}

void expect_matches_checkconf(const std::string &root, const std::string &path) {
  auto oracle = run_command(checkconf_command(root, path, true));
  ASSERT_EQ(oracle.exit_code, 0) << oracle.out;
  ParseResult result;
  ASSERT_NO_THROW(result = parse_under(root, path));
  EXPECT_EQ(names_of(allowlist(result)), authoritative_in(oracle.out)) << oracle.out;
}

TEST(SharedContext, IsPresent) {
  // CI checks out shared/ beside the repository; without it the oracle tests prove nothing.
  ASSERT_TRUE(fs::is_directory(kShared)) << kShared << " is missing";
}

struct SharedCase {
  const char *name;
  const char *subtree;  // under named-conf/, becomes the chroot
  const char *path;     // named.conf inside the chroot
  std::vector<std::string> dirs;
  std::vector<std::string> empty_files;
  const char *expected_zonelist;  // under expected-zonelists/, or null
};

const std::vector<SharedCase> &shared_cases() {
  static const std::vector<SharedCase> cases = {
      {"debian_bind9",
       "debian-bind9",
       "/etc/bind/named.conf",
       {"/var/cache/bind"},
       {},
       "debian-bind9__etc__bind__named.conf.zonelist"},
      {"zytrax",
       "real-world",
       "/named-zytrax.conf",
       {"/var/named"},
       {},
       "real-world__bind9_parser__named-zytrax.conf.zonelist"},
      {"pdns_backend_bind",
       "real-world/debian-pdns-backend-bind",
       "/etc/powerdns/named.conf",
       {},
       {"var/lib/powerdns/supermaster.conf"},
       nullptr},
      {"in_view_good",
       "bind9-checkconf",
       "/in-view-good.conf",
       {},
       {},
       "bind9-checkconf__in-view-good.conf.zonelist"},
      {"view_class_in2",
       "bind9-checkconf",
       "/view-class-in2.conf",
       {},
       {},
       "bind9-checkconf__view-class-in2.conf.zonelist"},
  };
  return cases;
}

class SharedValid : public ::testing::TestWithParam<SharedCase> {};

TEST_P(SharedValid, MatchesNamedCheckconf) {
  ASSERT_TRUE(fs::is_directory(kShared)) << kShared << " is missing";
  const SharedCase &c = GetParam();
  TempDir root;
  copy_tree(kShared + "/" + c.subtree, root, c.dirs, c.empty_files);
  expect_matches_checkconf(root.path(), c.path);
  if (c.expected_zonelist) {
    std::string stored = read_text(kShared + "/expected-zonelists/" + c.expected_zonelist);
    EXPECT_EQ(names_of(allowlist(parse_under(root.path(), c.path))), authoritative_in(stored));
  }
}

INSTANTIATE_TEST_SUITE_P(Shared, SharedValid, ::testing::ValuesIn(shared_cases()),
                         [](const auto &info) { return std::string(info.param.name); });

// good.conf is BIND 9.20 syntax (key-store, remote-servers, notify-cfg) that 9.18 rejects;
// its oracle is the good.zonelist BIND's own test suite stores beside it.
TEST(SharedGoodConf, MatchesStoredZonelist) {
  ASSERT_TRUE(fs::is_directory(kShared)) << kShared << " is missing";
  ParseOptions opt;
  opt.path = kShared + "/bind9-checkconf/good.conf";
  auto result = parse_named_conf(opt);
  EXPECT_EQ(names_of(allowlist(result)),
            authoritative_in(read_text(kShared + "/bind9-checkconf/good.zonelist")));
}

std::vector<std::string> list_dirs(const std::string &dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto &e : fs::directory_iterator(dir, ec))
    if (e.is_directory()) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string test_name(std::string s) {
  for (auto &c : s)
    if (!isalnum((unsigned char)c)) c = '_';
  return s;
}

class FixtureValid : public ::testing::TestWithParam<std::string> {};

TEST_P(FixtureValid, MatchesNamedCheckconf) {
  expect_matches_checkconf(kFixtures + "/good/" + GetParam(), "/named.conf");
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FixtureValid,
                         ::testing::ValuesIn(list_dirs(kFixtures + "/good")),
                         [](const auto &info) { return test_name(info.param); });

const std::regex kLocated(R"(^[^:]+:[1-9][0-9]*:[1-9][0-9]*: .+)");

void expect_both_refuse(const std::string &root, const std::string &path) {
  // With -l: 9.18 accepts `class0` views when only checking, but fails listing them.
  auto oracle = run_command(checkconf_command(root, path, true));
  EXPECT_NE(oracle.exit_code, 0) << "named-checkconf accepted it:\n" << oracle.out;
  try {
    parse_under(root, path);
    ADD_FAILURE() << "parsed without error";
  } catch (const ParseError &e) {
    EXPECT_TRUE(std::regex_match(std::string(e.what()), kLocated)) << e.what();
  }
}

class FixtureBad : public ::testing::TestWithParam<std::string> {};

TEST_P(FixtureBad, RefusedWithLocation) {
  expect_both_refuse(kFixtures + "/bad/" + GetParam(), "/named.conf");
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FixtureBad, ::testing::ValuesIn(list_dirs(kFixtures + "/bad")),
                         [](const auto &info) { return test_name(info.param); });

TEST(SharedBad, RefusedWithLocation) {
  ASSERT_TRUE(fs::is_directory(kShared)) << kShared << " is missing";
  int seen = 0;
  for (auto &e : fs::directory_iterator(kShared + "/bind9-checkconf")) {
    std::string name = e.path().filename().string();
    if (name.rfind("bad-", 0) != 0) continue;
    SCOPED_TRACE(name);
    expect_both_refuse(kShared + "/bind9-checkconf", "/" + name);
    ++seen;
  }
  EXPECT_GT(seen, 0);
}

}  // namespace

namespace {

// named 9.18 keeps a NUL byte inside a word or a quoted string and then reads the token as a
// C string, cut at the NUL. Each byte of this configuration is replaced by a NUL in turn;
// whenever named-checkconf still accepts the file, our allowlist must equal its list. Where it
// refuses the file, so must we, except for checks we leave to named on purpose (values of
// options we skip, unknown options: docs/named-conf.md).
TEST(EmbeddedNul, EveryPositionAgreesWithNamedCheckconf) {
  const std::string base =
      "options { directory \"/\"; recursion no; };\n"
      "view \"ext\" IN {\n"
      "  zone \"a.example\" IN { type primary; file \"a.db\"; };\n"
      "  zone \".\" { type hint; file \"h.db\"; };\n"
      "  zone \"b.example\" { type secondary; primaries { 192.0.2.1; }; };\n"
      "};\n";
  TempDir root;
  for (size_t i = 0; i < base.size(); ++i) {
    std::string text = base;
    text[i] = '\0';
    root.write("c" + std::to_string(i) + ".conf", text);
  }
  // One shell for all runs: "@@ i rc" after each listing.
  std::string script = "for i in $(seq 0 " + std::to_string(base.size() - 1) + "); do " +
                       (geteuid() == 0 ? "" : "unshare -r ") + "named-checkconf -t " +
                       shell_quote(root.path()) + " -l /c$i.conf 2>&1; echo \"@@ $i $?\"; done";
  auto all = run_command(script);
  std::map<size_t, std::pair<int, std::string>> oracle;
  std::string chunk;
  std::istringstream in(all.out);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("@@ ", 0) == 0) {
      std::istringstream f(line.substr(3));
      size_t i;
      int rc;
      f >> i >> rc;
      oracle[i] = {rc, chunk};
      chunk.clear();
    } else {
      chunk += line + "\n";
    }
  }
  ASSERT_EQ(oracle.size(), base.size()) << all.out.substr(0, 2000);
  int accepted = 0, refused = 0, lenient = 0;
  for (size_t i = 0; i < base.size(); ++i) {
    SCOPED_TRACE("NUL at " + std::to_string(i) + " ('" + base[i] + "')");
    const auto &[rc, listing] = oracle[i];
    std::optional<ParseResult> ours;
    std::string our_error;
    try {
      ours = parse_under(root.path(), "/c" + std::to_string(i) + ".conf");
    } catch (const ParseError &e) {
      our_error = e.what();
    }
    if (rc == 0) {
      ++accepted;
      ASSERT_TRUE(ours) << our_error << "\nnamed-checkconf:\n" << listing;
      EXPECT_EQ(names_of(allowlist(*ours)), authoritative_in(listing)) << listing;
    } else if (!ours) {
      ++refused;
    } else {
      ++lenient;
      EXPECT_TRUE(listing.find("unknown option '") != std::string::npos ||
                  listing.find("expected near") != std::string::npos ||
                  listing.find("unable to find primaries list") != std::string::npos)
          << "named-checkconf refused what we accept:\n"
          << listing;
    }
  }
  // The file must exercise both outcomes, or the test proves little.
  EXPECT_GT(accepted, 20);
  EXPECT_GT(refused, 20);
  std::cout << accepted << " accepted, " << refused << " refused by both, " << lenient
            << " refused only by named-checkconf (options we skip)\n";
}

}  // namespace
