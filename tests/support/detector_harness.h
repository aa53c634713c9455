// Runs DNS responses through the real tc egress detector program (and queries through the XDP
// program) with BPF_PROG_TEST_RUN, and reads what it did: dw_det entries, dw_bans entries,
// events from dw_det_events, counters. Needs root and a BPF-capable kernel; throws (the test
// fails) otherwise.
#pragma once

#include <bpf/libbpf.h>

#include <string>
#include <vector>

#include "datapath_harness.h"

namespace dnswash::test {

struct Response {
  std::string qname;
  uint8_t rcode = 3;  // NXDOMAIN
  std::string client = "198.51.100.7";
  int family = 4;
  std::string server = "192.0.2.53";
  bool rd = false;    // the query's RD bit, copied into the answer
  bool edns = false;  // the query had EDNS: an OPT record in the answer's additional section
};
Bytes response_frame(const Response &r);

class Detector : public Datapath {
 public:
  Detector();
  ~Detector();
  // Detector on with these parameters (0 = kernel default), budget as given.
  void configure(uint32_t threshold, uint32_t window_s, uint32_t min_nx_pct, uint32_t budget,
                 bool queries = false, uint32_t v6_prefix = 0, uint64_t ban_ns = 0);
  int run_tc(const Bytes &frame);  // returns the tc action
  void answer(const Response &r) { run_tc(response_frame(r)); }
  bool banned(const std::string &prefix, dw_ban_val *val = nullptr);
  size_t det_entries();
  void exempt_zone(const std::string &zone);
  void never_ban(const std::string &prefix);
  std::vector<dw_det_event> events();  // drains the ring buffer
  uint64_t counter(unsigned idx);
  // The keyed digest the kernel counts a name by (this run's zone-set key).
  uint64_t name_digest(const std::string &name);
  uint32_t budget();

 private:
  static int on_event(void *ctx, void *data, size_t size);
  ring_buffer *rb_ = nullptr;
  std::vector<dw_det_event> pending_;
};

// bpf_prog_info.verified_insns of a program fd.
uint32_t verified_insns(int prog_fd);

}  // namespace dnswash::test
