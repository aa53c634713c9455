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
//   dnswash-xdp-flood --under ZONE [--name-bits B] [--missing] ...   (or ... --print-names)
// Names <5 letters>.ZONE instead, for the zone shield's live cost (bench/shield_flood_bench.sh):
// 2^B names (B in 4..19, default 17), B random bits spread over the letters (letters 1-4 up to
// 4 bits each, a..p; letter 5 the bits after 16, from a), which --print-names lists (the
// shielded zone's names); --missing: letter 5 from q instead, so no name of that list.
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
#include <algorithm>
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
constexpr int kUnderLabel = 5;                           // --under: the first label's length

// --under: how many of the B random bits letter k (0..4) gets.
int letter_bits(int b, int k) {
  return k < 4 ? std::clamp(b - 4 * k, 0, 4) : std::clamp(b - 16, 0, 3);
}

// The frame's name as wire labels after the first: "attack.test", "@@@@.test" or --under's.
std::vector<uint8_t> wire(const std::string &dotted) {
  std::vector<uint8_t> out;
  size_t start = 0;
  while (start < dotted.size()) {
    size_t dot = dotted.find('.', start);
    if (dot == std::string::npos) dot = dotted.size();
    out.push_back(uint8_t(dot - start));
    out.insert(out.end(), dotted.begin() + long(start), dotted.begin() + long(dot));
    start = dot + 1;
  }
  out.push_back(0);
  return out;
}

std::vector<uint8_t> frame(const uint8_t dmac[6], const uint8_t smac[6], in_addr src, in_addr dst,
                           bool allowed, const std::string &under) {
  const int first = under.empty() ? 10 : kUnderLabel;
  std::vector<uint8_t> dns = {0x12, 0x34, 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, uint8_t(first)};
  dns.insert(dns.end(), size_t(first), 'a');
  auto rest = wire(!under.empty() ? under : allowed ? "@@@@.test" : "attack.test");
  dns.insert(dns.end(), rest.begin(), rest.end());
  dns.insert(dns.end(), {0, 1, 0, 1});
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
// label; --under: a masked u32 and one letter instead); return bpf_redirect(ifindex, 0).
// tmpl_fd >= 0 (--under): first the whole frame is written again from that array map's one
// value (tmpl_len bytes), its length too. Live frames come from a page pool whose pages are
// recycled as they are, and an answer built in place by the receiver (the zone shield's
// NXDOMAIN, sent back with XDP_TX) would otherwise come round again as the next "query".
std::vector<bpf_insn> program(int ifindex, bool allowed, bool under, int name_bits, bool missing,
                              int tmpl_fd, int tmpl_len) {
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
  std::vector<bpf_insn> label = {
      I(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_get_prandom_u32),
      I(BPF_STX | BPF_W | BPF_MEM, 7, 0, kLabel, 0),  // label[0..3]
      I(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_get_prandom_u32),
      I(BPF_STX | BPF_W | BPF_MEM, 7, 0, kLabel + 4, 0),  // label[4..7]
      I(BPF_STX | BPF_H | BPF_MEM, 7, 0, kLabel + 8, 0),  // label[8..9]
  };
  uint32_t nibbles = 0;
  for (int k = 0; k < 4; ++k) nibbles |= ((1u << letter_bits(name_bits, k)) - 1) << (8 * k);
  if (under)
    label = {
        I(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_get_prandom_u32),
        I(BPF_ALU64 | BPF_MOV | BPF_X, 6, 0, 0, 0),               // r6 = r0 (one more random bit)
        I(BPF_ALU | BPF_AND | BPF_K, 0, 0, 0, int32_t(nibbles)),  // up to 4 random bits a letter
        I(BPF_ALU | BPF_ADD | BPF_K, 0, 0, 0, 0x61616161),        // from a
        I(BPF_STX | BPF_W | BPF_MEM, 7, 0, kLabel, 0),            // label[0..3]
        I(BPF_ALU64 | BPF_RSH | BPF_K, 6, 0, 0, 4),  // bits 4..6: masked out of letter 1
        I(BPF_ALU64 | BPF_AND | BPF_K, 6, 0, 0, (1 << letter_bits(name_bits, 4)) - 1),
        I(BPF_ALU64 | BPF_ADD | BPF_K, 6, 0, 0, missing ? 'q' : 'a'),  // from a; missing: from q
        I(BPF_STX | BPF_B | BPF_MEM, 7, 6, kLabel + 4, 0),             // label[4]
    };
  constexpr int16_t kToDrop = -32768;  // a jump to drop:, patched below
  std::vector<bpf_insn> p;
  if (tmpl_fd >= 0)
    p = {
        I(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0),  // r6 = ctx
        I(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_xdp_get_buff_len),
        I(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, tmpl_len),
        I(BPF_ALU64 | BPF_SUB | BPF_X, 2, 0, 0, 0),  // r2 = tmpl_len - len
        I(BPF_JMP | BPF_JEQ | BPF_K, 2, 0, 3, 0),    // same length: skip the adjust
        I(BPF_ALU64 | BPF_MOV | BPF_X, 1, 6, 0, 0),
        I(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_xdp_adjust_tail),
        I(BPF_JMP | BPF_JNE | BPF_K, 0, 0, kToDrop, 0),
        I(BPF_ALU64 | BPF_MOV | BPF_X, 1, 6, 0, 0),
        I(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 0),
        I(BPF_LD | BPF_DW | BPF_IMM, 3, BPF_PSEUDO_MAP_VALUE, 0, tmpl_fd),  // r3 = &value
        I(0, 0, 0, 0, 0),
        I(BPF_ALU64 | BPF_MOV | BPF_K, 4, 0, 0, tmpl_len),
        I(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_xdp_store_bytes),
        I(BPF_JMP | BPF_JNE | BPF_K, 0, 0, kToDrop, 0),
        I(BPF_ALU64 | BPF_MOV | BPF_X, 1, 6, 0, 0),  // r1 = ctx again
    };
  const int32_t write_end = under ? kLabel + kUnderLabel : kZoneLabel + 4;
  p.insert(p.end(),
           {
               I(BPF_LDX | BPF_W | BPF_MEM, 7, 1, 0, 0),            // r7 = ctx->data
               I(BPF_LDX | BPF_W | BPF_MEM, 8, 1, 4, 0),            // r8 = ctx->data_end
               I(BPF_ALU64 | BPF_MOV | BPF_X, 2, 7, 0, 0),          // r2 = r7
               I(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, write_end),  // r2 += end of what we write
               I(BPF_JMP | BPF_JGT | BPF_X, 2, 8, kToDrop, 0),      // if r2 > r8 goto drop
           });
  p.insert(p.end(), label.begin(), label.end());
  p.insert(p.end(), zone_label.begin(), zone_label.end());
  p.insert(p.end(), {
                        I(BPF_ALU64 | BPF_MOV | BPF_K, 1, 0, 0, ifindex),
                        I(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 0),
                        I(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_redirect),
                        I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
                        I(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, XDP_DROP),  // drop:
                        I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
                    });
  for (size_t k = 0; k < p.size(); ++k)
    if (BPF_CLASS(p[k].code) == BPF_JMP && p[k].off == kToDrop)
      p[k].off = int16_t(p.size() - 2 - k - 1);
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

// --under's 2^B existing names, one per line.
int print_under_names(const std::string &zone, int b) {
  char l[6] = {};
  for (uint32_t v = 0; v < (1u << b); ++v) {
    uint32_t rest = v;
    for (int k = 0; k < 5; ++k) {
      l[k] = char('a' + (rest & ((1u << letter_bits(b, k)) - 1)));
      rest >>= letter_bits(b, k);
    }
    std::printf("%s.%s\n", l, zone.c_str());
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
  std::string dev, dmac_s, smac_s, src_s = "192.0.2.1", dst_s = "192.0.2.53", reader, under;
  double seconds = 5;
  bool allowed = false, allowed_zones = false, missing = false, print_names = false;
  int name_bits = 17;
  app.add_flag("--allowed", allowed,
               "names under the 2^20 zones --allowed-zones prints, instead of junk");
  app.add_flag("--allowed-zones", allowed_zones, "print those zones, one per line, and exit");
  auto *under_opt = app.add_option("--under", under, "names <5 letters>.ZONE (2^17 of them)");
  app.add_option("--name-bits", name_bits, "--under: 2^B names")
      ->check(CLI::Range(4, 19))
      ->needs(under_opt);
  app.add_flag("--missing", missing, "--under: names not among those 2^B")->needs(under_opt);
  app.add_flag("--print-names", print_names, "--under: print the 2^B names and exit")
      ->needs(under_opt);
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
  if (print_names) return print_under_names(under, name_bits);
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
  auto f = frame(dmac, smac, src, dst, allowed, under);
  int tmpl = -1;
  if (!under.empty()) {
    uint32_t zero = 0;
    tmpl = bpf_map_create(BPF_MAP_TYPE_ARRAY, "dw_flood_tmpl", 4, uint32_t(f.size()), 1, nullptr);
    if (tmpl < 0 || bpf_map_update_elem(tmpl, &zero, f.data(), BPF_ANY) != 0) {
      std::perror("xdp-flood: template map");
      return 1;
    }
  }
  auto insns = program(ifindex, allowed, !under.empty(), name_bits, missing, tmpl, int(f.size()));
  static char log[65536];
  LIBBPF_OPTS(bpf_prog_load_opts, lo, .log_level = 1, .log_size = sizeof log, .log_buf = log);
  int prog =
      bpf_prog_load(BPF_PROG_TYPE_XDP, "dw_flood_gen", "GPL", insns.data(), insns.size(), &lo);
  if (prog < 0) {
    std::fprintf(stderr, "xdp-flood: program load failed: %s\n%s\n", std::strerror(errno), log);
    return 1;
  }
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
