// The control socket under hostile local clients (issue 20): an unprivileged uid holding
// idle connections and pipelining requests it never reads cannot keep root out, and stalls
// nothing; deadlines close what idles; a deferred reply arrives. Functional properties only:
// the latencies are measured in bench/control_bench.sh.
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "control_client.h"
#include "control_server.h"
#include "error.h"

namespace dnswash::daemon {
namespace {

// The private network namespace is control_socket_test.cc's environment (same executable).

using nlohmann::json;
using namespace std::chrono_literals;

constexpr uid_t kNobody = 65534;

// A ControlServer driven by a poll loop on a thread, as the daemon's loop drives it.
class Served {
 public:
  Served(const std::string &iface, ControlServer::Handler h, ControlLimits l = {})
      : server_(std::make_unique<ControlServer>(iface, std::move(h), l)),
        thread_([this] { pump(); }) {}
  ~Served() {
    stop_ = true;
    thread_.join();
  }
  ControlServer &server() { return *server_; }
  std::atomic<uint64_t> defer_conn{0};
  ControlStats stats() {
    std::lock_guard lock(mu_);
    return server_->stats();
  }

 private:
  void pump() {
    while (!stop_) {
      std::vector<pollfd> pfds;
      int t;
      {
        std::lock_guard lock(mu_);
        pfds = server_->poll_fds();
        t = server_->timeout_ms();
      }
      if (t < 0 || t > 20) t = 20;
      poll(pfds.data(), pfds.size(), t);
      std::lock_guard lock(mu_);
      for (const auto &p : pfds)
        if (p.revents) server_->on_ready(p.fd, p.revents);
      server_->serve();
      if (uint64_t c = defer_conn.exchange(0)) server_->reply(c, {{"ok", true}, {"later", true}});
    }
  }
  std::mutex mu_;
  std::unique_ptr<ControlServer> server_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

json handler(const json &req, const Peer &peer) {
  // About what `status` returns, so a reply fills a socket buffer after a few dozen.
  if (req["cmd"] == "big") return {{"ok", true}, {"pad", std::string(4000, 'x')}};
  return {{"ok", true}, {"cmd", req["cmd"]}, {"uid", peer.uid}};
}

int connect_to(const std::string &iface) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr;
  socklen_t len = abstract_address(control_socket_name(iface), addr);
  if (connect(fd, reinterpret_cast<sockaddr *>(&addr), len) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// True once fd reads EOF (or an error) within `within`.
bool closed_within(int fd, std::chrono::milliseconds within) {
  auto end = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) == 1) {
      char b[4096];
      ssize_t n = recv(fd, b, sizeof b, MSG_DONTWAIT);
      if (n <= 0) return true;
    }
  }
  return false;
}

// Forks a process that becomes `uid`, opens `idle` connections that send nothing and `pipe`
// connections that send `lines` requests each and never read, reports how many it got
// connected, then holds them until killed.
struct Hostile {
  pid_t pid = -1;
  int idle_ok = 0, pipe_ok = 0;
  Hostile(const std::string &iface, uid_t uid, int idle, int pipe, int lines) {
    int p[2];
    EXPECT_EQ(pipe2(p, O_CLOEXEC), 0);
    pid = fork();
    if (pid == 0) {
      rlimit rl{8192, 8192};
      setrlimit(RLIMIT_NOFILE, &rl);
      if (setresgid(uid, uid, uid) != 0 || setresuid(uid, uid, uid) != 0) _exit(3);
      int counts[2] = {0, 0};
      std::vector<int> fds;
      for (int i = 0; i < idle; ++i)
        if (int fd = connect_to(iface); fd >= 0) fds.push_back(fd), ++counts[0];
      std::string req;
      for (int i = 0; i < lines; ++i) req += "{\"cmd\":\"big\"}\n";
      for (int i = 0; i < pipe; ++i) {
        int fd = connect_to(iface);
        if (fd < 0) continue;
        fds.push_back(fd);
        // Non-blocking: as much as the socket takes; the rest is never sent.
        if (send(fd, req.data(), req.size(), MSG_DONTWAIT | MSG_NOSIGNAL) > 0) ++counts[1];
      }
      (void)!write(p[1], counts, sizeof counts);
      pause();
      _exit(0);
    }
    close(p[1]);
    int counts[2] = {-1, -1};
    EXPECT_EQ(read(p[0], counts, sizeof counts), ssize_t(sizeof counts));
    close(p[0]);
    idle_ok = counts[0];
    pipe_ok = counts[1];
  }
  ~Hostile() {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
};

TEST(ControlLimits, UnprivilegedFloodCannotLockRootOut) {
  ASSERT_EQ(geteuid(), 0u) << "needs root to act as another uid";
  Served s("eth-lim0", handler);
  Hostile h("eth-lim0", kNobody, 1000, 60, 200);
  EXPECT_EQ(h.idle_ok, 1000) << "the kernel's backlog and the accept loop take every connect";
  // Root is served throughout, each request with a generous deadline.
  for (int i = 0; i < 100; ++i) {
    json r = control_request("eth-lim0", {{"cmd", i % 2 ? "stats" : "ban-add"}}, 5000);
    ASSERT_EQ(r["ok"], true) << i;
    EXPECT_EQ(r["uid"], 0);
  }
  ControlStats st = s.stats();
  EXPECT_LE(st.clients - st.admins, ControlLimits{}.per_uid) << "nobody holds at most its share";
  EXPECT_GT(st.evicted + st.refused, 1000u - ControlLimits{}.per_uid);
}

TEST(ControlLimits, ANewClientOfAUidAtItsLimitTakesTheOldestSlot) {
  ControlLimits l;
  l.per_uid = 2;
  Served s("eth-lim1", handler, l);
  // Root's connections are admins: run the clients as nobody in a child.
  pid_t pid = fork();
  if (pid == 0) {
    if (setresgid(kNobody, kNobody, kNobody) != 0 || setresuid(kNobody, kNobody, kNobody) != 0)
      _exit(3);
    int a = connect_to("eth-lim1"), b = connect_to("eth-lim1");
    // The kernel queues connections in order and the server accepts them in that order.
    int c = connect_to("eth-lim1");
    bool a_closed = closed_within(a, 2s);
    bool b_open = !closed_within(b, 200ms);
    std::string req = "{\"cmd\":\"x\"}\n";
    send(c, req.data(), req.size(), 0);
    pollfd p{c, POLLIN, 0};
    bool c_answered = poll(&p, 1, 2000) == 1;
    _exit(a_closed && b_open && c_answered ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_GE(s.stats().evicted, 1u);
}

TEST(ControlLimits, IdleAndUnfinishedRequestsAreClosed) {
  ControlLimits l;
  l.idle = 200ms;
  l.request = 200ms;
  Served s("eth-lim2", handler, l);
  int idle = connect_to("eth-lim2");
  int slow = connect_to("eth-lim2");
  ASSERT_EQ(send(slow, "{\"cmd\":", 7, 0), 7);
  EXPECT_TRUE(closed_within(idle, 3s));
  EXPECT_TRUE(closed_within(slow, 3s));
  close(idle);
  close(slow);
  EXPECT_GE(s.stats().timed_out, 2u);
}

TEST(ControlLimits, AReaderThatStopsReadingIsClosedAndStallsNobody) {
  ControlLimits l;
  l.write = 300ms;
  Served s("eth-lim3", handler, l);
  int fd = connect_to("eth-lim3");
  std::string req;
  for (int i = 0; i < 2000; ++i) req += "{\"cmd\":\"big\"}\n";
  send(fd, req.data(), req.size(), MSG_DONTWAIT);
  EXPECT_EQ(control_request("eth-lim3", {{"cmd", "status"}}, 2000)["ok"], true);
  // Reading here would make it a reader: watch the server's count instead.
  auto end = std::chrono::steady_clock::now() + 5s;
  while (s.stats().timed_out == 0 && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(s.stats().timed_out, 1u) << "the non-reader was not closed";
  close(fd);
}

TEST(ControlLimits, RequestOver64KiBIsRefused) {
  Served s("eth-lim4", handler);
  int fd = connect_to("eth-lim4");
  std::string big(70 * 1024, 'x');
  send(fd, big.data(), big.size(), MSG_NOSIGNAL);
  EXPECT_TRUE(closed_within(fd, 3s));
  close(fd);
  EXPECT_EQ(s.stats().oversized, 1u);
}

TEST(ControlLimits, DeferredReplyArrives) {
  Served *sp = nullptr;
  Served s("eth-lim5", [&](const json &req, const Peer &peer) -> json {
    if (req["cmd"] == "later") {
      sp->defer_conn = peer.conn;
      return ControlServer::deferred();
    }
    return {{"ok", true}};
  });
  sp = &s;
  json r = control_request("eth-lim5", {{"cmd", "later"}}, 3000);
  EXPECT_EQ(r["later"], true);
}

}  // namespace
}  // namespace dnswash::daemon
