// A real nats-server with JetStream for the fleet tests, on 127.0.0.1 inside the test's own
// network namespace (the test moves itself into a fresh one first: nothing reaches the
// machine's network), its store in a temporary directory so a restart keeps the streams.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace dnswash::test {

class NatsServer {
 public:
  explicit NatsServer(int port = 4222) : port_(port) {
    char tmpl[] = "/tmp/dnswash-nats-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  ~NatsServer() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }

  // Starts it and waits (deadline 10 s) until it accepts connections. False on failure.
  bool start() {
    pid_ = fork();
    if (pid_ == 0) {
      std::string port = std::to_string(port_), store = dir_ + "/js", log = dir_ + "/nats.log";
      execlp("nats-server", "nats-server", "-js", "-sd", store.c_str(), "-a", "127.0.0.1", "-p",
             port.c_str(), "-l", log.c_str(), nullptr);
      _exit(127);
    }
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < end) {
      if (accepts()) return true;
      int st;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int st;
    waitpid(pid_, &st, 0);
    pid_ = -1;
  }

 private:
  bool accepts() const {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0;
    close(fd);
    return ok;
  }
  int port_;
  std::string dir_;
  pid_t pid_ = -1;
};

}  // namespace dnswash::test
