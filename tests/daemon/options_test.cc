// dnswashd's command line and config file.
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "options.h"

namespace dnswash::daemon {
namespace {

ParsedOptions parse(std::vector<std::string> args) {
  args.insert(args.begin(), "dnswashd");
  std::vector<char *> argv;
  for (auto &a : args) argv.push_back(a.data());
  return parse_options(int(argv.size()), argv.data());
}

TEST(Options, Defaults) {
  auto p = parse({"--iface", "eth0"});
  ASSERT_FALSE(p.exit_now);
  EXPECT_EQ(p.opt.iface, "eth0");
  EXPECT_EQ(p.opt.named_conf, "/etc/bind/named.conf");
  EXPECT_EQ(p.opt.mode, "auto");
  EXPECT_EQ(p.opt.xdp_attach, "auto");
  EXPECT_EQ(p.opt.pin_dir, "/sys/fs/bpf/dnswash");
  EXPECT_EQ(p.opt.state_dir, "/run/dnswash");
  EXPECT_EQ(p.opt.on_abi_mismatch, "replace");
  EXPECT_FALSE(p.opt.dry_run);
  EXPECT_FALSE(p.opt.keep_on_exit);
}

TEST(Options, EveryOption) {
  auto p = parse({"-i",
                  "eth1",
                  "--named-conf",
                  "/x.conf",
                  "--chroot",
                  "/c",
                  "--zone",
                  "a.",
                  "--zone",
                  "b",
                  "--zones-file",
                  "/z",
                  "--mode",
                  "generic",
                  "--xdp-attach",
                  "libxdp",
                  "--dry-run",
                  "--allow-chaos",
                  "--pin-dir",
                  "/p",
                  "--state-dir",
                  "/s",
                  "--keep-on-exit",
                  "--on-abi-mismatch",
                  "refuse",
                  "--queues",
                  "4",
                  "--fail-closed",
                  "-vv"});
  ASSERT_FALSE(p.exit_now);
  const Options &o = p.opt;
  EXPECT_EQ(o.iface, "eth1");
  EXPECT_EQ(o.named_conf, "/x.conf");
  EXPECT_EQ(o.chroot, "/c");
  EXPECT_EQ(o.zones, (std::vector<std::string>{"a.", "b"}));
  EXPECT_EQ(o.zones_files, std::vector<std::string>{"/z"});
  EXPECT_EQ(o.mode, "generic");
  EXPECT_EQ(o.xdp_attach, "libxdp");
  EXPECT_TRUE(o.dry_run && o.allow_chaos && o.keep_on_exit && o.fail_closed);
  EXPECT_EQ(o.pin_dir, "/p");
  EXPECT_EQ(o.state_dir, "/s");
  EXPECT_EQ(o.on_abi_mismatch, "refuse");
  EXPECT_EQ(o.queues, 4u);
  EXPECT_EQ(o.verbose, 2);
}

TEST(Options, ConfigFileUsesTheSameKeysAndTheCommandLineWins) {
  std::string path = "/tmp/dnswashd-options-test-" + std::to_string(getpid()) + ".conf";
  {
    std::ofstream f(path);
    f << "# comment\niface = \"eth7\"\nmode = \"native\"\ndry-run = true\n"
         "zone = [\"a.test\", \"b.test\"]\npin-dir = \"/from/file\"\n";
  }
  auto p = parse({"--config", path, "--pin-dir", "/from/cli"});
  unlink(path.c_str());
  ASSERT_FALSE(p.exit_now);
  EXPECT_EQ(p.opt.iface, "eth7");
  EXPECT_EQ(p.opt.mode, "native");
  EXPECT_TRUE(p.opt.dry_run);
  EXPECT_EQ(p.opt.zones, (std::vector<std::string>{"a.test", "b.test"}));
  EXPECT_EQ(p.opt.pin_dir, "/from/cli");
}

TEST(Options, UsageErrorsExitWith2AndHelpWith0) {
  EXPECT_EQ(parse({}).exit_now, 2);                                  // --iface missing
  EXPECT_EQ(parse({"--iface", "e", "--mode", "fast"}).exit_now, 2);  // not a mode
  EXPECT_EQ(parse({"--iface", "e", "--xdp-attach", "netlink"}).exit_now, 2);
  EXPECT_EQ(parse({"--iface", "e", "--queues", "0"}).exit_now, 2);
  EXPECT_EQ(parse({"--iface", "e", "--bogus"}).exit_now, 2);
  EXPECT_EQ(parse({"--iface", "e", "--config", "/nonexistent/dnswashd.conf"}).exit_now, 2);
  testing::internal::CaptureStdout();
  EXPECT_EQ(parse({"--help"}).exit_now, 0);
  std::string help = testing::internal::GetCapturedStdout();
  for (const char *s : {"--iface", "--named-conf", "/etc/bind/named.conf", "--pin-dir",
                        "/sys/fs/bpf/dnswash", "--keep-on-exit", "--on-abi-mismatch", "--config"})
    EXPECT_NE(help.find(s), std::string::npos) << s;
}

TEST(Options, OffenseHistoryBounds) {
  Options d = parse({"--iface", "e"}).opt;
  EXPECT_EQ(d.ban_forget, "never");
  EXPECT_EQ(d.ban_history_max, 10000u);
  Options o = parse({"--iface", "e", "--ban-forget", "30d", "--ban-history-max", "0"}).opt;
  EXPECT_EQ(o.ban_forget, "30d");
  EXPECT_EQ(o.ban_history_max, 0u);
  EXPECT_EQ(parse({"--iface", "e", "--ban-forget", "soon"}).exit_now, 2);
  EXPECT_EQ(parse({"--iface", "e", "--ban-history-max", "-1"}).exit_now, 2);
}

}  // namespace
}  // namespace dnswash::daemon
