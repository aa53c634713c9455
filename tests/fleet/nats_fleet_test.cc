// The fleet over a real nats-server with JetStream (in the test's own network namespace): a
// ban published by one node reaches another; a node that was down replays it before it says
// it has caught up; a ban made while the server is down is queued and delivered after the
// server returns; forged messages published straight to the stream are rejected and counted.
#include <gtest/gtest.h>

#include <nats/nats.h>
#include <poll.h>
#include <sched.h>

#include <chrono>
#include <map>
#include <memory>
#include <utility>

#include "fleet.h"
#include "nats_server.h"
#include "prefix_text.h"
#include "subjects.h"
#include "wall_clock.h"

namespace dnswash::fleet {
namespace {

using namespace std::chrono_literals;

struct Target : FleetTarget {
  std::map<std::string, Decision> bans;
  bool never_ban(const dw_ban_key &) override { return false; }
  void apply_ban(const dw_ban_key &k, const Decision &d) override { bans[ban_prefix_text(k)] = d; }
  void remove_ban(const dw_ban_key &k) override { bans.erase(ban_prefix_text(k)); }
  bool has_ban(const dw_ban_key &k) override { return bans.count(ban_prefix_text(k)); }
  bool apply_shield(const std::string &, bool) override { return true; }
  std::vector<dw_ban_key> fleet_bans() override {
    std::vector<dw_ban_key> out;
    for (const auto &[p, d] : bans) out.push_back(*parse_ban_prefix(p, nullptr));
    return out;
  }
};

struct Node {
  Target target;
  std::unique_ptr<Fleet> fleet;
  Node(const std::string &id, const std::string &url, std::vector<std::string> saved = {}) {
    for (const auto &p : saved) target.bans[p] = Decision{};  // fleet bans saved before a restart
    FleetOptions o;
    o.link.node = id;
    o.link.servers = {url};
    o.link.bans_max_age_ms = 3600000;
    fleet = std::make_unique<Fleet>(o, target);
  }
  // Runs the node's loop side until `pred` holds or the deadline passes. The deadline is
  // generous: after a server restart the pull consumers reconnect on their own schedule, and a
  // loaded machine (CI on 2 cores) makes that take seconds.
  template <class P>
  bool until(P pred, std::chrono::milliseconds limit = 20s) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      fleet->poll();
      if (pred()) return true;
      pollfd p{fleet->wake_fd(), POLLIN, 0};
      ::poll(&p, 1, 50);
    }
    fleet->poll();
    return pred();
  }
};

LocalBan local_ban(const std::string &prefix) {
  LocalBan b;
  b.key = *parse_ban_prefix(prefix, nullptr);
  b.start_ms = now_unix_ms();
  b.expires_ms = b.start_ms + 600000;
  b.offenses = 1;
  return b;
}

class NatsFleet : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(unshare(CLONE_NEWNET), 0) << "needs root: " << std::strerror(errno);
    ASSERT_EQ(system("ip link set lo up"), 0);
  }
  void SetUp() override { ASSERT_TRUE(server_.start()) << "nats-server did not start"; }
  test::NatsServer server_;
};

TEST_F(NatsFleet, BanReplayOutageAndForgery) {
  Node a("nodeA", server_.url()), b("nodeB", server_.url());
  ASSERT_TRUE(a.fleet->replay(10s));
  ASSERT_TRUE(b.fleet->replay(10s));

  // 1. A bans, B applies.
  a.fleet->on_local_ban(local_ban("192.0.2.7"));
  EXPECT_TRUE(b.until([&] { return b.target.bans.count("192.0.2.7") > 0; }))
      << b.fleet->status().dump();
  EXPECT_TRUE(b.target.bans.begin()->second.expires_ms);

  // 2. B is down while A bans a second source (and a permanent one) and its operator lifts
  //    the first: B's consumer hands the fleet's state over before B reports it caught up,
  //    and the lifted ban B had saved goes.
  b.fleet.reset();
  a.fleet->on_local_ban(local_ban("192.0.2.8"));
  LocalBan perm = local_ban("2001:db8::/64");
  perm.expires_ms.reset();
  perm.manual = true;
  a.fleet->on_local_ban(perm);
  a.fleet->on_local_unban(*parse_ban_prefix("192.0.2.7", nullptr), true);
  // 1 + 2 bans, and the unban goes to both streams.
  ASSERT_TRUE(a.until([&] { return a.fleet->status()["queue"]["published"] == 5; }));
  Node b2("nodeB", server_.url(), {"192.0.2.7"});
  ASSERT_TRUE(b2.fleet->replay(10s));
  EXPECT_TRUE(b2.target.bans.count("192.0.2.8")) << b2.fleet->status().dump();
  ASSERT_TRUE(b2.target.bans.count("2001:db8::/64"));
  EXPECT_FALSE(b2.target.bans["2001:db8::/64"].expires_ms);  // permanent, from the keep stream
  EXPECT_TRUE(b2.target.bans["2001:db8::/64"].manual);
  EXPECT_FALSE(b2.target.bans.count("192.0.2.7"));  // lifted while B was down

  // 3. The server is down while A bans: queued, then delivered once the server is back.
  server_.stop();
  ASSERT_TRUE(a.until([&] { return a.fleet->status()["connected"] == false; }));
  a.fleet->on_local_ban(local_ban("198.51.100.9"));
  EXPECT_EQ(a.fleet->status()["queue"]["queued"], 1);
  ASSERT_TRUE(server_.start());
  EXPECT_TRUE(b2.until([&] { return b2.target.bans.count("198.51.100.9") > 0; }, 10s))
      << a.fleet->status().dump() << b2.fleet->status().dump();
  EXPECT_EQ(a.fleet->status()["queue"]["dropped"], 0);

  // 4. Forged messages straight into the stream: rejected, counted, nothing applied. Each on
  //    its own subject: the stream keeps one message per subject (docs/fleet.md), so a second
  //    message on the same subject may replace the first before any consumer is handed it (a
  //    loaded server did so), and the first would never be seen: by design, not a loss.
  natsConnection *nc = nullptr;
  ASSERT_EQ(natsConnection_ConnectTo(&nc, server_.url().c_str()), NATS_OK);
  jsCtx *js = nullptr;
  ASSERT_EQ(natsConnection_JetStream(&js, nc, nullptr), NATS_OK);
  auto subject = [](const char *prefix) {
    return ban_subject("mallory", *parse_ban_prefix(prefix, nullptr), false);
  };
  std::string huge(8000, 'x');
  const std::pair<std::string, std::string> forged[] = {
      {subject("203.0.113.6"), "{not json"},
      {subject("203.0.113.7"), huge},
      {subject("203.0.113.5"),
       R"({"v":1,"node":"mallory","seq":1,"at_ms":1800000000000,"type":"ban",)"
       R"("prefix":"203.0.113.5/8","reason":"detector","zone":null,)"
       R"("start_ms":1800000000000,"expires_ms":1800000060000,"offenses":1})"}};
  for (const auto &[subj, data] : forged) {
    ASSERT_EQ(
        js_Publish(nullptr, js, subj.c_str(), data.data(), int(data.size()), nullptr, nullptr),
        NATS_OK);
  }
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  EXPECT_TRUE(b2.until([&] { return b2.fleet->status()["rejected"]["total"] == 3; }))
      << b2.fleet->status().dump();
  auto st = b2.fleet->status();
  EXPECT_EQ(st["rejected"]["malformed"], 1);
  EXPECT_EQ(st["rejected"]["oversized"], 1);
  EXPECT_EQ(st["rejected"]["range"], 1);
  EXPECT_FALSE(b2.target.bans.count("203.0.113.5"));
  EXPECT_TRUE(st["connected"]);
  EXPECT_EQ(st["streams"][0]["name"], "DNSWASH_BANS");
}

}  // namespace
}  // namespace dnswash::fleet
