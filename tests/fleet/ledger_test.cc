// The fleet's policy: who said what about a prefix, and what this node enforces because of it
// (quorum, expiry agreed by the quorum, manual unbans, replays and duplicates).
#include <gtest/gtest.h>

#include "ledger.h"
#include "prefix_text.h"

namespace dnswash::fleet {
namespace {

constexpr int64_t kNow = 1800000000000;
const dw_ban_key kKey = *parse_ban_prefix("192.0.2.7", nullptr);

Message ban(const std::string &node, uint64_t seq, std::optional<int64_t> expires,
            bool manual = false) {
  Message m;
  m.kind = Kind::kBan;
  m.node = node;
  m.seq = seq;
  m.at_ms = kNow - 1000 + int64_t(seq);
  m.key = kKey;
  m.start_ms = kNow - 1000;
  m.expires_ms = expires;
  m.manual = manual;
  m.offenses = 1;
  return m;
}

Message unban(const std::string &node, uint64_t seq, bool manual, int64_t at_ms = kNow) {
  Message m;
  m.kind = Kind::kUnban;
  m.node = node;
  m.seq = seq;
  m.at_ms = at_ms;
  m.key = kKey;
  m.manual = manual;
  return m;
}

struct Feed {
  Ledger l;
  std::vector<BanChange> bans;
  std::vector<ShieldChange> shields;
  explicit Feed(unsigned quorum) : l("self", quorum) {}
  Outcome add(const Message &m, int64_t now = kNow) {
    bans.clear();
    return l.add(m, now, &bans, &shields);
  }
};

TEST(FleetLedger, OneNodeBansByDefault) {
  Feed r(1);
  EXPECT_EQ(r.add(ban("ns1", 1, kNow + 60000)), Outcome::kApplied);
  ASSERT_EQ(r.bans.size(), 1u);
  ASSERT_TRUE(r.bans[0].now);
  EXPECT_EQ(r.bans[0].now->expires_ms, kNow + 60000);
  EXPECT_EQ(r.bans[0].now->nodes, 1u);
}

TEST(FleetLedger, ReplayAndDuplicatesChangeNothing) {
  Feed r(1);
  r.add(ban("ns1", 5, kNow + 60000));
  // The same message again, and an older one with a longer expiry: no change, no longer ban.
  EXPECT_EQ(r.add(ban("ns1", 5, kNow + 60000)), Outcome::kStale);
  EXPECT_TRUE(r.bans.empty());
  EXPECT_EQ(r.add(ban("ns1", 4, kNow + 999999)), Outcome::kStale);
  EXPECT_TRUE(r.bans.empty());
  EXPECT_EQ(r.l.decision(kKey)->expires_ms, kNow + 60000);
  // An older unban does not lift a newer ban either.
  EXPECT_EQ(r.add(unban("ns1", 3, false)), Outcome::kStale);
  EXPECT_TRUE(r.l.decision(kKey));
}

TEST(FleetLedger, OwnMessagesAreNotCounted) {
  Feed r(1);
  EXPECT_EQ(r.add(ban("self", 1, kNow + 60000)), Outcome::kOwn);
  EXPECT_FALSE(r.l.decision(kKey));
}

TEST(FleetLedger, QuorumNeedsDistinctNodes) {
  Feed r(2);
  r.add(ban("ns1", 1, kNow + 60000));
  EXPECT_TRUE(r.bans.empty());
  EXPECT_FALSE(r.l.decision(kKey));
  EXPECT_EQ(r.l.pending_quorum(kNow), 1u);
  r.add(ban("ns1", 2, std::nullopt));  // the same node again, even permanent: still one node
  EXPECT_FALSE(r.l.decision(kKey));
  r.add(ban("ns2", 1, kNow + 30000));
  ASSERT_EQ(r.bans.size(), 1u);
  // The expiry both agree on: ns1's permanent ban does not make it permanent.
  EXPECT_EQ(r.bans[0].now->expires_ms, kNow + 30000);
  EXPECT_EQ(r.l.pending_quorum(kNow), 0u);
  // ns2 lifts its ban: below quorum again, the fleet ban goes.
  r.add(unban("ns2", 2, false));
  ASSERT_EQ(r.bans.size(), 1u);
  EXPECT_FALSE(r.bans[0].now);
}

TEST(FleetLedger, DetectorUnbanLiftsOnlyItsNode) {
  Feed r(1);
  r.add(ban("ns1", 1, kNow + 60000));
  r.add(ban("ns2", 1, kNow + 90000));
  EXPECT_EQ(r.l.decision(kKey)->expires_ms, kNow + 90000);
  r.add(unban("ns2", 2, false));
  ASSERT_EQ(r.bans.size(), 1u);
  EXPECT_EQ(r.bans[0].now->expires_ms, kNow + 60000);  // ns1's ban remains
}

TEST(FleetLedger, ManualUnbanLiftsEveryEarlierBan) {
  Feed r(1);
  r.add(ban("ns1", 1, kNow + 60000));
  r.add(ban("ns2", 1, kNow + 90000));
  r.add(unban("ns3", 1, true, kNow));
  ASSERT_EQ(r.bans.size(), 1u);
  EXPECT_FALSE(r.bans[0].now);
  // A ban made before the unban that arrives late (another stream) stays lifted...
  Message late = ban("ns4", 1, kNow + 60000);
  late.at_ms = kNow - 10;
  EXPECT_EQ(r.add(late), Outcome::kStale);
  EXPECT_FALSE(r.l.decision(kKey));
  // ...a ban made after it applies.
  Message fresh = ban("ns1", 2, kNow + 60000);
  fresh.at_ms = kNow + 10;
  r.add(fresh);
  EXPECT_TRUE(r.l.decision(kKey));
}

TEST(FleetLedger, ExpiryRecomputes) {
  Feed r(1);
  r.add(ban("ns1", 1, kNow + 1000));
  r.add(ban("ns2", 1, kNow + 5000));
  std::vector<BanChange> out;
  r.l.expire(kNow + 2000, &out);
  EXPECT_TRUE(out.empty());  // ns2's longer ban was the one applied: nothing changes
  r.l.expire(kNow + 6000, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].now);
  // An already expired ban replayed later is not applied.
  Feed late(1);
  late.add(ban("ns1", 1, kNow - 1));
  EXPECT_TRUE(late.bans.empty());
}

TEST(FleetLedger, ShieldsFollowTheQuorum) {
  Feed r(2);
  Message s;
  s.kind = Kind::kShield;
  s.node = "ns1";
  s.seq = 1;
  s.zone = "example.com";
  s.shield_on = true;
  r.add(s);
  EXPECT_TRUE(r.shields.empty());
  s.node = "ns2";
  r.add(s);
  ASSERT_EQ(r.shields.size(), 1u);
  EXPECT_TRUE(r.shields[0].on);
  EXPECT_TRUE(r.l.shield("example.com"));
  s.seq = 2;
  s.shield_on = false;
  r.add(s);
  ASSERT_EQ(r.shields.size(), 2u);
  EXPECT_FALSE(r.shields[1].on);
}

}  // namespace
}  // namespace dnswash::fleet
