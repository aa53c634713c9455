// The named.conf reader on in-memory files: include semantics, views, new-zone files, the
// collected addresses and flags, warnings and errors.
#include <gtest/gtest.h>

#include "named_conf.h"
#include "sha256.h"

using namespace dnswash::zones;

namespace {

struct Conf {
  std::shared_ptr<MemoryFileSystem> fs = std::make_shared<MemoryFileSystem>();
  ParseOptions opt;
  Conf() {
    opt.path = "/etc/named.conf";
    opt.cwd = "/etc";
    opt.fs = fs;
  }
  Conf &file(const std::string &path, const std::string &text) {
    fs->files[path] = text;
    return *this;
  }
  ParseResult parse(const std::string &text) {
    fs->files[opt.path] = text;
    return parse_named_conf(opt);
  }
  std::vector<std::string> names(const std::string &text) {
    std::vector<std::string> out;
    for (const auto &n : allowlist(parse(text))) out.push_back(n.to_text());
    return out;
  }
  std::string error(const std::string &text) {
    try {
      parse(text);
    } catch (const ParseError &e) {
      return e.what();
    }
    return "no error";
  }
};

using V = std::vector<std::string>;
const char *kZ = " { type primary; file \"z.db\"; };\n";

TEST(Parser, AllowlistIsSortedUniqueLowercase) {
  Conf c;
  EXPECT_EQ(c.names(std::string("view a { zone \"B.example.\"") + kZ + "zone \"a.example\"" + kZ +
                    "}; view b { zone \"b.EXAMPLE\"" + kZ + "};"),
            (V{"a.example", "b.example"}));
}

TEST(Parser, IncludeResolvesAgainstDirectoryAtThatPoint) {
  Conf c;
  c.file("/etc/a.conf", std::string("zone \"before\"") + kZ)
      .file("/var/a.conf", std::string("zone \"wrong\"") + kZ)
      .file("/var/b.conf", std::string("zone \"after\"") + kZ)
      .file("/etc/b.conf", std::string("zone \"wrong2\"") + kZ);
  EXPECT_EQ(c.names("include \"a.conf\"; options { directory \"/var\"; }; include \"b.conf\";"),
            (V{"after", "before"}));
}

TEST(Parser, StartingDirectoryDefaultsToRootUnderChroot) {
  Conf c;
  c.opt.cwd = "";
  c.opt.chroot = "/ignored-by-memory-fs";
  c.file("/x.conf", std::string("zone \"x\"") + kZ);
  EXPECT_EQ(c.names("include \"x.conf\";"), (V{"x"}));
}

TEST(Parser, GlobMatchesAreReadLastFirst) {
  Conf c;
  c.file("/etc/z/1.conf", std::string("zone \"one\"") + kZ)
      .file("/etc/z/2.conf", std::string("zone \"two\"") + kZ)
      .file("/etc/z/skip.txt", std::string("zone \"skip\"") + kZ);
  auto r = c.parse("include \"z/*.conf\";");
  ASSERT_EQ(r.zones.size(), 2u);
  EXPECT_EQ(r.zones[0].name_text, "two");  // as named: each match is pushed on a stack
  EXPECT_EQ(r.zones[1].where.file, "z/1.conf");
  EXPECT_EQ(r.watched_paths, (V{"/etc/named.conf", "/etc/z", "/etc/z/1.conf", "/etc/z/2.conf"}));
}

TEST(Parser, IncludedTokensAreSpliced) {
  Conf c;
  c.file("/etc/tail.conf", "directory \"/var\"; };\n");
  c.file("/var/v.conf", std::string("zone \"v\"") + kZ);
  EXPECT_EQ(c.names("options {\ninclude \"tail.conf\";\ninclude \"v.conf\";"), (V{"v"}));
}

TEST(Parser, IncludeEverywhere) {
  Conf c;
  c.file("/etc/zone-body.conf", "type secondary; primaries { 192.0.2.9; };")
      .file("/etc/view-body.conf", std::string("zone \"in-view-body\"") + kZ)
      .file("/etc/opts.conf", "allow-transfer { 198.51.100.0/24; };")
      .file("/etc/log.conf", "channel x { null; };");
  auto r = c.parse(
      "options { include \"opts.conf\"; }; logging { include \"log.conf\"; };\n"
      "view v { include \"view-body.conf\"; zone \"z\" { include \"zone-body.conf\"; }; };");
  EXPECT_EQ(allowlist(r).size(), 2u);
  EXPECT_EQ(r.protected_addresses, (V{"192.0.2.9/32", "198.51.100.0/24"}));
}

TEST(Parser, IncludeErrors) {
  Conf c;
  c.file("/etc/a.conf", "include \"b.conf\";").file("/etc/b.conf", "include \"a.conf\";");
  EXPECT_EQ(c.error("include \"a.conf\";"),
            "b.conf:1:1: include loop: '/etc/a.conf' includes itself");
  EXPECT_EQ(c.error("\n  include \"none*.conf\";"),
            "/etc/named.conf:2:11: include 'none*.conf': file not found");
  EXPECT_EQ(c.error("include nope.conf;"),
            "/etc/named.conf:1:9: expected quoted string near 'nope.conf'");
}

TEST(Parser, IncludingTheSameFileTwiceIsNoLoop) {
  Conf c;
  c.file("/etc/a.conf", "acl x { 10.0.0.1; };");
  EXPECT_NO_THROW(c.parse("include \"a.conf\"; include \"a.conf\";"));
}

TEST(Parser, ExponentialIncludesAreBounded) {
  Conf c;
  for (int i = 0; i < 30; ++i)
    c.file("/etc/f" + std::to_string(i) + ".conf", "include \"f" + std::to_string(i + 1) +
                                                       ".conf\"; include \"f" +
                                                       std::to_string(i + 1) + ".conf\";");
  c.file("/etc/f30.conf", "");
  EXPECT_NE(c.error("include \"f0.conf\";").find("too many"), std::string::npos);
}

TEST(Parser, ViewsClassesAndInView) {
  Conf c;
  auto r = c.parse(std::string("view i IN { zone \"s\"") + kZ + "};\n" +
                   "view ch CH { zone \"version.bind\"" + kZ + "};\n" +
                   "view e class1 { zone \"s\" { in-view \"i\"; }; zone \"e\" in" + kZ + "};");
  ASSERT_EQ(r.zones.size(), 4u);
  EXPECT_EQ(r.zones[1].zone_class, "CH");
  EXPECT_FALSE(r.zones[1].allowed);
  EXPECT_EQ(r.zones[2].type, "primary");
  EXPECT_EQ(r.zones[2].in_view, "i");
  EXPECT_EQ(r.zones[3].zone_class, "IN");
  EXPECT_EQ(allowlist(r).size(), 2u);  // s and e; version.bind is CH
}

TEST(Parser, NonAuthoritativeAndRoot) {
  Conf c;
  auto r = c.parse(
      "zone \".\" { type master; file \"root\"; };\n"
      "zone \"h\" { type hint; file \"h\"; }; zone \"f\" { type forward; };\n"
      "zone \"s\" { type stub; }; zone \"ss\" { type static-stub; };\n"
      "zone \"m\" { type mirror; }; zone \".\" { type redirect; }; zone \".\" { type hint; };\n"
      "zone \"d\" { type delegation-only; }; zone \"ok\" { type slave; };\n"
      "options { response-policy { zone \"rpz\"; }; catalog-zones { zone \"cat\"; }; };");
  ASSERT_EQ(allowlist(r).size(), 1u);
  EXPECT_EQ(allowlist(r)[0].to_text(), "ok");
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].message.find("root"), std::string::npos);
  EXPECT_EQ(r.warnings[0].where.to_text(), "/etc/named.conf:1:1");
}

// named keeps hint and redirect zones out of the zone table: named-checkconf checks duplicates
// in three name spaces (hint, redirect, every other type).
TEST(Parser, HintAndRedirectHaveTheirOwnNameSpaces) {
  Conf c;
  auto r = c.parse(
      "zone \".\" { type hint; file \"h\"; };\n"
      "zone \".\" { type mirror; };\n"
      "zone \".\" { type redirect; file \"r\"; };\n"
      "zone \"x\" { type hint; file \"h\"; };\n"
      "zone \"x\" { type primary; file \"x\"; };\n");
  EXPECT_EQ(r.zones.size(), 5u);
  ASSERT_EQ(allowlist(r).size(), 1u);
  EXPECT_EQ(allowlist(r)[0].to_text(), "x");
  for (const char *dup : {"zone \".\" { type hint; }; zone \".\" { type hint; };",
                          "zone \".\" { type redirect; }; zone \".\" { type redirect; };",
                          "zone \".\" { type mirror; }; zone \".\" { type primary; };"}) {
    Conf d;
    EXPECT_THROW(d.parse(dup), ParseError) << dup;
  }
  Conf e;
  EXPECT_THROW(e.parse("zone \"r.example\" { type redirect; };"), ParseError);
}

TEST(Parser, InViewFindsTheZoneOrElseTheHint) {
  Conf c;
  auto r = c.parse(
      "view a { zone \"s\" { type hint; file \"h\"; }; zone \"s\" { type secondary; };\n"
      "         zone \"h\" { type hint; file \"h\"; }; };\n"
      "view b { zone \"s\" { in-view a; }; zone \"s\" { type hint; file \"h\"; };\n"
      "         zone \"h\" { in-view a; }; };\n");
  EXPECT_EQ(r.zones[3].type, "secondary");  // s in b: the secondary, not the hint
  EXPECT_EQ(r.zones[5].type, "hint");       // h in b: only a hint to share, never allowed
  ASSERT_EQ(allowlist(r).size(), 1u);
  EXPECT_EQ(allowlist(r)[0].to_text(), "s");
  Conf d;
  EXPECT_THROW(d.parse("view a { zone \".\" { type redirect; }; };\n"
                       "view b { zone \".\" { in-view a; }; };"),
               ParseError);
}

TEST(Parser, StatisticsChannels) {
  Conf c;
  auto r = c.parse(
      "statistics-channels { inet 127.0.0.1 port 8053 allow { 127.0.0.1; }; inet ::1; };\n"
      "zone \"a\" { type primary; file \"a\"; };");
  EXPECT_EQ(r.statistics_channels,
            (std::vector<std::pair<std::string, int>>{{"127.0.0.1", 8053}, {"::1", 80}}));
}

TEST(Parser, NamesAreNormalizedAndNonAsciiWarned) {
  Conf c;
  auto r = c.parse(std::string("zone \"A\\.b\\067.Example.\"") + kZ + "zone \"b\xc3\xbc\"" + kZ);
  auto names = allowlist(r);
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0].to_text(), "a\\.bc.example");
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].message.find("punycode"), std::string::npos);
}

TEST(Parser, SourcePort53) {
  Conf c;
  EXPECT_FALSE(c.parse("options { query-source address * port 5353; };").uses_source_port_53);
  EXPECT_TRUE(c.parse("options { query-source address * port 53; };").uses_source_port_53);
  EXPECT_TRUE(c.parse("options { transfer-source-v6 :: port 53; };").uses_source_port_53);
  EXPECT_TRUE(c.parse(std::string("zone z { type secondary; notify-source 192.0.2.1 port 53; };"))
                  .uses_source_port_53);
  EXPECT_TRUE(c.parse("server 192.0.2.1 { query-source port 53; };").uses_source_port_53);
}

TEST(Parser, ProtectedAddresses) {
  Conf c;
  auto r = c.parse(
      "primaries \"list\" port 53 { 192.0.2.1; 2001:DB8::1 key \"k\"; other-list; };\n"
      "masters old { 192.0.2.2 port 5353; };\n"
      "server 198.51.100.7 { keys k; };\n"
      "acl friends { 203.0.113.99; };\n"
      "options { also-notify { 192.0.2.3; }; allow-transfer { !192.0.2.4; key k; friends; "
      "{ 10/8; }; any; }; };\n"
      "zone z { type secondary; primaries { list; 192.0.2.5 key k; }; "
      "allow-update { 2001:db8:1::/48; localhost; }; allow-notify { 192.0.2.6; }; };");
  EXPECT_EQ(r.protected_addresses,
            (V{"10.0.0.0/8", "192.0.2.1/32", "192.0.2.2/32", "192.0.2.3/32", "192.0.2.5/32",
               "192.0.2.6/32", "198.51.100.7/32", "2001:db8:1::/48", "2001:db8::1/128"}));
}

TEST(Parser, ErrorsNameFileLineColumn) {
  Conf c;
  EXPECT_EQ(c.error("zone \"a\" { type primary; }\nzone \"b\" { type primary; };"),
            "/etc/named.conf:2:1: missing ';' before 'zone'");
  EXPECT_EQ(c.error("options {\n  recursion no;\n"),
            "/etc/named.conf:3:1: '}' expected for the '{' at line 1");
  EXPECT_EQ(c.error("zone \"a..b\" { type primary; };"),
            "/etc/named.conf:1:6: zone 'a..b': is not a valid name (empty label in 'a..b')");
  EXPECT_EQ(c.error("zone a { type primary; }; zone A. { type slave; };"),
            "/etc/named.conf:1:27: zone 'A.': already exists, previous definition: "
            "/etc/named.conf:1:1");
  EXPECT_EQ(c.error("zone a { type primary; type slave; };"),
            "/etc/named.conf:1:24: 'type' redefined near 'type'");
  EXPECT_EQ(c.error("zone a { file \"x\"; };"), "/etc/named.conf:1:1: zone 'a': type not present");
  EXPECT_EQ(c.error("zone a CH { type primary; };"),
            "/etc/named.conf:1:8: zone 'a': class 'CH' does not match view/default class");
  EXPECT_EQ(c.error("view v class0 { };"), "/etc/named.conf:1:8: view 'v': invalid class class0");
  EXPECT_EQ(c.error("template t { type primary; };"),
            "/etc/named.conf:1:1: unknown option 'template' (zone templates need BIND 9.20)");
  EXPECT_EQ(c.error("options { directory \"/nope\"; };"),
            "/etc/named.conf:1:21: change directory to '/nope' failed: file not found");
  EXPECT_EQ(c.error(";"), "/etc/named.conf:1:1: syntax error near ';'");
  EXPECT_EQ(c.error("view v { zone a { type primary; }; }; zone b { type primary; };"),
            "/etc/named.conf:1:39: when using 'view' statements, all zones must be in views");
}

// rndc addzone: <view>.nzf text and <view>.nzd records, found in the working directory or
// new-zones-directory, only for views with allow-new-zones.
TEST(Parser, NewZoneFiles) {
  Conf c;
  c.file("/var/cache/bind/_default.nzf",
         "zone \"added.example\" { type primary; file \"added.db\"; };\n");
  c.fs->nzds["/var/cache/bind/_default.nzd"] = {
      {"lmdb.example", "{ type secondary; file \"l.db\"; primaries { 192.0.2.44; }; }"},
      {"hinted.example", "{ type hint; file \"h\"; };"}};
  std::string conf = "options { directory \"/var/cache/bind\"; allow-new-zones yes; };";
  auto r = c.parse(conf);
  EXPECT_EQ(allowlist(r).size(), 2u);
  EXPECT_EQ(r.zones[0].origin, ZoneOrigin::kNzf);
  EXPECT_EQ(r.zones[1].origin, ZoneOrigin::kNzd);
  EXPECT_EQ(r.protected_addresses, (V{"192.0.2.44/32"}));
  EXPECT_EQ(r.watched_paths.back(), "/var/cache/bind/_default.nzf");
  EXPECT_TRUE(allowlist(c.parse("options { directory \"/var/cache/bind\"; };")).empty());
}

TEST(Parser, NewZoneFileNamesFollowBind) {
  Conf c;
  // Uppercase or '/' in a view name: the first 16 hex digits of its SHA-256.
  std::string hashed = sha256_hex("Ext/1").substr(0, 16);
  c.file("/etc/nz/" + hashed + ".nzf", std::string("zone \"h.example\"") + kZ);
  c.file("/etc/nz/int.nzf", std::string("zone \"i.example\"") + kZ);
  c.file("/etc/" + sha256_hex("int2") + ".nzf", std::string("zone \"full-hash.example\"") + kZ);
  auto r = c.parse(
      "options { new-zones-directory \"nz\"; };"
      "view \"Ext/1\" { allow-new-zones yes; }; view int { allow-new-zones true; };"
      "view int2 { allow-new-zones 1; new-zones-directory \"/etc\"; };");
  std::vector<std::string> names;
  for (const auto &n : allowlist(r)) names.push_back(n.to_text());
  EXPECT_EQ(names, (V{"full-hash.example", "h.example", "i.example"}));
}

TEST(Parser, DuplicateAddedZoneIsIgnoredWithWarning) {
  Conf c;
  c.file("/etc/_default.nzf", std::string("zone \"a\"") + kZ);
  auto r = c.parse(std::string("options { allow-new-zones yes; }; zone \"a\"") + kZ);
  EXPECT_EQ(r.zones.size(), 1u);
  ASSERT_EQ(r.warnings.size(), 1u);
}

TEST(Parser, BadNewZoneFileIsAnError) {
  Conf c;
  c.file("/etc/_default.nzf", "zone \"a\" { type primary; };\noptions { };");
  EXPECT_EQ(c.error("options { allow-new-zones yes; };"),
            "/etc/_default.nzf:2:1: expected 'zone' near 'options'");
}

TEST(Parser, SurvivesGarbage) {
  Conf c;
  for (const char *text :
       {"{", "}", "zone", "zone \"", "view", "\"", "/*", "include", "options { directory",
        "dyndb x y {", "zone a {{{{{{{{{{{{{{", "primaries { ! ! ! ; }", "server 1.2.3.4/"}) {
    EXPECT_THROW(c.parse(text), ParseError) << text;
  }
  EXPECT_NO_THROW(c.parse(""));
}

TEST(Parser, DeepNestingIsAnError) {
  Conf c;
  EXPECT_NE(c.error("acl x " + std::string(10000, '{')).find("nested too deeply"),
            std::string::npos);
}

}  // namespace
