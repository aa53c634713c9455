#include "axfr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <random>
#include <stdexcept>

namespace dnswash::shield {

namespace {

using Clock = std::chrono::steady_clock;

uint16_t be16(const uint8_t *p) {
  return uint16_t((p[0] << 8) | p[1]);
}
uint32_t be32(const uint8_t *p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}
void put16(std::vector<uint8_t> &b, uint16_t v) {
  b.push_back(uint8_t(v >> 8));
  b.push_back(uint8_t(v));
}
void put32(std::vector<uint8_t> &b, uint32_t v) {
  put16(b, uint16_t(v >> 16));
  put16(b, uint16_t(v));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

struct Sock {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family = 0;
};

Sock resolve(const Endpoint &ep) {
  Sock s;
  auto *v4 = reinterpret_cast<sockaddr_in *>(&s.ss);
  auto *v6 = reinterpret_cast<sockaddr_in6 *>(&s.ss);
  if (inet_pton(AF_INET, ep.address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(ep.port);
    s.len = sizeof *v4;
    s.family = AF_INET;
  } else if (inet_pton(AF_INET6, ep.address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(ep.port);
    s.len = sizeof *v6;
    s.family = AF_INET6;
  } else {
    throw std::runtime_error("not a numeric address: " + ep.address);
  }
  return s;
}

std::vector<uint8_t> make_query(uint16_t id, const DnsName &zone, uint16_t qtype) {
  std::vector<uint8_t> q;
  put16(q, id);
  put16(q, 0);  // RD=0
  put16(q, 1);
  put16(q, 0);
  put16(q, 0);
  put16(q, 0);
  auto w = zone.to_wire();
  q.insert(q.end(), w.begin(), w.end());
  put16(q, qtype);
  put16(q, 1);  // IN
  return q;
}

int ms_left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return int(std::max<int64_t>(0, left.count()));
}

void wait_for(int fd, short events, Clock::time_point deadline, const char *what) {
  pollfd p{fd, events, 0};
  for (;;) {
    int r = poll(&p, 1, ms_left(deadline));
    if (r > 0) return;
    if (r == 0) throw std::runtime_error(std::string("zone transfer: timed out ") + what);
    if (errno != EINTR)
      throw std::runtime_error(std::string("zone transfer: poll: ") + strerror(errno));
  }
}

void read_full(int fd, uint8_t *buf, size_t n, Clock::time_point deadline) {
  size_t got = 0;
  while (got < n) {
    wait_for(fd, POLLIN, deadline, "reading");
    ssize_t r = read(fd, buf + got, n - got);
    if (r == 0) throw std::runtime_error("zone transfer: the server closed the connection");
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      throw std::runtime_error(std::string("zone transfer: read: ") + strerror(errno));
    }
    got += size_t(r);
  }
}

// Skips a name (compressed or not) at msg[*off].
bool skip_name(const uint8_t *msg, size_t len, size_t *off) {
  size_t o = *off;
  while (o < len) {
    uint8_t l = msg[o];
    if (l == 0) {
      *off = o + 1;
      return true;
    }
    if ((l & 0xC0) == 0xC0) {
      if (o + 2 > len) return false;
      *off = o + 2;
      return true;
    }
    if (l > 63) return false;
    o += 1 + l;
  }
  return false;
}

}  // namespace

std::string Endpoint::text() const {
  return (address.find(':') != std::string::npos ? "[" + address + "]" : address) + ":" +
         std::to_string(port);
}

std::optional<DnsName> read_name(const uint8_t *msg, size_t len, size_t *off) {
  DnsName n;
  size_t o = *off, wire = 1;
  bool jumped = false;
  int hops = 0;
  while (o < len) {
    uint8_t l = msg[o];
    if (l == 0) {
      if (!jumped) *off = o + 1;
      return n;
    }
    if ((l & 0xC0) == 0xC0) {
      if (o + 2 > len || ++hops > 64) return std::nullopt;
      size_t target = size_t(be16(msg + o) & 0x3FFF);
      if (!jumped) *off = o + 2;
      jumped = true;
      o = target;
      continue;
    }
    if (l > 63 || o + 1 + l > len) return std::nullopt;
    wire += 1 + l;
    if (wire > 255) return std::nullopt;
    std::string label(reinterpret_cast<const char *>(msg + o + 1), l);
    for (char &c : label) c = ascii_lower(c);
    n.labels.push_back(std::move(label));
    o += 1 + l;
  }
  return std::nullopt;
}

namespace {

// One answer record of a transfer, where its message holds it.
struct Rec {
  const uint8_t *m;
  size_t len;
  const DnsName &owner;
  uint16_t type;
  uint32_t ttl;
  size_t rd;  // RDATA's offset in m
  uint16_t rdlen;
};

// Sends `query` (its ID `id`) to `from` over TCP and hands every answer record to `on`, in
// order, until `on` returns false. Throws on a refusal, a timeout or a malformed message.
void stream_records(const Endpoint &from, const DnsName &zone, const std::vector<uint8_t> &query,
                    uint16_t id, std::chrono::milliseconds timeout,
                    const std::function<bool(const Rec &)> &on) {
  Sock s = resolve(from);
  Fd fd(socket(s.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0)
    throw std::runtime_error(std::string("zone transfer: socket: ") + strerror(errno));
  auto deadline = Clock::now() + timeout;
  if (connect(fd.get(), reinterpret_cast<sockaddr *>(&s.ss), s.len) != 0) {
    if (errno != EINPROGRESS)
      throw std::runtime_error("zone transfer: connect to " + from.text() + ": " + strerror(errno));
    wait_for(fd.get(), POLLOUT, deadline, "connecting");
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &el);
    if (err)
      throw std::runtime_error("zone transfer: connect to " + from.text() + ": " + strerror(err));
  }
  std::vector<uint8_t> out;
  put16(out, uint16_t(query.size()));
  out.insert(out.end(), query.begin(), query.end());
  size_t sent = 0;
  while (sent < out.size()) {
    wait_for(fd.get(), POLLOUT, deadline, "sending");
    ssize_t r = write(fd.get(), out.data() + sent, out.size() - sent);
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      throw std::runtime_error(std::string("zone transfer: write: ") + strerror(errno));
    }
    sent += size_t(r);
  }

  std::vector<uint8_t> msg;
  for (;;) {
    uint8_t lb[2];
    read_full(fd.get(), lb, 2, deadline);
    msg.resize(be16(lb));
    if (msg.size() < 12) throw std::runtime_error("zone transfer: short message");
    read_full(fd.get(), msg.data(), msg.size(), deadline);
    const uint8_t *m = msg.data();
    size_t len = msg.size(), off = 12;
    if (be16(m) != id || !(m[2] & 0x80)) throw std::runtime_error("zone transfer: not our answer");
    if ((m[3] & 0x0F) != 0)
      throw std::runtime_error("zone transfer of " + zone.to_text() + " from " + from.text() +
                               ": rcode " + std::to_string(m[3] & 0x0F) +
                               " (named.conf: allow-transfer for this host?)");
    for (uint16_t i = 0, qd = be16(m + 4); i < qd; ++i)
      if (!skip_name(m, len, &off) || (off += 4) > len)
        throw std::runtime_error("zone transfer: malformed question");
    uint16_t an = be16(m + 6);
    if (an == 0) throw std::runtime_error("zone transfer: empty answer");
    for (uint16_t i = 0; i < an; ++i) {
      auto owner = read_name(m, len, &off);
      if (!owner || off + 10 > len) throw std::runtime_error("zone transfer: malformed record");
      uint16_t type = be16(m + off), rdlen = be16(m + off + 8);
      size_t rd = off + 10;
      if (rd + rdlen > len) throw std::runtime_error("zone transfer: malformed record");
      if (!on(Rec{m, len, *owner, type, be32(m + off + 4), rd, rdlen})) return;
      off = rd + rdlen;
    }
  }
}

// The SOA record after its owner name, as the kernel appends it to an NXDOMAIN (see
// ZoneTransfer::soa_rr), and its serial.
std::vector<uint8_t> soa_rr_of(const Rec &r, uint32_t *serial) {
  size_t ro = r.rd;
  auto mname = read_name(r.m, r.len, &ro), rname = read_name(r.m, r.len, &ro);
  if (!mname || !rname || ro + 20 > r.rd + r.rdlen)
    throw std::runtime_error("zone transfer: malformed SOA");
  *serial = be32(r.m + ro);
  uint32_t minimum = be32(r.m + ro + 16);
  auto mw = mname->to_wire(), rw = rname->to_wire();
  std::vector<uint8_t> rr;
  put16(rr, kTypeSoa);
  put16(rr, 1);
  put32(rr, std::min(r.ttl, minimum));
  put16(rr, uint16_t(mw.size() + rw.size() + 20));
  rr.insert(rr.end(), mw.begin(), mw.end());
  rr.insert(rr.end(), rw.begin(), rw.end());
  rr.insert(rr.end(), r.m + ro, r.m + ro + 20);
  return rr;
}

uint32_t soa_serial(const Rec &r) {
  uint32_t serial = 0;
  soa_rr_of(r, &serial);
  return serial;
}

// Serial arithmetic (RFC 1982): is a newer than b?
bool serial_newer(uint32_t a, uint32_t b) {
  return a != b && uint32_t(a - b) < 0x80000000u;
}

}  // namespace

ZoneTransfer transfer_zone(const Endpoint &from, const DnsName &zone,
                           std::chrono::milliseconds timeout) {
  uint16_t id = uint16_t(std::random_device{}());
  ZoneTransfer zt;
  ZoneNamesBuilder names(zone);
  int soas = 0;
  stream_records(from, zone, make_query(id, zone, 252 /* AXFR */), id, timeout, [&](const Rec &r) {
    if (zt.records == 0 && r.type != kTypeSoa)
      throw std::runtime_error("zone transfer: does not start with the SOA");
    if (r.type == kTypeSoa && ++soas == 1) zt.soa_rr = soa_rr_of(r, &zt.serial);
    if (soas == 2) return false;  // the closing SOA
    if (r.type == kTypeDnskey && r.owner == zone) zt.signed_zone = true;
    names.add(r.owner, r.type);
    ++zt.records;
    return true;
  });
  zt.names = names.finish();
  return zt;
}

ZoneChange transfer_zone_since(const Endpoint &from, const DnsName &zone, uint32_t serial,
                               std::chrono::milliseconds timeout) {
  uint16_t id = uint16_t(std::random_device{}());
  // The query: the question (IXFR) and, in the authority section, the SOA we have (only its
  // serial counts; RFC 1995 section 3).
  auto q = make_query(id, zone, 251 /* IXFR */);
  q[9] = 1;  // NSCOUNT
  auto zw = zone.to_wire();
  q.insert(q.end(), zw.begin(), zw.end());
  put16(q, kTypeSoa);
  put16(q, 1);
  put32(q, 0);
  put16(q, 2 + 20);
  q.push_back(0);  // MNAME: the root
  q.push_back(0);  // RNAME: the root
  put32(q, serial);
  for (int i = 0; i < 4; ++i) put32(q, 0);

  ZoneChange c;
  ZoneNamesBuilder whole(zone), added(zone);
  uint32_t last = 0;
  enum { kFirst, kSecond, kWhole, kDeleted, kAdded } at = kFirst;
  stream_records(from, zone, q, id, timeout, [&](const Rec &r) {
    switch (at) {
      case kFirst:
        if (r.type != kTypeSoa)
          throw std::runtime_error("zone transfer: does not start with the SOA");
        c.delta.soa_rr = soa_rr_of(r, &last);
        c.delta.serial = last;
        c.zone.soa_rr = c.delta.soa_rr;
        c.zone.serial = last;
        at = kSecond;
        // Not newer than ours: the server answers with this SOA alone.
        return serial_newer(last, serial);
      case kSecond:
        if (r.type == kTypeSoa && soa_serial(r) != c.delta.serial) {
          at = kDeleted;  // the first difference's old SOA
          return true;
        }
        // AXFR-style: the whole zone follows the first SOA (RFC 1995 section 4); this record
        // is its second (or the closing SOA of a zone of its SOA alone).
        c.whole = true;
        at = kWhole;
        c.zone.records = 1;
        whole.add(zone, kTypeSoa);
        [[fallthrough]];
      case kWhole:
        if (r.type == kTypeSoa) return false;  // the closing SOA
        if (r.type == kTypeDnskey && r.owner == zone) c.zone.signed_zone = true;
        whole.add(r.owner, r.type);
        ++c.zone.records;
        return true;
      case kDeleted:
        if (r.type == kTypeSoa) {
          at = kAdded;  // this difference's new SOA: its additions follow
          return true;
        }
        ++c.delta.deleted_records;
        return true;
      case kAdded:
        if (r.type == kTypeSoa) {
          if (soa_serial(r) == c.delta.serial) return false;  // the closing SOA
          at = kDeleted;                                      // the next difference
          return true;
        }
        if (r.type == kTypeDnskey && r.owner == zone) c.delta.dnskey_added = true;
        added.add(r.owner, r.type);
        ++c.delta.added_records;
        return true;
    }
    return false;
  });
  if (c.whole)
    c.zone.names = whole.finish();
  else if (c.delta.added_records)
    c.delta.added = added.finish();
  return c;
}

std::optional<uint32_t> query_serial(const Endpoint &from, const DnsName &zone,
                                     std::chrono::milliseconds timeout) {
  Sock s = resolve(from);
  Fd fd(socket(s.family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return std::nullopt;
  if (connect(fd.get(), reinterpret_cast<sockaddr *>(&s.ss), s.len) != 0) return std::nullopt;
  uint16_t id = uint16_t(std::random_device{}());
  auto q = make_query(id, zone, kTypeSoa);
  if (send(fd.get(), q.data(), q.size(), 0) != ssize_t(q.size())) return std::nullopt;
  auto deadline = Clock::now() + timeout;
  uint8_t buf[4096];
  for (;;) {
    pollfd p{fd.get(), POLLIN, 0};
    if (poll(&p, 1, ms_left(deadline)) <= 0) return std::nullopt;
    ssize_t n = recv(fd.get(), buf, sizeof buf, 0);
    if (n < 12 || be16(buf) != id) continue;
    size_t len = size_t(n), off = 12;
    if ((buf[3] & 0x0F) != 0 || be16(buf + 6) == 0) return std::nullopt;
    if (!skip_name(buf, len, &off) || (off += 4) > len) return std::nullopt;
    auto owner = read_name(buf, len, &off);
    if (!owner || off + 10 > len || be16(buf + off) != kTypeSoa) return std::nullopt;
    size_t ro = off + 10;
    if (!read_name(buf, len, &ro) || !read_name(buf, len, &ro) || ro + 4 > len) return std::nullopt;
    return be32(buf + ro);
  }
}

}  // namespace dnswash::shield
