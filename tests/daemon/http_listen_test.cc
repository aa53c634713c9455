// The --metrics-listen HTTP server (daemon/features/http_listen.h) driven through a fake
// DaemonHooks poll loop, in a private network namespace (its own loopback; nothing reaches the
// root namespace), and the daemon's sampler/metrics options.
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "private_netns.h"
#include "daemon_hooks.h"
#include "http_listen.h"
#include "options.h"

namespace dnswash::daemon {
namespace {

class LoopbackUp : public ::testing::Environment {
 public:
  void SetUp() override {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(s, 0);
    ifreq ifr{};
    std::strcpy(ifr.ifr_name, "lo");
    ASSERT_EQ(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
    ifr.ifr_flags |= IFF_UP;
    ASSERT_EQ(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
    close(s);
  }
};
// Order matters: the namespace first, then its loopback.
[[maybe_unused]] auto *const kNetns = ::testing::AddGlobalTestEnvironment(new test::PrivateNetns);
[[maybe_unused]] auto *const kLo = ::testing::AddGlobalTestEnvironment(new LoopbackUp);

// Just the fd and timer parts of the hooks, polled by hand.
class FakeHooks final : public DaemonHooks {
 public:
  void add_command(const std::string &, bool, Command) override {}
  void add_fd(int fd, std::function<void()> f) override { fds[fd] = std::move(f); }
  void remove_fd(int fd) override {
    fds.erase(fd);
    writers.erase(fd);
  }
  void watch_write(int fd, bool on) override {
    if (on)
      writers.insert(fd);
    else
      writers.erase(fd);
  }
  void reply(uint64_t, const nlohmann::json &) override {}
  bool maps_taken_over() const override { return false; }
  void every(std::chrono::milliseconds, std::function<void()> f) override { timers.push_back(f); }
  void add_status(const std::string &, std::function<nlohmann::json()>) override {}
  nlohmann::json status() const override { return {}; }
  DnswashSkel &skel() override { std::abort(); }
  const Options &options() const override { return opt; }
  const SyncStatus &sync_status() const override { std::abort(); }
  std::vector<std::string> zone_names() override { return {}; }
  int ifindex() const override { return 0; }
  nfqueue::SampleQueue *nfqueue_samples() override { return nullptr; }
  // One round of the daemon's loop: every readable fd's callback.
  void pump(int timeout_ms = 1000) {
    std::vector<pollfd> p;
    for (auto &[fd, f] : fds)
      p.push_back({fd, short(POLLIN | (writers.count(fd) ? POLLOUT : 0)), 0});
    ASSERT_GE(poll(p.data(), p.size(), timeout_ms), 0);
    for (auto &x : p)
      if (x.revents && fds.count(x.fd)) fds[x.fd]();
  }
  std::map<int, std::function<void()>> fds;
  std::set<int> writers;
  std::vector<std::function<void()>> timers;
  Options opt;
};

// Sends `req` in pieces, pumping the loop between them, and returns the whole response.
std::string exchange(FakeHooks &h, uint16_t port, const std::vector<std::string> &pieces,
                     const char *from = nullptr) {
  int c = socket(AF_INET, SOCK_STREAM, 0);
  if (from) {
    sockaddr_in src{};
    src.sin_family = AF_INET;
    inet_pton(AF_INET, from, &src.sin_addr);
    EXPECT_EQ(bind(c, reinterpret_cast<sockaddr *>(&src), sizeof src), 0);
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(c, reinterpret_cast<sockaddr *>(&a), sizeof a), 0);
  const size_t idle_fds = h.fds.size();  // the listener and connections that stay
  h.pump();                              // accept
  timeval tv{5, 0};                      // a server bug fails the test instead of hanging it
  setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  for (const auto &p : pieces) {
    EXPECT_EQ(send(c, p.data(), p.size(), 0), ssize_t(p.size()));
    h.pump();
  }
  // The server reads what is there per wake-up, as in the daemon's level-triggered loop: pump
  // until it has answered and let go of the client (bounded).
  for (int i = 0; i < 50 && h.fds.size() > idle_fds; ++i) h.pump(100);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = recv(c, buf, sizeof buf, 0)) > 0) out.append(buf, size_t(n));
  close(c);
  return out;
}

TEST(HttpListen, ServesMetricsAndOnlyMetrics) {
  FakeHooks h;
  int calls = 0;
  HttpListener l(h, "127.0.0.1:0", "/metrics", [&] {
    ++calls;
    return std::string("dnswash_zones 3\n");
  });
  ASSERT_NE(l.port(), 0);
  std::string r = exchange(h, l.port(), {"GET /metrics HTTP/1.0\r\n", "Host: x\r\n\r\n"});
  EXPECT_EQ(r.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(r.find("Content-Length: 16\r\n"), std::string::npos);
  EXPECT_EQ(r.substr(r.size() - 16), "dnswash_zones 3\n");
  EXPECT_EQ(calls, 1);
  r = exchange(h, l.port(), {"GET /other HTTP/1.1\r\n\r\n"});
  EXPECT_EQ(r.rfind("HTTP/1.0 404", 0), 0u) << r;
  r = exchange(h, l.port(), {"POST /metrics HTTP/1.0\r\n\r\n"});
  EXPECT_EQ(r.rfind("HTTP/1.0 405", 0), 0u) << r;
  r = exchange(h, l.port(), {"HEAD /metrics HTTP/1.0\r\n\r\n"});
  EXPECT_EQ(r.rfind("HTTP/1.0 200", 0), 0u) << r;
  EXPECT_EQ(r.find("dnswash_zones"), std::string::npos);
  // A request that never ends is cut at 8 KiB; nothing is left registered.
  r = exchange(h, l.port(), {"GET /metrics HTTP/1.0\r\n", std::string(9000, 'x')});
  EXPECT_EQ(r, "");
  EXPECT_EQ(h.fds.size(), 1u);  // the listener only
  EXPECT_EQ(calls, 2);
}

// Connections that open and send a few header bytes, never the end of the request.
std::vector<int> slowloris(FakeHooks &h, uint16_t port, const char *from, int n) {
  std::vector<int> out;
  sockaddr_in src{}, a{};
  src.sin_family = a.sin_family = AF_INET;
  inet_pton(AF_INET, from, &src.sin_addr);
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < n; ++i) {
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    EXPECT_EQ(bind(c, reinterpret_cast<sockaddr *>(&src), sizeof src), 0);
    connect(c, reinterpret_cast<sockaddr *>(&a), sizeof a);  // EINPROGRESS on loopback is brief
    out.push_back(c);
    if (i % 32 == 31) h.pump(0);  // the listener's backlog is drained as a loop would
  }
  for (int i = 0; i < 20; ++i) h.pump(0);
  for (int c : out) send(c, "GET /metrics HTTP/1.1\r\nX-a: ", 28, MSG_NOSIGNAL);
  for (int i = 0; i < 20; ++i) h.pump(0);
  return out;
}

// Issue 20: 500 slow connections, from another address or the scraper's own, keep no scrape
// out, and hold no more than their share.
TEST(HttpListen, SlowlorisKeepsNoScraperOut) {
  for (const char *attacker : {"127.0.0.2", "127.0.0.1"}) {
    FakeHooks h;
    HttpListener l(h, "127.0.0.1:0", "/metrics", [] { return std::string("dnswash_zones 3\n"); });
    std::vector<int> slow = slowloris(h, l.port(), attacker, 500);
    EXPECT_LE(l.stats().clients, l.limits().per_source) << attacker;
    for (int i = 0; i < 50; ++i) {
      std::string r = exchange(h, l.port(), {"GET /metrics HTTP/1.0\r\n\r\n"}, "127.0.0.1");
      ASSERT_EQ(r.rfind("HTTP/1.0 200 OK", 0), 0u) << attacker << " scrape " << i << ": " << r;
    }
    EXPECT_EQ(l.stats().served, 50u);
    EXPECT_GE(l.stats().evicted, 500u - l.limits().per_source);
    for (int c : slow) close(c);
  }
}

TEST(HttpListen, AResponseTheClientDoesNotReadIsWrittenWithoutBlocking) {
  FakeHooks h;
  const std::string big(4 << 20, 'x');  // far more than a socket buffer
  HttpListener l(h, "127.0.0.1:0", "/metrics", [&] { return big; });
  int c = socket(AF_INET, SOCK_STREAM, 0);
  int small = 8192;  // a small window: loopback buffers could otherwise take 4 MiB at once
  setsockopt(c, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(l.port());
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(c, reinterpret_cast<sockaddr *>(&a), sizeof a), 0);
  h.pump();
  std::string req = "GET /metrics HTTP/1.0\r\n\r\n";
  send(c, req.data(), req.size(), 0);
  h.pump();  // answers: as much as fits, the rest waits for POLLOUT; pump() returned
  EXPECT_EQ(h.writers.size(), 1u);
  // Reading drains it, the loop writing the rest as the socket has room.
  size_t got = 0;
  char buf[65536];
  for (int i = 0; i < 1000000 && got < big.size(); ++i) {
    ssize_t n = recv(c, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) got += size_t(n);
    if (n == 0) break;
    h.pump(0);
  }
  EXPECT_GE(got, big.size());
  close(c);
}

TEST(HttpListen, BindErrorsSayWhat) {
  FakeHooks h;
  HttpListener a(h, "127.0.0.1:0", "/metrics", [] { return std::string(); });
  const std::string taken = "127.0.0.1:" + std::to_string(a.port());
  try {
    HttpListener b(h, taken, "/metrics", [] { return std::string(); });
    FAIL() << "a taken port was bound";
  } catch (const std::exception &e) {
    EXPECT_NE(std::string(e.what()).find("--metrics-listen " + taken), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(HttpListener(h, "192.0.2.77:9553", "/m", [] { return std::string(); }),
               std::exception);  // not an address of this namespace
}

ParsedOptions parse(std::vector<std::string> args) {
  args.insert(args.begin(), "dnswashd");
  std::vector<char *> argv;
  for (auto &a : args) argv.push_back(a.data());
  return parse_options(int(argv.size()), argv.data());
}

TEST(DaemonOptions, SamplerAndMetrics) {
  auto p = parse({"--iface", "eth0"});
  ASSERT_FALSE(p.exit_now);
  EXPECT_EQ(p.opt.sample_every, 64u);
  EXPECT_EQ(p.opt.sample_rate, 1000u);
  EXPECT_EQ(p.opt.metrics_listen, "");
  p = parse({"--iface", "eth0", "--sample-every", "0", "--sample-rate", "5", "--metrics-listen",
             "[2001:db8::1]:9553"});
  ASSERT_FALSE(p.exit_now);
  EXPECT_EQ(p.opt.sample_every, 0u);
  EXPECT_EQ(p.opt.sample_rate, 5u);
  EXPECT_EQ(p.opt.metrics_listen, "[2001:db8::1]:9553");
  for (std::vector<std::string> bad : {std::vector<std::string>{"--metrics-listen", "localhost:80"},
                                       {"--metrics-listen", "127.0.0.1"},
                                       {"--sample-every", "-1"},
                                       {"--sample-rate", "x"}}) {
    bad.insert(bad.begin(), {"--iface", "eth0"});
    EXPECT_EQ(parse(bad).exit_now, 2) << bad[2] << " " << bad[3];
  }
}

}  // namespace
}  // namespace dnswash::daemon
