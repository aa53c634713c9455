// The rule by which a node applies the fleet's word on a zone's shield next to its own
// (fleet/remote_shield.h, docs/fleet.md "Shields"): on at once, off at once where the attack
// never arrived, held for the local quiet period where it did; the local operator's off wins.
#include <gtest/gtest.h>

#include "remote_shield.h"

namespace dnswash::fleet {
namespace {

constexpr int64_t kQuiet = 3000;
constexpr double kWarm = 50;  // half of --shield-nx-rate 100

TEST(RemoteShield, FleetOnShieldsFleetOffReleasesAQuietNode) {
  RemoteShield r(kQuiet, kWarm);
  EXPECT_FALSE(r.shielded(0, 0, false, false));
  r.set(true);
  EXPECT_TRUE(r.shielded(100, 0, false, false));
  EXPECT_TRUE(r.shielded(60000, 0, false, false));  // the fleet's on holds without traffic
  r.set(false);
  EXPECT_FALSE(r.shielded(60100, 0, false, false));  // never warm here: off at the next tick
  EXPECT_FALSE(r.held());
}

TEST(RemoteShield, FleetOffWaitsForTheLocalQuietPeriod) {
  RemoteShield r(kQuiet, kWarm);
  r.set(true);
  EXPECT_TRUE(r.shielded(0, 400, false, false));  // the attack reaches this node too
  r.set(false);
  EXPECT_TRUE(r.shielded(1000, 60, false, false));  // still warm: held
  EXPECT_TRUE(r.shielded(2000, 10, false, false));
  EXPECT_TRUE(r.shielded(3999, 10, false, false));   // quiet for 2,999 ms
  EXPECT_FALSE(r.shielded(4000, 10, false, false));  // quiet for --shield-quiet: off
  // A new word starts over: no memory of the old warmth.
  r.set(true);
  r.set(false);
  EXPECT_FALSE(r.shielded(4100, 0, false, false));
}

TEST(RemoteShield, FleetOnAgainWhileHeldKeepsItOn) {
  RemoteShield r(kQuiet, kWarm);
  r.set(true);
  EXPECT_TRUE(r.shielded(0, 100, false, false));
  r.set(false);
  EXPECT_TRUE(r.shielded(1000, 0, false, false));
  r.set(true);
  EXPECT_TRUE(r.shielded(10000, 0, false, false));
}

TEST(RemoteShield, LocalOperatorOffWinsLocalOnStands) {
  RemoteShield r(kQuiet, kWarm);
  r.set(true);
  EXPECT_FALSE(r.shielded(0, 0, false, true));    // `zones shield Z off` here
  EXPECT_TRUE(r.shielded(100, 0, false, false));  // back to auto: the fleet's word again
  r.set(false);
  EXPECT_TRUE(r.shielded(200, 0, true, false));  // this node's own policy says on
  EXPECT_FALSE(r.held());
  EXPECT_FALSE(r.shielded(300, 0, false, false));
}

TEST(RemoteShield, NoWordNoShield) {
  RemoteShield r(kQuiet, kWarm);
  for (int64_t t = 0; t < 5000; t += 100) EXPECT_FALSE(r.shielded(t, 1000, false, false));
  r.set(false);
  EXPECT_FALSE(r.shielded(5000, 1000, false, false));
}

}  // namespace
}  // namespace dnswash::fleet
