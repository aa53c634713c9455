// The real captures in ../shared/context/pcaps go through the XDP program; the verdict each
// frame must get is predicted from tshark's own decode of it (an independent dissector), with
// google.com as the one served zone.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "config_map.h"
#include "datapath_harness.h"

#ifndef DNSWASH_SHARED_CONTEXT
#error "DNSWASH_SHARED_CONTEXT must point at shared/context"
#endif

namespace dnswash::test {
namespace {

std::vector<Bytes> read_pcap(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<char> all((std::istreambuf_iterator<char>(in)), {});
  auto u32 = [&](size_t off) {
    uint32_t v;
    memcpy(&v, &all[off], 4);
    return v;
  };
  if (all.size() < 24 || u32(0) != 0xa1b2c3d4) throw std::runtime_error(path + ": not a LE pcap");
  if (u32(20) != 1) throw std::runtime_error(path + ": not Ethernet");
  std::vector<Bytes> frames;
  for (size_t off = 24; off + 16 <= all.size();) {
    uint32_t caplen = u32(off + 8);
    off += 16;
    if (off + caplen > all.size()) throw std::runtime_error(path + ": truncated record");
    frames.emplace_back(all.begin() + long(off), all.begin() + long(off + caplen));
    off += caplen;
  }
  return frames;
}

struct Decode {
  std::string udp_dport, qr, opcode, qdcount, qname, qclass, mf, frag_off;
};

std::map<int, Decode> tshark_decode(const std::string &path) {
  std::string cmd =
      "tshark -n -r '" + path +
      "' -T fields -E separator=/t -E occurrence=f -e frame.number -e udp.dstport "
      "-e dns.flags.response -e dns.flags.opcode -e dns.count.queries -e dns.qry.name "
      "-e dns.qry.class -e ip.flags.mf -e ip.frag_offset 2>/dev/null";
  FILE *p = popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("cannot run tshark");
  std::map<int, Decode> out;
  char line[4096];
  while (fgets(line, sizeof line, p)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, '\t')) f.push_back(cell);
    f.resize(9);
    for (auto &c : f) c.erase(std::remove(c.begin(), c.end(), '\n'), c.end());
    out[std::stoi(f[0])] = Decode{f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]};
  }
  if (pclose(p) != 0) throw std::runtime_error("tshark failed on " + path);
  return out;
}

// The verdict the datapath's documented policy gives to what tshark decoded.
int predict(const Decode &d) {
  if (d.udp_dport != "53") return DW_R_NOT_DNS;
  if (!d.frag_off.empty() && d.frag_off != "0") return DW_R_NOT_DNS;
  // Odd queries pass to named (the test lifts the odd-query limit out of reach).
  if (d.mf == "1" || d.mf == "True") return DW_R_FRAGMENT_PASSED;
  if (d.qr == "1" || d.qr == "True") return DW_R_RESPONSE;
  int op = std::stoi(d.opcode.empty() ? "0" : d.opcode);
  if (op != 0 && op != 4 && op != 5) return DW_R_OPCODE_PASSED;
  if (d.qdcount != "1") return DW_R_QDCOUNT_PASSED;
  if (d.qclass == "0x0003") return DW_R_CHAOS;
  if (d.qclass != "0x0001") return DW_R_QCLASS_PASSED;
  std::string n = d.qname;
  std::transform(n.begin(), n.end(), n.begin(), ::tolower);
  bool ok = n == "google.com" || (n.size() > 11 && n.ends_with(".google.com"));
  return ok ? DW_R_ALLOWED : DW_R_NOT_AUTH;
}

class Pcap : public ::testing::TestWithParam<std::string> {};

TEST_P(Pcap, VerdictsMatchTsharkDecode) {
  std::string path = std::string(DNSWASH_SHARED_CONTEXT) + "/pcaps/" + GetParam();
  auto frames = read_pcap(path);  // throws, failing the test, if the capture is missing
  auto decode = tshark_decode(path);
  ASSERT_EQ(decode.size(), frames.size()) << "tshark and the reader disagree on frame count";
  Datapath dp;
  dp.set_zones({"google.com"});
  dw_config cfg = read_config(dp.skel().config_fd());
  cfg.odd_per_s = cfg.odd_total_per_s = DW_ODD_MAX_PER_S;
  write_config(dp.skel().config_fd(), cfg);
  std::map<int, int> seen;
  for (size_t i = 0; i < frames.size(); ++i) {
    RunResult r = dp.run(frames[i]);
    int want = predict(decode.at(int(i + 1)));
    EXPECT_EQ(r.reason(), want) << GetParam() << " frame " << i + 1 << " qname '"
                                << decode.at(int(i + 1)).qname << "'";
    EXPECT_EQ(r.action == XDP_DROP, bool(dw_reason_is_drop(unsigned(want))));
    seen[want]++;
  }
  // The captures hold both served and unserved queries and non-DNS traffic.
  EXPECT_GT(seen[DW_R_NOT_DNS], 0);
  EXPECT_GT(seen[DW_R_ALLOWED], 0);
}

INSTANTIATE_TEST_SUITE_P(Shared, Pcap,
                         ::testing::Values("dnscap-dns.pcap", "dnscap-dns6.pcap",
                                           "dnscap-vlan11.pcap"),
                         [](const auto &info) {
                           std::string n = info.param;
                           for (auto &c : n)
                             if (!isalnum(uint8_t(c))) c = '_';
                           return n;
                         });

}  // namespace
}  // namespace dnswash::test
