// dnswash-xdp-flood: a junk-query flood generated inside the kernel, for bench/flood_bench.sh.
//
//   dnswash-xdp-flood --dev IFACE --dst-mac MAC --src-mac MAC --src IP --dst IP --seconds S
//
// Why not trafgen: when the receiving veth's NAPI runs on its own CPU, the veth pushes back
// (its ring is full for a moment) and trafgen gives up ("Flushing TX_RING failed: Resource
// temporarily unavailable"); on the sending CPU, generator and receiver share one CPU. This
// tool runs a tiny XDP program in BPF_PROG_TEST_RUN's live-frames mode
// (BPF_F_TEST_XDP_LIVE_FRAMES, Linux 5.18): the kernel sends the template frame again and
// again, the program gives each copy a fresh random first label and redirects it to IFACE
// (a veth: the frame lands in the peer's NAPI ring, dropped there when full). A few dozen ns
// per frame, so one CPU outruns any receiver.
// Prints one JSON line: {"sent":N,"seconds":S,"pps":P}.
//
//   dnswash-xdp-flood --reader-on IFACE
// A second baseline for the receiver: attaches (native XDP) a program that reads one 8-byte
// word from each of the frame's first two cache lines (headers; DNS header and name) and
// drops, and keeps it attached until SIGTERM/SIGINT. The trivial XDP_DROP reads nothing: on
// the receiving CPU the frame's lines are cold (written by the generator's CPU), a cost any
// real filter pays and the trivial program does not.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

// Junk query: <10 bytes, random per frame>.attack.test A IN. Offsets in the frame.
// --allowed: <10 random bytes>.<4 random bytes>.test, each of the 4 bytes 0x40 | 5 random
// bits, so the names spread over the 2^20 zones `allowed_zones` lists (flood_bench
// --live-allowed loads them): allowed traffic that reads a random bucket of a million-zone set.
constexpr int kEth = 14, kIp = 20, kUdp = 8, kDnsHdr = 12;
constexpr int kLabel = kEth + kIp + kUdp + kDnsHdr + 1;  // first byte of the first label
constexpr int kZoneLabel = kLabel + 11;                  // --allowed: the 4-byte zone label

std::vector<uint8_t> frame(const uint8_t dmac[6], const uint8_t smac[6], in_addr src, in_addr dst,
                           bool allowed) {
  std::vector<uint8_t> dns = {0x12, 0x34, 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 10};
  dns.insert(dns.end(), 10, 'a');
  for (const char *l : {allowed ? "@@@@" : "attack", "test"}) {
    dns.push_back(uint8_t(std::strlen(l)));
    dns.insert(dns.end(), l, l + std::strlen(l));
  }
  dns.insert(dns.end(), {0, 0, 1, 0, 1});
  std::vector<uint8_t> f(kEth + kIp + kUdp);
  std::memcpy(&f[0], dmac, 6);
  std::memcpy(&f[6], smac, 6);
  f[12] = 0x08;
  f[13] = 0x00;
  uint8_t *ip = &f[kEth];
  uint16_t tot = uint16_t(kIp + kUdp + dns.size());
  ip[0] = 0x45;
  ip[2] = uint8_t(tot >> 8);
  ip[3] = uint8_t(tot);
  ip[8] = 64;
  ip[9] = 17;
  std::memcpy(&ip[12], &src, 4);
  std::memcpy(&ip[16], &dst, 4);
  uint32_t sum = 0;
  for (int i = 0; i < kIp; i += 2) sum += uint32_t(ip[i] << 8 | ip[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  ip[10] = uint8_t(~sum >> 8);
  ip[11] = uint8_t(~sum);
  uint8_t *udp = &f[kEth + kIp];
  udp[0] = 40000 >> 8;
  udp[1] = 40000 & 0xff;
  udp[3] = 53;
  uint16_t ulen = uint16_t(kUdp + dns.size());
  udp[4] = uint8_t(ulen >> 8);
  udp[5] = uint8_t(ulen);  // checksum 0: none (IPv4)
  f.insert(f.end(), dns.begin(), dns.end());
  return f;
}

// The program, as instructions (no object file to build): r7 = data; bounds check; two
// random u32s and one random u16 into the label (--allowed: and a third, masked, into the zone
// label); return bpf_redirect(ifindex, 0).
std::vector<bpf_insn> program(int ifindex, bool allowed) {
  auto I = [](uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    bpf_insn i{};
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
  };
  std::vector<bpf_insn> zone_label;
  if (allowed)
    zone_label = {
        I(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_get_prandom_u32),
        I(BPF_ALU | BPF_AND | BPF_K, 0, 0, 0, 0x1f1f1f1f),  // 5 random bits a byte
        I(BPF_ALU | BPF_OR | BPF_K, 0, 0, 0, 0x40404040),   // 0x40..0x5f: printable
        I(BPF_STX | BPF_W | BPF_MEM, 7, 0, kZoneLabel, 0),  // zone label[0..3]
    };
  const int16_t to_drop = int16_t(9 + zone_label.size());
  std::vector<bpf_insn> p = {
      I(BPF_LDX | BPF_W | BPF_MEM, 7, 1, 0, 0),                 // r7 = ctx->data
      I(BPF_LDX | BPF_W | BPF_MEM, 8, 1, 4, 0),                 // r8 = ctx->data_end
      I(BPF_ALU64 | BPF_MOV | BPF_X, 2, 7, 0, 0),               // r2 = r7
      I(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, kZoneLabel + 4),  // r2 += end of what we write
      I(BPF_JMP | BPF_JGT | BPF_X, 2, 8, to_drop, 0),           // if r2 > r8 goto drop
      I(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_get_prandom_u32),
      I(BPF_STX | BPF_W | BPF_MEM, 7, 0, kLabel, 0),  // label[0..3]
      I(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_get_prandom_u32),
      I(BPF_STX | BPF_W | BPF_MEM, 7, 0, kLabel + 4, 0),  // label[4..7]
      I(BPF_STX | BPF_H | BPF_MEM, 7, 0, kLabel + 8, 0),  // label[8..9]
  };
  p.insert(p.end(), zone_label.begin(), zone_label.end());
  p.insert(p.end(), {
                        I(BPF_ALU64 | BPF_MOV | BPF_K, 1, 0, 0, ifindex),
                        I(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 0),
                        I(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_redirect),
                        I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
                        I(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, XDP_DROP),  // drop:
                        I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
                    });
  return p;
}

// The 2^20 zones --allowed names fall under, one per line (\DDD form), for --zones-file.
int print_allowed_zones() {
  std::string line;
  for (uint32_t v = 0; v < (1u << 20); ++v) {
    line.clear();
    for (int k = 0; k < 4; ++k) {
      char b[5];
      std::snprintf(b, sizeof b, "\\%03u", 0x40u | ((v >> (5 * k)) & 31));
      line += b;
    }
    line += ".test\n";
    std::fputs(line.c_str(), stdout);
  }
  return 0;
}

std::vector<bpf_insn> reader_program() {
  auto I = [](uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    bpf_insn i{};
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
  };
  return {
      I(BPF_LDX | BPF_W | BPF_MEM, 2, 1, 0, 0),           // r2 = ctx->data
      I(BPF_LDX | BPF_W | BPF_MEM, 3, 1, 4, 0),           // r3 = ctx->data_end
      I(BPF_ALU64 | BPF_MOV | BPF_X, 4, 2, 0, 0),         // r4 = r2
      I(BPF_ALU64 | BPF_ADD | BPF_K, 4, 0, 0, 72),        // r4 += 72
      I(BPF_JMP | BPF_JGT | BPF_X, 4, 3, 3, 0),           // if r4 > r3 goto drop
      I(BPF_LDX | BPF_DW | BPF_MEM, 5, 2, 0, 0),          // r5 = *(u64 *)(data + 0)
      I(BPF_LDX | BPF_DW | BPF_MEM, 6, 2, 64, 0),         // r6 = *(u64 *)(data + 64)
      I(BPF_ALU64 | BPF_ADD | BPF_X, 5, 6, 0, 0),         // r5 += r6 (both loads are used)
      I(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, XDP_DROP),  // drop:
      I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
  };
}

volatile sig_atomic_t g_stop = 0;

int run_reader(const std::string &iface) {
  int ifindex = int(if_nametoindex(iface.c_str()));
  if (ifindex == 0) {
    std::perror(("xdp-flood: " + iface).c_str());
    return 1;
  }
  auto insns = reader_program();
  static char log[65536];
  LIBBPF_OPTS(bpf_prog_load_opts, lo, .log_level = 1, .log_size = sizeof log, .log_buf = log);
  int prog =
      bpf_prog_load(BPF_PROG_TYPE_XDP, "dw_read_drop", "GPL", insns.data(), insns.size(), &lo);
  if (prog < 0) {
    std::fprintf(stderr, "xdp-flood: reader load failed: %s\n%s\n", std::strerror(errno), log);
    return 1;
  }
  // A link, not a netlink attach: it goes away with this process whatever happens.
  int link = bpf_link_create(prog, ifindex, BPF_XDP, nullptr);
  if (link < 0) {
    std::perror("xdp-flood: attach (native XDP link)");
    return 1;
  }
  signal(SIGTERM, [](int) { g_stop = 1; });
  signal(SIGINT, [](int) { g_stop = 1; });
  std::printf("{\"attached\":true}\n");
  std::fflush(stdout);
  while (!g_stop) pause();
  close(link);
  return 0;
}

bool parse_mac(const std::string &s, uint8_t out[6]) {
  unsigned b[6];
  if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
    return false;
  for (int i = 0; i < 6; ++i) out[i] = uint8_t(b[i]);
  return true;
}

}  // namespace

int main(int argc, char **argv) {
  CLI::App app{"dnswash in-kernel junk-query flood (XDP live frames)"};
  std::string dev, dmac_s, smac_s, src_s = "192.0.2.1", dst_s = "192.0.2.53", reader;
  double seconds = 5;
  bool allowed = false, allowed_zones = false;
  app.add_flag("--allowed", allowed,
               "names under the 2^20 zones --allowed-zones prints, instead of junk");
  app.add_flag("--allowed-zones", allowed_zones, "print those zones, one per line, and exit");
  auto *reader_opt = app.add_option("--reader-on", reader,
                                    "attach the read-then-drop baseline program here and wait");
  app.add_option("--dev", dev, "interface to send on (a veth)")->excludes(reader_opt);
  app.add_option("--dst-mac", dmac_s, "destination MAC (the peer's)");
  app.add_option("--src-mac", smac_s, "source MAC");
  app.add_option("--src", src_s, "source IPv4");
  app.add_option("--dst", dst_s, "destination IPv4");
  app.add_option("--seconds", seconds, "how long");
  CLI11_PARSE(app, argc, argv);
  if (allowed_zones) return print_allowed_zones();
  if (!reader.empty()) return run_reader(reader);
  if (dev.empty()) {
    std::fprintf(stderr, "xdp-flood: give --dev, --dst-mac and --src-mac (or --reader-on)\n");
    return 2;
  }
  uint8_t dmac[6], smac[6];
  in_addr src{}, dst{};
  if (!parse_mac(dmac_s, dmac) || !parse_mac(smac_s, smac) ||
      inet_pton(AF_INET, src_s.c_str(), &src) != 1 ||
      inet_pton(AF_INET, dst_s.c_str(), &dst) != 1) {
    std::fprintf(stderr, "xdp-flood: bad MAC or address\n");
    return 2;
  }
  int ifindex = int(if_nametoindex(dev.c_str()));
  if (ifindex == 0) {
    std::perror(("xdp-flood: " + dev).c_str());
    return 1;
  }
  auto insns = program(ifindex, allowed);
  static char log[65536];
  LIBBPF_OPTS(bpf_prog_load_opts, lo, .log_level = 1, .log_size = sizeof log, .log_buf = log);
  int prog =
      bpf_prog_load(BPF_PROG_TYPE_XDP, "dw_flood_gen", "GPL", insns.data(), insns.size(), &lo);
  if (prog < 0) {
    std::fprintf(stderr, "xdp-flood: program load failed: %s\n%s\n", std::strerror(errno), log);
    return 1;
  }
  auto f = frame(dmac, smac, src, dst, allowed);
  uint64_t sent = 0;
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + std::chrono::duration<double>(seconds);
  constexpr uint32_t kRepeat = 1 << 18;
  while (std::chrono::steady_clock::now() < deadline) {
    LIBBPF_OPTS(bpf_test_run_opts, ro, .data_in = f.data(), .data_size_in = uint32_t(f.size()),
                .repeat = kRepeat, .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
    if (bpf_prog_test_run_opts(prog, &ro) != 0) {
      std::perror("xdp-flood: BPF_PROG_TEST_RUN (live frames)");
      return 1;
    }
    sent += kRepeat;
  }
  double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("{\"sent\":%llu,\"seconds\":%.3f,\"pps\":%.0f}\n", (unsigned long long)sent, el,
              double(sent) / el);
  return 0;
}
