// --ban-action and the slip options: parsing, limits, defaults equal to the datapath's.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ban_action_feature.h"
#include "options.h"

namespace dnswash::daemon {
namespace {

ParsedOptions parse_ba(std::vector<std::string> args) {
  args.insert(args.begin(), {"dnswashd", "--iface", "eth0"});
  std::vector<char *> argv;
  for (auto &a : args) argv.push_back(a.data());
  return parse_options(int(argv.size()), argv.data());
}

TEST(BanActionOptions, DefaultsAreDropAndTheDatapathDefaults) {
  auto p = parse_ba({});
  ASSERT_FALSE(p.exit_now);
  BanActionConfig c = ban_action_config(p.opt);
  EXPECT_FALSE(c.tc);
  EXPECT_EQ(c.per_s, uint32_t(DW_SLIP_DEF_PER_S));
  EXPECT_EQ(c.burst, uint32_t(DW_SLIP_DEF_BURST));
  EXPECT_EQ(c.v4_prefix, uint32_t(DW_SLIP_DEF_V4_PREFIX));
  EXPECT_EQ(c.v6_prefix, uint32_t(DW_SLIP_DEF_V6_PREFIX));
}

TEST(BanActionOptions, Tc) {
  auto p = parse_ba({"--ban-action", "tc", "--slip-rate", "20", "--slip-burst", "40",
                     "--slip-v4-prefix", "32", "--slip-v6-prefix", "64"});
  ASSERT_FALSE(p.exit_now);
  BanActionConfig c = ban_action_config(p.opt);
  EXPECT_TRUE(c.tc);
  EXPECT_EQ(c.per_s, 20u);
  EXPECT_EQ(c.burst, 40u);
  EXPECT_EQ(c.v4_prefix, 32u);
  EXPECT_EQ(c.v6_prefix, 64u);
}

TEST(BanActionOptions, BadValuesAreUsageErrors) {
  for (std::vector<std::string> bad :
       std::vector<std::vector<std::string>>{{"--ban-action", "refuse"},
                                             {"--slip-rate", "0"},
                                             {"--slip-rate", "1000001"},
                                             {"--slip-burst", "0"},
                                             {"--slip-v4-prefix", "33"},
                                             {"--slip-v6-prefix", "0"},
                                             {"--slip-v6-prefix", "129"}}) {
    auto p = parse_ba(bad);
    ASSERT_TRUE(p.exit_now) << bad[0] << " " << bad[1];
    EXPECT_EQ(*p.exit_now, 2) << bad[0] << " " << bad[1];
  }
}

}  // namespace
}  // namespace dnswash::daemon
