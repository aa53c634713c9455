// UDP/53 load for the NFQUEUE benchmark and lab: sends precomputed distinct DNS queries with
// sendmmsg as fast as it can (or a fixed count), or counts what arrives on a port.
//
//   dnswash-udp-load send --dst 192.0.2.53 --suffix junk.test --seconds 5 [--distinct 65536]
//                         [--count N] [--pps RATE [--burst N]] [--dstopts BYTES]
//                         [--sockets N] [--src ADDR]...
//   dnswash-udp-load sink --bind 192.0.2.53 --seconds 6
// Both print one JSON line: {"sent":N,"seconds":S,"pps":P} or {"received":N,...}.
#include <arpa/inet.h>
#include <time.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "dns_query.h"

namespace {

using Clock = std::chrono::steady_clock;

std::vector<uint8_t> query(const std::string &name, uint16_t id) {
  return dnswash::lab::a_query(id, name);
}

struct Addr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family = AF_INET;
};

Addr parse_addr(const std::string &ip, uint16_t port) {
  Addr a;
  auto *s4 = reinterpret_cast<sockaddr_in *>(&a.ss);
  auto *s6 = reinterpret_cast<sockaddr_in6 *>(&a.ss);
  if (inet_pton(AF_INET, ip.c_str(), &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    a.len = sizeof *s4;
  } else if (inet_pton(AF_INET6, ip.c_str(), &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    a.len = sizeof *s6;
    a.family = AF_INET6;
  } else {
    std::fprintf(stderr, "bad address %s\n", ip.c_str());
    exit(2);
  }
  return a;
}

int do_send(const std::string &dst, uint16_t port, const std::string &suffix, double seconds,
            uint64_t count, unsigned distinct, unsigned dstopts, unsigned sockets, double pps,
            unsigned burst, const std::vector<std::string> &srcs) {
  Addr a = parse_addr(dst, port);
  std::mt19937_64 rng(12345);
  static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::vector<std::vector<uint8_t>> msgs(distinct);
  for (unsigned i = 0; i < distinct; ++i) {
    std::string label;
    for (int k = 0; k < 10; ++k) label += alnum[rng() % 36];
    msgs[i] = query(label + "." + suffix, uint16_t(rng()));
  }
  // Several sockets (source ports) spread flows over queues with --queue-balance.
  std::vector<int> fds;
  for (unsigned s = 0; s < std::max(1u, sockets); ++s) {
    int fd = socket(a.family, SOCK_DGRAM, 0);
    if (!srcs.empty()) {
      Addr src = parse_addr(srcs[s % srcs.size()], 0);
      if (bind(fd, reinterpret_cast<sockaddr *>(&src.ss), src.len) != 0) {
        std::perror(("bind " + srcs[s % srcs.size()]).c_str());
        return 1;
      }
    }
    if (fd < 0 || connect(fd, reinterpret_cast<sockaddr *>(&a.ss), a.len) != 0) {
      std::perror("socket/connect");
      return 1;
    }
    int sz = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    if (dstopts) {
      // An IPv6 destination options header of `dstopts` bytes (PadN), to make the headers
      // longer than the NFQUEUE copy range.
      if (a.family != AF_INET6 || dstopts % 8 || dstopts < 8 || dstopts > 2048) {
        std::fprintf(stderr, "--dstopts needs IPv6 and a multiple of 8 in 8..2048\n");
        return 2;
      }
      std::vector<uint8_t> h(dstopts, 0);
      h[1] = uint8_t(dstopts / 8 - 1);
      size_t off = 2;
      while (off < dstopts) {
        size_t n = std::min<size_t>(dstopts - off, 257);
        if (n == 1) {
          h[off] = 0;  // Pad1
        } else {
          h[off] = 1;  // PadN
          h[off + 1] = uint8_t(n - 2);
        }
        off += n;
      }
      if (setsockopt(fd, IPPROTO_IPV6, IPV6_DSTOPTS, h.data(), socklen_t(h.size())) != 0) {
        std::perror("IPV6_DSTOPTS");
        return 1;
      }
    }
    fds.push_back(fd);
  }
  constexpr unsigned kBatch = 64;
  std::vector<mmsghdr> mm(kBatch);
  std::vector<iovec> iov(kBatch);
  uint64_t sent = 0, errors = 0;
  size_t next = 0;
  auto start = Clock::now();
  auto deadline = start + std::chrono::duration<double>(seconds);
  unsigned sock = 0;
  while ((count == 0 || sent < count) && (seconds <= 0 || Clock::now() < deadline)) {
    unsigned n = kBatch;
    if (count && count - sent < n) n = unsigned(count - sent);
    for (unsigned i = 0; i < n; ++i) {
      auto &m = msgs[(next + i) % msgs.size()];
      iov[i] = {m.data(), m.size()};
      mm[i] = {};
      mm[i].msg_hdr.msg_iov = &iov[i];
      mm[i].msg_hdr.msg_iovlen = 1;
    }
    if (pps > 0 && burst <= 1) {  // paced: never ahead of sent/pps
      auto due = start + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(double(sent) / pps));
      while (Clock::now() < due) {
      }
      n = 1;
    } else if (pps > 0) {
      // Paced in bursts: send what is due (at most `burst`), else sleep 50 us. A fixed-rate
      // flood that leaves the CPU to the server instead of spinning.
      double el = std::chrono::duration<double>(Clock::now() - start).count();
      uint64_t due = uint64_t(el * pps);
      if (due <= sent) {
        timespec ts{0, 50000};
        nanosleep(&ts, nullptr);
        continue;
      }
      n = unsigned(std::min<uint64_t>({due - sent, burst, n}));
    }
    int r = sendmmsg(fds[sock], mm.data(), n, 0);
    sock = (sock + 1) % fds.size();
    if (r < 0) {
      ++errors;  // ENOBUFS etc. under overload: try again
      continue;
    }
    sent += unsigned(r);
    next += unsigned(r);
  }
  double el = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("{\"sent\":%llu,\"errors\":%llu,\"seconds\":%.3f,\"pps\":%.0f}\n",
              (unsigned long long)sent, (unsigned long long)errors, el, sent / el);
  return 0;
}

int do_sink(const std::string &bind_ip, uint16_t port, double seconds) {
  Addr a = parse_addr(bind_ip, port);
  int fd = socket(a.family, SOCK_DGRAM, 0);
  int sz = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr *>(&a.ss), a.len) != 0) {
    std::perror("socket/bind");
    return 1;
  }
  timeval tv{0, 100000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  constexpr unsigned kBatch = 64;
  std::vector<std::vector<char>> bufs(kBatch, std::vector<char>(2048));
  std::vector<mmsghdr> mm(kBatch);
  std::vector<iovec> iov(kBatch);
  uint64_t got = 0;
  auto start = Clock::now();
  auto deadline = start + std::chrono::duration<double>(seconds);
  std::printf("{\"listening\":true}\n");
  std::fflush(stdout);
  while (Clock::now() < deadline) {
    for (unsigned i = 0; i < kBatch; ++i) {
      iov[i] = {bufs[i].data(), bufs[i].size()};
      mm[i] = {};
      mm[i].msg_hdr.msg_iov = &iov[i];
      mm[i].msg_hdr.msg_iovlen = 1;
    }
    int r = recvmmsg(fd, mm.data(), kBatch, MSG_WAITFORONE, nullptr);
    if (r > 0) got += unsigned(r);
  }
  double el = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("{\"received\":%llu,\"seconds\":%.3f}\n", (unsigned long long)got, el);
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  CLI::App app{"dnswash UDP/53 load generator and sink"};
  app.require_subcommand(1);
  std::string dst, suffix = "junk.test", bind_ip;
  uint16_t port = 53;
  double seconds = 0;
  uint64_t count = 0;
  unsigned distinct = 65536, dstopts = 0, sockets = 8;
  double pps = 0;
  unsigned burst = 1;
  std::vector<std::string> srcs;
  auto *send = app.add_subcommand("send", "send distinct queries");
  send->add_option("--dst", dst)->required();
  send->add_option("--port", port);
  send->add_option("--suffix", suffix, "names are <10 random chars>.<suffix>");
  send->add_option("--seconds", seconds, "stop after this long (0: only --count)");
  send->add_option("--count", count, "stop after this many (0: only --seconds)");
  send->add_option("--distinct", distinct, "distinct queries cycled through")
      ->check(CLI::Range(1u, 1u << 24));
  send->add_option("--dstopts", dstopts, "IPv6 destination options header bytes");
  send->add_option("--sockets", sockets, "source ports to rotate over");
  send->add_option("--pps", pps, "pace to this rate (0: as fast as possible)");
  send->add_option("--burst", burst,
                   "with --pps: send up to this many at once when due and sleep in between "
                   "(1: one at a time, spinning)")
      ->check(CLI::Range(1u, 64u));
  send->add_option("--src", srcs,
                   "source addresses, one per socket in turn (NFQUEUE's "
                   "queue-balance hashes addresses, not ports)");
  auto *sink = app.add_subcommand("sink", "count datagrams arriving on a port");
  sink->add_option("--bind", bind_ip)->required();
  sink->add_option("--port", port);
  sink->add_option("--seconds", seconds)->required();
  CLI11_PARSE(app, argc, argv);
  if (send->parsed()) {
    if (seconds <= 0 && count == 0) {
      std::fprintf(stderr, "give --seconds or --count\n");
      return 2;
    }
    return do_send(dst, port, suffix, seconds, count, distinct, dstopts, sockets, pps, burst, srcs);
  }
  return do_sink(bind_ip, port, seconds);
}
