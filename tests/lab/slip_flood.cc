// slip_flood: the lab's spoofed-query flood for the ban action tc (tests/lab/slip_test.sh).
// Sends COUNT UDP/53 queries from spoofed source addresses (SOURCES consecutive addresses from
// SRC, round-robin) as whole Ethernet frames on a packet socket, padded with an EDNS Padding
// option so they are large, and captures on the same socket the replies that come back to
// those addresses (the kernel drops them, they are not its addresses; the packet socket sees
// them first). Each reply is matched to its query (address, port, ID) and checked: no larger
// than the query, QR=1 TC=1, IPv4 header and UDP checksums valid.
//
//   slip_flood --iface c0 --server-mac 02:.. --server 192.0.2.1 --src 192.0.2.128
//              --sources 100 --count 300 --pad 400 --stop-file F [--timeout-ms 10000]
//
// Runs until F exists and holds a number N and N replies arrived (the test writes the
// server's banned-tc count there), or until the deadline (exit 1). Prints one JSON line.
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <tuple>

#include "packet_builder.h"

using dnswash::test::Bytes;

namespace {

[[noreturn]] void die(const std::string &m) {
  fprintf(stderr, "slip_flood: %s\n", m.c_str());
  exit(2);
}

uint16_t be16(const uint8_t *p) {
  return uint16_t(p[0] << 8 | p[1]);
}
uint32_t sum16(const uint8_t *p, size_t n, uint32_t s = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) s += uint32_t(p[i] << 8 | p[i + 1]);
  if (n & 1) s += uint32_t(p[n - 1] << 8);
  return s;
}
uint16_t fold(uint32_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return uint16_t(s);
}

// Checksum of the UDP datagram at udp (pseudo-header from the IP header at l3): 0xffff = valid.
uint16_t udp_sum(const uint8_t *l3, int family, const uint8_t *udp) {
  uint16_t ulen = be16(udp + 4);
  uint32_t s = family == 4 ? sum16(l3 + 12, 8) : sum16(l3 + 8, 32);
  return fold(sum16(udp, ulen, s + 17 + ulen));
}

void parse_mac(const std::string &s, uint8_t *out) {
  unsigned b[6];
  if (sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
    die("bad MAC " + s);
  for (int i = 0; i < 6; ++i) out[i] = uint8_t(b[i]);
}

// The i-th address after base (last 32 bits incremented).
std::string nth_addr(const std::string &base, int family, unsigned i) {
  uint8_t a[16];
  int af = family == 4 ? AF_INET : AF_INET6;
  if (inet_pton(af, base.c_str(), a) != 1) die("bad address " + base);
  size_t n = family == 4 ? 4 : 16;
  uint32_t last;
  memcpy(&last, a + n - 4, 4);
  last = htonl(ntohl(last) + i);
  memcpy(a + n - 4, &last, 4);
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(af, a, buf, sizeof buf);
  return buf;
}

}  // namespace

int main(int argc, char **argv) {
  std::map<std::string, std::string> a;
  for (int i = 1; i + 1 < argc; i += 2) a[argv[i]] = argv[i + 1];
  auto need = [&](const char *k) {
    if (!a.count(k)) die(std::string("missing ") + k);
    return a[k];
  };
  std::string iface = need("--iface"), server = need("--server"), src = need("--src");
  std::string stop_file = need("--stop-file");
  unsigned sources = std::stoul(need("--sources")), count = std::stoul(need("--count"));
  unsigned pad = a.count("--pad") ? std::stoul(a["--pad"]) : 0;
  int timeout_ms = a.count("--timeout-ms") ? std::stoi(a["--timeout-ms"]) : 10000;
  int family = server.find(':') == std::string::npos ? 4 : 6;
  uint8_t server_mac[6], my_mac[6];
  parse_mac(need("--server-mac"), server_mac);

  int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  if (fd < 0) die(std::string("packet socket: ") + strerror(errno));
  ifreq ifr{};
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", iface.c_str());
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) die("SIOCGIFHWADDR " + iface + ": " + strerror(errno));
  memcpy(my_mac, ifr.ifr_hwaddr.sa_data, 6);
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = int(if_nametoindex(iface.c_str()));
  if (!sll.sll_ifindex) die("no interface " + iface);
  if (bind(fd, reinterpret_cast<sockaddr *>(&sll), sizeof sll) != 0)
    die(std::string("bind: ") + strerror(errno));
  int big = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);

  // (destination address bytes, port, DNS ID) -> the query's IP length and frame length.
  using Key = std::tuple<std::string, uint16_t, uint16_t>;
  std::map<Key, std::pair<size_t, size_t>> sent;
  size_t sent_bytes = 0;
  for (unsigned i = 0; i < count; ++i) {
    dnswash::test::FrameSpec fs;
    fs.family = family;
    fs.src = nth_addr(src, family, i % sources);
    fs.dst = server;
    fs.sport = uint16_t(20000 + (i % sources));
    dnswash::test::DnsSpec ds;
    ds.qname = "www.a.test";
    ds.id = uint16_t(i);
    ds.trailer = dnswash::test::edns_opt_record(1232);
    if (pad) {  // OPT RDLENGTH, then option 12 (Padding)
      ds.trailer[9] = uint8_t((4 + pad) >> 8);
      ds.trailer[10] = uint8_t(4 + pad);
      ds.trailer.insert(ds.trailer.end(), {0, 12, uint8_t(pad >> 8), uint8_t(pad)});
      ds.trailer.insert(ds.trailer.end(), pad, 0);
    }
    Bytes f = dnswash::test::frame(fs, dnswash::test::dns_message(ds));
    memcpy(&f[0], server_mac, 6);
    memcpy(&f[6], my_mac, 6);
    size_t l3 = 14, udp = l3 + (family == 4 ? 20 : 40);
    f[udp + 6] = f[udp + 7] = 0;  // a real checksum, as a resolver's kernel sends it
    uint16_t c = uint16_t(~udp_sum(&f[l3], family, &f[udp]));
    f[udp + 6] = uint8_t(c >> 8);
    f[udp + 7] = uint8_t(c);
    if (send(fd, f.data(), f.size(), 0) != ssize_t(f.size()))
      die(std::string("send: ") + strerror(errno));
    std::string addr(reinterpret_cast<char *>(&f[l3 + (family == 4 ? 12 : 8)]),
                     family == 4 ? 4 : 16);
    sent[{addr, fs.sport, ds.id}] = {f.size() - l3, f.size()};
    sent_bytes += f.size();
  }

  size_t replies = 0, reply_bytes = 0, larger = 0, bad_sum = 0, not_tc = 0, unmatched = 0, dup = 0,
         max_reply = 0;
  long want = -1;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::map<Key, bool> seen;
  uint8_t buf[65536];
  bool ok = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (want < 0) {
      std::ifstream in(stop_file);
      long n;
      if (in >> n) want = n;
    }
    if (want >= 0 && long(replies) >= want) {
      ok = true;
      break;
    }
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 20) <= 0) continue;
    sockaddr_ll from{};
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr *>(&from), &fl);
    if (n < 14 || from.sll_pkttype == PACKET_OUTGOING) continue;
    uint16_t et = be16(buf + 12);
    size_t l3 = 14, udp;
    if (family == 4) {
      if (et != 0x0800 || n < 14 + 20 + 8 || buf[l3 + 9] != 17) continue;
      udp = l3 + size_t(buf[l3] & 0xf) * 4;
    } else {
      if (et != 0x86dd || n < 14 + 40 + 8 || buf[l3 + 6] != 17) continue;
      udp = l3 + 40;
    }
    if (be16(buf + udp) != 53 || size_t(n) < udp + 8 + 12) continue;
    size_t ip_len = family == 4 ? be16(buf + l3 + 2) : 40 + be16(buf + l3 + 4);
    std::string addr(reinterpret_cast<char *>(buf + l3 + (family == 4 ? 16 : 24)),
                     family == 4 ? 4 : 16);
    Key k{addr, be16(buf + udp + 2), be16(buf + udp + 8)};
    auto it = sent.find(k);
    if (it == sent.end()) {
      ++unmatched;
      continue;
    }
    if (seen[k]) ++dup;
    seen[k] = true;
    ++replies;
    reply_bytes += size_t(n);
    max_reply = std::max(max_reply, size_t(n));
    if (ip_len > it->second.first || size_t(n) > it->second.second) ++larger;
    if ((family == 4 && fold(sum16(buf + l3, 20)) != 0xffff) ||
        udp_sum(buf + l3, family, buf + udp) != 0xffff || be16(buf + udp + 6) == 0)
      ++bad_sum;
    uint8_t f2 = buf[udp + 8 + 2];
    if ((f2 & 0x82) != 0x82) ++not_tc;
  }
  printf(
      "{\"sent\":%u,\"sent_bytes\":%zu,\"replies\":%zu,\"reply_bytes\":%zu,\"larger\":%zu,"
      "\"bad_checksum\":%zu,\"not_tc\":%zu,\"unmatched\":%zu,\"duplicates\":%zu,"
      "\"max_reply\":%zu,\"want\":%ld}\n",
      count, sent_bytes, replies, reply_bytes, larger, bad_sum, not_tc, unmatched, dup, max_reply,
      want);
  return ok ? 0 : 1;
}
