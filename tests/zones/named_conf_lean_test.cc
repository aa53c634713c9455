// The parser's fast paths for large configurations: the zone_details=false mode the daemon's
// sync uses gives the same allowlist as the full mode, the fast-sorted allowlist is in
// DnsName order, append_wire_name agrees with parse_dns_name, and a ParseError carries what
// to watch for the fix.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <set>

#include "named_conf.h"

using namespace dnswash;
using namespace dnswash::zones;

namespace {

std::vector<DnsName> naive_allowlist(const ParseResult &r) {
  std::vector<DnsName> names;
  for (const auto &z : r.zones)
    if (z.allowed) names.push_back(z.name);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

ParseResult parse_mem(const std::string &text, bool details,
                      std::shared_ptr<MemoryFileSystem> fs = nullptr) {
  if (!fs) fs = std::make_shared<MemoryFileSystem>();
  fs->files["/etc/named.conf"] = text;
  ParseOptions opt;
  opt.path = "/etc/named.conf";
  opt.cwd = "/etc";
  opt.fs = fs;
  opt.zone_details = details;
  return parse_named_conf(opt);
}

// Names that stress the order key: shared 8-byte prefixes, NUL and high bytes, case, label
// prefixes of each other, several labels, duplicates across views.
std::vector<std::string> tricky_names(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  const std::vector<std::string> pieces = {
      "a",     "A",      "ab", "abcdefgh",      "abcdefghi", "abcdefgH", "\\000", "a\\000",
      "\\255", "\\128x", "zz", "abcdefgh\\000", "m-1",       "m-10",     "m-2"};
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) {
    size_t labels = 1 + rng() % 3;
    std::string name;
    for (size_t l = 0; l < labels; ++l) {
      if (l) name += '.';
      name += pieces[rng() % pieces.size()];
    }
    out.push_back(name);
  }
  return out;
}

TEST(LeanParse, SameAllowlistAsFullParseAndNaiveSort) {
  auto names = tricky_names(3000, 7);
  // Two views (the allowlist is their union); duplicates inside one view are an error, so
  // each view gets a name once.
  std::string conf = "view one { ";
  {
    std::set<std::pair<int, DnsName>> seen;
    for (size_t i = 0; i < names.size(); ++i) {
      if (i == names.size() / 2) conf += "}; view two { ";
      int view = i < names.size() / 2 ? 1 : 2;
      if (!seen.insert({view, *parse_dns_name(names[i])}).second) continue;
      conf += "zone \"" + names[i] + "\" { type primary; file \"f\"; };\n";
    }
    conf += "zone \"forwarded.example\" { type forward; };\n};";
  }
  ParseResult full = parse_mem(conf, true);
  ParseResult lean = parse_mem(conf, false);
  EXPECT_TRUE(lean.zones.empty());
  std::vector<DnsName> expected = naive_allowlist(full);
  ASSERT_GT(expected.size(), 50u);
  EXPECT_EQ(full.allowed, expected);
  EXPECT_EQ(allowlist(full), expected);
  EXPECT_EQ(lean.allowed, expected);
  EXPECT_EQ(allowlist(lean), expected);
  EXPECT_EQ(lean.warnings.size(), full.warnings.size());
  EXPECT_EQ(lean.watched_paths, full.watched_paths);
}

TEST(LeanParse, ErrorsAndWarningsMatchFullParse) {
  const std::vector<std::string> confs = {
      "zone \"a\" { type primary; }; zone \"A.\" { type primary; };",
      "zone \".\" { type primary; }; zone \"x\" { type hint; };",
      "view v ch { zone \"version.bind\" { type primary; }; };",
      "zone \"caf\\195\\169\" { type primary; };",
      "view a { zone \"s\" { type primary; }; }; view b { zone \"s\" { in-view a; }; };",
      "view a { zone \"s\" { type forward; }; }; view b { zone \"s\" { in-view a; }; };",
  };
  for (const auto &c : confs) {
    std::string full_out, lean_out;
    try {
      auto r = parse_mem(c, true);
      for (const auto &w : r.warnings) full_out += w.to_text() + "\n";
      for (const auto &n : allowlist(r)) full_out += n.to_text() + "\n";
    } catch (const ParseError &e) {
      full_out = e.what();
    }
    try {
      auto r = parse_mem(c, false);
      for (const auto &w : r.warnings) lean_out += w.to_text() + "\n";
      for (const auto &n : r.allowed) lean_out += n.to_text() + "\n";
    } catch (const ParseError &e) {
      lean_out = e.what();
    }
    EXPECT_EQ(lean_out, full_out) << c;
    EXPECT_FALSE(full_out.empty()) << c;
  }
}

TEST(WireName, AgreesWithParseDnsName) {
  const std::vector<std::string> inputs = {".",
                                           "a",
                                           "a.",
                                           "A.b.C",
                                           "a..b",
                                           ".a",
                                           "",
                                           "\\",
                                           "a\\",
                                           "\\0",
                                           "\\256",
                                           "\\065bc.d",
                                           "x\\.y.z",
                                           std::string(63, 'a'),
                                           std::string(64, 'a'),
                                           std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                                               std::string(63, 'c') + "." + std::string(61, 'd'),
                                           std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                                               std::string(63, 'c') + "." + std::string(62, 'd')};
  for (const auto &in : inputs) {
    std::string err1, err2, wire = "prefix";
    auto name = parse_dns_name(in, &err1);
    bool ok = append_wire_name(in, &wire, &err2);
    EXPECT_EQ(ok, name.has_value()) << in;
    EXPECT_EQ(err1, err2) << in;
    if (!ok) {
      EXPECT_EQ(wire, "prefix") << in;  // left as it was
      continue;
    }
    auto w = name->to_wire();
    EXPECT_EQ(wire.substr(6), std::string(w.begin(), w.end())) << in;
    EXPECT_EQ(name_from_wire(wire.substr(6)), *name) << in;
  }
}

TEST(ParseErrorWatch, CarriesWhatWasReadAndTheMissingInclude) {
  auto fs = std::make_shared<MemoryFileSystem>();
  fs->files["/etc/a.conf"] = "zone \"a\" { type primary; };";
  try {
    parse_mem("include \"a.conf\";\ninclude \"missing.conf\";\n", false, fs);
    FAIL() << "no error";
  } catch (const ParseError &e) {
    EXPECT_EQ(e.where().line, 2);
    EXPECT_EQ(e.watched_paths(),
              (std::vector<std::string>{"/etc/a.conf", "/etc/missing.conf", "/etc/named.conf"}));
  }
}

TEST(ParseErrorWatch, PlainIncludeWatchesTheFileGlobWatchesTheDirectory) {
  auto fs = std::make_shared<MemoryFileSystem>();
  fs->files["/etc/a.conf"] = "";
  fs->files["/etc/g/1.conf"] = "";
  auto r = parse_mem("include \"a.conf\"; include \"g/*.conf\";", false, fs);
  EXPECT_EQ(r.watched_paths, (std::vector<std::string>{"/etc/a.conf", "/etc/g", "/etc/g/1.conf",
                                                       "/etc/named.conf"}));
}

}  // namespace
