// Crafts Ethernet frames carrying DNS queries (and other traffic) for table-driven tests and
// benchmarks. Every field a test wants to break can be set explicitly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dnswash::test {

using Bytes = std::vector<uint8_t>;

struct DnsSpec {
  std::string qname = "www.example.com";  // presentation form (escapes allowed)
  std::optional<Bytes> raw_qname;         // wire bytes used verbatim instead of qname
  uint16_t id = 0x1234;
  bool qr = false;
  uint8_t opcode = 0;
  uint16_t qdcount = 1;
  uint16_t qtype = 1;   // A
  uint16_t qclass = 1;  // IN
  bool omit_type_class = false;
  Bytes trailer;  // bytes after the question (e.g. an EDNS OPT record)
};
Bytes dns_message(const DnsSpec &spec);
Bytes edns_opt_record(uint16_t udp_size = 1232);

struct FrameSpec {
  int family = 4;
  std::vector<std::pair<uint16_t, uint16_t>> vlans;  // (TPID, TCI), outermost first
  std::string src = "198.51.100.7";
  std::string dst = "192.0.2.53";
  uint8_t l4 = 17;  // 17 UDP, 6 TCP, 1 ICMP, 58 ICMPv6
  uint16_t sport = 40000;
  uint16_t dport = 53;
  Bytes ipv4_options;                            // multiple of 4, at most 40 bytes
  std::vector<std::pair<uint8_t, Bytes>> v6ext;  // (header type, bytes after next/len)
  bool more_fragments = false;                   // IPv4 MF or IPv6 fragment header M
  uint16_t frag_offset = 0;                      // in 8-byte units
  bool v6_fragment_header = false;               // add an IPv6 fragment header
  int ip_len_delta = 0;                          // added to the IP length field
  int udp_len_delta = 0;                         // added to the UDP length field
  size_t eth_padding = 0;                        // zero bytes after the IP packet
  uint16_t ethertype_override = 0;               // e.g. 0x0806 ARP with a dummy body
};
// The frame for an L4 payload (for UDP the DNS message; for TCP a 2-byte length prefix is
// NOT added: tests only need the port).
Bytes frame(const FrameSpec &spec, const Bytes &l4_payload);

// Convenience: a UDP/53 query for name over IPv4 (or IPv6 when family == 6).
Bytes query_frame(const std::string &qname, int family = 4);

// A presentation name of exactly n labels of one byte ("a.a....a") under suffix.
std::string many_labels(size_t n, const std::string &suffix);

}  // namespace dnswash::test
