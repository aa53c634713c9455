// The Fleet glue without NATS: messages as they arrive reach the FleetTarget adapter (or are
// refused: never-ban, rejects), and local changes are numbered for publishing. The shield
// half is exercised here through the interface (docs/fleet.md says what the daemon wires).
#include <gtest/gtest.h>

#include <map>

#include "fleet.h"
#include "prefix_text.h"
#include "subjects.h"
#include "wall_clock.h"

namespace dnswash::fleet {
namespace {

using nlohmann::json;

struct FakeTarget : FleetTarget {
  std::map<std::string, Decision> bans;
  std::map<std::string, bool> shields;
  std::string never = "198.51.100.0/24";
  bool never_ban(const dw_ban_key &key) override {
    // Overlap either way: a ban covering a protected address, or inside a protected prefix.
    auto n = *parse_ban_prefix(never, nullptr);
    uint32_t len = std::min(n.prefixlen, key.prefixlen);
    for (uint32_t b = 0; b < len; ++b)
      if (((n.addr[b / 8] ^ key.addr[b / 8]) >> (7 - b % 8)) & 1) return false;
    return true;
  }
  void apply_ban(const dw_ban_key &key, const Decision &d) override {
    bans[ban_prefix_text(key)] = d;
  }
  void remove_ban(const dw_ban_key &key) override { bans.erase(ban_prefix_text(key)); }
  bool has_ban(const dw_ban_key &key) override { return bans.count(ban_prefix_text(key)); }
  bool apply_shield(const std::string &zone, bool on) override {
    shields[zone] = on;
    return zone != "unserved.example";
  }
  std::vector<dw_ban_key> fleet_bans() override {
    std::vector<dw_ban_key> out;
    for (const auto &[p, d] : bans) out.push_back(*parse_ban_prefix(p, nullptr));
    return out;
  }
};

Message ban_msg(const std::string &node, uint64_t seq, const std::string &prefix) {
  Message m;
  m.kind = Kind::kBan;
  m.node = node;
  m.seq = seq;
  m.at_ms = now_unix_ms();
  m.key = *parse_ban_prefix(prefix, nullptr);
  m.start_ms = m.at_ms;
  m.expires_ms = m.at_ms + 600000;
  m.offenses = 1;
  return m;
}

FleetOptions offline(unsigned quorum = 1) {
  FleetOptions o;
  o.link.node = "self";
  o.link.bans_max_age_ms = 86400000;
  o.quorum = quorum;
  return o;
}

Reject deliver(Fleet &f, const Message &m) {
  return f.receive(ban_subject(m.node, m.key, false), encode(m), now_unix_ms());
}

TEST(Fleet, RemoteBanReachesTheTarget) {
  FakeTarget t;
  Fleet f(offline(), t);
  EXPECT_EQ(deliver(f, ban_msg("ns1", 1, "192.0.2.7")), Reject::kNone);
  ASSERT_TRUE(t.bans.count("192.0.2.7"));
  EXPECT_EQ(f.status()["applied"], 1);
  EXPECT_EQ(f.status()["peers"]["ns1"]["messages"], 1);
}

TEST(Fleet, NeverBanWins) {
  FakeTarget t;
  Fleet f(offline(), t);
  deliver(f, ban_msg("ns1", 1, "198.51.100.9"));   // inside the protected /24
  deliver(f, ban_msg("ns1", 2, "198.51.0.0/16"));  // covers it
  EXPECT_TRUE(t.bans.empty());
  EXPECT_EQ(f.status()["never_ban_refused"], 2);
  // The periodic check does not sneak it in either.
  f.tick();
  EXPECT_TRUE(t.bans.empty());
}

TEST(Fleet, RejectsAreCountedAndChangeNothing) {
  FakeTarget t;
  Fleet f(offline(), t);
  Message m = ban_msg("ns1", 1, "192.0.2.7");
  std::string subject = ban_subject("ns1", m.key, false);
  EXPECT_EQ(f.receive(subject, "{nope", now_unix_ms()), Reject::kMalformed);
  EXPECT_EQ(f.receive(subject, std::string(100000, 'x'), now_unix_ms()), Reject::kOversized);
  std::string v2 = encode(m);
  v2.replace(v2.find("\"v\":1"), 5, "\"v\":9");
  EXPECT_EQ(f.receive(subject, v2, now_unix_ms()), Reject::kVersion);
  EXPECT_TRUE(t.bans.empty());
  auto s = f.status();
  EXPECT_EQ(s["rejected"]["total"], 3);
  EXPECT_EQ(s["rejected"]["malformed"], 1);
  EXPECT_EQ(s["applied"], 0);
}

TEST(Fleet, QuorumOfTwo) {
  FakeTarget t;
  Fleet f(offline(2), t);
  deliver(f, ban_msg("ns1", 1, "192.0.2.7"));
  EXPECT_TRUE(t.bans.empty());
  EXPECT_EQ(f.status()["pending_quorum"], 1);
  deliver(f, ban_msg("ns2", 1, "192.0.2.7"));
  EXPECT_TRUE(t.bans.count("192.0.2.7"));
}

TEST(Fleet, LostFleetBanIsReapplied) {
  FakeTarget t;
  Fleet f(offline(), t);
  deliver(f, ban_msg("ns1", 1, "192.0.2.7"));
  t.bans.clear();  // the operator flushed the map, say
  f.tick();
  EXPECT_TRUE(t.bans.count("192.0.2.7"));
  EXPECT_EQ(f.status()["bans_reapplied"], 1);
}

TEST(Fleet, ManualUnbanHereLiftsTheFleetBan) {
  FakeTarget t;
  Fleet f(offline(), t);
  deliver(f, ban_msg("ns1", 1, "192.0.2.7"));
  ASSERT_TRUE(t.bans.count("192.0.2.7"));
  // dnswashctl bans del here: the fleet's ban goes, and the periodic check leaves it gone.
  f.on_local_unban(*parse_ban_prefix("192.0.2.7", nullptr), true);
  EXPECT_FALSE(t.bans.count("192.0.2.7"));
  f.tick();
  EXPECT_FALSE(t.bans.count("192.0.2.7"));
  EXPECT_EQ(f.status()["fleet_bans"], 0);
}

TEST(Fleet, ShieldsThroughTheInterface) {
  FakeTarget t;
  Fleet f(offline(), t);
  Message s;
  s.kind = Kind::kShield;
  s.node = "ns1";
  s.seq = 1;
  s.at_ms = now_unix_ms();
  s.zone = "example.com";
  s.shield_on = true;
  EXPECT_EQ(f.receive(shield_subject("ns1", "example.com"), encode(s), now_unix_ms()),
            Reject::kNone);
  EXPECT_TRUE(t.shields["example.com"]);
  s.seq = 2;
  s.shield_on = false;
  f.receive(shield_subject("ns1", "example.com"), encode(s), now_unix_ms());
  EXPECT_FALSE(t.shields["example.com"]);
  f.on_shield("example.org", true);  // published (offline: only counted)
  EXPECT_EQ(f.status()["local_changes"], 1);
}

Message shield_msg(const std::string &node, uint64_t seq, const std::string &zone, bool on) {
  Message s;
  s.kind = Kind::kShield;
  s.node = node;
  s.seq = seq;
  s.at_ms = now_unix_ms();
  s.zone = zone;
  s.shield_on = on;
  return s;
}

Reject deliver_shield(Fleet &f, const Message &m) {
  return f.receive(shield_subject(m.node, m.zone), encode(m), now_unix_ms());
}

TEST(Fleet, OwnShieldWordIsNotApplied) {
  FakeTarget t;
  Fleet f(offline(), t);
  f.on_shield("example.com", true);  // this run's own word, as it comes back from the stream
  uint64_t now_seq = uint64_t(now_unix_ms()) * 1000 + 999;
  EXPECT_EQ(deliver_shield(f, shield_msg("self", now_seq, "example.com", true)), Reject::kNone);
  EXPECT_TRUE(t.shields.empty());
  EXPECT_EQ(f.status()["own"], 1);
  EXPECT_EQ(f.status()["shields_corrected"], 0);
  EXPECT_EQ(f.status()["local_changes"], 1);
}

TEST(Fleet, ShieldOnAZoneNotServedHereIsCounted) {
  FakeTarget t;
  Fleet f(offline(), t);
  deliver_shield(f, shield_msg("ns1", 1, "unserved.example", true));
  EXPECT_EQ(f.status()["shields_ignored"], 1);
  EXPECT_EQ(f.status()["shields_applied"], 0);
  deliver_shield(f, shield_msg("ns1", 2, "example.com", true));
  EXPECT_EQ(f.status()["shields_applied"], 1);
  EXPECT_EQ(f.status()["shields_on"], json::array({"example.com", "unserved.example"}));
}

TEST(Fleet, ShieldQuorumCountsOtherNodes) {
  FakeTarget t;
  Fleet f(offline(2), t);
  deliver_shield(f, shield_msg("ns1", 1, "example.com", true));
  EXPECT_FALSE(t.shields.count("example.com"));
  deliver_shield(f, shield_msg("ns2", 1, "example.com", true));
  EXPECT_TRUE(t.shields["example.com"]);
  deliver_shield(f, shield_msg("ns1", 2, "example.com", false));
  EXPECT_FALSE(t.shields["example.com"]);
}

TEST(Fleet, OwnShieldOnFromBeforeARestartIsTurnedOff) {
  FakeTarget t;
  Fleet f(offline(), t);
  // The stream still holds "on" from this node's previous run (an older seq); this run has
  // not shielded the zone: it publishes off, once.
  deliver_shield(f, shield_msg("self", 5, "example.com", true));
  EXPECT_EQ(f.status()["shields_corrected"], 1);
  EXPECT_EQ(f.status()["local_changes"], 1);
  deliver_shield(f, shield_msg("self", 5, "example.com", true));  // redelivered
  EXPECT_EQ(f.status()["shields_corrected"], 1);
  // An old "off", or an old "on" for a zone this run shields itself, needs nothing.
  deliver_shield(f, shield_msg("self", 6, "example.net", false));
  f.on_shield("example.org", true);
  deliver_shield(f, shield_msg("self", 7, "example.org", true));
  EXPECT_EQ(f.status()["shields_corrected"], 1);
  EXPECT_EQ(f.status()["local_changes"], 2);
  EXPECT_TRUE(t.shields.empty());
}

}  // namespace
}  // namespace dnswash::fleet
