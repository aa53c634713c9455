// hostile: plays the clients issue 20 is about, against a running dnswashd, and measures what
// a legitimate client gets meanwhile.
//
//   hostile control [--iface IF] [--uid U] [--idle N] [--pipe M] [--requests K]
//                   [--hold-fifo PATH]
//     A child process with uid U (default 65534) opens N idle connections (1000) and M
//     clients (60) that pipeline requests and never read; then this process (root) sends K
//     (100) each of `status`, `ban-add` (198.51.100.0/24 hosts, 60 s) and `set-flag dry-run`
//     (on, then off at the end) with a 5 s timeout and prints a JSON summary: per command the
//     count that succeeded, failed, and the latency p50/p99/max in ms. With --hold-fifo the
//     hostile child stays until a line is written to PATH (the caller measures other things
//     meanwhile); it is killed when this process exits either way.
//   hostile http --connect ADDR:PORT [--slow N] [--scrapes K] [--timeout-ms T]
//                [--hold-fifo PATH]
//     N slowloris connections (500) that send a header line's first bytes and then one byte a
//     second (reconnecting when closed), then K scrapes (50) of /metrics with a T ms timeout
//     (2000) each; prints a JSON summary (ok, failed, latency p50/p99/max). With --hold-fifo
//     the slowloris connections stay until a line is written to PATH (the caller scrapes from
//     another address meanwhile; the summary is printed first).
// Exit status 0 when every measured request succeeded, 1 otherwise (the figures are printed
// either way).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "control_client.h"

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

struct Lat {
  std::vector<double> ms;
  int failed = 0;
  json summary() {
    std::sort(ms.begin(), ms.end());
    auto at = [&](double q) { return ms.empty() ? 0.0 : ms[size_t(q * double(ms.size() - 1))]; };
    return {{"ok", ms.size()},
            {"failed", failed},
            {"p50_ms", at(0.5)},
            {"p99_ms", at(0.99)},
            {"max_ms", ms.empty() ? 0.0 : ms.back()}};
  }
};

void raise_nofile() {
  rlimit rl{16384, 16384};
  setrlimit(RLIMIT_NOFILE, &rl);
}

int unix_connect(const std::string &iface) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr;
  socklen_t len = dnswash::abstract_address(dnswash::control_socket_name(iface), addr);
  if (connect(fd, reinterpret_cast<sockaddr *>(&addr), len) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// The hostile child: connects, reports readiness on `ready`, then holds until killed.
[[noreturn]] void hostile_child(const std::string &iface, uid_t uid, int idle, int pipe,
                                int ready) {
  raise_nofile();
  if (setresgid(uid, uid, uid) != 0 || setresuid(uid, uid, uid) != 0) _exit(3);
  // After the uid change, which clears the parent-death signal: a parent killed by the test's
  // clean-up takes this child with it (else it lingers and holds the test's output open).
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) _exit(4);
  std::vector<int> fds;
  int counts[2] = {0, 0};
  for (int i = 0; i < idle; ++i)
    if (int fd = unix_connect(iface); fd >= 0) fds.push_back(fd), ++counts[0];
  std::string req;
  for (int i = 0; i < 500; ++i) req += "{\"cmd\":\"status\"}\n";
  for (int i = 0; i < pipe; ++i) {
    int fd = unix_connect(iface);
    if (fd < 0) continue;
    fds.push_back(fd);
    if (send(fd, req.data(), req.size(), MSG_DONTWAIT | MSG_NOSIGNAL) > 0) ++counts[1];
  }
  (void)!write(ready, counts, sizeof counts);
  // Keep at it: whatever the daemon closes is opened again, as an attacker would.
  for (;;) {
    for (int &fd : fds) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 0) == 1) {
        char b[1];
        if (recv(fd, b, 0, MSG_DONTWAIT) == 0 || (p.revents & (POLLHUP | POLLERR))) {
          close(fd);
          fd = unix_connect(iface);
          if (fd >= 0) send(fd, req.data(), req.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        }
      }
    }
    usleep(100000);
  }
}

int control(int argc, char **argv) {
  std::string iface, hold;
  uid_t uid = 65534;
  int idle = 1000, pipe = 60, requests = 100;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--iface")
      iface = argv[i + 1];
    else if (a == "--uid")
      uid = uid_t(std::stoul(argv[i + 1]));
    else if (a == "--idle")
      idle = std::stoi(argv[i + 1]);
    else if (a == "--pipe")
      pipe = std::stoi(argv[i + 1]);
    else if (a == "--requests")
      requests = std::stoi(argv[i + 1]);
    else if (a == "--hold-fifo")
      hold = argv[i + 1];
  }
  iface = dnswash::resolve_filter(iface);
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return 2;
  pid_t child = fork();
  if (child == 0) hostile_child(iface, uid, idle, pipe, p[1]);
  close(p[1]);
  int counts[2] = {-1, -1};
  if (read(p[0], counts, sizeof counts) != ssize_t(sizeof counts)) {
    fprintf(stderr, "hostile: the hostile child failed\n");
    return 2;
  }
  Lat status, ban, dry;
  for (int i = 0; i < requests; ++i) {
    struct One {
      Lat *lat;
      json req;
    } ones[] = {
        {&status, {{"cmd", "status"}}},
        {&ban,
         {{"cmd", "ban-add"},
          {"prefix", "198.51.100." + std::to_string(100 + i % 100)},
          {"seconds", 60}}},
        {&dry, {{"cmd", "set-flag"}, {"flag", "dry-run"}, {"value", true}}},
    };
    for (auto &o : ones) {
      auto t0 = Clock::now();
      bool ok = false;
      try {
        json r = dnswash::control_request(iface, o.req, 5000);
        ok = r.value("ok", false);
      } catch (const std::exception &e) {
        fprintf(stderr, "hostile: %s\n", e.what());
      }
      double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      if (ok)
        o.lat->ms.push_back(ms);
      else
        ++o.lat->failed;
    }
  }
  try {
    dnswash::control_request(iface, {{"cmd", "set-flag"}, {"flag", "dry-run"}, {"value", false}});
  } catch (...) {
  }
  json out = {{"hostile_idle_connected", counts[0]},
              {"hostile_pipelining_connected", counts[1]},
              {"status", status.summary()},
              {"ban-add", ban.summary()},
              {"dry-run", dry.summary()}};
  printf("%s\n", out.dump().c_str());
  fflush(stdout);
  if (!hold.empty()) {
    // Hold the hostile clients until the caller has measured what it wanted.
    FILE *f = fopen(hold.c_str(), "r");
    if (f) {
      char line[64];
      (void)!fgets(line, sizeof line, f);
      fclose(f);
    }
  }
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  return status.failed + ban.failed + dry.failed ? 1 : 0;
}

bool parse_addr(const std::string &spec, sockaddr_storage &ss, socklen_t &len) {
  ss = {};
  if (!spec.empty() && spec[0] == '[') {
    auto close = spec.find("]:");
    auto *a = reinterpret_cast<sockaddr_in6 *>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(uint16_t(std::stoi(spec.substr(close + 2))));
    len = sizeof *a;
    return inet_pton(AF_INET6, spec.substr(1, close - 1).c_str(), &a->sin6_addr) == 1;
  }
  auto colon = spec.rfind(':');
  auto *a = reinterpret_cast<sockaddr_in *>(&ss);
  a->sin_family = AF_INET;
  a->sin_port = htons(uint16_t(std::stoi(spec.substr(colon + 1))));
  len = sizeof *a;
  return inet_pton(AF_INET, spec.substr(0, colon).c_str(), &a->sin_addr) == 1;
}

int tcp_connect(const sockaddr_storage &ss, socklen_t len, bool nonblock) {
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
  if (connect(fd, reinterpret_cast<const sockaddr *>(&ss), len) != 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

// One scrape with a deadline: connect, send, read to EOF; true on a 200 with a body.
bool scrape(const sockaddr_storage &ss, socklen_t len, int timeout_ms) {
  auto end = Clock::now() + std::chrono::milliseconds(timeout_ms);
  auto left = [&] {
    return int(std::max<int64_t>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count()));
  };
  int fd = tcp_connect(ss, len, true);
  if (fd < 0) return false;
  pollfd p{fd, POLLOUT, 0};
  if (poll(&p, 1, left()) != 1) return close(fd), false;
  std::string req = "GET /metrics HTTP/1.0\r\n\r\n";
  if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) != ssize_t(req.size()))
    return close(fd), false;
  std::string in;
  for (;;) {
    p = {fd, POLLIN, 0};
    if (poll(&p, 1, left()) != 1) return close(fd), false;
    char b[8192];
    ssize_t n = recv(fd, b, sizeof b, 0);
    if (n < 0) return close(fd), false;
    if (n == 0) break;
    in.append(b, size_t(n));
  }
  close(fd);
  return in.rfind("HTTP/1.0 200", 0) == 0 && in.find("dnswash_") != std::string::npos;
}

int http(int argc, char **argv) {
  std::string target, hold;
  int slow = 500, scrapes = 50, timeout_ms = 2000;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--connect")
      target = argv[i + 1];
    else if (a == "--slow")
      slow = std::stoi(argv[i + 1]);
    else if (a == "--scrapes")
      scrapes = std::stoi(argv[i + 1]);
    else if (a == "--timeout-ms")
      timeout_ms = std::stoi(argv[i + 1]);
    else if (a == "--hold-fifo")
      hold = argv[i + 1];
  }
  sockaddr_storage ss;
  socklen_t len;
  if (!parse_addr(target, ss, len)) {
    fprintf(stderr, "hostile http: --connect ADDR:PORT\n");
    return 2;
  }
  raise_nofile();
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return 2;
  pid_t child = fork();
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    // Slowloris: every connection sends a few header bytes at a time and never ends the
    // request; the closed ones are opened again.
    std::vector<int> fds(size_t(slow), -1);
    const std::string start = "GET /metrics HTTP/1.1\r\nX-a: ";
    bool told = false;
    for (;;) {
      for (int &fd : fds) {
        if (fd >= 0) {
          char b[256];
          ssize_t n = recv(fd, b, sizeof b, MSG_DONTWAIT);
          if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINPROGRESS && errno != ENOTCONN)) {
            close(fd);
            fd = -1;
          } else {
            send(fd, "a", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
          }
        }
        if (fd < 0) {
          fd = tcp_connect(ss, len, true);
          if (fd >= 0) {
            pollfd q{fd, POLLOUT, 0};
            if (poll(&q, 1, 100) == 1) send(fd, start.data(), start.size(), MSG_NOSIGNAL);
          }
        }
      }
      if (!told) {
        told = true;
        (void)!write(p[1], "r", 1);
      }
      usleep(200000);
    }
  }
  close(p[1]);
  char r;
  if (read(p[0], &r, 1) != 1) return 2;
  Lat lat;
  for (int i = 0; i < scrapes; ++i) {
    auto t0 = Clock::now();
    bool ok = scrape(ss, len, timeout_ms);
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (ok)
      lat.ms.push_back(ms);
    else
      ++lat.failed;
    usleep(20000);
  }
  json out = {{"slowloris", slow}, {"scrapes", lat.summary()}};
  printf("%s\n", out.dump().c_str());
  fflush(stdout);
  if (!hold.empty()) {
    FILE *f = fopen(hold.c_str(), "r");
    if (f) {
      char line[64];
      (void)!fgets(line, sizeof line, f);
      fclose(f);
    }
  }
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  return lat.failed ? 1 : 0;
}

}  // namespace

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "control") return control(argc, argv);
  if (mode == "http") return http(argc, argv);
  fprintf(stderr, "usage: hostile control|http ... (see the comment at the top of hostile.cc)\n");
  return 2;
}
