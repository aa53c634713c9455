// sd_notify: the datagram systemd's Type=notify expects, to a path and to an abstract socket.
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "sd_notify.h"

namespace dnswash::daemon {
namespace {

std::string receive(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 2000) != 1) return "<nothing>";
  char buf[1024];
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  return n < 0 ? "<error>" : std::string(buf, size_t(n));
}

TEST(SdNotify, SendsToAPathSocket) {
  std::string path = "/tmp/dnswash-notify-test-" + std::to_string(getpid());
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr), 0);
  setenv("NOTIFY_SOCKET", path.c_str(), 1);
  EXPECT_TRUE(sd_notify("READY=1\nSTATUS=x\n"));
  EXPECT_EQ(receive(fd), "READY=1\nSTATUS=x\n");
  close(fd);
  unlink(path.c_str());
}

TEST(SdNotify, SendsToAnAbstractSocket) {
  std::string name = "dnswash-notify-test-" + std::to_string(getpid());
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr *>(&addr),
                 socklen_t(offsetof(sockaddr_un, sun_path) + 1 + name.size())),
            0);
  setenv("NOTIFY_SOCKET", ("@" + name).c_str(), 1);
  EXPECT_TRUE(sd_notify("READY=1\n"));
  EXPECT_EQ(receive(fd), "READY=1\n");
  close(fd);
}

TEST(SdNotify, WithoutNotifySocketDoesNothing) {
  unsetenv("NOTIFY_SOCKET");
  EXPECT_FALSE(sd_notify("READY=1\n"));
  setenv("NOTIFY_SOCKET", "relative/path", 1);
  EXPECT_FALSE(sd_notify("READY=1\n"));
}

}  // namespace
}  // namespace dnswash::daemon
