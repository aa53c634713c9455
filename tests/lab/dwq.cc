// dwq: the lab's DNS query tool. Unlike dig it tells "no answer at all" (dropped by the filter)
// apart from any answer (REFUSED included: the packet got through), and it can keep a paced
// stream of queries running while a test restarts the daemon or edits named.conf, then report
// exactly how many queries of each kind were sent and answered.
//
//   dwq probe SERVER NAME [--timeout-ms N]   exit 0 + "answered rcode=N", exit 1 + "timeout"
//   dwq stream SERVER --served a,b --junk x,y --stop-file F [--rate N] [--timeout-ms N]
//       sends served and junk names round-robin at N queries/s until F exists, waits for the
//       last answers, prints one JSON line: sent/answered per kind, the served names lost.
//   dwq serve ADDRESS --stop-file F
//       a stand-in server where no real one runs (the kernel-matrix guests): answers every
//       query with REFUSED (the question echoed) until F exists.
// --port N (every command): the server's UDP port instead of 53.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "dns_query.h"

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string &m) {
  fprintf(stderr, "dwq: %s\n", m.c_str());
  exit(2);
}

struct Server {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family = 0;
};

Server parse_server(const std::string &s) {
  Server sv;
  auto *a4 = reinterpret_cast<sockaddr_in *>(&sv.addr);
  auto *a6 = reinterpret_cast<sockaddr_in6 *>(&sv.addr);
  if (inet_pton(AF_INET, s.c_str(), &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(53);
    sv.len = sizeof *a4;
    sv.family = AF_INET;
  } else if (inet_pton(AF_INET6, s.c_str(), &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(53);
    sv.len = sizeof *a6;
    sv.family = AF_INET6;
  } else {
    die("not an address: " + s);
  }
  return sv;
}

std::vector<uint8_t> query(uint16_t id, const std::string &name) {
  return dnswash::lab::a_query(id, name);
}

std::vector<std::string> split(const std::string &s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size() && !s.empty()) {
    size_t c = s.find(',', start);
    if (c == std::string::npos) c = s.size();
    if (c > start) out.push_back(s.substr(start, c - start));
    start = c + 1;
  }
  return out;
}

int open_socket(const Server &sv) {
  int fd = socket(sv.family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (fd < 0) die(std::string("socket: ") + strerror(errno));
  if (connect(fd, reinterpret_cast<const sockaddr *>(&sv.addr), sv.len) != 0)
    die(std::string("connect: ") + strerror(errno));
  return fd;
}

int serve(const Server &sv, const std::string &stop_file) {
  int fd = socket(sv.family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (fd < 0) die(std::string("socket: ") + strerror(errno));
  if (bind(fd, reinterpret_cast<const sockaddr *>(&sv.addr), sv.len) != 0)
    die(std::string("bind: ") + strerror(errno));
  while (access(stop_file.c_str(), F_OK) != 0) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    uint8_t buf[4096];
    sockaddr_storage from{};
    socklen_t flen = sizeof from;
    ssize_t n;
    while ((n = recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr *>(&from), &flen)) >=
           12) {
      buf[2] = uint8_t(buf[2] | 0x80);        // QR: an answer
      buf[3] = uint8_t((buf[3] & 0xf0) | 5);  // REFUSED
      sendto(fd, buf, size_t(n), 0, reinterpret_cast<sockaddr *>(&from), flen);
      flen = sizeof from;
    }
  }
  return 0;
}

int probe(const Server &sv, const std::string &name, int timeout_ms) {
  int fd = open_socket(sv);
  uint16_t id = uint16_t(getpid() ^ Clock::now().time_since_epoch().count());
  auto q = query(id, name);
  if (send(fd, q.data(), q.size(), 0) < 0) die(std::string("send: ") + strerror(errno));
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, int(left.count())) <= 0) break;
    uint8_t buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n >= 12 && buf[0] == uint8_t(id >> 8) && buf[1] == uint8_t(id)) {
      printf("answered rcode=%d\n", buf[3] & 0x0f);
      return 0;
    }
  }
  printf("timeout\n");
  return 1;
}

struct Sent {
  bool served;
  size_t name;
  bool answered = false;
};

int stream(const Server &sv, const std::vector<std::string> &served,
           const std::vector<std::string> &junk, const std::string &stop_file, int rate,
           int timeout_ms, int max_seconds) {
  if (served.empty() && junk.empty()) die("stream needs --served and/or --junk names");
  int fd = open_socket(sv);
  std::vector<std::pair<bool, size_t>> cycle;
  for (size_t i = 0; i < served.size(); ++i) cycle.push_back({true, i});
  for (size_t i = 0; i < junk.size(); ++i) cycle.push_back({false, i});
  std::map<uint16_t, Sent> sent;
  const auto interval = std::chrono::microseconds(1000000 / rate);
  const auto start = Clock::now();
  auto next = start;
  uint32_t count = 0;
  bool stopping = false;
  Clock::time_point drain_until{};
  auto receive = [&](int wait_ms) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, wait_ms) <= 0) return;
    uint8_t buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) >= 12) {
      uint16_t id = uint16_t(buf[0] << 8 | buf[1]);
      if (auto it = sent.find(id); it != sent.end()) it->second.answered = true;
    }
  };
  for (;;) {
    auto now = Clock::now();
    if (!stopping) {
      if (access(stop_file.c_str(), F_OK) == 0 || now - start > std::chrono::seconds(max_seconds) ||
          count >= 65535) {
        stopping = true;
        drain_until = now + std::chrono::milliseconds(timeout_ms);
      } else if (now >= next) {
        auto [is_served, idx] = cycle[count % cycle.size()];
        uint16_t id = uint16_t(count + 1);
        auto q = query(id, is_served ? served[idx] : junk[idx]);
        if (send(fd, q.data(), q.size(), 0) >= 0) sent[id] = Sent{is_served, idx};
        ++count;
        next += interval;
        continue;
      }
    }
    if (stopping && now >= drain_until) break;
    auto until = stopping ? drain_until : next;
    int wait = int(std::max<long>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count()));
    receive(wait);
  }
  unsigned long s_sent = 0, s_ans = 0, j_sent = 0, j_ans = 0;
  std::string lost;
  for (const auto &[id, s] : sent) {
    (s.served ? s_sent : j_sent)++;
    if (s.answered) (s.served ? s_ans : j_ans)++;
    if (s.served && !s.answered && lost.size() < 400)
      lost += std::string(lost.empty() ? "" : ",") + "\"" + served[s.name] + "#" +
              std::to_string(id) + "\"";
  }
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  printf(
      "{\"served_sent\":%lu,\"served_answered\":%lu,\"junk_sent\":%lu,\"junk_answered\":%lu,"
      "\"seconds\":%.2f,\"served_lost\":[%s]}\n",
      s_sent, s_ans, j_sent, j_ans, secs, lost.c_str());
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 3)
    die("usage: dwq probe SERVER NAME [--timeout-ms N] | dwq stream SERVER ... | dwq serve ADDR "
        "...");
  std::string cmd = argv[1];
  Server sv = parse_server(argv[2]);
  std::string name, stop_file;
  std::vector<std::string> served, junk;
  int timeout_ms = cmd == "probe" ? 500 : 1000, rate = 100, max_seconds = 120;
  for (int i = 3; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--timeout-ms")
      timeout_ms = std::atoi(val().c_str());
    else if (a == "--served")
      served = split(val());
    else if (a == "--junk")
      junk = split(val());
    else if (a == "--stop-file")
      stop_file = val();
    else if (a == "--rate")
      rate = std::atoi(val().c_str());
    else if (a == "--max-seconds")
      max_seconds = std::atoi(val().c_str());
    else if (a == "--port") {
      int port = std::atoi(val().c_str());
      if (port <= 0 || port > 65535) die("--port must be 1..65535");
      if (sv.family == AF_INET)
        reinterpret_cast<sockaddr_in *>(&sv.addr)->sin_port = htons(uint16_t(port));
      else
        reinterpret_cast<sockaddr_in6 *>(&sv.addr)->sin6_port = htons(uint16_t(port));
    } else if (name.empty() && a[0] != '-')
      name = a;
    else
      die("unknown argument " + a);
  }
  if (cmd == "probe") {
    if (name.empty()) die("probe needs a NAME");
    return probe(sv, name, timeout_ms);
  }
  if (cmd == "stream") {
    if (stop_file.empty()) die("stream needs --stop-file");
    if (rate <= 0 || rate > 10000) die("--rate must be 1..10000");
    return stream(sv, served, junk, stop_file, rate, timeout_ms, max_seconds);
  }
  if (cmd == "serve") {
    if (stop_file.empty()) die("serve needs --stop-file");
    return serve(sv, stop_file);
  }
  die("unknown command " + cmd);
}
