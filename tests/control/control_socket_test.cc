// The control socket: ControlServer (daemon side) against control_client (dnswashctl side),
// in-process, in a private network namespace.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "control_client.h"
#include "control_server.h"
#include "error.h"
#include "private_netns.h"

namespace dnswash::daemon {
namespace {

[[maybe_unused]] auto *const kNetns =
    ::testing::AddGlobalTestEnvironment(new dnswash::test::PrivateNetns);

using nlohmann::json;

// Runs a ControlServer's poll loop on a thread, as the daemon's loop does.
class Served {
 public:
  Served(const std::string &iface, ControlServer::Handler h)
      : server_(std::make_unique<ControlServer>(iface, std::move(h))),
        thread_([this] { pump(); }) {}
  ~Served() {
    stop_ = true;
    thread_.join();
  }

 private:
  void pump() {
    while (!stop_) {
      std::vector<pollfd> pfds = server_->poll_fds();
      int t = server_->timeout_ms();
      poll(pfds.data(), pfds.size(), t < 0 || t > 20 ? 20 : t);
      for (const auto &p : pfds)
        if (p.revents) server_->on_ready(p.fd, p.revents);
      server_->serve();
    }
  }
  std::unique_ptr<ControlServer> server_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

json echo(const json &req, const Peer &peer) {
  if (req["cmd"] == "fail") throw Error("asked to fail");
  return {{"ok", true}, {"cmd", req["cmd"]}, {"uid", peer.uid}, {"pid", peer.pid}};
}

TEST(ControlSocket, RequestAndReplyCarryPeerCredentials) {
  Served s("eth-test0", echo);
  json r = control_request("eth-test0", {{"cmd", "status"}});
  EXPECT_EQ(r["ok"], true);
  EXPECT_EQ(r["cmd"], "status");
  EXPECT_EQ(r["uid"], getuid());
  EXPECT_EQ(r["pid"], getpid());
}

TEST(ControlSocket, HandlerErrorsBecomeOkFalse) {
  Served s("eth-test0", echo);
  json r = control_request("eth-test0", {{"cmd", "fail"}});
  EXPECT_EQ(r["ok"], false);
  EXPECT_EQ(r["error"], "asked to fail");
}

TEST(ControlSocket, SecondServerOnTheSameInterfaceIsRefused) {
  Served s("eth-test0", echo);
  try {
    ControlServer again("eth-test0", echo);
    FAIL() << "a second server bound the same name";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("another dnswashd is already running on eth-test0"),
              std::string::npos)
        << e.what();
  }
  ControlServer other("eth-test1", echo);  // another interface is fine
}

TEST(ControlSocket, NoDaemonIsAClearError) {
  try {
    control_request("nothing0", {{"cmd", "status"}});
    FAIL();
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("no dnswashd on nothing0"), std::string::npos) << e.what();
  }
}

// Raw socket client: for what control_request never sends (bad JSON, several lines at once).
std::string raw_exchange(const std::string &iface, const std::string &bytes, size_t replies) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr;
  socklen_t len = abstract_address(control_socket_name(iface), addr);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr *>(&addr), len), 0);
  EXPECT_EQ(send(fd, bytes.data(), bytes.size(), 0), ssize_t(bytes.size()));
  std::string in;
  while (size_t(std::count(in.begin(), in.end(), '\n')) < replies) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0) break;
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    in.append(buf, size_t(n));
  }
  close(fd);
  return in;
}

TEST(ControlSocket, BadRequestsGetAnErrorAndTheConnectionGoesOn) {
  Served s("eth-test0", echo);
  std::string out = raw_exchange("eth-test0", "not json\n{\"nocmd\":1}\n{\"cmd\":\"a\"}\n", 3);
  std::istringstream lines(out);
  std::string l1, l2, l3;
  std::getline(lines, l1);
  std::getline(lines, l2);
  std::getline(lines, l3);
  EXPECT_EQ(json::parse(l1)["ok"], false);
  EXPECT_NE(json::parse(l1)["error"].get<std::string>().find("bad request"), std::string::npos);
  EXPECT_EQ(json::parse(l2)["ok"], false);
  EXPECT_EQ(json::parse(l3)["cmd"], "a");
}

TEST(ControlSocket, RequestSplitAcrossWritesIsReassembled) {
  Served s("eth-test0", echo);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr;
  socklen_t len = abstract_address(control_socket_name("eth-test0"), addr);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr *>(&addr), len), 0);
  ASSERT_EQ(send(fd, "{\"cmd\":", 7, 0), 7);
  pollfd p{fd, POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 100), 0) << "replied before the line was complete";
  ASSERT_EQ(send(fd, "\"x\"}\n", 5, 0), 5);
  ASSERT_EQ(poll(&p, 1, 5000), 1);
  char buf[512];
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(json::parse(std::string(buf, size_t(n)))["cmd"], "x");
  close(fd);
}

TEST(ControlSocket, ListAndResolveFilters) {
  EXPECT_TRUE(list_filters().empty());
  try {
    resolve_filter("");
    FAIL();
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("no dnswashd runs in this network namespace"),
              std::string::npos);
  }
  Served a("eth-a", echo);
  EXPECT_EQ(list_filters(), std::vector<std::string>{"eth-a"});
  EXPECT_EQ(resolve_filter(""), "eth-a");
  EXPECT_EQ(resolve_filter("given"), "given");
  Served b("eth-b", echo);
  // A connected client socket shares the name in /proc/net/unix but is not listening.
  control_request("eth-a", {{"cmd", "x"}});
  EXPECT_EQ(list_filters(), (std::vector<std::string>{"eth-a", "eth-b"}));
  try {
    resolve_filter("");
    FAIL();
  } catch (const Error &e) {
    EXPECT_NE(
        std::string(e.what()).find("several dnswashd run in this network namespace (eth-a, eth-b)"),
        std::string::npos)
        << e.what();
  }
}

TEST(ControlSocket, AbstractAddressHasNoTerminatingNul) {
  sockaddr_un addr;
  socklen_t len = abstract_address("dnswash/eth0", addr);
  EXPECT_EQ(addr.sun_path[0], '\0');
  EXPECT_EQ(std::string(addr.sun_path + 1, 12), "dnswash/eth0");
  EXPECT_EQ(len, offsetof(sockaddr_un, sun_path) + 13);
  EXPECT_THROW(abstract_address(std::string(200, 'x'), addr), Error);
}

}  // namespace
}  // namespace dnswash::daemon
