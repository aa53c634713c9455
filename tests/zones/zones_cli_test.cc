// `dnswashctl zones parse`: output format and exit codes of the built binary.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_util.h"

using namespace dnswash::zones::testing;

namespace {

const std::string kCtl = DNSWASH_CTL_PATH;

CommandResult ctl(const std::string &args) {
  return run_command(kCtl + " " + args + " 2>/dev/null");
}

class ZonesCli : public ::testing::Test {
 protected:
  TempDir dir;
  void SetUp() override {
    dir.write("named.conf",
              "view a { zone \"B.Example.\" { type master; file \"b.db\"; };\n"
              "  zone \"a.example\" { type secondary; file \"a.db\"; primaries { 192.0.2.1; }; };\n"
              "  zone \".\" { type hint; file \"root.hints\"; }; };\n"
              "view b { zone \"b.example\" { type primary; file \"b2.db\"; }; };\n");
    dir.write("bad.conf", "zone \"x\" { type primary; file \"x.db\"; }\nzone \"y\" { };\n");
  }
};

TEST_F(ZonesCli, PrintsSortedLowercaseNamesOnePerLine) {
  auto r = ctl("zones parse --named-conf " + shell_quote(dir.path() + "/named.conf"));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "a.example\nb.example\n");
}

TEST_F(ZonesCli, ChrootResolvesPathsInside) {
  auto r = ctl("zones parse --chroot " + shell_quote(dir.path()) + " --named-conf /named.conf");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "a.example\nb.example\n");
}

TEST_F(ZonesCli, JsonCarriesViewTypeClassFileLine) {
  auto r = ctl("zones parse --json --named-conf " + shell_quote(dir.path() + "/named.conf"));
  ASSERT_EQ(r.exit_code, 0);
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["zones"].size(), 3u);
  auto z = j["zones"][1];  // b.example in view a
  EXPECT_EQ(z["name"], "b.example");
  EXPECT_EQ(z["view"], "a");
  EXPECT_EQ(z["type"], "primary");
  EXPECT_EQ(z["class"], "IN");
  EXPECT_EQ(z["file"], "b.db");
  EXPECT_EQ(z["line"], 1);
  EXPECT_EQ(j["protected_addresses"], nlohmann::json::array({"192.0.2.1/32"}));
  EXPECT_EQ(j["uses_source_port_53"], false);
}

TEST_F(ZonesCli, ParseErrorExitsOneWithLocationOnStderr) {
  std::string conf = dir.path() + "/bad.conf";
  auto r = run_command(kCtl + " zones parse --named-conf " + shell_quote(conf) + " 2>&1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "dnswashctl: " + conf + ":2:1: missing ';' before 'zone'\n");
  EXPECT_EQ(ctl("zones parse --named-conf " + shell_quote(dir.path() + "/missing")).exit_code, 1);
}

TEST_F(ZonesCli, UsageErrorsExitTwo) {
  EXPECT_EQ(ctl("zones parse --no-such-flag").exit_code, 2);
  EXPECT_EQ(ctl("zones").exit_code, 2);
  EXPECT_EQ(ctl("").exit_code, 2);
  EXPECT_EQ(ctl("zones parse --named-conf").exit_code, 2);
  EXPECT_EQ(ctl("--help").exit_code, 0);
}

TEST_F(ZonesCli, WarningsGoToStderr) {
  dir.write("root.conf", "zone \".\" { type primary; file \"root.db\"; };\n");
  auto out = run_command(kCtl + " zones parse --named-conf " +
                         shell_quote(dir.path() + "/root.conf") + " 2>/dev/null");
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(out.out, "");
  auto err = run_command(kCtl + " zones parse --named-conf " +
                         shell_quote(dir.path() + "/root.conf") + " 2>&1 >/dev/null");
  EXPECT_NE(err.out.find("warning: "), std::string::npos);
}

}  // namespace
