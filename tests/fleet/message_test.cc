// The fleet message codec: what a node publishes decodes to the same message, and every
// message that must not touch a map (oversized, malformed, unknown version, out of range,
// on the wrong subject) is rejected with its reason.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "message.h"
#include "prefix_text.h"
#include "subjects.h"

namespace dnswash::fleet {
namespace {

constexpr int64_t kNow = 1800000000000;  // 2027-01-15

Message ban(const std::string &prefix, std::optional<int64_t> expires) {
  Message m;
  m.kind = Kind::kBan;
  m.node = "ns1";
  m.seq = 42;
  m.at_ms = kNow - 1000;
  m.key = *parse_ban_prefix(prefix, nullptr);
  m.zone = "example.com";
  m.start_ms = kNow - 2000;
  m.expires_ms = expires;
  m.offenses = 2;
  return m;
}

Reject check(const Message &m, bool keep, const std::string &data) {
  Message out;
  return decode(ban_subject(m.node, m.key, keep), data, kNow, &out);
}

// The message as JSON with one field changed.
std::string with(const Message &m, const std::string &field, const nlohmann::json &v) {
  auto j = nlohmann::json::parse(encode(m));
  if (v.is_discarded())
    j.erase(field);
  else
    j[field] = v;
  return j.dump();
}

TEST(FleetMessage, BanRoundTrips) {
  for (auto exp : {std::optional<int64_t>(kNow + 3600000), std::optional<int64_t>()}) {
    Message m = ban("192.0.2.7", exp);
    bool keep = !exp;
    Message out;
    ASSERT_EQ(decode(ban_subject("ns1", m.key, keep), encode(m), kNow, &out), Reject::kNone);
    EXPECT_EQ(out.kind, Kind::kBan);
    EXPECT_EQ(out.node, "ns1");
    EXPECT_EQ(out.seq, 42u);
    EXPECT_EQ(ban_prefix_text(out.key), "192.0.2.7");
    EXPECT_EQ(out.zone, "example.com");
    EXPECT_EQ(out.start_ms, m.start_ms);
    EXPECT_EQ(out.expires_ms, exp);
    EXPECT_EQ(out.offenses, 2u);
    EXPECT_FALSE(out.manual);
  }
}

TEST(FleetMessage, UnbanAndShieldRoundTrip) {
  Message u;
  u.kind = Kind::kUnban;
  u.node = "ns-2";
  u.seq = 7;
  u.at_ms = kNow;
  u.key = *parse_ban_prefix("2001:db8:1::/48", nullptr);
  u.manual = true;
  Message out;
  ASSERT_EQ(decode(ban_subject("ns-2", u.key, false), encode(u), kNow, &out), Reject::kNone);
  EXPECT_EQ(out.kind, Kind::kUnban);
  EXPECT_TRUE(out.manual);
  Message s;
  s.kind = Kind::kShield;
  s.node = "ns_3";
  s.seq = 9;
  s.at_ms = kNow;
  s.zone = "example.com";
  s.shield_on = true;
  ASSERT_EQ(decode(shield_subject("ns_3", "example.com"), encode(s), kNow, &out), Reject::kNone);
  EXPECT_EQ(out.kind, Kind::kShield);
  EXPECT_EQ(out.zone, "example.com");
  EXPECT_TRUE(out.shield_on);
}

TEST(FleetMessage, RejectsWhatMustNotBeApplied) {
  Message m = ban("192.0.2.7", kNow + 60000);
  EXPECT_EQ(check(m, false, std::string(kMaxMessageBytes + 1, ' ')), Reject::kOversized);
  EXPECT_EQ(check(m, false, "{\"v\":1,"), Reject::kMalformed);
  EXPECT_EQ(check(m, false, "[1,2]"), Reject::kMalformed);
  EXPECT_EQ(check(m, false, with(m, "v", 2)), Reject::kVersion);
  EXPECT_EQ(check(m, false, with(m, "v", nlohmann::json::value_t::discarded)), Reject::kMalformed);
  EXPECT_EQ(check(m, false, with(m, "prefix", "192.0.2.7/24")), Reject::kRange);  // host bits
  EXPECT_EQ(check(m, false, with(m, "prefix", "not-an-address")), Reject::kRange);
  EXPECT_EQ(check(m, false, with(m, "expires_ms", m.start_ms - 1)), Reject::kRange);
  EXPECT_EQ(check(m, false, with(m, "at_ms", kNow + kMaxSkewMs + 1)), Reject::kRange);
  EXPECT_EQ(check(m, false, with(m, "seq", -1)), Reject::kRange);
  EXPECT_EQ(check(m, false, with(m, "offenses", 2000000)), Reject::kRange);
  EXPECT_EQ(check(m, false, with(m, "reason", "whim")), Reject::kRange);
  EXPECT_EQ(check(m, false, with(m, "type", "nuke")), Reject::kRange);
  EXPECT_EQ(check(m, false, with(m, "zone", "a b")), Reject::kRange);
  EXPECT_EQ(check(m, false, with(m, "start_ms", "soon")), Reject::kMalformed);
  EXPECT_EQ(check(m, false, with(m, "zone", 5)), Reject::kMalformed);
  // Another node's name in the body, another prefix than the subject's, a permanent ban in
  // the timed stream: the wrong subject.
  EXPECT_EQ(check(m, false, with(m, "node", "ns9")), Reject::kSubject);
  EXPECT_EQ(check(m, false, with(m, "prefix", "192.0.2.8")), Reject::kSubject);
  EXPECT_EQ(check(m, false, with(m, "expires_ms", nullptr)), Reject::kSubject);
  Message out;
  EXPECT_EQ(decode("dnswash.bans.ns1", encode(m), kNow, &out), Reject::kSubject);
  EXPECT_EQ(decode("other.bans.ns1.prefix.x", encode(m), kNow, &out), Reject::kSubject);
}

TEST(FleetMessage, ShortPrefixesAreOutOfRange) {
  // A forged ban on everyone, or on a whole /8, is never applied.
  for (const char *p : {"0.0.0.0/0", "10.0.0.0/8", "192.0.0.0/15", "::/0", "2001:db8::/31"}) {
    Message m = ban(p, kNow + 60000);
    EXPECT_EQ(check(m, false, encode(m)), Reject::kRange) << p;
  }
  for (const char *p : {"192.0.0.0/16", "2001:db8::/32"}) {
    Message m = ban(p, kNow + 60000);
    EXPECT_EQ(check(m, false, encode(m)), Reject::kNone) << p;
  }
}

TEST(FleetMessage, NodeIdsAreSubjectTokens) {
  EXPECT_TRUE(valid_node_id("ns1-a_B9"));
  EXPECT_FALSE(valid_node_id(""));
  EXPECT_FALSE(valid_node_id("ns1.example"));
  EXPECT_FALSE(valid_node_id("a*"));
  EXPECT_FALSE(valid_node_id("a>"));
  EXPECT_FALSE(valid_node_id(std::string(65, 'a')));
}

TEST(FleetSubjects, PrefixTokensRoundTrip) {
  for (const char *p : {"192.0.2.7", "198.51.100.0/24", "2001:db8::/64", "2001:db8::1"}) {
    auto k = *parse_ban_prefix(p, nullptr);
    auto back = parse_prefix_token(prefix_token(k));
    ASSERT_TRUE(back) << p;
    EXPECT_EQ(ban_prefix_text(*back), p);
  }
  EXPECT_EQ(prefix_token(*parse_ban_prefix("192.0.2.7", nullptr)),
            "00000000000000000000ffffc0000207_128");
  EXPECT_FALSE(parse_prefix_token("00000000000000000000ffffc0000207_129"));
  EXPECT_FALSE(parse_prefix_token("0000000000000000000Gffffc0000207_128"));
  auto s = split_subject("dnswash.keep.ns1.shield.6578");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->stream, "keep");
  EXPECT_EQ(s->node, "ns1");
  EXPECT_EQ(s->what, "shield");
  EXPECT_FALSE(split_subject("dnswash.bans.ns1.shield.6578"));  // shields are kept
  EXPECT_FALSE(split_subject("dnswash.bans.ns1.prefix.a.b"));
}

}  // namespace
}  // namespace dnswash::fleet
