// detq: traffic shapes for the detector's lab tests (all generated, i.e. synthetic; shapes from
// ../shared/context/traffic-patterns.md). One JSON line on stdout.
//
//   detq roll SERVER ZONE --source ADDR [--pattern www|mirai|ptr] [--count N]
//        [--timeout-ms T] [--stop-after-drops K] [--start N]
//       One query at a time, each waiting for its answer (or T ms): www999.ZONE, www998.ZONE...
//       (from wwwN with --start N)
//       (www), one random 12-character [a-w0-8] label per query (mirai: Mirai's attack_udp_dns
//       alphabet), or missing PTR names N.ZONE (ptr). Stops after K unanswered queries in a row.
//       {"sent":..,"answered":..,"nxdomain":..,"answered_before_first_drop":..}
//   detq resolver SERVER ZONE --source ADDR --names a,b,c --count N --nx-permille P
//        [--inflight W] [--timeout-ms T]
//       A resolver-like client: N queries over existing names with 0x20 case randomisation,
//       P per mille of them for unique missing names, spread evenly over the run; W queries in
//       flight at once. {"sent":..,"answered":..,"nxdomain":..,"lost":..}
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "dns_query.h"

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string &m) {
  fprintf(stderr, "detq: %s\n", m.c_str());
  exit(2);
}

bool parse_addr(const std::string &s, uint16_t port, sockaddr_storage *ss, socklen_t *len) {
  auto *a4 = reinterpret_cast<sockaddr_in *>(ss);
  auto *a6 = reinterpret_cast<sockaddr_in6 *>(ss);
  std::memset(ss, 0, sizeof *ss);
  if (inet_pton(AF_INET, s.c_str(), &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    *len = sizeof *a4;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(port);
    *len = sizeof *a6;
    return true;
  }
  return false;
}

int open_socket(const std::string &server, const std::string &source) {
  sockaddr_storage srv, src;
  socklen_t sl, cl;
  if (!parse_addr(server, 53, &srv, &sl)) die("not an address: " + server);
  int fd = socket(srv.ss_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (fd < 0) die(std::string("socket: ") + strerror(errno));
  if (!source.empty()) {
    if (!parse_addr(source, 0, &src, &cl)) die("not an address: " + source);
    if (bind(fd, reinterpret_cast<sockaddr *>(&src), cl) != 0)
      die("bind " + source + ": " + strerror(errno));
  }
  if (connect(fd, reinterpret_cast<sockaddr *>(&srv), sl) != 0)
    die(std::string("connect: ") + strerror(errno));
  return fd;
}

std::vector<uint8_t> query(uint16_t id, const std::string &name) {
  return dnswash::lab::a_query(id, name);
}

// Waits for the answer to id; returns the rcode, or -1 after timeout_ms.
int wait_answer(int fd, uint16_t id, int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return -1;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, int(left.count())) <= 0) return -1;
    uint8_t buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n >= 12 && buf[0] == uint8_t(id >> 8) && buf[1] == uint8_t(id)) return buf[3] & 0x0f;
  }
}

std::string mirai_label(std::mt19937_64 &rng) {
  static const char kAlpha[] = "abcdefghijklmnopqrstuvw012345678";  // mirai/bot/rand.c
  std::string s;
  for (int i = 0; i < 12; ++i) s += kAlpha[rng() % 32];
  return s;
}

std::string case_0x20(const std::string &name, std::mt19937_64 &rng) {
  std::string out = name;
  for (char &c : out)
    if (c >= 'a' && c <= 'z' && (rng() & 1)) c = char(c - 32);
  return out;
}

int roll(const std::string &server, const std::string &zone, const std::string &source,
         const std::string &pattern, int count, int timeout_ms, int stop_after, int start) {
  int fd = open_socket(server, source);
  std::mt19937_64 rng(std::random_device{}());
  int sent = 0, answered = 0, nx = 0, before_drop = -1, drops_in_row = 0;
  for (int i = 0; i < count; ++i) {
    std::string name = pattern == "mirai" ? mirai_label(rng) + "." + zone
                       : pattern == "ptr" ? std::to_string(200 + i % 50) + "." +
                                                std::to_string(i / 50) + "." + zone
                                          : "www" + std::to_string(start - i) + "." + zone;
    uint16_t id = uint16_t(rng());
    auto q = query(id, name);
    if (send(fd, q.data(), q.size(), 0) < 0) die(std::string("send: ") + strerror(errno));
    ++sent;
    int rc = wait_answer(fd, id, timeout_ms);
    if (rc < 0) {
      if (before_drop < 0) before_drop = answered;
      if (++drops_in_row >= stop_after) break;
      continue;
    }
    drops_in_row = 0;
    ++answered;
    if (rc == 3) ++nx;
  }
  if (before_drop < 0) before_drop = answered;
  printf("{\"sent\":%d,\"answered\":%d,\"nxdomain\":%d,\"answered_before_first_drop\":%d}\n", sent,
         answered, nx, before_drop);
  return 0;
}

int resolver(const std::string &server, const std::string &zone, const std::string &source,
             const std::vector<std::string> &names, int count, int nx_permille, int inflight,
             int timeout_ms) {
  if (names.empty()) die("resolver needs --names");
  int fd = open_socket(server, source);
  std::mt19937_64 rng(std::random_device{}());
  std::unordered_map<uint16_t, Clock::time_point> out;
  int sent = 0, answered = 0, nx = 0, lost = 0, nx_sent = 0;
  uint16_t next_id = uint16_t(rng());
  while (sent < count || !out.empty()) {
    while (sent < count && int(out.size()) < inflight) {
      std::string name;
      // Evenly spread: the k-th missing name goes out at query k * 1000 / P.
      if (nx_permille > 0 && (int64_t(sent + 1) * nx_permille) / 1000 > nx_sent) {
        name = "gone" + std::to_string(nx_sent) + "x" + std::to_string(rng() % 100000) + "." + zone;
        ++nx_sent;
      } else {
        name = names[size_t(rng() % names.size())];
      }
      uint16_t id = next_id++;
      while (out.count(id)) id = next_id++;
      auto q = query(id, case_0x20(name, rng));
      if (send(fd, q.data(), q.size(), 0) < 0) {
        if (errno == EAGAIN) break;
        die(std::string("send: ") + strerror(errno));
      }
      out[id] = Clock::now() + std::chrono::milliseconds(timeout_ms);
      ++sent;
    }
    pollfd p{fd, POLLIN, 0};
    poll(&p, 1, 50);
    uint8_t buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) >= 12) {
      uint16_t id = uint16_t(buf[0] << 8 | buf[1]);
      if (out.erase(id)) {
        ++answered;
        if ((buf[3] & 0x0f) == 3) ++nx;
      }
    }
    auto now = Clock::now();
    for (auto it = out.begin(); it != out.end();) {
      if (it->second <= now) {
        ++lost;
        it = out.erase(it);
      } else {
        ++it;
      }
    }
  }
  printf("{\"sent\":%d,\"answered\":%d,\"nxdomain\":%d,\"lost\":%d,\"nx_sent\":%d}\n", sent,
         answered, nx, lost, nx_sent);
  return 0;
}

std::vector<std::string> split(const std::string &s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t c = s.find(',', start);
    if (c == std::string::npos) c = s.size();
    if (c > start) out.push_back(s.substr(start, c - start));
    start = c + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 4) die("usage: detq roll|resolver SERVER ZONE [options]");
  std::string cmd = argv[1], server = argv[2], zone = argv[3];
  std::string source, pattern = "www", names;
  int count = 100, timeout_ms = 1000, stop_after = 1, nx_permille = 30, inflight = 32, start = 999;
  for (int i = 4; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--source")
      source = val();
    else if (a == "--pattern")
      pattern = val();
    else if (a == "--count")
      count = std::atoi(val().c_str());
    else if (a == "--timeout-ms")
      timeout_ms = std::atoi(val().c_str());
    else if (a == "--stop-after-drops")
      stop_after = std::atoi(val().c_str());
    else if (a == "--names")
      names = val();
    else if (a == "--nx-permille")
      nx_permille = std::atoi(val().c_str());
    else if (a == "--inflight")
      inflight = std::atoi(val().c_str());
    else if (a == "--start")
      start = std::atoi(val().c_str());
    else
      die("unknown option " + a);
  }
  if (cmd == "roll")
    return roll(server, zone, source, pattern, count, timeout_ms, stop_after, start);
  if (cmd == "resolver")
    return resolver(server, zone, source, split(names), count, nx_permille, inflight, timeout_ms);
  die("unknown command " + cmd);
}
