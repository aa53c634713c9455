// The NFQUEUE rules: names, the exact rule text, install/remove, stale-rule removal, and that
// a failed start leaves nothing behind. Each test moves the process into a fresh network
// namespace first (unshare), so every rule it makes lives and dies there.
#include <gtest/gtest.h>
#include <sched.h>

#include <string>

#include "datapath_harness.h"
#include "error.h"
#include "nfqueue/filter.h"
#include "nfqueue/rules.h"

namespace dnswash {
namespace {

int count(const std::string &hay, const std::string &needle) {
  int n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

// All dnswash rules and tables in this namespace, in every backend we can list safely.
std::string listing() {
  return run_command({"iptables-nft", "-w", "5", "-t", "raw", "-S"}).output +
         run_command({"ip6tables-nft", "-w", "5", "-t", "raw", "-S"}).output +
         run_command({"nft", "list", "ruleset"}).output;
}

class InNetns : public ::testing::Test {
 protected:
  void SetUp() override {
    // A new namespace for this thread, inherited by every command it spawns; the namespace
    // and its rules go away when the last reference does.
    ASSERT_EQ(unshare(CLONE_NEWNET), 0) << errno_text("unshare(CLONE_NEWNET)", errno);
  }
};

TEST(RuleNames, InterfaceNameChecked) {
  for (const char *ok : {"eth0", "veth-a.10", "br@x", "ens3+", "a_b"})
    EXPECT_NO_THROW(nfqueue::check_iface_name(ok)) << ok;
  for (const char *bad : {"", "a b", "x\"y", "abcdefghijklmnop", "a/b", "..", "a;b", "a'b"})
    EXPECT_THROW(nfqueue::check_iface_name(bad), Error) << bad;
}

TEST(RuleNames, NftTableNamesAreDistinct) {
  EXPECT_EQ(nfqueue::nft_table_name("eth0"), "dnswash_eth0");
  EXPECT_EQ(nfqueue::nft_table_name("a-b"), "dnswash_a_2db");
  EXPECT_EQ(nfqueue::nft_table_name("a_2db"), "dnswash_a_5f2db");
  EXPECT_NE(nfqueue::nft_table_name("a.b"), nfqueue::nft_table_name("a_2eb"));
}

TEST(RuleText, IptablesRule) {
  nfqueue::RuleSpec s;
  s.iface = "eth0";
  auto join = [](const std::vector<std::string> &v) {
    std::string out;
    for (const auto &a : v) out += (out.empty() ? "" : " ") + a;
    return out;
  };
  EXPECT_EQ(join(nfqueue::Rules::iptables_rule(s)),
            "-t raw PREROUTING -i eth0 -p udp --dport 53 -m comment --comment dnswash:eth0 -j "
            "NFQUEUE --queue-num 53 --queue-bypass");
  s.queues = 2;
  s.bypass = false;
  EXPECT_EQ(join(nfqueue::Rules::iptables_rule(s)),
            "-t raw PREROUTING -i eth0 -p udp --dport 53 -m comment --comment dnswash:eth0 -j "
            "NFQUEUE --queue-balance 53:54");
}

TEST_F(InNetns, NftScriptParses) {
  // The kernel here may lack the nft queue expression: then nft must fail in the kernel
  // ("Could not process rule"), never in its parser.
  nfqueue::RuleSpec s;
  s.iface = "dwt-0";
  s.queues = 2;
  CommandResult r = run_command({"nft", nfqueue::Rules::nft_script(s)});
  EXPECT_TRUE(r.status == 0 || r.output.find("Could not process rule") != std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("syntax error"), std::string::npos) << r.output;
  // The same script with a statement every kernel has installs, and is one table.
  std::string script = nfqueue::Rules::nft_script(s);
  script.replace(script.find("queue flags bypass to 53-54"), 27, "counter");
  r = run_command({"nft", script});
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(count(run_command({"nft", "list", "tables"}).output, "table inet dnswash_dwt_2d0"), 1);
  EXPECT_EQ(nfqueue::Rules::remove_stale("dwt-0"), 1);
  EXPECT_EQ(count(listing(), "dnswash"), 0);
}

TEST_F(InNetns, InstallAndRemove) {
  nfqueue::RuleSpec s;
  s.iface = "dwt0";
  {
    auto rules = nfqueue::Rules::install(s);
    ASSERT_TRUE(rules);
    EXPECT_TRUE(rules->backend() == "nft" || rules->backend() == "iptables-nft")
        << rules->backend();
    std::string l = listing();
    if (rules->backend() == "nft") {
      EXPECT_EQ(count(l, "dnswash:dwt0"), 2) << l;  // table comment + rule comment
    } else {
      EXPECT_EQ(count(l, "dnswash:dwt0"), 2) << l;  // IPv4 + IPv6
      EXPECT_EQ(count(l, "--queue-num 53 --queue-bypass"), 2) << l;
    }
  }
  EXPECT_EQ(count(listing(), "dnswash"), 0);
}

TEST_F(InNetns, RemoveStaleTakesOnlyTaggedRules) {
  nfqueue::RuleSpec s;
  s.iface = "dwt0";
  nfqueue::RuleSpec other = s;
  other.iface = "dwt1";
  for (const char *bin : {"iptables-nft", "ip6tables-nft"}) {
    for (const auto *spec : {&s, &other}) {
      std::vector<std::string> a = nfqueue::Rules::iptables_rule(*spec);
      a.insert(a.begin() + 2, "-A");
      a.insert(a.begin(), bin);
      ASSERT_EQ(run_command(a).status, 0);
    }
    ASSERT_EQ(
        run_command({bin, "-t", "raw", "-A", "PREROUTING", "-p", "udp", "-j", "ACCEPT"}).status, 0);
  }
  EXPECT_EQ(nfqueue::Rules::remove_stale("dwt0"), 2);
  std::string l = listing();
  EXPECT_EQ(count(l, "dnswash:dwt0"), 0) << l;
  EXPECT_EQ(count(l, "dnswash:dwt1"), 2) << l;
  EXPECT_EQ(count(l, "-j ACCEPT"), 2) << l;
  EXPECT_EQ(nfqueue::Rules::remove_stale("dwt0"), 0);
  EXPECT_EQ(nfqueue::Rules::remove_stale("bad name"), 0);
}

LiveMaps maps_of(test::Datapath &dp) {
  return LiveMaps{dp.skel().zones_fd(), dp.skel().bans_fd(), dp.skel().config_fd()};
}

TEST_F(InNetns, FailedStartLeavesNothing) {
  test::Datapath dp;
  nfqueue::Options a;
  a.iface = "dwt0";
  a.queue_base = 60;
  nfqueue::Filter first(a, maps_of(dp), dp.skel().counters_fd());
  EXPECT_EQ(count(listing(), "dnswash:dwt0"), 2);
  // Queue 60 is taken: the second filter must fail before any rule of its own goes in.
  nfqueue::Options b = a;
  b.iface = "dwt1";
  try {
    nfqueue::Filter second(b, maps_of(dp), dp.skel().counters_fd());
    ADD_FAILURE() << "a second filter bound queue 60";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("another process holds this queue"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(count(listing(), "dnswash:dwt1"), 0);
  // Its whole-packet queue (61) is taken too.
  b.queue_base = 61;
  EXPECT_THROW(nfqueue::Filter(b, maps_of(dp), dp.skel().counters_fd()), Error);
  EXPECT_EQ(count(listing(), "dnswash:dwt1"), 0);
  // Bad options never reach the kernel.
  b.queue_base = 65535;
  EXPECT_THROW(nfqueue::Filter(b, maps_of(dp), dp.skel().counters_fd()), Error);
  b.iface = "bad name";
  b.queue_base = 70;
  EXPECT_THROW(nfqueue::Filter(b, maps_of(dp), dp.skel().counters_fd()), Error);
  first.stop();
  EXPECT_EQ(count(listing(), "dnswash"), 0);
  EXPECT_FALSE(first.backend().empty());  // stays readable after stop
}

}  // namespace
}  // namespace dnswash
