#include "packet_builder.h"

#include <arpa/inet.h>

#include <stdexcept>

#include "dns_name.h"

namespace dnswash::test {

namespace {
void put16(Bytes &b, uint16_t v) {
  b.push_back(uint8_t(v >> 8));
  b.push_back(uint8_t(v));
}
void set16(Bytes &b, size_t off, uint16_t v) {
  b[off] = uint8_t(v >> 8);
  b[off + 1] = uint8_t(v);
}
uint16_t ip_checksum(const uint8_t *p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += uint32_t(p[i] << 8 | p[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}
}  // namespace

Bytes dns_message(const DnsSpec &s) {
  Bytes b;
  put16(b, s.id);
  b.push_back(uint8_t((s.qr ? 0x80 : 0) | ((s.opcode & 0xf) << 3)));
  b.push_back(0);
  put16(b, s.qdcount);
  put16(b, 0);
  put16(b, 0);
  put16(b, s.trailer.empty() ? 0 : 1);
  if (s.raw_qname) {
    b.insert(b.end(), s.raw_qname->begin(), s.raw_qname->end());
  } else {
    // Encode case-preserving: DnsName folds case, so build the wire form by hand.
    std::string err;
    if (!dnswash::parse_dns_name(s.qname, &err)) throw std::runtime_error("bad qname: " + err);
    std::string label;
    auto flush = [&] {
      b.push_back(uint8_t(label.size()));
      b.insert(b.end(), label.begin(), label.end());
      label.clear();
    };
    if (s.qname != ".") {
      for (size_t i = 0; i < s.qname.size(); ++i) {
        char c = s.qname[i];
        if (c == '\\' && i + 1 < s.qname.size()) {
          if (isdigit(uint8_t(s.qname[i + 1]))) {
            label += char(std::stoi(s.qname.substr(i + 1, 3)));
            i += 3;
          } else {
            label += s.qname[++i];
          }
        } else if (c == '.') {
          flush();
        } else {
          label += c;
        }
      }
      if (!label.empty()) flush();
    }
    b.push_back(0);
  }
  if (!s.omit_type_class) {
    put16(b, s.qtype);
    put16(b, s.qclass);
  }
  b.insert(b.end(), s.trailer.begin(), s.trailer.end());
  return b;
}

Bytes edns_opt_record(uint16_t udp_size) {
  Bytes b{0};  // root name
  put16(b, 41);
  put16(b, udp_size);
  put16(b, 0);
  put16(b, 0);
  put16(b, 0);  // no options
  return b;
}

Bytes frame(const FrameSpec &s, const Bytes &payload) {
  Bytes f = {0x02, 0, 0, 0, 0, 0x53, 0x02, 0, 0, 0, 0, 0x01};  // dst, src MAC
  for (auto [tpid, tci] : s.vlans) {
    put16(f, tpid);
    put16(f, tci);
  }
  if (s.ethertype_override) {
    put16(f, s.ethertype_override);
    f.insert(f.end(), 28, 0);
    return f;
  }
  put16(f, s.family == 4 ? 0x0800 : 0x86dd);

  Bytes l4;
  if (s.l4 == 17 || s.l4 == 6) {
    put16(l4, s.sport);
    put16(l4, s.dport);
    if (s.l4 == 17) {
      put16(l4, uint16_t(8 + payload.size() + s.udp_len_delta));
      put16(l4, 0);  // checksum optional over IPv4; XDP does not verify it
    } else {
      l4.insert(l4.end(), {0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0});
    }
  } else {
    l4 = {8, 0, 0, 0, 0, 1, 0, 1};  // ICMP echo request header
  }
  l4.insert(l4.end(), payload.begin(), payload.end());

  if (s.family == 4) {
    size_t ip_off = f.size();
    size_t ihl = 20 + s.ipv4_options.size();
    f.push_back(uint8_t(0x40 | (ihl / 4)));
    f.push_back(0);
    put16(f, uint16_t(ihl + l4.size() + s.ip_len_delta));
    put16(f, 0x4242);
    put16(f, uint16_t((s.more_fragments ? 0x2000 : 0) | (s.frag_offset & 0x1fff)));
    f.push_back(64);
    f.push_back(s.l4);
    put16(f, 0);
    in_addr a;
    if (inet_pton(AF_INET, s.src.c_str(), &a) != 1) throw std::runtime_error("bad v4 " + s.src);
    f.insert(f.end(), (uint8_t *)&a, (uint8_t *)&a + 4);
    if (inet_pton(AF_INET, s.dst.c_str(), &a) != 1) throw std::runtime_error("bad v4 " + s.dst);
    f.insert(f.end(), (uint8_t *)&a, (uint8_t *)&a + 4);
    f.insert(f.end(), s.ipv4_options.begin(), s.ipv4_options.end());
    set16(f, ip_off + 10, ip_checksum(&f[ip_off], ihl));
  } else {
    Bytes ext;
    uint8_t first_next = s.l4;
    // Chain: the listed headers in order, then the fragment header if asked, then L4.
    std::vector<std::pair<uint8_t, Bytes>> chain = s.v6ext;
    if (s.v6_fragment_header) {
      Bytes fb(6, 0);
      uint16_t fo = uint16_t((s.frag_offset << 3) | (s.more_fragments ? 1 : 0));
      fb[0] = uint8_t(fo >> 8);
      fb[1] = uint8_t(fo);
      fb[5] = 0x42;
      chain.push_back({44, fb});
    }
    if (!chain.empty()) first_next = chain[0].first;
    for (size_t i = 0; i < chain.size(); ++i) {
      uint8_t next = i + 1 < chain.size() ? chain[i + 1].first : s.l4;
      const Bytes &body = chain[i].second;
      ext.push_back(next);
      if (chain[i].first == 44) {
        ext.push_back(0);
        ext.insert(ext.end(), body.begin(), body.end());
      } else {
        size_t total = 2 + body.size();
        if (total % 8) throw std::runtime_error("v6 ext header length must be 8n");
        ext.push_back(uint8_t(total / 8 - 1));
        ext.insert(ext.end(), body.begin(), body.end());
      }
    }
    f.insert(f.end(), {0x60, 0, 0, 0});
    put16(f, uint16_t(ext.size() + l4.size() + s.ip_len_delta));
    f.push_back(first_next);
    f.push_back(64);
    std::string src = s.src, dst = s.dst;
    if (src.find(':') == std::string::npos) src = "2001:db8::7";
    if (dst.find(':') == std::string::npos) dst = "2001:db8::53";
    in6_addr a;
    if (inet_pton(AF_INET6, src.c_str(), &a) != 1) throw std::runtime_error("bad v6 " + src);
    f.insert(f.end(), (uint8_t *)&a, (uint8_t *)&a + 16);
    if (inet_pton(AF_INET6, dst.c_str(), &a) != 1) throw std::runtime_error("bad v6 " + dst);
    f.insert(f.end(), (uint8_t *)&a, (uint8_t *)&a + 16);
    f.insert(f.end(), ext.begin(), ext.end());
  }
  f.insert(f.end(), l4.begin(), l4.end());
  f.insert(f.end(), s.eth_padding, 0);
  return f;
}

Bytes query_frame(const std::string &qname, int family) {
  FrameSpec fs;
  fs.family = family;
  DnsSpec ds;
  ds.qname = qname;
  return frame(fs, dns_message(ds));
}

std::string many_labels(size_t n, const std::string &suffix) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += "a.";
  return suffix.empty() ? s.substr(0, s.size() - 1) : s + suffix;
}

}  // namespace dnswash::test
